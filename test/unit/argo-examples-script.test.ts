import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const SCRIPT = `${ROOT}scripts/argo-examples.mjs`;
const FIXTURES = `${ROOT}test/fixtures/argo-examples`;

interface Row {
  file: string;
  class: string;
  errors: string[];
  warnings: string[];
  skipped?: string[];
  replays: Array<{
    sensor: string;
    outcome: string;
    fired?: Array<{ trigger: string; rendered: string; payload?: unknown }>;
    problems?: string[];
    eventNotes?: string[];
  }>;
}

interface Report {
  rows: Row[];
  counts: { total: Record<string, number>; replay: Record<string, number> };
}

// The script is plain ESM outside src/: imported as such, and run through the real CLI (dist/).
const mod = (await import(SCRIPT)) as {
  parseValidateOutput: (
    file: string,
    stdout: string,
  ) => { errors: string[]; warnings: string[]; skipped: string[]; unparsed: string[] };
  classify: (code: number | null, parsed: unknown) => string;
  toMarkdown: (report: Report) => string;
};

describe("scripts/argo-examples.mjs: classifier", () => {
  it("reads validate's lines and classifies clean / warned / refused / other / crashed", () => {
    const file = "x/s.yaml";
    const warned = mod.parseValidateOutput(
      file,
      `warning: ${file}#1: /spec/kafka: kafka event sources are not run by sensorbus\nwarning: ${file}#0: skipped kind Workflow: sensorbus reads only Argo Events EventSource and Sensor\n1 EventSource(s), 0 Sensor(s): 0 error(s), 2 warning(s)\n`,
    );
    expect(warned.warnings).toEqual([
      "#1 /spec/kafka: kafka event sources are not run by sensorbus",
    ]);
    expect(warned.skipped).toEqual(["Workflow"]);
    expect(mod.classify(0, warned)).toBe("warned");

    const refused = mod.parseValidateOutput(
      file,
      `error: ${file}: /spec/triggers/0/template/http: url is required\n0 EventSource(s), 0 Sensor(s): 1 error(s), 0 warning(s)\n`,
    );
    expect(refused.errors).toEqual(["/spec/triggers/0/template/http: url is required"]);
    expect(mod.classify(1, refused)).toBe("refused");

    const other = mod.parseValidateOutput(
      file,
      `warning: ${file}: skipped kind Pod: sensorbus reads only Argo Events EventSource and Sensor\n0 EventSource(s), 0 Sensor(s): 0 error(s), 1 warning(s)\n`,
    );
    expect(mod.classify(0, other)).toBe("other");
    const clean = mod.parseValidateOutput(
      file,
      "0 EventSource(s), 1 Sensor(s): 0 error(s), 0 warning(s)\n",
    );
    expect(mod.classify(0, clean)).toBe("clean");
    // A stack trace instead of validate's output, or another exit code, is a crash.
    expect(mod.classify(0, mod.parseValidateOutput(file, "TypeError: boom\n"))).toBe("crashed");
    expect(mod.classify(2, clean)).toBe("crashed");
  });
});

describe("scripts/argo-examples.mjs on small manifests (real CLI over dist/)", () => {
  let report: Report;
  beforeAll(async () => {
    const { stdout } = await run(process.execPath, [SCRIPT, FIXTURES, "--json"], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    report = JSON.parse(stdout) as Report;
  }, 180_000);

  it("classifies each file and replays the Sensors with synthetic events", () => {
    const by = new Map(report.rows.map((r) => [r.file, r]));
    const cls = Object.fromEntries(report.rows.map((r) => [r.file, r.class]));
    expect(cls).toEqual({
      "examples/event-sources/kafka.yaml": "warned",
      "examples/event-sources/webhook.yaml": "clean",
      "examples/sensors/http-no-url.yaml": "refused",
      "examples/sensors/log-filtered.yaml": "clean",
      "examples/sensors/openwhisk-only.yaml": "warned",
      "examples/sensors/unsolvable-filter.yaml": "clean",
      "examples/tutorials/01-mixed/sensor-k8s.yaml": "clean",
      "examples/tutorials/01-mixed/workflow.yaml": "other",
    });
    expect(report.counts.total).toMatchObject({
      files: 8,
      clean: 4,
      warned: 2,
      refused: 1,
      other: 1,
    });
    expect(by.get("examples/sensors/http-no-url.yaml")?.errors).toEqual([
      "/spec/triggers/0/template/http: url is required",
    ]);
    expect(by.get("examples/tutorials/01-mixed/sensor-k8s.yaml")?.skipped).toEqual(["ConfigMap"]);

    // Data filters solved: a string regex and a number comparator.
    const log = by.get("examples/sensors/log-filtered.yaml")?.replays[0];
    expect(log?.outcome).toBe("fired");
    const logged = log?.fired?.[0]?.payload as {
      order: { data: { body: Record<string, unknown> } };
    };
    expect(logged.order.data.body).toMatchObject({ status: "paid", amount: 101 });

    // The Event Payload comment becomes the body (the expr filter reads body.*), the parameter
    // renders into the Pod, and the Sensor's namespace is kept.
    const pod = by.get("examples/tutorials/01-mixed/sensor-k8s.yaml")?.replays[0];
    expect(pod?.outcome).toBe("fired");
    const rendered = pod?.fired?.[0]?.payload as {
      metadata: { namespace: string };
      spec: { containers: Array<{ args: string[] }> };
    };
    expect(rendered.spec.containers[0]?.args).toEqual(["ada"]);
    expect(rendered.metadata.namespace).toBe("shop");

    // What the script cannot build is said, and the rejection is recorded.
    const unsolved = by.get("examples/sensors/unsolvable-filter.yaml")?.replays[0];
    expect(unsolved?.outcome).toBe("not fired");
    expect(unsolved?.eventNotes?.join("\n")).toContain("cannot build a string matching");
    expect(unsolved?.problems?.[0]).toContain("rejected order");

    expect(by.get("examples/sensors/openwhisk-only.yaml")?.replays[0]?.outcome).toBe(
      "not replayed",
    );
    expect(report.counts.replay).toEqual({ fired: 2, "not replayed": 1, "not fired": 1 });
  });

  it("prints the Markdown table with counts per directory", () => {
    const md = mod.toMarkdown(report);
    expect(md).toContain("| examples/sensors | 4 | 2 | 1 | 1 | 0 | 0 |");
    expect(md).toContain("| examples/tutorials/01-mixed/workflow.yaml | Workflow | other |");
  });
});
