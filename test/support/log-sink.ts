import { type Logger, pino } from "pino";
import { createLogger, REDACTION } from "../../src/observability/logger.js";

/** What a test logger wrote, kept in memory (pino's test pattern: a synchronous stream). */
export interface LogSink {
  log: Logger;
  /** Every line, parsed. */
  lines: Array<Record<string, unknown>>;
  /** Everything written, as text (for "the secret is nowhere" assertions). */
  text(): string;
  /** Lines whose message is `msg`. */
  withMsg(msg: string): Array<Record<string, unknown>>;
}

export interface LogSinkOptions {
  /** Default `debug`. */
  level?: string;
  /** The service's field redaction (`REDACTION`: credential headers, token, password, ...). */
  redaction?: boolean;
  /** The service's own root logger (`createLogger`: redaction, Secret values, ISO time). */
  app?: boolean;
}

export function logSink(options: LogSinkOptions = {}): LogSink {
  const level = options.level ?? "debug";
  const chunks: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const stream = {
    write(chunk: string) {
      chunks.push(String(chunk));
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
    },
  };
  const log = options.app
    ? createLogger({ level, stream })
    : pino({ level, ...(options.redaction ? REDACTION : {}) }, stream);
  return {
    log,
    lines,
    text: () => chunks.join(""),
    withMsg: (msg) => lines.filter((l) => l.msg === msg),
  };
}
