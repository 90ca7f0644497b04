import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const BIN = new URL("../../bin/sensorbus.js", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

const SENSOR = `
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: pipeline
spec:
  dependencies:
    - name: extract
      eventSourceName: steps
      eventName: extract
    - name: validate
      eventSourceName: steps
      eventName: validate
  triggers:
    - template:
        name: load
        conditions: "extract && validate"
        correlation:
          window: 30m
          keys:
            extract: body.correlation_id
            validate: body.run.id
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata:
                generateName: load-
              spec:
                entrypoint: load
                arguments:
                  parameters:
                    - name: run
                      value: ""
                    - name: rows
                      value: ""
          parameters:
            - src:
                dependencyName: extract
                dataKey: body.correlation_id
              dest: spec.arguments.parameters.0.value
            - src:
                dependencyName: extract
                dataKey: body.rows
              dest: spec.arguments.parameters.1.value
`;

function event(id: string, step: string, minute: number, body: unknown): string {
  const time = new Date(Date.UTC(2026, 0, 1, 12, minute)).toISOString();
  return JSON.stringify({
    specversion: "1.0",
    id,
    source: "steps",
    subject: step,
    type: "webhook",
    time,
    datacontenttype: "application/json",
    data: { body },
  });
}

async function replay(events: string[]): Promise<Array<Record<string, unknown>>> {
  const dir = await mkdtemp(join(tmpdir(), "sb-corr-replay-"));
  await writeFile(join(dir, "sensor.yaml"), SENSOR);
  await writeFile(join(dir, "events.jsonl"), `${events.join("\n")}\n`);
  const { stdout } = await run(
    process.execPath,
    [BIN, "replay", "--sensor", join(dir, "sensor.yaml"), "--events", join(dir, "events.jsonl")],
    { cwd: ROOT },
  );
  return stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

interface Workflow {
  metadata: { labels?: Record<string, string> };
  spec: { arguments: { parameters: Array<{ value: string }> } };
}

// The CLI runs the compiled dist/ (npm test builds first).
describe("sensorbus replay with keyed correlation (CLI)", () => {
  let lines: Array<Record<string, unknown>>;
  beforeAll(async () => {
    lines = await replay([
      event("a1", "extract", 0, { correlation_id: "run-a", rows: 10 }),
      event("b1", "extract", 1, { correlation_id: "run-b", rows: 20 }),
      event("c1", "extract", 2, { correlation_id: "run-c", rows: 30 }),
      event("x1", "validate", 3, { ok: true }),
      event("b2", "validate", 4, { run: { id: "run-b" } }),
      event("a2", "validate", 5, { run: { id: "run-a" } }),
      // run-c's window (first arrival 12:02 + 30m) passes before this event at 12:40.
      event("c2", "validate", 40, { run: { id: "run-c" } }),
      event("d1", "extract", 41, { correlation_id: "run-d", rows: 40 }),
    ]);
  });

  it("fires interleaved runs separately, each with its own data and key label", () => {
    const fired = lines.filter((l) => l.kind === "fired");
    expect(fired.map((l) => l.dependencies)).toEqual([
      { extract: "b1", validate: "b2" },
      { extract: "a1", validate: "a2" },
    ]);
    const params = fired.map((l) =>
      (l.payload as Workflow).spec.arguments.parameters.map((p) => p.value),
    );
    expect(params).toEqual([
      ["run-b", "20"],
      ["run-a", "10"],
    ]);
    expect(
      fired.map((l) => (l.payload as Workflow).metadata.labels?.["sensorbus.io/correlation-id"]),
    ).toEqual(["run-b", "run-a"]);
  });

  it("rejects an event without the key for the trigger, with the path", () => {
    expect(lines).toContainEqual({
      kind: "rejected",
      eventId: "x1",
      dependency: "validate",
      trigger: "load",
      reason: "correlation key 'body.run.id' does not exist",
    });
  });

  it("prints an expired line when the clock passes a window, and at the end of input", () => {
    const expired = lines.filter((l) => l.kind === "expired");
    expect(expired).toEqual([
      {
        kind: "expired",
        sensor: "pipeline",
        trigger: "load",
        key: "run-c",
        dependencies: { extract: "c1" },
      },
      // The late validate for run-c started a new match; it and run-d expire when input ends.
      {
        kind: "expired",
        sensor: "pipeline",
        trigger: "load",
        key: "run-c",
        dependencies: { validate: "c2" },
      },
      {
        kind: "expired",
        sensor: "pipeline",
        trigger: "load",
        key: "run-d",
        dependencies: { extract: "d1" },
      },
    ]);
    // The first expiry is printed before the late event is processed (the clock passed it).
    const at = (pred: (l: Record<string, unknown>) => boolean) => lines.findIndex(pred);
    expect(at((l) => l.kind === "expired")).toBeLessThan(lines.length - 2);
    expect(lines.at(-1)).toEqual(expired.at(-1));
  });
});
