import { readFile } from "node:fs/promises";

/** Latency samples in milliseconds, summarised by nearest-rank percentiles. */
export class Samples {
  private values: number[] = [];

  add(ms: number): void {
    this.values.push(ms);
  }

  get count(): number {
    return this.values.length;
  }

  summary(): { p50: number; p99: number; max: number } {
    if (this.values.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
    const sorted = Float64Array.from(this.values).sort();
    return {
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted[sorted.length - 1]!,
    };
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc. */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size of a process, in MiB, from /proc. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? Number.NaN : Number(kb) / 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak and all samples. */
export function watchRss(
  pid: number,
  everyMs: number,
): { stop(): Promise<{ peak: number; samples: Array<[number, number]> }> } {
  const samples: Array<[number, number]> = [];
  const started = performance.now();
  const take = async (): Promise<void> => {
    const mib = await rssMiB(pid).catch(() => Number.NaN);
    if (!Number.isNaN(mib)) samples.push([(performance.now() - started) / 1000, mib]);
  };
  void take();
  const timer = setInterval(() => void take(), everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await take();
      return { peak: Math.max(...samples.map(([, m]) => m)), samples };
    },
  };
}

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
