import { Writable } from "node:stream";
import { pino } from "pino";
import type { LoadResult } from "../../src/config/load.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { REDACTION } from "../../src/observability/logger.js";

/** A trace-level pino logger (with sensorbus's redaction) whose output the test reads back. */
export function memoryLog() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level: "trace", ...REDACTION }, stream), text: () => chunks.join("") };
}

/** Manifests as `Runtime.start` takes them, as if loaded from one file without problems. */
export function loaded(...manifests: Array<EventSourceManifest | SensorManifest>): LoadResult {
  return {
    eventSources: manifests
      .filter((m): m is EventSourceManifest => m.kind === "EventSource")
      .map((manifest) => ({ manifest, file: "test", doc: 0 })),
    sensors: manifests
      .filter((m): m is SensorManifest => m.kind === "Sensor")
      .map((manifest) => ({ manifest, file: "test", doc: 0 })),
    problems: [],
  };
}
