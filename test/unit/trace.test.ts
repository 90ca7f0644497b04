import Fastify from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import { formatTrace, parseTraceFormat, parseTraceLimits } from "../../src/app/trace.js";
import { main } from "../../src/cli.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { createBus } from "../../src/eventbus/index.js";
import type { RecordLog } from "../../src/eventbus/types.js";
import { consoleRoutes } from "../../src/observability/console.js";
import { Journal } from "../../src/observability/journal.js";
import { silentLogger } from "../../src/observability/logger.js";
import { buildTrace, mergeEvents, readTrace } from "../../src/observability/timeline.js";
import {
  CorrelationIndex,
  TRACE_LIMITS,
  TRACE_STREAM,
  tracePartition,
} from "../../src/observability/trace.js";
import { withCorrelationPath } from "../../src/sensors/correlation.js";
import { httpTrigger } from "../../src/triggers/http/runtime.js";
import { k8sTrigger } from "../../src/triggers/k8s/runtime.js";
import { logTrigger } from "../../src/triggers/log/runtime.js";
import type { FiringContext } from "../../src/triggers/types.js";

const ev = (id: string, extra: Partial<CloudEvent> = {}): CloudEvent => ({
  specversion: "1.0",
  id,
  source: "upstream",
  subject: "completed",
  type: "webhook",
  time: "2026-01-02T03:04:05Z",
  datacontenttype: "application/json",
  data: '{"body":{"run_id":"run-42"}}',
  ...extra,
});

function clock(start = Date.parse("2026-01-02T03:04:05Z")) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const run42 = { correlationid: "run-42" };

/** Two stages: upstream event -> stage1 creates a Workflow -> its phases -> stage2 fires, plus a rejection and a failure. */
function twoStages(j: Journal, c: ReturnType<typeof clock>): void {
  const obs = j.observer();
  j.onEmit({
    eventSource: "upstream",
    eventName: "completed",
    id: "e1",
    correlationId: "run-42",
    outcome: "published",
    ms: 1,
  });
  const e1 = ev("e1", { extensions: run42 });
  c.advance(2);
  obs.rejected?.({
    sensor: "audit",
    trigger: "only-failures",
    dependency: "done",
    event: e1,
    reason: "data filter: 'body.status' is \"ok\"",
  });
  c.advance(3);
  obs.fired?.({
    sensor: "stage1",
    trigger: "start-consumer",
    events: new Map([["done", e1]]),
    ms: 4.2,
    summary: "created Workflow default/consumer-x1",
    rendered: {
      kind: "argoWorkflow",
      payload: {
        kind: "Workflow",
        metadata: { generateName: "consumer-", namespace: "default" },
      },
    },
    detail: { operation: "submit", namespace: "default", name: "consumer-x1" },
  });
  for (const [id, phase] of [
    ["w1", "Running"],
    ["w2", "Succeeded"],
  ] as const) {
    c.advance(1000);
    j.onEmit({
      eventSource: "workflows",
      eventName: "consumer",
      id,
      correlationId: "run-42",
      object: {
        kind: "Workflow",
        namespace: "default",
        name: "consumer-x1",
        change: "UPDATE",
        phase,
      },
      outcome: "published",
      ms: 1,
    });
  }
  const w2 = ev("w2", { source: "workflows", subject: "consumer", extensions: run42 });
  c.advance(5);
  obs.failed?.({
    sensor: "stage2",
    trigger: "notify",
    events: new Map([["finished", w2]]),
    ms: 3,
    error: "POST http://hooks/x -> 503",
    final: false,
  });
  c.advance(5);
  obs.failed?.({
    sensor: "stage2",
    trigger: "notify",
    events: new Map([["finished", w2]]),
    ms: 3,
    error: "POST http://hooks/x -> 503",
    final: true,
  });
  obs.deadLettered?.({
    sensor: "stage2",
    trigger: "notify",
    events: new Map([["finished", w2]]),
    error: "POST http://hooks/x -> 503",
  });
  c.advance(1);
  obs.fired?.({
    sensor: "stage2",
    trigger: "next-stage",
    events: new Map([["finished", w2]]),
    ms: 2,
    summary: "created Workflow default/stage2-y",
    rendered: {
      kind: "argoWorkflow",
      payload: { kind: "Workflow", metadata: { name: "stage2-y", namespace: "default" } },
    },
  });
}

