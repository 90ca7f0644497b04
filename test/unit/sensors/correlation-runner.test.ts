import { describe, expect, it, vi } from "vitest";
import type { SensorObserver } from "../../../src/app/sensor-runner.js";
import { SensorRunner } from "../../../src/app/sensor-runner.js";
import type { CloudEvent } from "../../../src/cloudevents/event.js";
import { dirResolver } from "../../../src/config/secrets.js";
import { MemoryBus } from "../../../src/eventbus/memory.js";
import type { Clock } from "../../../src/eventsources/types.js";
import { silentLogger } from "../../../src/observability/logger.js";
import type { TriggerKind } from "../../../src/triggers/types.js";
import { stepEvent, stepsSensor } from "../../support/steps.js";

/** A clock whose sleeps end only when the test advances it past their deadline. */
function manualClock(start: number) {
  let t = start;
  const sleeps: Array<{ due: number; resolve: (ok: boolean) => void }> = [];
  const clock: Clock = {
    now: () => t,
    sleep: (ms, signal) =>
      new Promise<boolean>((resolve) => {
        if (signal?.aborted) return resolve(false);
        sleeps.push({ due: t + ms, resolve });
        signal?.addEventListener("abort", () => resolve(false), { once: true });
      }),
  };
  const advance = (ms: number) => {
    t += ms;
    for (const s of sleeps.splice(0)) {
      if (s.due <= t) s.resolve(true);
      else sleeps.push(s);
    }
  };
  return { clock, advance, sleeping: () => sleeps.length };
}

const sensor = stepsSensor("keyed", {
  conditions: "extract && validate",
  correlation: { window: "1m", key: "body.correlation_id" },
  log: {},
});

describe("SensorRunner with keyed correlation (in-memory bus, manual clock)", () => {
  it("rejects events without the key, fires per key, and sweeps expired keys", async () => {
    const mc = manualClock(Date.parse("2026-01-01T00:00:00Z"));
    const executed: Array<ReadonlyMap<string, CloudEvent>> = [];
    const kind: TriggerKind<unknown> = {
      kind: "log",
      render: async (_t, ctx) => {
        executed.push(ctx.events);
        return { kind: "log" };
      },
      execute: async () => ({ summary: "logged" }),
    };
    const rejected: string[] = [];
    const expired: Array<{ key: string; reason: string; ids: string[] }> = [];
    const observer: SensorObserver = {
      rejected: (i) => rejected.push(`${i.trigger}/${i.dependency}: ${i.reason}`),
      expired: (i) =>
        expired.push({
          key: i.key,
          reason: i.reason,
          ids: [...i.events.values()].map((e) => e.id),
        }),
    };
    const bus = new MemoryBus();
    const runner = await SensorRunner.create(
      { manifest: sensor, file: "test", doc: 0 },
      {
        bus,
        kinds: new Map([["log", kind]]),
        values: dirResolver({}),
        clock: mc.clock,
        log: silentLogger(),
        observer,
      },
    );
    await runner.start();
    await bus.publish(stepEvent("a1", "extract", { correlation_id: "A" }));
    await bus.publish(stepEvent("b1", "extract", { correlation_id: "B" }));
    await bus.publish(stepEvent("x1", "validate", { nothing: true }));
    await vi.waitFor(() => expect(runner.correlationOpenKeys()).toBe(2));
    await vi.waitFor(() =>
      expect(rejected).toEqual([
        "load/validate: correlation key 'body.correlation_id' does not exist",
      ]),
    );
    await bus.publish(stepEvent("b2", "validate", { correlation_id: "B" }));
    await vi.waitFor(() => expect(executed).toHaveLength(1));
    expect(Object.fromEntries([...executed[0]!].map(([d, e]) => [d, e.id]))).toEqual({
      extract: "b1",
      validate: "b2",
    });
    expect(executed[0]!.get("extract")!.extensions?.correlationid).toBe("B");
    expect(runner.correlationOpenKeys()).toBe(1);

    // The sweeper (every 3 s for a 1 m window) expires A once its window has passed.
    await vi.waitFor(() => expect(mc.sleeping()).toBeGreaterThan(0));
    mc.advance(30_000);
    // The sweep ran (the loop is asleep again) and A, 30 s old, is still open.
    await vi.waitFor(() => expect(mc.sleeping()).toBe(1));
    expect(expired).toEqual([]);
    expect(runner.correlationOpenKeys()).toBe(1);
    mc.advance(30_000);
    await vi.waitFor(() => expect(expired).toEqual([{ key: "A", reason: "window", ids: ["a1"] }]));
    expect(runner.correlationOpenKeys()).toBe(0);
    await runner.stop();
  });
});
