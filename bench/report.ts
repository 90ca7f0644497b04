/** Step results, the printed table and the SVG chart of `npm run bench`. */

export interface StepResult {
  system: string;
  rate: number;
  sent: number;
  /** Deliveries the step expected (one per event, or per pair for a two-dependency condition). */
  expected: number;
  delivered: number;
  refused: number;
  lost: number;
  /**
   * Accepted, not delivered, held by the condition per sensorbus's journal: replaced by a newer
   * event of the same dependency, or stored and waiting for the other dependency.
   */
  replaced: number;
  waiting: number;
  duplicates: number;
  /** Delivered per second, from the first send to the last delivery. */
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  webhookP99Ms: number;
  /** p99 of how late the generator wrote requests against their schedule. */
  lagP99Ms: number;
  /** CPU of the system under test (user + system) per delivered event, microseconds. */
  cpuUsPerEvent: number;
  /** CPU of nats-server per delivered event, microseconds. */
  natsCpuUsPerEvent: number;
  /** CPU of the benchmark process itself (load generator and sink) per delivered event, µs. */
  loadCpuUsPerEvent: number;
  rssMiB: number;
}

/**
 * ≥ 99.9 % of the expected deliveries arrived (or, with a condition, are held by it: replaced by
 * a newer event of the same dependency, or waiting for the other), nothing accepted was lost, and
 * e2e p99 ≤ 50 ms.
 */
export function sustains(s: StepResult): boolean {
  return (
    s.delivered + s.replaced + s.waiting >= 0.999 * s.expected && s.lost === 0 && s.p99Ms <= 50
  );
}

/** The highest step rate this system sustained, or undefined. */
export function sustained(steps: readonly StepResult[]): StepResult | undefined {
  return steps.filter(sustains).sort((a, b) => b.rate - a.rate)[0];
}

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : "-");
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : "-");

