import { describe, expect, it, vi } from "vitest";
import { Tracker } from "../../bench/load.js";
import {
  chart,
  type StartupResult,
  type StepResult,
  startupPasses,
  startupTable,
  sustained,
  sustains,
  table,
} from "../../bench/report.js";
import { percentile, Samples, slope } from "../../bench/stats.js";

const step = (over: Partial<StepResult>): StepResult => ({
  system: "sensorbus",
  rate: 1000,
  sent: 6000,
  expected: 6000,
  delivered: 6000,
  refused: 0,
  lost: 0,
  replaced: 0,
  waiting: 0,
  duplicates: 0,
  eventsPerSec: 1000,
  p50Ms: 1,
  p99Ms: 10,
  maxMs: 20,
  webhookP99Ms: 5,
  lagP99Ms: 1,
  cpuUsPerEvent: 500,
  natsCpuUsPerEvent: 200,
  loadCpuUsPerEvent: 100,
  rssMiB: 200,
  ...over,
});

describe("bench arithmetic", () => {
  it("nearest-rank percentiles", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    const s = new Samples();
    for (const v of [5, 1, 3, 2, 4]) s.add(v);
    expect(s.summary()).toEqual({ p50: 3, p99: 5, max: 5 });
  });

  it("sustained: ≥ 99.9 % delivered, nothing lost, p99 ≤ 50 ms; the highest such rate", () => {
    expect(sustains(step({}))).toBe(true);
    expect(sustains(step({ delivered: 5993 }))).toBe(false); // 99.88 %
    expect(sustains(step({ delivered: 5994 }))).toBe(true); // 99.9 %
    expect(sustains(step({ lost: 1 }))).toBe(false);
    expect(sustains(step({ p99Ms: 50.1 }))).toBe(false);
    // Held by a two-dependency condition (replaced, or waiting for the other event): not lost.
    expect(sustains(step({ delivered: 5990, replaced: 3, waiting: 1 }))).toBe(true);
    expect(sustains(step({ delivered: 5990, replaced: 3 }))).toBe(false);
    const steps = [step({ rate: 500 }), step({ rate: 2000 }), step({ rate: 4000, p99Ms: 900 })];
    expect(sustained(steps)?.rate).toBe(2000);
    expect(sustained([step({ p99Ms: 60 })])).toBeUndefined();
  });

  it("least-squares slope", () => {
    expect(
      slope([
        [0, 100],
        [1, 102],
        [2, 104],
      ]),
    ).toBeCloseTo(2);
    expect(slope([[0, 1]])).toBe(0);
  });

  it("tracker: lost = accepted but never delivered; duplicates and strays counted apart", () => {
    const t = new Tracker();
    t.expectDelivery("a", 0);
    t.expectDelivery("b", 0);
    t.expectDelivery("c", 0);
    t.answered("a", true, 1);
    t.answered("b", true, 1);
    t.answered("c", false, 1);
    t.deliver("a", 4);
    t.deliver("a", 5);
    t.deliver("zzz", 5); // an earlier step's event: ignored
    expect(t.deliveredCount).toBe(1);
    expect(t.duplicates).toBe(1);
    expect(t.refused).toBe(1);
    expect(t.lost).toBe(1); // b
    expect(t.e2e.summary().p50).toBe(4);
  });

  it("tracker: events the journal shows held by a condition leave the lost count", async () => {
    const t = new Tracker();
    for (const id of ["a", "b", "c", "d"]) {
      t.expectDelivery(id, 0);
      t.answered(id, true, 1, `ce-${id}`);
    }
    t.deliver("a", 2);
    const asked: string[][] = [];
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      const drained = t.drain(2_000, 60_000, async (ids) => {
        asked.push(ids);
        return new Map([
          ["ce-b", "replaced"],
          ["ce-c", "waiting"],
        ]);
      });
      await vi.advanceTimersByTimeAsync(5_000);
      await drained;
    } finally {
      vi.useRealTimers();
    }
    // d is neither: lost once nothing more arrived; b and c asked about by CloudEvent id.
    expect(asked[0]).toEqual(["ce-b", "ce-c", "ce-d"]);
    expect([t.replaced.size, t.waiting.size, t.lost]).toEqual([1, 1, 1]);
  });

  it("tracker: the drain ends at the last missing delivery, whichever came first, answer or delivery", async () => {
    const t = new Tracker();
    for (const id of ["a", "b", "c"]) t.expectDelivery(id, 0);
    t.deliver("a", 1); // delivered before its 200 reached the generator
    t.answered("a", true, 2);
    t.answered("b", true, 1);
    t.answered("c", true, 1);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      let done = false;
      const drained = t.drain(30_000, 60_000).then(() => {
        done = true;
      });
      await vi.advanceTimersByTimeAsync(10);
      t.deliver("b", 3);
      await vi.advanceTimersByTimeAsync(10);
      expect(done).toBe(false);
      t.deliver("c", 4);
      await vi.advanceTimersByTimeAsync(0);
      await drained;
      expect(done).toBe(true);
      expect(performance.now()).toBeLessThan(1_000); // not the 30 s idle wait
    } finally {
      vi.useRealTimers();
    }
    expect([t.deliveredCount, t.lost]).toEqual([3, 0]);
  });

  it("renders the table and an SVG with one series per system", () => {
    const steps = [step({ system: "baseline" }), step({ rate: 2000 })];
    expect(table(steps).split("\n")).toHaveLength(4);
    const svg = chart(steps, "t");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain(">baseline</text>");
    expect(svg).toContain(">sensorbus</text>");
  });

  it("start-up: each command beside node -e 0, with its target and pass/fail", () => {
    const rows: StartupResult[] = [
      { command: "node -e 0", runs: 7, wallMs: 90, cpuMs: 45 },
      { command: "validate", runs: 7, wallMs: 310, cpuMs: 250.4, targetMs: 400 },
      { command: "replay", runs: 7, wallMs: 400, cpuMs: 300, targetMs: 400 },
      { command: "run (webhook only)", runs: 7, wallMs: 812.5, cpuMs: Number.NaN, targetMs: 800 },
    ];
    expect(rows.map(startupPasses)).toEqual([undefined, true, true, false]);
    expect(startupTable(rows).split("\n")).toEqual([
      "| command            | runs | wall s | cpu s | wall - node s | target s |  ok |",
      "| ------------------ | ---: | -----: | ----: | ------------: | -------: | --: |",
      "| node -e 0          |    7 |  0.090 | 0.045 |               |          |     |",
      "| validate           |    7 |  0.310 | 0.250 |         0.220 |  ≤ 0.400 | yes |",
      "| replay             |    7 |  0.400 | 0.300 |         0.310 |  ≤ 0.400 | yes |",
      "| run (webhook only) |    7 |  0.813 |     - |         0.723 |  ≤ 0.800 |  no |",
    ]);
  });
});
