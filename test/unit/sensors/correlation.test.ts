import { describe, expect, it } from "vitest";
import type { CloudEvent } from "../../../src/cloudevents/event.js";
import type { CorrelationConfig, SensorManifest } from "../../../src/config/types.js";
import type { ExpiredMatch } from "../../../src/sensors/correlation.js";
import {
  correlationKeyOf,
  MemoryCorrelationStore,
  parseCorrelation,
} from "../../../src/sensors/correlation.js";
import { SensorEngine } from "../../../src/sensors/engine.js";
import { MemoryConditionState } from "../../../src/sensors/state.js";
import { stepEvent, stepsSensor } from "../../support/steps.js";

const MIN = 60_000;

const sensor = (
  correlation?: CorrelationConfig,
  conditions = "extract && validate",
): SensorManifest =>
  stepsSensor("pipeline", { conditions, ...(correlation ? { correlation } : {}), log: {} });

const CORRELATION: CorrelationConfig = {
  window: "30m",
  keys: { extract: "body.correlation_id", validate: "body.run.id" },
};

/** An engine on a settable clock, collecting expiries. */
function harness(manifest: SensorManifest, store = new MemoryCorrelationStore()) {
  const clock = { now: 0 };
  const expired: ExpiredMatch[] = [];
  const engine = new SensorEngine(manifest, {
    state: new MemoryConditionState(),
    now: () => clock.now,
    correlation: store,
    onExpired: (e) => expired.push(e),
  });
  const plan = engine.plans[0]!;
  let seq = 0;
  /** Runs an event through filters + the condition step, as SensorRunner.handle does. */
  const feed = async (event: CloudEvent) => {
    const dep = engine.matching(plan, event)[0]!;
    const r = await engine.evaluateDependency(dep, event, plan);
    if (!r.accepted) return { rejected: r.reason };
    const fired = await engine.advance(plan, dep.name, r.event, {
      timestamp: event.time,
      seq: ++seq,
    });
    return { fired };
  };
  return { engine, plan, clock, expired, feed, store };
}

const ids = (m: ReadonlyMap<string, CloudEvent> | undefined) =>
  m ? Object.fromEntries([...m].map(([d, e]) => [d, e.id])) : undefined;

