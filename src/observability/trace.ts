import { createHash } from "node:crypto";
import type { RecordLogOptions } from "../eventbus/types.js";

/**
 * The JetStream stream of the correlation index when the bus is NATS: for each correlation ID,
 * records `{"c":"<id>","events":[<journal events>]}` on `sensorbus-trace.<partition>`, the
 * partition a hash of the ID (see {@link tracePartition}), so `sensorbus trace` reads one subject.
 * Every replica writes here, so a trace covers them all.
 */
export const TRACE_STREAM = "sensorbus-trace";
/** Default retention of the trace stream: a day, at most 1 GiB (`--trace-retention`, `--trace-max-bytes`). */
export const TRACE_LIMITS: RecordLogOptions = { maxAgeMs: 86_400_000, maxBytes: 1024 ** 3 };

/** The trace partition of a correlation ID: 64 bits of its SHA-256, in hex (one subject per ID in practice). */
export function tracePartition(correlationId: string): string {
  return createHash("sha256").update(correlationId).digest("hex").slice(0, 16);
}

/**
 * Annotation on an EventSource or Sensor naming where its events carry the correlation ID (a gjson
 * path into the event data, e.g. `body.run_id`) when they have no `correlationid` extension.
 * An annotation keeps the manifest a valid Argo manifest.
 */
export const CORRELATION_PATH_ANNOTATION = "sensorbus.io/correlation-id-path";
/** Label (annotation when not a valid label value) that triggers stamp on what they create. */
export const CORRELATION_LABEL = "sensorbus.io/correlation-id";