describe("correlation index (Journal)", () => {
  it("indexes every event by its correlation ID, with the recent events carrying it", () => {
    const c = clock();
    const j = new Journal({ now: c.now });
    twoStages(j, c);
    j.observer().rejected?.({
      sensor: "s",
      trigger: "t",
      dependency: "d",
      event: ev("other", { extensions: { correlationid: "run-7" } }),
      reason: "x",
    });
    expect(j.correlated("run-42").map((e) => e.id)).toEqual(["e1", "w1", "w2"]);
    expect(j.correlated("run-7").map((e) => e.id)).toEqual(["other"]);
    expect(j.correlated("nope")).toEqual([]);
    expect(j.recent(10).find((s) => s.id === "e1")).toMatchObject({ correlationId: "run-42" });
  });

  it("indexes an event whose correlation ID became known later (a keyed firing stamped it)", () => {
    const j = new Journal();
    const obs = j.observer();
    obs.stored?.({ sensor: "s", trigger: "t", dependency: "a", event: ev("e9") });
    expect(j.correlated("key-1")).toEqual([]);
    obs.fired?.({
      sensor: "s",
      trigger: "t",
      events: new Map([["a", ev("e9", { extensions: { correlationid: "key-1" } })]]),
      ms: 1,
      summary: "logged 1 event(s)",
    });
    const [only] = j.correlated("key-1");
    expect(only?.entries.map((e) => e.kind)).toEqual(["stored", "fired"]);
  });

  it("is bounded: the oldest correlation IDs go first", () => {
    const j = new Journal({ traceCapacity: 2 });
    for (const id of ["a", "b", "c"])
      j.recordPublished(ev(`e-${id}`, { extensions: { correlationid: id } }));
    expect(j.correlationIds).toBe(2);
    expect(j.correlated("a")).toEqual([]);
    expect(j.correlated("c").map((e) => e.id)).toEqual(["e-c"]);
  });

  it("mirrors each ID's entries to its own trace partition, earlier entries of a late ID included", async () => {
    const bus = await createBus("memory", { log: silentLogger() });
    const records = await bus.recordLog("sensorbus-journal", { maxAgeMs: 1e6, maxBytes: 1e8 });
    const traceRecords = await bus.recordLog(TRACE_STREAM, TRACE_LIMITS);
    const c = clock();
    const j = new Journal({ now: c.now, records, traceRecords });
    const obs = j.observer();
    obs.stored?.({ sensor: "s", trigger: "t", dependency: "a", event: ev("late") });
    await j.flush();
    obs.fired?.({
      sensor: "s",
      trigger: "t",
      events: new Map([["a", ev("late", { extensions: { correlationid: "key-2" } })]]),
      ms: 1,
      summary: "logged 1 event(s)",
    });
    twoStages(j, c);
    await j.flush();
    const late = await readTrace(traceRecords, "key-2");
    expect(late.map((e) => [e.id, e.entries.map((x) => x.kind)])).toEqual([
      ["late", ["stored", "fired"]],
    ]);
    const events = await readTrace(traceRecords, "run-42");
    expect(events.map((e) => e.id).sort()).toEqual(["e1", "w1", "w2"]);
    // One subject per ID: the records of run-42 are not in key-2's partition.
    const other = await traceRecords.read(tracePartition("key-2"));
    expect(other.every((r) => JSON.parse(r).c === "key-2")).toBe(true);
    await bus.close();
  });

  it("rejects a trace record that is not JSON, naming the stream and partition", async () => {
    const bad: RecordLog = { append: async () => {}, read: async () => ["{oops"] };
    await expect(readTrace(bad, "run-42")).rejects.toThrow(
      `stream 'sensorbus-trace', partition ${tracePartition("run-42")}, record 1: not a trace record`,
    );
  });
});

