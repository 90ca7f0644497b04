import { describe, expect, it, vi } from "vitest";
import { SensorRunner } from "../../../src/app/sensor-runner.js";
import { newEventId, nowRfc3339Nano } from "../../../src/cloudevents/event.js";
import { dirResolver } from "../../../src/config/secrets.js";
import type { SensorManifest, Trigger } from "../../../src/config/types.js";
import { MemoryBus } from "../../../src/eventbus/memory.js";
import type { Clock } from "../../../src/eventsources/types.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { rateLimiter, TokenBucket } from "../../../src/triggers/rate-limit.js";
import type { TriggerKind } from "../../../src/triggers/types.js";

function fakeClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe("rateLimit token bucket", () => {
  it("lets the first firing through, then spaces firings evenly at requestsPerUnit / unit", () => {
    const clock = fakeClock();
    const bucket = rateLimiter({ unit: "Second", requestsPerUnit: 4 }, clock.now);
    expect(bucket?.intervalMs).toBe(250);
    // Four firings at the same instant: 0, 250, 500, 750 ms of waiting (burst 1).
    expect([1, 2, 3, 4].map(() => bucket!.reserve())).toEqual([0, 250, 500, 750]);
    // After those slots have passed, the next one is due 250 ms after the last.
    clock.advance(750);
    expect(bucket!.reserve()).toBe(250);
  });

  it("refills continuously up to the burst, never beyond it", () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(2, 60_000, clock.now, 2); // 2 per minute, burst 2
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(30_000);
    clock.advance(3_600_000); // an idle hour refills to the burst only
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(30_000);
    clock.advance(15_000); // half a token accrued meanwhile: the queued slot is 15 s closer
    expect(bucket.reserve()).toBe(45_000);
  });

  it("maps Minute and Hour, and treats an unknown or empty unit as Second (as Argo)", () => {
    const clock = fakeClock();
    expect(rateLimiter({ unit: "Minute", requestsPerUnit: 3 }, clock.now)?.intervalMs).toBe(20_000);
    expect(rateLimiter({ unit: "Hour", requestsPerUnit: 1 }, clock.now)?.intervalMs).toBe(
      3_600_000,
    );
    expect(rateLimiter({ unit: "Fortnight", requestsPerUnit: 2 }, clock.now)?.intervalMs).toBe(500);
    expect(rateLimiter({ requestsPerUnit: 10 }, clock.now)?.intervalMs).toBe(100);
  });

  it("does not limit without a positive requestsPerUnit", () => {
    const clock = fakeClock();
    expect(rateLimiter(undefined, clock.now)).toBeUndefined();
    expect(rateLimiter({ unit: "Second" }, clock.now)).toBeUndefined();
    expect(rateLimiter({ unit: "Second", requestsPerUnit: 0 }, clock.now)).toBeUndefined();
    expect(rateLimiter({ unit: "Second", requestsPerUnit: -1 }, clock.now)).toBeUndefined();
  });

  it("gives back a cancelled reservation so the next caller does not wait for it", () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1, 1_000, clock.now);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(1_000);
    bucket.cancel();
    expect(bucket.reserve()).toBe(1_000);
  });

  it("refuses a bucket that could never hand out a token", () => {
    expect(() => new TokenBucket(0, 1_000, Date.now)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 1_000, Date.now, 0)).toThrow(/burst >= 1/);
  });

  it("keeps an exact long-run rate: n firings over time take n / rate", () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 1_000, clock.now);
    let fired = 0;
    // A caller that fires as soon as allowed, for 5 simulated seconds.
    while (clock.now() < 1_000_000 + 5_000) {
      const wait = bucket.reserve();
      clock.advance(wait);
      if (clock.now() <= 1_000_000 + 5_000) fired++;
    }
    expect(fired).toBe(51); // the burst token at t=0, then one every 100 ms through t=5 s
  });
});