describe("keyed correlation (engine)", () => {
  it("fires interleaved runs A and B separately, each with its own events and key", async () => {
    const h = harness(sensor(CORRELATION));
    expect((await h.feed(stepEvent("a1", "extract", { correlation_id: "A", rows: 1 }))).fired).toBe(
      undefined,
    );
    expect((await h.feed(stepEvent("b1", "extract", { correlation_id: "B", rows: 2 }))).fired).toBe(
      undefined,
    );
    h.clock.now = 5 * MIN;
    const b = (await h.feed(stepEvent("b2", "validate", { run: { id: "B" }, ok: true }))).fired;
    expect(ids(b)).toEqual({ extract: "b1", validate: "b2" });
    // The key is stamped as the correlationid extension (FiringContext.correlationId picks it up).
    expect([...b!.values()].map((e) => e.extensions?.correlationid)).toEqual(["B", "B"]);
    expect(JSON.parse(b!.get("extract")!.data!).body.rows).toBe(2);
    const a = (await h.feed(stepEvent("a2", "validate", { run: { id: "A" }, ok: false }))).fired;
    expect(ids(a)).toEqual({ extract: "a1", validate: "a2" });
    expect(JSON.parse(a!.get("extract")!.data!).body.rows).toBe(1);
    // Both keys were consumed by their firings.
    expect(h.store.openKeys()).toBe(0);
    expect(h.expired).toEqual([]);
  });

  it("keeps an existing correlationid extension on the firing's events", async () => {
    const h = harness(sensor(CORRELATION));
    await h.feed(
      stepEvent("a1", "extract", { correlation_id: "A" }, { correlationid: "upstream-7" }),
    );
    const fired = (await h.feed(stepEvent("a2", "validate", { run: { id: "A" } }))).fired!;
    expect(fired.get("extract")!.extensions?.correlationid).toBe("upstream-7");
    expect(fired.get("validate")!.extensions?.correlationid).toBe("A");
  });

  it("expires a lone A window after its first arrival, in a sweep", async () => {
    const h = harness(sensor(CORRELATION));
    h.clock.now = 1_000;
    await h.feed(stepEvent("a1", "extract", { correlation_id: "A" }));
    h.clock.now = 1_000 + 10 * MIN;
    // A second extract for A replaces the stored event but not the first-arrival time.
    await h.feed(stepEvent("a1b", "extract", { correlation_id: "A" }));
    expect(await h.engine.sweep(1_000 + 30 * MIN - 1)).toBe(0);
    expect(await h.engine.sweep(1_000 + 30 * MIN)).toBe(1);
    expect(h.expired).toHaveLength(1);
    const e = h.expired[0]!;
    expect(e).toMatchObject({ trigger: "load", key: "A", reason: "window", firstAt: 1_000 });
    expect([...e.deps].map(([d, s]) => [d, s.event.id])).toEqual([["extract", "a1b"]]);
    expect(h.store.openKeys()).toBe(0);
  });

  it("a late arrival after the window starts a new partial match instead of firing", async () => {
    const h = harness(sensor(CORRELATION));
    await h.feed(stepEvent("a1", "extract", { correlation_id: "A" }));
    h.clock.now = 31 * MIN; // no sweep ran: the condition step itself expires the old match
    expect((await h.feed(stepEvent("a2", "validate", { run: { id: "A" } }))).fired).toBe(undefined);
    expect(h.expired.map((e) => [e.key, [...e.deps.keys()]])).toEqual([["A", ["extract"]]]);
    // The late validate is now the open match; an extract within its window fires with it.
    h.clock.now = 40 * MIN;
    const fired = (await h.feed(stepEvent("a3", "extract", { correlation_id: "A" }))).fired;
    expect(ids(fired)).toEqual({ validate: "a2", extract: "a3" });
  });

  it("rejects an event whose key path is missing, naming the path", async () => {
    const h = harness(sensor(CORRELATION));
    expect(await h.feed(stepEvent("x1", "extract", { other: 1 }))).toEqual({
      rejected: "correlation key 'body.correlation_id' does not exist",
    });
    expect(h.store.openKeys()).toBe(0);
  });

  it("reads the key from the CloudEvent correlationid extension with ce:correlationid", async () => {
    const h = harness(sensor({ window: "1h", key: "ce:correlationid" }));
    await h.feed(stepEvent("a1", "extract", {}, { correlationid: "run-1" }));
    await h.feed(stepEvent("b1", "validate", {}, { correlationid: "run-2" }));
    const fired = (await h.feed(stepEvent("a2", "validate", {}, { correlationid: "run-1" }))).fired;
    expect(ids(fired)).toEqual({ extract: "a1", validate: "a2" });
    expect(await h.feed(stepEvent("n1", "extract", {}))).toEqual({
      rejected: "correlation key 'ce:correlationid' does not exist",
    });
  });

  it("without correlation keeps Argo's behaviour: latest event per dependency, any run", async () => {
    const h = harness(sensor(undefined));
    expect(h.plan.correlation).toBeUndefined();
    await h.feed(stepEvent("a1", "extract", { correlation_id: "A" }));
    await h.feed(stepEvent("b1", "extract", { correlation_id: "B" }));
    h.clock.now = 10 * 60 * MIN; // no TTL
    const fired = (await h.feed(stepEvent("a2", "validate", { run: { id: "A" } }))).fired;
    // Run B's extract fires together with run A's validate: exactly what Argo does.
    expect(ids(fired)).toEqual({ extract: "b1", validate: "a2" });
    expect(fired!.get("extract")!.extensions).toBeUndefined();
    // An event without the path is not rejected either.
    expect((await h.feed(stepEvent("x1", "extract", { other: 1 }))).rejected).toBeUndefined();
    expect(await h.engine.sweep(Number.POSITIVE_INFINITY)).toBe(0);
    expect(h.expired).toEqual([]);
  });

  it("evicts the oldest key, reported as expired (capacity), beyond the open-key cap", async () => {
    const h = harness(sensor(CORRELATION), new MemoryCorrelationStore(2));
    for (const [i, k] of ["A", "B", "C"].entries()) {
      h.clock.now = i * 1_000;
      await h.feed(stepEvent(`${k}1`, "extract", { correlation_id: k }));
    }
    expect(h.store.openKeys()).toBe(2);
    expect(h.expired.map((e) => [e.key, e.reason])).toEqual([["A", "capacity"]]);
    expect((await h.feed(stepEvent("B2", "validate", { run: { id: "B" } }))).fired?.size).toBe(2);
  });

  it("a trigger with an invalid correlation block never runs, with the reason", () => {
    const bad = new SensorEngine(sensor({ window: "soon", key: "body.id" }), {
      state: new MemoryConditionState(),
      now: () => 0,
    });
    expect(bad.plans[0]!.conditionError).toMatch(/^correlation: window: /);
    const noKey = new SensorEngine(sensor({ window: "5m", keys: { extract: "body.id" } }), {
      state: new MemoryConditionState(),
      now: () => 0,
    });
    expect(noKey.plans[0]!.conditionError).toBe(
      "correlation: no key for dependency 'validate' (set correlation.key or correlation.keys.validate)",
    );
  });

  it("an || condition fires per event, stamped with its key, storing nothing", async () => {
    const h = harness(sensor(CORRELATION, "extract || validate"));
    const fired = (await h.feed(stepEvent("a1", "extract", { correlation_id: "A" }))).fired;
    expect(fired?.get("extract")?.extensions?.correlationid).toBe("A");
    expect(h.store.openKeys()).toBe(0);
  });
});

describe("correlationKeyOf", () => {
  const spec = parseCorrelation(
    { window: "1m", key: "body.n" },
    ["extract"],
    [{ name: "extract", eventSourceName: "s", eventName: "e" }],
  );
  it.each([
    [{ n: 42 }, { key: "42" }],
    [{ n: "x" }, { key: "x" }],
    [{ n: null }, { reason: "correlation key 'body.n' does not exist" }],
    [{ n: "" }, { reason: "correlation key 'body.n' is empty" }],
  ])("%j -> %j", (body, expected) => {
    expect(correlationKeyOf(spec, "extract", stepEvent("i", "extract", body))).toEqual(expected);
  });
});
