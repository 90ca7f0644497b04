import { writeSync } from "node:fs";
import type { Logger } from "pino";
import { destination, pino } from "pino";
import { isCredentialHeader } from "../lib/credential-headers.js";
import { isoMillis } from "../lib/iso-time.js";
import { redactJson } from "../lib/redact.js";

export type { Logger } from "pino";

export interface LoggerOptions {
  level?: string;
  format?: "json" | "pretty";
  /** Destination file descriptor: 1 for `run`, 2 for commands whose stdout is their result. */
  fd?: 1 | 2;
  /** Write lines here instead of `fd` (tests that read what would be logged). */
  stream?: { write(line: string): unknown };
}

/** Longest a log line waits in the write buffer, ms. */
export const LOG_FLUSH_MS = 200;

/** What replaces a redacted value. */
export const CENSOR = "***";

/**
 * Values never written to logs, in pino's path syntax: `*.headers.<credential header>`,
 * `*.header.<credential header>` (Authorization, Proxy-Authorization, Cookie, X-Gitlab-Token,
 * X-Hub-Signature*, X-Slack-Signature, Stripe-Signature, ...: lib/credential-headers.ts, any
 * case), `*.token`, `*.password`, `*.secret`, `authSecret`. Checked by {@link redactSecrets} rather than pino's `redact` option, whose
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
  for (const key of ["headers", "header"]) {
    const h = v[key];
    if (h === null || typeof h !== "object" || Array.isArray(h)) continue;
    const masked = maskCredentialHeaders(h as Record<string, unknown>);
    if (masked !== h) set(key, masked);
  }
  return out;
}

/** A header map with every credential header's value censored; the same object when none. */
function maskCredentialHeaders(h: Record<string, unknown>): Record<string, unknown> {
  let out = h;
  for (const name in h) {
    if (h[name] === undefined || !isCredentialHeader(name)) continue;
    if (out === h) out = { ...h };
    out[name] = CENSOR;
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
    // Values read from Secrets, wherever they appear in a line (free while none is registered).
    hooks: { streamWrite: redactJson },
    timestamp: isoTime,
  };
  if (options.stream) return pino(base, options.stream);
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
  // flushes sonic-boom synchronously on exit, and the batcher its own lines after it; a SIGKILL
  // loses at most the last LOG_FLUSH_MS.
  const dest = destination({ fd, sync: false, minLength: 0 });
  const batch = new LineBatcher(dest, fd);
  process.once("exit", () => batch.flushSync());
  setInterval(() => batch.flush(), LOG_FLUSH_MS).unref();
  return pino(base, batch);
}

/** What {@link LineBatcher} needs of sonic-boom. */
interface Sink {
  write(text: string): boolean;
  flush(cb?: (err?: Error) => void): void;
  flushSync(): void;
}

/**
 * Log lines joined into ~4 KiB strings before they reach sonic-boom: its write() measures the
 * UTF-8 length of everything it holds at each call (Buffer.byteLength of up to 16 KiB, which
 * also flattens the string), about 2 µs a line at thousands of lines per second; once per 4 KiB
 * that cost disappears. sonic-boom still does the writing (async, EAGAIN, partial writes).
 */
export class LineBatcher {
  private pending = "";

  constructor(
    private readonly sink: Sink,
    private readonly fd: number,
    private readonly batchChars = 4096,
  ) {}

  write(line: string): boolean {
    this.pending += line;
    if (this.pending.length >= this.batchChars) this.handOver();
    return true;
  }

  /** Hands the lines to sonic-boom and has it write them (asynchronously). */
  flush(cb?: (err?: Error) => void): void {
    this.handOver();
    try {
      this.sink.flush(cb);
    } catch (err) {
      // a write in progress or a closed destination: the next flush or the exit writes it
      cb?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * At exit: sonic-boom's buffer first (what it was handed earlier), then the lines still here,
   * written directly (handing them over could start an asynchronous write that never ends).
   */
  flushSync(): void {
    try {
      this.sink.flushSync();
    } catch {
      // destroyed (EPIPE) or not open: nothing more can be written there
      return;
    }
    const rest = this.pending;
    this.pending = "";
    if (rest.length > 0) writeFullySync(this.fd, rest);
  }

  private handOver(): void {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = "";
    this.sink.write(text);
  }
}

/** writeSync until every byte is out; a full non-blocking pipe (EAGAIN) is waited out, ~10 s at most. */
export function writeFullySync(fd: number, text: string): void {
  let buf = Buffer.from(text, "utf8");
  let waits = 0;
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== "EAGAIN" && code !== "EBUSY") || waits++ >= 1000) return;
      Atomics.wait(WAIT, 0, 0, 10);
    }
  }
}

const WAIT = new Int32Array(new SharedArrayBuffer(4));

let lastIso = "";
let lastTime = "";
/** pino's isoTime, built once per millisecond (lines in the same millisecond share it). */
export function isoTime(): string {
  const iso = isoMillis(Date.now());
  if (iso !== lastIso) {
    lastTime = `,"time":"${iso}"`;
    lastIso = iso;
  }
  return lastTime;
}

/** A logger that drops everything (tests, `replay`). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
