import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULTS, jsonSchemas, parseCron } from "../../../src/config/index.js";
import {
  formatProblem,
  hasErrors,
  loadManifests,
  problemsToError,
  validateManifest,
} from "../../../src/config/load.js";
import type { SensorManifest } from "../../../src/config/types.js";

const SENSOR = `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: NAME
spec:
  dependencies:
    - name: dep
      eventSourceName: webhook
      eventName: example
  triggers:
    - template:
        name: t
        log: {}
`;
const sensor = (name: string) => SENSOR.replace("NAME", name);
const ES = `apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: NAME
spec:
  webhook:
    example: {port: "12000", endpoint: /example, method: POST}
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sb-config-"));
  await mkdir(join(dir, "b", "nested"), { recursive: true });
  await mkdir(join(dir, "a"), { recursive: true });
  await writeFile(join(dir, "b", "nested", "z.yml"), sensor("zed"));
  await writeFile(join(dir, "a", "es.yaml"), ES.replace("NAME", "hooks"));
  await writeFile(join(dir, "a", "notes.txt"), "kind: Sensor\n");
  await writeFile(join(dir, "b", "multi.yaml"), `${sensor("one")}---\n---\n${sensor("two")}`);
  await writeFile(join(dir, "b", "one.json"), JSON.stringify({ ...toObj("three") }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function toObj(name: string) {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name },
    spec: {
      dependencies: [{ name: "d", eventSourceName: "a", eventName: "b" }],
      triggers: [{ template: { name: "t", log: {} } }],
    },
  };
}

describe("loadManifests", () => {
  it("walks directories recursively in sorted order, reading only yaml/yml/json", async () => {
    const result = await loadManifests([dir]);
    expect(result.problems).toEqual([]);
    expect(result.eventSources.map((l) => l.manifest.metadata.name)).toEqual(["hooks"]);
    // Entries are sorted per directory: b/multi.yaml (one, two), b/nested/z.yml, b/one.json.
    expect(result.sensors.map((l) => [l.manifest.metadata.name, l.doc])).toEqual([
      ["one", 0],
      ["two", 2],
      ["zed", 0],
      ["three", 0],
    ]);
  });

  it("shows the document index for files with several documents", async () => {
    const file = join(dir, "b", "multi-bad.yaml");
    await writeFile(file, `${sensor("ok")}---\n${sensor("bad").replace("eventName: example", "")}`);
    const result = await loadManifests([file]);
    const errors = result.problems.filter((p) => p.severity === "error").map(formatProblem);
    expect(errors).toEqual([`${file}#1: /spec/dependencies/0: eventName is required`]);
    expect(result.sensors.map((l) => l.manifest.metadata.name)).toEqual(["ok"]);
  });

  it("reports an unreadable path without throwing", async () => {
    const missing = join(dir, "missing.yaml");
    const result = await loadManifests([missing]);
    expect(hasErrors(result.problems)).toBe(true);
    expect(formatProblem(result.problems[0]!)).toMatch(/missing\.yaml: cannot read: .*ENOENT/);
  });

  it("reports YAML syntax errors with line and column", async () => {
    const file = join(dir, "syntax.yaml");
    // The sensor takes lines 1-13, "---" is line 14: line numbers count from the top of the file.
    await writeFile(file, `${sensor("s")}---\nkind: Sensor\nspec:\n  - a\n  b: c\n`);
    const result = await loadManifests([file]);
    const errors = result.problems.filter((p) => p.severity === "error");
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]?.doc).toBe(1);
    expect(errors[0]?.message).toMatch(/^YAML syntax error at line 18:1: /);
    expect(result.sensors.map((l) => l.manifest.metadata.name)).toEqual(["s"]);
  });

  it("a later object with the same name replaces the earlier one, with a warning", async () => {
    const file = join(dir, "dupe.yaml");
    await writeFile(file, `${sensor("same")}---\n${sensor("same").replace("name: t", "name: t2")}`);
    const result = await loadManifests([file]);
    expect(hasErrors(result.problems)).toBe(false);
    expect(result.sensors).toHaveLength(1);
    expect(result.sensors[0]?.doc).toBe(1);
    expect(result.problems.map(formatProblem)).toEqual([
      `${file}#1: /metadata/name: duplicate Sensor name "same": replaces the one in ${file}#0`,
    ]);
  });
});

