import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadResult } from "../../src/config/load.js";
import type { SensorManifest } from "../../src/config/types.js";
import { createBus } from "../../src/eventbus/index.js";
import type { EventBus } from "../../src/eventbus/types.js";
import { silentLogger } from "../../src/observability/logger.js";
import type { ExpiredMatch, OpenMatch } from "../../src/sensors/correlation.js";
import { KvCorrelationStore, MemoryCorrelationStore } from "../../src/sensors/correlation.js";
import { SensorEngine } from "../../src/sensors/engine.js";
import { MemoryConditionState } from "../../src/sensors/state.js";
import { HttpSink } from "../support/http-sink.js";
import { Runtimes } from "../support/kv-restart.js";
import { loaded as manifests } from "../support/loaded.js";
import type { NatsServer } from "../support/nats-server.js";
import { startNatsServer, waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { postJson } from "../support/post-json.js";
import { stepEvent, stepsSensor, stepsSource } from "../support/steps.js";

const log = silentLogger();

const sensorManifest = (triggerSpec: Record<string, unknown>): SensorManifest =>
  stepsSensor("keyed", {
    conditions: "extract && validate",
    correlation: { window: "30m", key: "body.correlation_id" },
    ...triggerSpec,
  });

// Issue 11: open correlated partial matches live in JetStream KV (one entry per key, bucket = the
// Sensor's name), so a Sensor restarted mid-window still fires once with both halves.
describe("keyed correlation on a real nats-server", () => {
  let nats: NatsServer;
  let sink: HttpSink;
  let port: number;
  let loaded: LoadResult;
  let bus: EventBus;
  const runtimes = new Runtimes();

  const start = () => runtimes.start(loaded, nats.url);
  const post = async (endpoint: string, body: unknown) =>
    (await postJson(port, endpoint, body)).status;
  /** Values of the trigger's correlation entries in KV ("" = consumed). */
  const entries = async () => {
    const kv = await bus.kv("keyed");
    const out: string[] = [];
    for (const k of await kv.keys("load/k/")) out.push((await kv.get(k))?.value ?? "");
    return out;
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    sink = await new HttpSink().start();
    port = await freePort();
    bus = await createBus(nats.url, { log });
    const sensor = sensorManifest({
      http: {
        url: `${sink.url}/load`,
        payload: [
          { src: { dependencyName: "extract", dataKey: "body.correlation_id" }, dest: "run" },
          { src: { dependencyName: "extract", dataKey: "body.rows" }, dest: "rows" },
        ],
      },
    });
    loaded = manifests(stepsSource(port), sensor);
  });

  afterAll(async () => {
    await runtimes.stopAll();
    await bus?.close();
    await sink?.stop();
    await nats?.stop();
  });

  it("keeps open keys in KV across a restart and fires once per key", async () => {
    const first = await start();
    expect(await post("/extract", { correlation_id: "run-a", rows: 1 })).toBe(200);
    expect(await post("/extract", { correlation_id: "run-b", rows: 2 })).toBe(200);
    await waitUntil(
      async () => (await entries()).filter((v) => v !== "").length === 2,
      "two open keys in KV",
    );
    await first.stop(5_000);
    expect(sink.requests).toHaveLength(0);

    const second = await start();
    expect(await post("/validate", { correlation_id: "run-a" })).toBe(200);
    await waitUntil(() => sink.requests.length === 1, "run-a's firing after the restart");
    expect(JSON.parse(sink.requests[0]!.body)).toEqual({ run: "run-a", rows: "1" });
    // run-a's entry is consumed; run-b's stays open (its own data, not mixed into run-a's firing).
    await waitUntil(
      async () => (await entries()).filter((v) => v !== "").length === 1,
      "run-a's entry to be consumed",
    );
    const open = (await entries()).filter((v) => v !== "");
    expect(JSON.parse(open[0]!)).toMatchObject({ Key: "run-b" });

    expect(await post("/validate", { correlation_id: "run-b" })).toBe(200);
    await waitUntil(() => sink.requests.length === 2, "run-b's firing");
    expect(JSON.parse(sink.requests[1]!.body)).toEqual({ run: "run-b", rows: "2" });
    await second.stop(5_000);
    expect(sink.requests).toHaveLength(2);
  });

  it("KV store: compare-and-set between replicas, and expiry sweeps", async () => {
    const kv = await bus.kv("keyed-cas");
    const r1 = new KvCorrelationStore(kv);
    const r2 = new KvCorrelationStore(kv);
    const stored = (id: string) => ({
      event: stepEvent(id, "extract", { correlation_id: "k" }),
      timestamp: "2026-01-01T00:00:00Z",
      streamSeq: 1,
    });
    const match = (id: string, firstAt: number): OpenMatch => ({
      key: "k",
      firstAt,
      deps: new Map([["extract", stored(id)]]),
    });
    // Both replicas saw the key absent; only the first create wins.
    expect(await r1.get("t", "k")).toBeUndefined();
    expect(await r2.get("t", "k")).toBeUndefined();
    await r1.put("t", match("e1", 1_000));
    await expect(r2.put("t", match("e2", 1_000))).rejects.toMatchObject({
      code: "SB_ERR_KV_CONFLICT",
    });
    // After re-reading, replica 2 sees replica 1's event with its exact data.
    const seen = await r2.get("t", "k");
    expect(seen?.deps.get("extract")?.event).toEqual(stored("e1").event);
    // Replica 1 consumes (fires); replica 2's stale consume conflicts: no double firing.
    await r1.remove("t", (await r1.get("t", "k"))!);
    await expect(r2.remove("t", seen!)).rejects.toMatchObject({ code: "SB_ERR_KV_CONFLICT" });
    // Consumed keys are deleted: a key listing (what a sweep reads) no longer shows them.
    await r1.put("t", { ...match("e9", 1_000), key: "other" });
    await r1.remove("t", (await r1.get("t", "other"))!);
    expect(await kv.keys("t/k/")).toEqual([]);
    // A new match on the consumed key and its expiry by a sweep.
    await r2.get("t", "k");
    await r2.put("t", match("e3", 5_000));
    expect(await r1.takeExpired("t", 4_999)).toEqual([]);
    const expired = await r1.takeExpired("t", 5_000);
    expect(expired.map((m) => [m.key, m.firstAt, m.deps.get("extract")?.event.id])).toEqual([
      ["k", 5_000, "e3"],
    ]);
    expect(await r2.takeExpired("t", Number.POSITIVE_INFINITY)).toEqual([]);
  });
});

