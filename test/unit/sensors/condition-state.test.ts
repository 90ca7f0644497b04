import { afterEach, describe, expect, it } from "vitest";
import type { CloudEvent } from "../../../src/cloudevents/event.js";
import { EventBusError } from "../../../src/errors.js";
import { createBus } from "../../../src/eventbus/index.js";
import type { EventBus, KeyValueStore } from "../../../src/eventbus/types.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { KvConditionState, type StoredDependencyEvent } from "../../../src/sensors/state.js";

const entry = (id: string): StoredDependencyEvent => ({
  event: {
    specversion: "1.0",
    id,
    source: "es",
    subject: "x",
    type: "webhook",
    time: "2026-01-02T03:04:05Z",
    datacontenttype: "application/json",
    data: "{}",
  } as CloudEvent,
  timestamp: "2026-01-02T03:04:05Z",
  streamSeq: 1,
});

const conflict = (err: unknown) =>
  err instanceof EventBusError && err.code === "SB_ERR_KV_CONFLICT";

const buses: EventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

/**
 * Two replicas x and y on one KV, both loaded the empty state of trigger `t`; y stored b1 first,
 * so x's write of a1 landed but its guard bump lost.
 */
async function xLostTheGuardRace(): Promise<{
  kv: KeyValueStore;
  x: KvConditionState;
  y: KvConditionState;
}> {
  const bus = await createBus(undefined, { log: silentLogger() });
  buses.push(bus);
  const kv = await bus.kv("condition-state");
  const x = new KvConditionState(kv);
  const y = new KvConditionState(kv);
  await x.load("t");
  await y.load("t");
  await y.save("t", "b", entry("b1"));
  expect(conflict(await x.save("t", "a", entry("a1")).catch((e: unknown) => e))).toBe(true);
  return { kv, x, y };
}

describe("KvConditionState: two replicas on one KV", () => {
  it("a save that lost the guard race, whose entry the other replica then fired with, is spent", async () => {
    const { kv, x, y } = await xLostTheGuardRace();
    // y sees a1 and b1: the condition holds, y consumes both (and fires).
    expect([...(await y.load("t")).keys()].sort()).toEqual(["a", "b"]);
    await y.clear("t");
    expect(await kv.get("t/a")).toBeUndefined();
    // x evaluates a1 again: it must not store it a second time.
    expect((await x.load("t")).size).toBe(0);
    expect(x.spent("t", "a", "a1")).toBe(true);
  });

  it("is not spent while its landed entry is still there, nor for another event", async () => {
    const { x } = await xLostTheGuardRace();
    // Nobody consumed a1: the retry sees it, so it goes on (and now fires with b1).
    expect([...(await x.load("t")).keys()].sort()).toEqual(["a", "b"]);
    expect(x.spent("t", "a", "a2")).toBe(false);
    expect(x.spent("t", "a", "a1")).toBe(false);
    // A save that won its guard leaves nothing behind to check.
    await x.save("t", "a", entry("a1"));
    expect(x.spent("t", "a", "a1")).toBe(false);
  });
});