export function table(steps: readonly StepResult[]): string {
  const head = [
    "system",
    "rate/s",
    "sent",
    "delivered",
    "ev/s",
    "refused",
    "lost",
    "held",
    "dup",
    "p50 ms",
    "p99 ms",
    "max ms",
    "hook p99",
    "lag p99",
    "cpu µs/ev",
    "nats µs/ev",
    "load µs/ev",
    "rss MiB",
    "ok",
  ];
  const rows = steps.map((s) => [
    s.system,
    String(s.rate),
    String(s.sent),
    `${s.delivered}/${s.expected}`,
    f1(s.eventsPerSec),
    String(s.refused),
    String(s.lost),
    s.replaced + s.waiting === 0 ? "0" : `${s.replaced}+${s.waiting}`,
    String(s.duplicates),
    f2(s.p50Ms),
    f2(s.p99Ms),
    f1(s.maxMs),
    f2(s.webhookP99Ms),
    f2(s.lagP99Ms),
    f1(s.cpuUsPerEvent),
    f1(s.natsCpuUsPerEvent),
    f1(s.loadCpuUsPerEvent),
    f1(s.rssMiB),
    sustains(s) ? "yes" : "no",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(" | ")} |`;
  return [
    line(head),
    // Biome's Markdown formatting of the separator, so the table pastes into docs/performance.md as is.
    `| ${widths.map((w) => `${"-".repeat(w - 1)}:`).join(" | ")} |`,
    ...rows.map(line),
  ].join("\n");
}

/**
 * An SVG chart: delivered events/s (left) and e2e p99 (right, log scale) against the offered rate,
 * one colour per system.
 */
export function chart(steps: readonly StepResult[], title: string): string {
  const systems = [...new Set(steps.map((s) => s.system))];
  const colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
  const W = 760;
  const H = 420;
  const pad = { l: 70, r: 70, t: 40, b: 60 };
  const maxRate = Math.max(...steps.map((s) => Math.max(s.rate, s.eventsPerSec)));
  const x = (rate: number): number => pad.l + (rate / maxRate) * (W - pad.l - pad.r);
  const yRate = (v: number): number => H - pad.b - (v / maxRate) * (H - pad.t - pad.b);
  const logMin = Math.log10(0.1);
  const logMax = Math.log10(Math.max(1000, ...steps.map((s) => s.p99Ms).filter(Number.isFinite)));
  const yLat = (ms: number): number =>
    H -
    pad.b -
    ((Math.log10(Math.max(ms, 0.1)) - logMin) / (logMax - logMin)) * (H - pad.t - pad.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    `<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="black"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="black"/>`,
    `<line x1="${W - pad.r}" y1="${pad.t}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="black"/>`,
    `<text x="${W / 2}" y="${H - 20}" text-anchor="middle">offered rate (events/s)</text>`,
    `<text transform="translate(18 ${H / 2}) rotate(-90)" text-anchor="middle">delivered events/s (solid)</text>`,
    `<text transform="translate(${W - 12} ${H / 2}) rotate(90)" text-anchor="middle">e2e p99 ms, log scale (dashed)</text>`,
    `<line x1="${pad.l}" y1="${yLat(50)}" x2="${W - pad.r}" y2="${yLat(50)}" stroke="#999" stroke-dasharray="2 4"/>`,
    `<text x="${W - pad.r - 4}" y="${yLat(50) - 4}" text-anchor="end" fill="#666">p99 50 ms</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (maxRate * i) / 4;
    parts.push(
      `<text x="${pad.l - 6}" y="${yRate(v) + 4}" text-anchor="end">${Math.round(v)}</text>`,
      `<text x="${x(v)}" y="${H - pad.b + 16}" text-anchor="middle">${Math.round(v)}</text>`,
    );
  }
  for (let e = Math.ceil(logMin); e <= logMax; e++) {
    parts.push(`<text x="${W - pad.r + 6}" y="${yLat(10 ** e) + 4}">${10 ** e}</text>`);
  }
  systems.forEach((system, i) => {
    const colour = colours[i % colours.length]!;
    // One point per rate: the passing try when a step was run twice.
    const byRate = new Map<number, StepResult>();
    for (const s of steps.filter((x) => x.system === system)) {
      const had = byRate.get(s.rate);
      if (!had || (!sustains(had) && sustains(s))) byRate.set(s.rate, s);
    }
    const pts = [...byRate.values()].sort((a, b) => a.rate - b.rate);
    const path = (y: (s: StepResult) => number): string =>
      pts
        .map((s, k) => `${k === 0 ? "M" : "L"}${x(s.rate).toFixed(1)},${y(s).toFixed(1)}`)
        .join(" ");
    parts.push(
      `<path d="${path((s) => yRate(s.eventsPerSec))}" fill="none" stroke="${colour}" stroke-width="2"/>`,
      `<path d="${path((s) => yLat(s.p99Ms))}" fill="none" stroke="${colour}" stroke-width="2" stroke-dasharray="6 4"/>`,
      ...pts.map(
        (s) =>
          `<circle cx="${x(s.rate).toFixed(1)}" cy="${yRate(s.eventsPerSec).toFixed(1)}" r="3" fill="${colour}"/>`,
      ),
      `<rect x="${pad.l + 10}" y="${pad.t + 8 + i * 18}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${pad.l + 28}" y="${pad.t + 18 + i * 18}">${escapeXml(system)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One command of the start-up section: medians over `runs` runs. */
export interface StartupResult {
  command: string;
  runs: number;
  wallMs: number;
  /** user + system CPU of the child, ms. */
  cpuMs: number;
  /** The wall-time target, ms; absent for the `node -e 0` floor. */
  targetMs?: number;
}

/** Met its wall-time target (undefined: a row without a target, such as `node -e 0`). */
export function startupPasses(r: StartupResult): boolean | undefined {
  return r.targetMs === undefined ? undefined : r.wallMs <= r.targetMs;
}

const secs = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(3) : "-");

/**
 * The start-up table: each command's median wall and CPU time, its wall time beyond `node -e 0`
 * of the same run (the first row without a target), the target and pass/fail.
 */
export function startupTable(rows: readonly StartupResult[]): string {
  const floor = rows.find((r) => r.targetMs === undefined);
  const head = ["command", "runs", "wall s", "cpu s", "wall - node s", "target s", "ok"];
  const body = rows.map((r) => {
    const pass = startupPasses(r);
    return [
      r.command,
      String(r.runs),
      secs(r.wallMs),
      secs(r.cpuMs),
      floor && r !== floor ? secs(r.wallMs - floor.wallMs) : "",
      r.targetMs === undefined ? "" : `≤ ${secs(r.targetMs)}`,
      pass === undefined ? "" : pass ? "yes" : "no",
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [
    line(head),
    `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`,
    ...body.map(line),
  ].join("\n");
}