describe("memory bound with 100,000 open keys", () => {
  it("holds 100,000 open keys under 200 MB of heap and evicts the oldest beyond the cap", async () => {
    const cap = 100_000;
    const expired: ExpiredMatch[] = [];
    const store = new MemoryCorrelationStore(cap);
    let clock = 0;
    const engine = new SensorEngine(sensorManifest({ log: {} }), {
      state: new MemoryConditionState(),
      now: () => clock,
      correlation: store,
      onExpired: (e) => expired.push(e),
    });
    const plan = engine.plans[0]!;
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < cap; i++) {
      clock = i;
      const ev = stepEvent(`e${i}`, "extract", { correlation_id: `run-${i}`, rows: i });
      await engine.advance(plan, "extract", ev, { timestamp: ev.time, seq: i });
    }
    const grown = process.memoryUsage().heapUsed - before;
    expect(store.openKeys()).toBe(cap);
    expect(expired).toEqual([]);
    // One open key holds one small CloudEvent (7 short strings + ~60 bytes of data) plus its
    // Map/entry objects (measured with --expose-gc: about 51 MB retained for 100,000 keys, ~540 B
    // each); 200 MB leaves room for garbage not yet collected, as this test cannot force a GC.
    expect(grown).toBeLessThan(200 * 1024 * 1024);

    // Key 100,001 evicts run-0 (earliest first arrival), reported as a capacity expiry.
    clock = cap;
    const extra = stepEvent("extra", "extract", { correlation_id: "run-new" });
    await engine.advance(plan, "extract", extra, { timestamp: extra.time, seq: cap });
    expect(store.openKeys()).toBe(cap);
    expect(expired.map((e) => [e.key, e.reason])).toEqual([["run-0", "capacity"]]);
    // run-1 is still open and completes.
    const v = stepEvent("v1", "validate", { correlation_id: "run-1" });
    const fired = await engine.advance(plan, "validate", v, { timestamp: v.time, seq: cap + 1 });
    expect(fired?.get("extract")?.id).toBe("e1");
    expect(store.openKeys()).toBe(cap - 1);
  });
});