describe("buildTrace", () => {
  it("orders every step in time, in lanes per EventSource, Sensor and Workflow, with reasons and errors", () => {
    const c = clock();
    const j = new Journal({ now: c.now });
    twoStages(j, c);
    const t = buildTrace("run-42", j.correlated("run-42"));
    expect(t).toBeDefined();
    const trace = t!;
    expect(trace.steps.map((s) => [s.lane, s.kind])).toEqual([
      ["EventSource upstream", "published"],
      ["Sensor audit", "rejected"],
      ["Sensor stage1", "fired"],
      ["Workflow default/consumer-x1", "created"],
      ["Workflow default/consumer-x1", "phase"],
      ["Workflow default/consumer-x1", "phase"],
      ["Sensor stage2", "retried"],
      ["Sensor stage2", "failed"],
      ["Sensor stage2", "dead-lettered"],
      ["Sensor stage2", "fired"],
      ["Workflow default/stage2-y", "created"],
    ]);
    expect(trace.steps[1]).toMatchObject({ reason: "data filter: 'body.status' is \"ok\"" });
    expect(trace.steps[2]).toMatchObject({
      object: { kind: "Workflow", namespace: "default", name: "consumer-x1" },
      eventId: "e1",
    });
    expect(trace.steps[5]).toMatchObject({ object: { phase: "Succeeded" }, eventId: "w2" });
    expect(trace.steps[7]).toMatchObject({
      error: "POST http://hooks/x -> 503",
      outcome: "failed",
    });
    expect(trace.durationMs).toBe(2016);
    expect(trace.lanes.map((l) => [l.name, l.outcome])).toEqual([
      ["EventSource upstream", "ok"],
      ["Sensor audit", "rejected"],
      ["Sensor stage1", "ok"],
      ["Workflow default/consumer-x1", "ok"],
      ["Sensor stage2", "failed"],
      ["Workflow default/stage2-y", "ok"],
    ]);
    const wf = trace.lanes.find((l) => l.name === "Workflow default/consumer-x1");
    expect(wf?.durationMs).toBe(2000);
  });

  it("keeps an entry seen twice (memory and stream) once, and returns undefined when nothing is known", () => {
    const c = clock();
    const j = new Journal({ now: c.now });
    twoStages(j, c);
    const events = j.correlated("run-42");
    const once = buildTrace("run-42", events)!;
    const twice = buildTrace("run-42", mergeEvents(events, structuredClone(events)))!;
    expect(twice.steps).toEqual(once.steps);
    expect(buildTrace("nope", [])).toBeUndefined();
  });
});

describe("trace formats", () => {
  const c = clock();
  const j = new Journal({ now: c.now });
  twoStages(j, c);
  const trace = buildTrace("run-42", j.correlated("run-42"))!;

  it("text: one line per step with time, outcome and lane", () => {
    const text = formatTrace(trace, "text");
    const lines = text.split("\n");
    expect(lines[0]).toBe(
      "trace run-42: 11 steps, 3 events, 6 lanes, 2.016 s (2026-01-02T03:04:05.000Z .. 2026-01-02T03:04:07.016Z)",
    );
    expect(text).toContain(
      "2026-01-02T03:04:05.002Z  REJ   Sensor audit                  rejected event e1: trigger only-failures, dependency done: data filter: 'body.status' is \"ok\"",
    );
    expect(text).toContain(
      "FAIL  Sensor stage2                 trigger failed: notify: POST http://hooks/x -> 503",
    );
    expect(text).toContain("Workflow default/consumer-x1  Succeeded (UPDATE)");
  });

  it("json: the Trace itself", () => {
    expect(JSON.parse(formatTrace(trace, "json"))).toEqual(trace);
  });

  it("mermaid: a sequence diagram, arrows from the publishing lane to the Sensors and to created Workflows", () => {
    const m = formatTrace(trace, "mermaid");
    const lines = m.trimEnd().split("\n");
    expect(lines[0]).toBe("sequenceDiagram");
    expect(lines).toContain("  participant L4 as Workflow default/consumer-x1");
    expect(lines).toContain("  L1->>L2: event e1");
    expect(lines).toContain(
      "  L3->>L4: 03:04:05.005 fired trigger start-consumer: created Workflow default/consumer-x1 (4.2 ms)",
    );
    expect(lines).toContain("  L4->>L5: event w2");
    // Statement separators never appear inside a message.
    for (const l of lines.slice(1)) expect(l.includes(";") || l.includes("#")).toBe(false);
  });

  it("parses --format and --json, refusing what it does not know", () => {
    expect(parseTraceFormat(undefined, undefined)).toBe("text");
    expect(parseTraceFormat(undefined, true)).toBe("json");
    expect(parseTraceFormat("mermaid", undefined)).toBe("mermaid");
    expect(() => parseTraceFormat("dot", undefined)).toThrow(
      "--format: 'dot' is not one of text, json, mermaid",
    );
    expect(() => parseTraceFormat("text", true)).toThrow("contradict");
  });

  it("parses --trace-retention and --trace-max-bytes", () => {
    expect(parseTraceLimits(undefined, undefined)).toEqual({
      maxAgeMs: 86_400_000,
      maxBytes: 1024 ** 3,
    });
    expect(parseTraceLimits("48h", "512M")).toEqual({
      maxAgeMs: 172_800_000,
      maxBytes: 512 * 1024 ** 2,
    });
    expect(parseTraceLimits("0", undefined).maxAgeMs).toBe(0);
    expect(() => parseTraceLimits("soon", undefined)).toThrow("--trace-retention: 'soon'");
    expect(() => parseTraceLimits("10s", undefined)).toThrow("under a minute");
    expect(() => parseTraceLimits(undefined, "12 parsecs")).toThrow("--trace-max-bytes");
  });
});

