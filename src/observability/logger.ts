import type { Logger } from "pino";
import { destination, pino, stdTimeFunctions } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  level?: string;
  format?: "json" | "pretty";
  /** Destination file descriptor: 1 for `run`, 2 for commands whose stdout is their result. */
  fd?: 1 | 2;
}

/** Longest a log line waits in the write buffer, ms. */
export const LOG_FLUSH_MS = 200;

/** What replaces a redacted value. */
export const CENSOR = "***";

/**
 * Values never written to logs, in pino's path syntax: `*.headers.authorization`,
 * `*.headers.Authorization`, `*.header.Authorization`, `*.token`, `*.password`, `*.secret`,
 * `authSecret`. Checked by {@link redactSecrets} rather than pino's `redact` option, whose
 * wildcard paths cost about 8 µs per log line (twice the line itself).
 */
export function redactSecrets(obj: Record<string, unknown>): Record<string, unknown> {
  let out = obj;
  const set = (key: string, value: unknown): void => {
    if (out === obj) out = { ...obj };
    out[key] = value;
  };
  if (obj.authSecret !== undefined) set("authSecret", CENSOR);
  for (const key in obj) {
    const v = obj[key];
    if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
    const r = redactMember(v as Record<string, unknown>);
    if (r !== v) set(key, r);
  }
  return out;
}

/** The one-level-down part of {@link redactSecrets}; the same object when nothing is secret. */
function redactMember(v: Record<string, unknown>): Record<string, unknown> {
  let out = v;
  const set = (key: string, value: unknown): void => {
    if (out === v) out = { ...v };
    out[key] = value;
  };
  for (const key of ["token", "password", "secret"]) if (v[key] !== undefined) set(key, CENSOR);
  const headers = v.headers;
  if (headers !== null && typeof headers === "object") {
    const h = headers as Record<string, unknown>;
    if (h.authorization !== undefined || h.Authorization !== undefined) {
      const copy = { ...h };
      if (copy.authorization !== undefined) copy.authorization = CENSOR;
      if (copy.Authorization !== undefined) copy.Authorization = CENSOR;
      set("headers", copy);
    }
  }
  const header = v.header;
  if (header !== null && typeof header === "object") {
    const h = header as Record<string, unknown>;
    if (h.Authorization !== undefined) set("header", { ...h, Authorization: CENSOR });
  }
  return out;
}

/**
 * pino options that apply {@link redactSecrets} to the object of every log call. Child bindings
 * are not passed through it (pino formats them once, at child()); sensorbus binds names and ids
 * only (sensorName, triggerName, eventID, component, ...), never request data.
 */
export const REDACTION = { formatters: { log: redactSecrets } } as const;

/** The one root logger; everything else receives `log.child({...})`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 1;
  const base = {
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    base: undefined,
    ...REDACTION,
    timestamp: stdTimeFunctions.isoTime,
  };
  if (options.format === "pretty") {
    return pino({
      ...base,
      transport: {
        target: "pino-pretty",
        options: {
          destination: fd,
          colorize: process.stdout.isTTY,
          ignore: "pid,hostname",
          singleLine: false,
        },
      },
    });
  }
  // Buffered: one write per 4 KiB of log lines (or per LOG_FLUSH_MS) instead of one per line,
  // which at thousands of lines per second cost a thread-pool write and wake-up each. pino
  // flushes the buffer synchronously on exit; a SIGKILL loses at most the last LOG_FLUSH_MS.
  const dest = destination({ fd, sync: false, minLength: 4096 });
  setInterval(() => {
    try {
      dest.flush();
    } catch {
      // a write in progress or a closed destination: the next tick or exit flushes
    }
  }, LOG_FLUSH_MS).unref();
  return pino(base, dest);
}

/** A logger that drops everything (tests, `replay`). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