// ---------------------------------------------------------------------------------------------
// Applied by SensorRunner: before execute, per trigger, not to the dlqTrigger; dead letters stored.

describe("SensorRunner with rateLimit (fake clock, in-memory bus)", () => {
  async function setup(trigger: Trigger, failing: boolean) {
    let t = Date.parse("2026-01-01T00:00:00Z");
    const sleeps: number[] = [];
    const clock: Clock = {
      now: () => t,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
        return true;
      },
    };
    const executed: Array<{ kind: string; at: number }> = [];
    const kind = (name: string, fail: boolean): TriggerKind<unknown> => ({
      kind: name,
      render: async () => ({ kind: name }),
      execute: async () => {
        executed.push({ kind: name, at: t });
        if (fail) throw new Error(`${name} target down`);
        return { summary: "done" };
      },
    });
    const bus = new MemoryBus();
    const sensor: SensorManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "limited" },
      spec: {
        dependencies: [{ name: "d", eventSourceName: "es", eventName: "ev" }],
        triggers: [trigger],
      },
    };
    const runner = await SensorRunner.create(
      { manifest: sensor, file: "test", doc: 0 },
      {
        bus,
        kinds: new Map([
          ["http", kind("http", failing)],
          ["log", kind("log", false)],
        ]),
        values: dirResolver({}),
        clock,
        log: silentLogger(),
        concurrency: 1,
        deadLetter: async (r) => {
          await bus.deadLetter(r);
        },
      },
    );
    await runner.start();
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await bus.publish({
          specversion: "1.0",
          id: newEventId(),
          source: "es",
          subject: "ev",
          type: "webhook",
          time: nowRfc3339Nano(),
          datacontenttype: "application/json",
          data: `{"i":${i}}`,
        });
      }
    };
    return { bus, runner, publish, executed, sleeps, start: t };
  }

  it("spaces the trigger's executions at the configured rate", async () => {
    const s = await setup(
      {
        template: { name: "t", http: { url: "http://x" } },
        rateLimit: { unit: "Second", requestsPerUnit: 2 },
      },
      false,
    );
    await s.publish(3);
    await vi.waitFor(() => expect(s.executed).toHaveLength(3));
    expect(s.executed.map((e) => e.at - s.start)).toEqual([0, 500, 1000]);
    expect(s.sleeps).toEqual([500, 500]);
    await s.runner.stop();
  });

  it("does not rate-limit the dlqTrigger; without a dlqTrigger the firing is dead-lettered", async () => {
    const withDlq = await setup(
      {
        template: { name: "t", http: { url: "http://x" } },
        atLeastOnce: true,
        rateLimit: { unit: "Hour", requestsPerUnit: 1 },
        dlqTrigger: { template: { name: "dlq", log: {} }, atLeastOnce: true },
      },
      true,
    );
    await withDlq.publish(2);
    await vi.waitFor(() => expect(withDlq.executed).toHaveLength(4));
    expect(withDlq.executed.map((e) => [e.kind, e.at - withDlq.start])).toEqual([
      ["http", 0],
      ["log", 0],
      ["http", 3_600_000],
      ["log", 3_600_000],
    ]);
    expect(withDlq.sleeps).toEqual([3_600_000]);
    expect(await withDlq.bus.listDeadLetters()).toEqual([]);
    await withDlq.runner.stop();

    const noDlq = await setup({ template: { name: "t", http: { url: "http://x" } } }, true);
    await noDlq.publish(1);
    await vi.waitFor(async () => expect(await noDlq.bus.listDeadLetters()).toHaveLength(1));
    const [dl] = await noDlq.bus.listDeadLetters();
    expect(dl).toMatchObject({ sensor: "limited", trigger: "t", attempts: 1 });
    expect(dl!.error).toContain("http target down");
    expect(Object.keys(dl!.events)).toEqual(["d"]);
    await noDlq.runner.stop();
  });
});
