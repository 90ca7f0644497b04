import { ConfigError } from "../errors.js";
import type { NatsAuth } from "../eventbus/index.js";
import { parseGoDuration } from "../lib/duration.js";
import type { Logger } from "../observability/logger.js";
import type { Trace, TraceStep } from "../observability/timeline.js";
import { buildTrace, readTrace } from "../observability/timeline.js";
import { TRACE_LIMITS, TRACE_STREAM } from "../observability/trace.js";
import { getFromConsole, openJournalBus } from "./explain.js";

export type TraceFormat = "text" | "json" | "mermaid";

export interface TraceOptions {
  id: string;
  /** nats://... : read the `sensorbus-trace` stream (every replica's records). Else ask the running process. */
  busUrl?: string | undefined;
  /** NATS credentials and TLS settings (app/nats-options.ts). */
  busAuth?: NatsAuth | undefined;
  /** Base URL of the running process's console (default http://127.0.0.1:7778; user:password@ for basic auth). */
  url?: string | undefined;
  /** Bearer token of a console started with --console-token-file. */
  token?: string | undefined;
  log: Logger;
}

export function parseTraceFormat(raw: string | undefined, json: boolean | undefined): TraceFormat {
  if (raw === undefined) return json ? "json" : "text";
  if (raw === "text" || raw === "json" || raw === "mermaid") {
    if (json && raw !== "json")
      throw new ConfigError(`--json and --format ${raw} contradict each other`);
    return raw;
  }
  throw new ConfigError(`--format: '${raw}' is not one of text, json, mermaid`);
}

/**
 * Everything known about one correlation ID: from the JetStream trace stream when `busUrl` is
 * given, else from a running `sensorbus run` (GET /api/traces/<id>). Undefined when nothing is
 * known. Throws a one-line error when the source cannot be reached.
 */
export async function loadTrace(options: TraceOptions): Promise<Trace | undefined> {
  if (options.busUrl) {
    const bus = await openJournalBus(options.busUrl, "trace", options);
    try {
      const records = await bus.recordLog(TRACE_STREAM, { ...TRACE_LIMITS, keepLimits: true });
      return buildTrace(options.id, await readTrace(records, options.id));
    } finally {
      await bus.close();
    }
  }
  return await getFromConsole<Trace>(
    `/api/traces/${encodeURIComponent(options.id)}`,
    "trace",
    options,
  );
}

export function formatTrace(trace: Trace, format: TraceFormat): string {
  if (format === "json") return `${JSON.stringify(trace, null, 2)}\n`;
  if (format === "mermaid") return formatMermaid(trace);
  return formatText(trace);
}

const MARK: Record<TraceStep["outcome"], string> = {
  ok: "ok  ",
  waiting: "wait",
  retry: "RTRY",
  rejected: "REJ ",
  failed: "FAIL",
  info: "    ",
};

/** One line per step: time, outcome, lane, what happened, the event it concerns. */
function formatText(t: Trace): string {
  const width = Math.min(40, Math.max(...t.lanes.map((l) => l.name.length)));
  const lines = [
    `trace ${t.correlationId}: ${t.steps.length} steps, ${t.events.length} events, ${t.lanes.length} lanes, ${seconds(t.durationMs)} (${t.from} .. ${t.to})`,
  ];
  for (const s of t.steps)
    lines.push(`  ${s.at}  ${MARK[s.outcome]}  ${s.lane.padEnd(width)}  ${s.text}`);
  lines.push("lanes:");
  for (const l of t.lanes)
    lines.push(`  ${l.name.padEnd(width)}  ${l.outcome.padEnd(8)}  ${seconds(l.durationMs)}`);
  lines.push(`explain a step: sensorbus explain EVENT_ID`);
  return `${lines.join("\n")}\n`;
}

function seconds(msTotal: number): string {
  return msTotal < 1000 ? `${msTotal} ms` : `${(msTotal / 1000).toFixed(3)} s`;
}

/** Mermaid text: no `;` or `#` in messages (they end a statement or start an entity). */
function mm(text: string): string {
  return text.replace(/[;#]/g, ",").replace(/\s+/g, " ").slice(0, 200);
}

/**
 * A Mermaid sequence diagram: one participant per lane; an arrow from the lane that published an
 * event to each Sensor that decided on it, and from a Sensor to the object it created; notes for
 * the rest (phases, waits, failures).
 */
function formatMermaid(t: Trace): string {
  const alias = new Map(t.lanes.map((l, i) => [l.name, `L${i + 1}`]));
  const lines = ["sequenceDiagram", `  title trace ${mm(t.correlationId)}`];
  for (const l of t.lanes) lines.push(`  participant ${alias.get(l.name)} as ${mm(l.name)}`);
  /** Lane that published each event. */
  const origin = new Map<string, string>();
  const arrowed = new Set<string>();
  for (const s of t.steps) {
    const at = s.at.slice(11, 23);
    const lane = alias.get(s.lane)!;
    const text = mm(`${at} ${s.text}`);
    if (s.kind === "published" || s.kind === "phase") {
      origin.set(s.eventId, lane);
      lines.push(`  Note over ${lane}: ${text}`);
      continue;
    }
    if (s.kind === "created") continue;
    const from = origin.get(s.eventId);
    const key = `${s.eventId}>${lane}`;
    if (from && from !== lane && !arrowed.has(key)) {
      arrowed.add(key);
      lines.push(`  ${from}->>${lane}: event ${mm(s.eventId)}`);
    }
    if (s.kind === "fired" && s.object) {
      const target = alias.get(
        `${s.object.kind} ${[s.object.namespace, s.object.name].filter(Boolean).join("/")}`,
      );
      if (target) {
        lines.push(`  ${lane}->>${target}: ${text}`);
        continue;
      }
    }
    const arrow = s.outcome === "ok" || s.outcome === "waiting" ? "->>" : "-x";
    lines.push(`  ${lane}${arrow}${lane}: ${text}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * `--trace-retention` (Go duration, default 24h; 0 records no trace stream) and
 * `--trace-max-bytes` (default 1 GiB; suffixes K, M, G = KiB, MiB, GiB) of `run` and `controller`.
 */
export function parseTraceLimits(
  retention: string | undefined,
  maxBytes: string | undefined,
): { maxAgeMs: number; maxBytes: number } {
  let maxAgeMs = TRACE_LIMITS.maxAgeMs;
  if (retention !== undefined) {
    try {
      maxAgeMs = parseGoDuration(retention);
    } catch {
      throw new ConfigError(`--trace-retention: '${retention}' is not a Go duration (24h, 90m, 0)`);
    }
    if (maxAgeMs < 0) throw new ConfigError(`--trace-retention: '${retention}' is negative`);
    if (maxAgeMs > 0 && maxAgeMs < 60_000)
      throw new ConfigError(
        `--trace-retention: '${retention}' is under a minute (0 turns the trace stream off)`,
      );
  }
  let bytes = TRACE_LIMITS.maxBytes;
  if (maxBytes !== undefined) {
    const m = /^(\d+)([KMG]i?)?$/i.exec(maxBytes.trim());
    const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[
      (m?.[2] ?? "").slice(0, 1).toLowerCase()
    ];
    if (!m || unit === undefined)
      throw new ConfigError(
        `--trace-max-bytes: '${maxBytes}' is not a size (1073741824, 512M, 1G)`,
      );
    bytes = Number(m[1]) * unit;
    if (bytes < 1024 * 1024)
      throw new ConfigError(`--trace-max-bytes: '${maxBytes}' is under 1 MiB`);
  }
  return { maxAgeMs, maxBytes: bytes };
}
