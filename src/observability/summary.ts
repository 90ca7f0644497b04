import type { Registry } from "prom-client";

/**
 * A Prometheus summary (`_sum`, `_count` and quantiles) for the Argo-named duration metrics,
 * observed on every event. prom-client's Summary feeds a t-digest at each observation (about
 * 0.9 µs); this one counts the value into a log-spaced bucket (1 % relative error) and works the
 * quantiles out at scrape time. The quantiles cover the last 8-10 minutes, as Go's client does
 * with Argo's settings (MaxAge 10 min in 5 age buckets); `_sum` and `_count` cover all time.
 */
export class QuantileSummary<L extends string> {
  readonly type = "summary";
  readonly aggregator = "sum";
  private readonly series = new Map<string, Series<L>>();
  private readonly slotMs: number;
  private readonly ageBuckets: number;

  constructor(
    private readonly options: {
      name: string;
      help: string;
      labelNames: readonly L[];
      percentiles: readonly number[];
      registers: readonly Registry[];
      /** Window the quantiles cover (default 10 min), kept in `ageBuckets` parts (default 5). */
      maxAgeMs?: number;
      ageBuckets?: number;
      now?: () => number;
    },
  ) {
    this.ageBuckets = options.ageBuckets ?? 5;
    this.slotMs = (options.maxAgeMs ?? 600_000) / this.ageBuckets;
    for (const r of options.registers) r.registerMetric(this as never);
  }

  get name(): string {
    return this.options.name;
  }

  get help(): string {
    return this.options.help;
  }

  observe(labels: Readonly<Record<L, string>>, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: value ${value} is not finite`);
    const names = this.options.labelNames;
    let key = "";
    for (const n of names) key += `${labels[n]}\u0000`;
    let s = this.series.get(key);
    if (!s) {
      const copy = {} as Record<L, string>;
      for (const n of names) copy[n] = labels[n];
      s = { labels: copy, sum: 0, count: 0, slots: [] };
      this.series.set(key, s);
    }
    s.sum += value;
    s.count++;
    const slot = Math.floor(this.now() / this.slotMs);
    let current = s.slots.at(-1);
    if (current?.slot !== slot) {
      current = { slot, buckets: new Map() };
      s.slots.push(current);
      if (s.slots.length > this.ageBuckets) s.slots.shift();
    }
    const b = bucketOf(value);
    current.buckets.set(b, (current.buckets.get(b) ?? 0) + 1);
  }

  /** prom-client's metric interface (Registry.metrics() calls it at each scrape). */
  get(): {
    name: string;
    help: string;
    type: "summary";
    aggregator: "sum";
    values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
  } {
    const values: Array<{
      labels: Record<string, string | number>;
      value: number;
      metricName?: string;
    }> = [];
    const oldest = Math.floor(this.now() / this.slotMs) - (this.ageBuckets - 1);
    for (const s of this.series.values()) {
      const merged = new Map<number, number>();
      let n = 0;
      for (const slot of s.slots) {
        if (slot.slot < oldest) continue;
        for (const [b, c] of slot.buckets) {
          merged.set(b, (merged.get(b) ?? 0) + c);
          n += c;
        }
      }
      const sorted = [...merged].sort((a, b) => a[0] - b[0]);
      for (const q of this.options.percentiles)
        values.push({ labels: { quantile: q, ...s.labels }, value: quantile(sorted, n, q) });
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }

  reset(): void {
    this.series.clear();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

interface Series<L extends string> {
  labels: Record<L, string>;
  sum: number;
  count: number;
  /** Counts per bucket for each age bucket (slot = time / slotMs), oldest first. */
  slots: Array<{ slot: number; buckets: Map<number, number> }>;
}

/** Bucket i holds (GAMMA^(i-1), GAMMA^i]: any value in it is within 1 % of the bucket's middle. */
const GAMMA = 1.01 / 0.99;
const LOG_GAMMA = Math.log(GAMMA);
/** Values at or below this (ms) share bucket ZERO and read back as 0. */
const MIN_VALUE = 1e-6;
const ZERO = Number.MIN_SAFE_INTEGER;

function bucketOf(value: number): number {
  return value <= MIN_VALUE ? ZERO : Math.ceil(Math.log(value) / LOG_GAMMA);
}

function bucketValue(bucket: number): number {
  return bucket === ZERO ? 0 : (2 * GAMMA ** bucket) / (GAMMA + 1);
}

/** The q-quantile of n values counted in sorted buckets; 0 when there are none (as prom-client). */
function quantile(sorted: ReadonlyArray<[number, number]>, n: number, q: number): number {
  if (n === 0) return 0;
  const rank = q * (n - 1);
  let seen = 0;
  for (const [b, c] of sorted) {
    seen += c;
    if (seen > rank) return bucketValue(b);
  }
  return bucketValue(sorted.at(-1)![0]);
}