const capture =
  (list: string[]) =>
  (s: unknown): boolean => {
    list.push(String(s));
    return true;
  };

describe("sensorbus trace (CLI against a running console)", () => {
  const out: string[] = [];
  const err: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    out.length = 0;
    err.length = 0;
  });

  async function serve(j: Journal) {
    const app = Fastify();
    consoleRoutes({ journal: j, graph: () => ({ nodes: [], edges: [] }) as never })(app);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const addr = app.server.address() as { port: number };
    vi.spyOn(process.stdout, "write").mockImplementation(capture(out));
    vi.spyOn(process.stderr, "write").mockImplementation(capture(err));
    return { app, url: `http://127.0.0.1:${addr.port}` };
  }

  it("exits 1 with a clear message when nothing is known about the ID", async () => {
    const { app, url } = await serve(new Journal());
    try {
      expect(await main(["trace", "run-404", "--url", url])).toBe(1);
    } finally {
      await app.close();
    }
    expect(out).toEqual([]);
    expect(err.join("")).toContain(
      "sensorbus trace: nothing is known about correlation ID 'run-404'",
    );
  });

  it("prints the trace of a known ID (mermaid) and exits 0", async () => {
    const c = clock();
    const j = new Journal({ now: c.now });
    twoStages(j, c);
    const { app, url } = await serve(j);
    try {
      expect(await main(["trace", "run-42", "--url", url, "--format", "mermaid"])).toBe(0);
      const res = await fetch(`${url}/api/traces/run-42`);
      expect(((await res.json()) as { steps: unknown[] }).steps).toHaveLength(11);
      expect((await fetch(`${url}/api/traces/nope`)).status).toBe(404);
    } finally {
      await app.close();
    }
    expect(out.join("")).toMatch(/^sequenceDiagram\n/);
  });

  it("refuses a missing ID (exit 2)", async () => {
    vi.spyOn(process.stderr, "write").mockImplementation(capture(err));
    expect(await main(["trace"])).toBe(2);
    expect(err.join("")).toContain("trace needs exactly one CORRELATION_ID");
  });
});

