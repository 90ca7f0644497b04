import { Writable } from "node:stream";
import { type Logger, pino } from "pino";

/** A pino logger at debug whose lines are kept as objects, for asserting logs (pino's `sink()`). */
export function logSink(): { lines: Array<Record<string, unknown>>; log: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, log: pino({ level: "debug" }, sink) };
}
