import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const BIN = new URL("../../bin/sensorbus.js", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

async function replay(sensor: string, events: string): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await run(
    process.execPath,
    [BIN, "replay", "--sensor", sensor, "--events", events],
    { cwd: ROOT },
  );
  return stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// The CLI runs the compiled dist/ (npm test builds first).
describe("sensorbus replay (CLI)", () => {
  it("fires, rejects with the reason, dedupes and reports unmatched events", async () => {
    const lines = await replay(
      "sensors/cross-workflow.yaml",
      "test/fixtures/replay/cross-workflow.jsonl",
    );
    expect(lines[0]).toEqual({
      kind: "rejected",
      eventId: "e1",
      dependency: "upstream-done",
      reason: `data filter: 'body.action' is "started", matched none of ["^completed$"]`,
    });
    const fired = lines.filter((l) => l.kind === "fired");
    expect(fired.map((l) => l.trigger)).toEqual(["start-consumer", "notify"]);
    const wf = fired[0]!.payload as {
      metadata: { generateName: string; labels: Record<string, string> };
      spec: { arguments: { parameters: Array<{ value: string }> } };
    };
    expect(fired[0]!.dependencies).toEqual({ "upstream-done": "e2" });
    expect(wf.spec.arguments.parameters[0]!.value).toBe("run-41");
    expect(wf.metadata.labels["correlation-id"]).toBe("run-41");
    expect(fired[1]!.payload).toEqual({
      correlation_id: "run-41",
      message: "upstream workflow completed",
    });
    expect(fired[1]!.request).toEqual({
      method: "POST",
      url: "http://127.0.0.1:12000/example",
      headers: { "Content-Type": "application/json" },
    });
    expect(lines).toContainEqual({ kind: "duplicate", eventId: "e2" });
    expect(lines).toContainEqual({ kind: "unmatched", eventId: "e3" });
    expect(lines).toContainEqual({
      kind: "rejected",
      eventId: "e4",
      dependency: "upstream-done",
      reason: "data filter error (path 'body.action' does not exist)",
    });
  });

  it("dedupes per (EventSource, event name, id) as run does (issue 19)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sb-replay-"));
    const sensor = join(dir, "s.yaml");
    await writeFile(
      sensor,
      `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: either}
spec:
  dependencies:
    - {name: a, eventSourceName: es, eventName: a}
    - {name: b, eventSourceName: es, eventName: b}
  triggers:
    - template: {name: any, conditions: "a || b", log: {}}
`,
    );
    const ev = (id: string, subject: string) =>
      `{"specversion":"1.0","id":"${id}","source":"es","subject":"${subject}","type":"webhook","time":"2024-05-15T12:00:00Z","datacontenttype":"application/json","data":{}}`;
    const events = join(dir, "e.jsonl");
    await writeFile(events, [ev("same", "a"), ev("same", "b"), ev("same", "b")].join("\n"));
    const lines = await replay(sensor, events);
    expect(lines.map((l) => l.kind)).toEqual(["fired", "fired", "duplicate"]);
    expect(lines.filter((l) => l.kind === "fired").map((l) => l.dependencies)).toEqual([
      { a: "same" },
      { b: "same" },
    ]);
  });

  it("renders a log trigger's payload and an AND condition across two dependencies, reporting the replaced event", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sb-replay-"));
    const sensor = join(dir, "s.yaml");
    await writeFile(
      sensor,
      `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: fan-in}
spec:
  dependencies:
    - {name: a, eventSourceName: es, eventName: a}
    - {name: b, eventSourceName: es, eventName: b}
  triggers:
    - template:
        name: both
        conditions: "a && b"
        log: {}
`,
    );
    const ev = (id: string, subject: string, data: string) =>
      `{"specversion":"1.0","id":"${id}","source":"es","subject":"${subject}","type":"webhook","time":"2024-05-15T12:00:00Z","datacontenttype":"application/json","data":${data}}`;
    const events = join(dir, "e.jsonl");
    await writeFile(
      events,
      [ev("1", "a", '{"x": 1}'), ev("2", "a", '{"x": 2}'), ev("3", "b", '"text"')].join("\n"),
    );
    const lines = await replay(sensor, events);
    expect(lines).toEqual([
      // Each event stored to wait for the other dependency says so, at that moment.
      { kind: "waiting", eventId: "1", trigger: "both", dependency: "a", missing: ["b"] },
      { kind: "waiting", eventId: "2", trigger: "both", dependency: "a", missing: ["b"] },
      // Argo keeps the latest event per dependency: event 1 gives way to event 2.
      { kind: "replaced", eventId: "1", trigger: "both", dependency: "a", by: "2" },
      {
        kind: "fired",
        sensor: "fan-in",
        trigger: "both",
        dependencies: { a: "2", b: "3" },
        payload: {
          a: {
            context: {
              id: "2",
              source: "es",
              specversion: "1.0",
              type: "webhook",
              datacontenttype: "application/json",
              subject: "a",
              time: "2024-05-15T12:00:00Z",
            },
            data: { x: 2 },
          },
          b: {
            context: {
              id: "3",
              source: "es",
              specversion: "1.0",
              type: "webhook",
              datacontenttype: "application/json",
              subject: "b",
              time: "2024-05-15T12:00:00Z",
            },
            data: "text",
          },
        },
      },
    ]);
  });

  it("refuses a manifest Argo would refuse, with a message on stderr", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sb-replay-"));
    const sensor = join(dir, "bad.yaml");
    await writeFile(
      sensor,
      "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: bad}\nspec:\n  dependencies: []\n  triggers: []\n",
    );
    const events = join(dir, "e.jsonl");
    await writeFile(events, "");
    const err = await run(
      process.execPath,
      [BIN, "replay", "--sensor", sensor, "--events", events],
      { cwd: ROOT },
    ).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).not.toBe(0);
    expect(err?.stderr).toContain("bad.yaml");
  });
});
