import { Registry, Summary } from "prom-client";
import { describe, expect, it } from "vitest";
import { QuantileSummary } from "../../../src/observability/summary.js";

const labels = { namespace: "argo", trigger_name: "t" };

function make(now: () => number) {
  const registry = new Registry();
  const summary = new QuantileSummary({
    name: "x_duration_milliseconds",
    help: "Summary of durations",
    labelNames: ["namespace", "trigger_name"],
    percentiles: [0.5, 0.9, 0.99],
    registers: [registry],
    now,
  });
  return { registry, summary };
}

/** Sample lines of the exposition, as "name{labels} value". */
async function samples(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split("\n").filter((l) => l && !l.startsWith("#"));
}

describe("QuantileSummary", () => {
  it("exposes what prom-client's Summary exposes: quantiles, _sum and _count per label set", async () => {
    const ours = make(() => 0);
    const reference = new Registry();
    const theirs = new Summary({
      name: "x_duration_milliseconds",
      help: "Summary of durations",
      labelNames: ["namespace", "trigger_name"],
      percentiles: [0.5, 0.9, 0.99],
      registers: [reference],
    });
    for (let i = 1; i <= 1000; i++) {
      ours.summary.observe(labels, i);
      theirs.observe(labels, i);
    }
    ours.summary.observe({ namespace: "argo", trigger_name: "u" }, 5);
    const text = await ours.registry.metrics();
    expect(text).toContain("# TYPE x_duration_milliseconds summary");
    expect(text).toContain("# HELP x_duration_milliseconds Summary of durations");
    const mine = await samples(ours.registry);
    const ref = await samples(reference);
    const names = (lines: string[]) => lines.map((l) => l.slice(0, l.lastIndexOf(" ")));
    expect(names(mine).slice(0, 5)).toEqual(names(ref));
    expect(mine).toContain('x_duration_milliseconds_sum{namespace="argo",trigger_name="t"} 500500');
    expect(mine).toContain('x_duration_milliseconds_count{namespace="argo",trigger_name="t"} 1000');
    expect(mine).toContain('x_duration_milliseconds_count{namespace="argo",trigger_name="u"} 1');
    // Quantiles within 1 % (plus one rank) of the exact ones.
    const value = (q: number) =>
      Number(
        mine
          .find((l) => l.startsWith(`x_duration_milliseconds{quantile="${q}",`))!
          .split(" ")
          .at(-1),
      );
    expect(value(0.5)).toBeGreaterThan(500 * 0.99 - 1);
    expect(value(0.5)).toBeLessThan(501 * 1.01);
    expect(value(0.9)).toBeGreaterThan(900 * 0.99 - 1);
    expect(value(0.9)).toBeLessThan(901 * 1.01);
    expect(value(0.99)).toBeGreaterThan(990 * 0.99 - 1);
    expect(value(0.99)).toBeLessThan(991 * 1.01);
  });

  it("keeps relative error under 1 % from microseconds to minutes, and reads 0 as 0", () => {
    for (const v of [0, 0.0042, 0.37, 1, 12.5, 999, 65_432.1, 3.6e6]) {
      const { summary } = make(() => 0);
      summary.observe(labels, v);
      const q = summary.get().values.find((x) => x.labels.quantile === 0.5)!.value;
      if (v === 0) expect(q).toBe(0);
      else expect(Math.abs(q - v) / v).toBeLessThan(0.01);
    }
  });

  it("computes quantiles over the last 8-10 minutes; _sum and _count over all time", () => {
    let now = 0;
    const { summary } = make(() => now);
    for (let i = 0; i < 100; i++) summary.observe(labels, 1000); // slow, at t = 0
    now = 5 * 60_000;
    for (let i = 0; i < 100; i++) summary.observe(labels, 1); // fast, at t = 5 min
    const at = (t: number) => {
      now = t;
      const v = summary.get().values;
      return {
        p99: v.find((x) => x.labels.quantile === 0.99)!.value,
        count: v.find((x) => x.metricName?.endsWith("_count"))!.value,
      };
    };
    expect(at(9 * 60_000).p99).toBeGreaterThan(990); // both minutes in the window
    const later = at(11 * 60_000); // the t = 0 age bucket has left it
    expect(later.p99).toBeLessThan(1.02);
    expect(later.count).toBe(200);
    expect(at(16 * 60_000).p99).toBe(0); // nothing left in the window
  });

  it("refuses a value that is not a finite number", () => {
    const { summary } = make(() => 0);
    expect(() => summary.observe(labels, Number.NaN)).toThrow(/not finite/);
    expect(() => summary.observe(labels, Number.POSITIVE_INFINITY)).toThrow(/not finite/);
  });
});
