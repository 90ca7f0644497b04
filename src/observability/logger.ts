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

/** Paths never written to logs. */
export const REDACT_PATHS = [
  "*.headers.authorization",
  "*.headers.Authorization",
  "*.header.Authorization",
  "*.token",
  "*.password",
  "*.secret",
  "authSecret",
];

/** The one root logger; everything else receives `log.child({...})`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 1;
  const base = {
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: "***" },
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