describe("the correlation ID travels on", () => {
  const ctx = (events: Map<string, CloudEvent>, correlationId?: string): FiringContext => ({
    sensorName: "s",
    namespace: "default",
    triggerName: "t",
    events,
    applyParameters: (doc) => doc,
    values: {} as never,
    log: silentLogger(),
    now: () => 0,
    correlationId,
  });
  const events = new Map([["d", ev("e1", { extensions: run42 })]]);

  it("http: as X-Correlation-Id, unless the trigger sets it", async () => {
    const r = await httpTrigger().render({ url: "http://x/h" } as never, ctx(events, "run-42"));
    expect(r.request?.headers["X-Correlation-Id"]).toBe("run-42");
    const own = await httpTrigger().render(
      { url: "http://x/h", headers: { "x-correlation-id": "mine" } } as never,
      ctx(events, "run-42"),
    );
    expect(own.request?.headers).toEqual({ "x-correlation-id": "mine" });
  });

  it("k8s: as the sensorbus.io/correlation-id label (annotation when not a label value)", async () => {
    const source = {
      resource: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { generateName: "cm-" },
      },
    };
    const r = await k8sTrigger(undefined, { dryRun: true, log: silentLogger() }).render(
      { operation: "create", source } as never,
      ctx(events, "run-42"),
    );
    const meta = (r.payload as { metadata: Record<string, Record<string, string>> }).metadata;
    expect(meta.labels?.["sensorbus.io/correlation-id"]).toBe("run-42");
    const long = await k8sTrigger(undefined, { dryRun: true, log: silentLogger() }).render(
      { operation: "create", source } as never,
      ctx(events, "not a label value!"),
    );
    const m2 = (long.payload as { metadata: Record<string, Record<string, string>> }).metadata;
    expect(m2.annotations?.["sensorbus.io/correlation-id"]).toBe("not a label value!");
  });

  it("log: as a field of every line", async () => {
    const lines: unknown[] = [];
    const log = { ...silentLogger(), info: (o: unknown) => lines.push(o) } as never;
    const kind = logTrigger();
    const r = await kind.render({} as never, ctx(events, "run-42"));
    await kind.execute(r, { log, signal: new AbortController().signal });
    expect(lines).toEqual([expect.objectContaining({ correlationId: "run-42" })]);
  });

  it("sensorbus.io/correlation-id-path: taken from the data where the event has none", () => {
    expect(withCorrelationPath(ev("e"), "body.run_id").extensions?.correlationid).toBe("run-42");
    const has = ev("e", { extensions: { correlationid: "given" } });
    expect(withCorrelationPath(has, "body.run_id").extensions?.correlationid).toBe("given");
    expect(withCorrelationPath(ev("e"), "body.missing").extensions?.correlationid).toBeUndefined();
  });
});

describe("console assets", () => {
  it("the console script parses (its regular expressions and strings survive the template literal)", async () => {
    const { CONSOLE_JS, CONSOLE_HTML } = await import("../../src/observability/ui/assets.js");
    expect(() => new Function(CONSOLE_JS)).not.toThrow();
    expect(CONSOLE_JS).toContain("/^\\/ui\\/traces\\/(.+)$/");
    expect(CONSOLE_HTML).toContain('id="trace-search"');
  });
});

describe("dry runs", () => {
  it("a Workflow rendered in a dry run is said to be rendered, not created", () => {
    const j = new Journal();
    const e = ev("d1", { extensions: run42 });
    j.observer().fired?.({
      sensor: "s",
      trigger: "t",
      events: new Map([["d", e]]),
      ms: 1,
      summary: "rendered Workflow submit default/w-1 (dry run)",
      rendered: {
        kind: "argoWorkflow",
        payload: { kind: "Workflow", metadata: { name: "w-1", namespace: "default" } },
      },
      detail: { dryRun: true },
    });
    const t = buildTrace("run-42", j.correlated("run-42"))!;
    expect(t.steps.map((s) => [s.lane, s.kind, s.text])).toEqual([
      [
        "Sensor s",
        "fired",
        "fired trigger t: rendered Workflow submit default/w-1 (dry run) (1 ms)",
      ],
      [
        "Workflow default/w-1",
        "created",
        "rendered by Sensor s, trigger t (dry run: not sent to a cluster)",
      ],
    ]);
  });
});

describe("CorrelationIndex bounds", () => {
  it("bounds IDs, items per ID and items in all, dropping the oldest IDs", () => {
    const idx = new CorrelationIndex<number>(3, 2, 4);
    idx.add("a", 1);
    idx.add("a", 2);
    idx.add("a", 3); // past 2 per ID: not kept
    expect(idx.get("a")).toEqual([1, 2]);
    idx.add("b", 4);
    idx.add("b", 5);
    expect(idx.get("a")).toEqual([1, 2]); // 4 items in all: still fits
    idx.add("c", 6); // 5 items: the oldest ID goes
    expect(idx.get("a")).toBeUndefined();
    expect(idx.get("c")).toEqual([6]);
    idx.add("d", 7);
    idx.add("e", 8); // 4 IDs: the oldest (b) goes
    expect(idx.size).toBe(3);
    expect(idx.get("b")).toBeUndefined();
  });

  it("the journal's index holds at most traceMaxEvents events", () => {
    const j = new Journal({ traceMaxEvents: 3 });
    for (const i of [1, 2, 3, 4])
      j.recordPublished(ev(`e${i}`, { extensions: { correlationid: `id-${i}` } }));
    expect(j.correlationIds).toBe(3);
    expect(j.correlated("id-1")).toEqual([]);
  });
});