describe("data is kept as written", () => {
  const yaml = `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: raw
spec:
  triggers:
    - template:
        name: t
        http:
          url: http://example.com
          timeout: 5
          headers: {"Z-Last": "1", "A-First": "2"}
      retryStrategy:
        duration: 5
        steps: 2
    - template:
        name: u
        log:
      retryStrategy:
        duration: "2s"
  dependencies:
    - name: dep
      eventSourceName: webhook
      eventName: example
      filters:
`;
  it("keeps YAML types and key order, drops null struct fields, injects no defaults", async () => {
    const dirRaw = await mkdtemp(join(tmpdir(), "sb-raw-"));
    const file = join(dirRaw, "raw.yaml");
    await writeFile(file, yaml);
    const result = await loadManifests([file]);
    await rm(dirRaw, { recursive: true, force: true });
    expect(result.problems.filter((p) => p.severity === "error")).toEqual([]);
    const m = result.sensors[0]?.manifest as SensorManifest;
    expect(Object.keys(m.spec)).toEqual(["triggers", "dependencies"]);
    expect(m.spec.triggers[0]?.retryStrategy?.duration).toBe(5);
    expect(m.spec.triggers[1]?.retryStrategy?.duration).toBe("2s");
    expect(Object.keys(m.spec.triggers[0]?.template?.http?.headers ?? {})).toEqual([
      "Z-Last",
      "A-First",
    ]);
    expect(m.spec.triggers[0]?.template?.http?.method).toBeUndefined();
    expect(m.spec.triggers[0]?.template?.http?.timeout).toBe(5);
    expect("filters" in (m.spec.dependencies[0] ?? {})).toBe(false);
    expect("log" in (m.spec.triggers[1]?.template ?? {})).toBe(false);
    expect(DEFAULTS.http.timeoutSeconds).toBe(60);
  });
});

describe("validateManifest", () => {
  it("refuses a document that is not a mapping", () => {
    const { manifest, problems } = validateManifest(["a"], "x.yaml", 0);
    expect(manifest).toBeUndefined();
    expect(problems.map(formatProblem)).toEqual(["x.yaml: document must be a mapping, got a list"]);
  });

  it("skips other kinds with a warning", () => {
    const { manifest, problems } = validateManifest(
      { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: "default" } },
      "bus.yaml",
      3,
    );
    expect(manifest).toBeUndefined();
    expect(problems).toEqual([
      {
        file: "bus.yaml",
        doc: 3,
        pointer: "",
        message: "skipped kind EventBus: sensorbus reads only Argo Events EventSource and Sensor",
        severity: "warning",
      },
    ]);
  });

  it("returns the manifest with warnings only", () => {
    const doc = toObj("w") as Record<string, unknown>;
    (doc.spec as Record<string, unknown>).circuit = "a && b";
    const { manifest, problems } = validateManifest(doc, "w.yaml", 0);
    expect(manifest?.metadata.name).toBe("w");
    expect(problems.map(formatProblem)).toEqual([
      "w.yaml: /spec/circuit: circuit is not part of Argo Events v1alpha1 and is ignored; use template.conditions",
    ]);
  });

  it("problemsToError lists every error in a ConfigError", () => {
    const { problems } = validateManifest({ ...toObj("e"), spec: {} }, "e.yaml", 0);
    const error = problemsToError(problems);
    expect(error?.code).toBe("SB_ERR_CONFIG_INVALID");
    expect(error?.problems).toEqual([
      "e.yaml: /spec: dependencies is required",
      "e.yaml: /spec: triggers is required",
    ]);
    expect(problemsToError([])).toBeUndefined();
  });
});

describe("parseCron (robfig/cron, 5 fields)", () => {
  it.each([
    ["*/5 * * * *", undefined],
    ["0 9 * JAN-MAR mon-fri", undefined],
    ["CRON_TZ=Europe/Paris 0 0 1 * ?", undefined],
    // The runtime parser's (lib/cron.ts) messages, which are robfig/cron's own.
    ["TZ=Nowhere/X 0 0 * * *", "provided bad location Nowhere/X: unknown time zone Nowhere/X"],
    ["0 0 * * * *", "expected exactly 5 fields, found 6: [0 0 * * * *]"],
    ["@daily", "parser does not accept descriptors: @daily"],
    ["60 * * * *", "end of range (60) above maximum (59): 60"],
    ["0 0 0 * *", "beginning of range (0) below minimum (1): 0"],
    ["5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"],
    ["*/0 * * * *", "step of range should be a positive number: */0"],
    ["1-2-3 * * * *", "too many hyphens: 1-2-3"],
    ["x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'],
    ["", "empty spec string"],
  ])("%j -> %j", (spec, expected) => {
    expect(parseCron(spec)).toBe(expected);
  });
});

describe("jsonSchemas", () => {
  it("exports closed JSON Schemas for EventSource and Sensor", () => {
    const schemas = jsonSchemas() as Record<string, Record<string, unknown>>;
    expect(Object.keys(schemas)).toEqual(["eventsource.schema.json", "sensor.schema.json"]);
    const sensorSchema = schemas["sensor.schema.json"]!;
    expect(sensorSchema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    const spec = (sensorSchema.properties as Record<string, Record<string, unknown>>).spec!;
    expect(spec.additionalProperties).toBe(false);
    expect(spec.required).toEqual(["dependencies", "triggers"]);
    expect(JSON.parse(JSON.stringify(schemas))).toEqual(schemas);
  });
});
