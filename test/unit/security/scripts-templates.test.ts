import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { applyEvaluationSettings } from "../../../src/app/evaluation-settings.js";
import { main } from "../../../src/cli.js";
import type { CloudEvent } from "../../../src/cloudevents/event.js";
import { formatProblem, loadManifests } from "../../../src/config/load.js";
import { ConfigError } from "../../../src/errors.js";
import { evaluationBudgetMs, setEvaluationBudget } from "../../../src/lib/budget.js";
import { compileTemplate, setTemplateEnvironment } from "../../../src/lib/gotemplate/index.js";
import { runLua } from "../../../src/lib/lua.js";
import { evaluateScriptFilter } from "../../../src/sensors/filters/script.js";
import { applyTransform } from "../../../src/sensors/transform.js";

afterEach(() => {
  setTemplateEnvironment({});
  setEvaluationBudget(100);
});

// Issue 19 item 6.
describe("sprig env / expandenv see only the variables the operator allows", () => {
  const env = { NATS_PASSWORD: "s3cret", REGION: "eu-west-1", PATH: "/usr/bin" };

  it("see nothing by default", () => {
    applyEvaluationSettings({}, env);
    expect(compileTemplate('{{ env "NATS_PASSWORD" }}|{{ env "PATH" }}').execute({})).toBe("|");
    expect(compileTemplate('{{ expandenv "a${NATS_PASSWORD}b$REGION" }}').execute({})).toBe("ab");
  });

  it("see the allowlisted names (--template-env), never the rest", () => {
    applyEvaluationSettings({ templateEnv: "REGION, MISSING" }, env);
    expect(compileTemplate('{{ env "REGION" }}|{{ env "NATS_PASSWORD" }}').execute({})).toBe(
      "eu-west-1|",
    );
    expect(compileTemplate('{{ expandenv "${REGION}/${NATS_PASSWORD}" }}').execute({})).toBe(
      "eu-west-1/",
    );
    expect(compileTemplate('{{ env "MISSING" }}{{ env "__proto__" }}').execute({})).toBe("");
  });

  it("take the allowlist from $SENSORBUS_TEMPLATE_ENV when the flag is absent", () => {
    const applied = applyEvaluationSettings({}, { ...env, SENSORBUS_TEMPLATE_ENV: "REGION" });
    expect(applied.templateEnv).toEqual(["REGION"]);
    expect(compileTemplate('{{ env "REGION" }}').execute({})).toBe("eu-west-1");
  });

  it("refuse a bad name or budget with a ConfigError naming the flag", () => {
    expect(() => applyEvaluationSettings({ templateEnv: "A-B" }, env)).toThrow(ConfigError);
    expect(() => applyEvaluationSettings({ templateEnv: "A-B" }, env)).toThrow(/--template-env/);
    expect(() => applyEvaluationSettings({ budget: "fast" }, env)).toThrow(/--evaluation-budget/);
    expect(() => applyEvaluationSettings({ budget: "-5ms" }, env)).toThrow(/--evaluation-budget/);
    applyEvaluationSettings({ budget: "250ms" }, env);
    expect(evaluationBudgetMs()).toBe(250);
    applyEvaluationSettings({ budget: "0" }, env);
    expect(evaluationBudgetMs()).toBe(0);
  });
});

describe("Lua: __proto__ is a plain key in both directions", () => {
  const hostile = '{"__proto__":{"isAdmin":true}}';

  it("a body {'__proto__':{'isAdmin':true}} does not pass event.body.isAdmin == true", async () => {
    const data = `{"body":${hostile}}`;
    expect(await evaluateScriptFilter("return event.body.isAdmin == true", data)).toEqual({
      pass: false,
    });
    expect(await evaluateScriptFilter("return event.body.__proto__.isAdmin == true", data)).toEqual(
      { pass: true },
    );
  });

  it("the conversion keeps __proto__ as an own key, and a script can return one", async () => {
    const obj = JSON.parse(hostile) as Record<string, unknown>;
    expect(await runLua("return event.isAdmin == nil and event.__proto__.isAdmin", obj)).toBe(true);
    const event = {
      specversion: "1.0",
      id: "1",
      source: "webhook",
      subject: "example",
      type: "webhook",
      time: "2024-05-15T12:00:00Z",
      datacontenttype: "application/json",
      data: `{"a":${hostile}}`,
    } as CloudEvent;
    const out = await applyTransform(
      { script: "event.b = { __proto__ = { x = 1 } } return event" },
      event,
    );
    expect(out.data).toBe('{"a":{"__proto__":{"isAdmin":true}},"b":{"__proto__":{"x":1}}}');
  });
});

describe("Lua: os.execute and os.exit fail with a clear error a script can catch", () => {
  it.each(["os.execute", "os.exit"])("%s", async (fn) => {
    expect(await runLua(`local ok, err = pcall(${fn}, "id") return {ok, err}`, {})).toEqual([
      false,
      `${fn} is not available to sensor scripts`,
    ]);
    await expect(runLua(`${fn}("id")`, {})).rejects.toThrow(
      `${fn} is not available to sensor scripts`,
    );
  });
});

describe("validate refuses a data filter regex RE2 refuses, naming file and field", () => {
  const sensor = (values: string[]) => `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: regex
spec:
  dependencies:
    - name: dep
      eventSourceName: webhook
      eventName: example
      filters:
        data:
          - path: body.name
            type: string
            value: ${JSON.stringify(values)}
          - path: body.n
            type: number
            value: ["(a)\\\\1"]
  triggers:
    - template:
        name: log
        log: {}
`;

  it.each([
    ["(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`"],
    ["(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"],
    ["(?<!a)b", "error parsing regexp: "],
  ])("%j", async (bad, message) => {
    const dir = mkdtempSync(join(tmpdir(), "sb-regex-"));
    const file = join(dir, "sensor.yaml");
    writeFileSync(file, sensor(["^ok$", bad]));
    const result = await loadManifests([file]);
    const errors = result.problems.filter((p) => p.severity === "error").map(formatProblem);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`${file}: /spec/dependencies/0/filters/data/0/value/1: ${message}`);
  });

  it("`sensorbus validate` exits 1 naming the field, and `run` refuses to load the Sensor", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-regex-"));
    const file = join(dir, "sensor.yaml");
    writeFileSync(file, sensor(["^ok$", "(a)\\1"]));
    const out: string[] = [];
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    try {
      expect(await main(["validate", file])).toBe(1);
      expect(out.join("")).toContain(
        `error: ${file}: /spec/dependencies/0/filters/data/0/value/1: error parsing regexp: invalid escape sequence: \`\\1\``,
      );
      out.length = 0;
      expect(
        await main(["run", file, "--bus", "memory", "--metrics-port", "0", "--log-level", "error"]),
      ).toBe(2);
      expect(out.join("")).toContain(
        "/spec/dependencies/0/filters/data/0/value/1: error parsing regexp",
      );
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });

  it("accepts Go syntax JavaScript lacks (\\pL, \\x{61}, (?i), [[:alpha:]], \\z)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-regex-"));
    const file = join(dir, "sensor.yaml");
    writeFileSync(file, sensor(["^\\pL+$", "\\x{61}", "(?i)abc", "[[:alpha:]]\\z", "(?P<n>a)"]));
    const result = await loadManifests([file]);
    expect(result.problems.filter((p) => p.severity === "error")).toEqual([]);
  });
});
