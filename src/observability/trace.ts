import { Queue } from "../lib/fifo.js";

/**
 * The JetStream stream of the correlation index when the bus is NATS: for each correlation ID,
 * records `{"c":"<id>","events":[<journal events>]}` on `sensorbus-trace.<partition>`, the
 * partition a hash of the ID (see {@link tracePartition}), so `sensorbus trace` reads one subject.
 * Every replica writes here, so a trace covers them all.
 */
export const TRACE_STREAM = "sensorbus-trace";
/** Default retention of the trace stream: a day, at most 1 GiB (`--trace-retention`, `--trace-max-bytes`). */
export const TRACE_LIMITS: { maxAgeMs: number; maxBytes: number } = {
  maxAgeMs: 86_400_000,
  maxBytes: 1024 ** 3,
};

/**
 * The trace partition of a correlation ID: a 64-bit hash (two FNV-1a 32-bit hashes of its UTF-16
 * code units, differently seeded), in hex: one subject per ID in practice. Not cryptographic:
 * records name their ID, so a collision only makes a read skip the other ID's records.
 */
export function tracePartition(correlationId: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < correlationId.length; i++) {
    const c = correlationId.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}

/**
 * Correlation ID -> the items (journal events) that carried it, bounded three ways: IDs (the
 * oldest ID goes first), items per ID, and items in all (the oldest IDs go until it fits), so a
 * flood of events can neither grow one ID nor the whole index without bound.
 */
export class CorrelationIndex<T> {
  private readonly byId = new Map<string, T[]>();
  private readonly order = new Queue<string>();
  private items = 0;

  constructor(
    private readonly maxIds: number,
    private readonly maxPerId: number,
    private readonly maxItems: number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): readonly T[] | undefined {
    return this.byId.get(id);
  }

  add(id: string, item: T): void {
    let list = this.byId.get(id);
    if (!list) {
      list = [];
      this.byId.set(id, list);
      this.order.push(id);
    }
    if (list.length >= this.maxPerId) return;
    list.push(item);
    this.items++;
    while (this.byId.size > this.maxIds || this.items > this.maxItems) {
      const oldest = this.order.shift();
      if (oldest === undefined) break;
      this.items -= this.byId.get(oldest)?.length ?? 0;
      this.byId.delete(oldest);
    }
  }
}

/**
 * Annotation on an EventSource or Sensor naming where its events carry the correlation ID (a gjson
 * path into the event data, e.g. `body.run_id`) when they have no `correlationid` extension.
 * An annotation keeps the manifest a valid Argo manifest.
 */
export const CORRELATION_PATH_ANNOTATION = "sensorbus.io/correlation-id-path";
/** Label (annotation when not a valid label value) that triggers stamp on what they create. */
export const CORRELATION_LABEL = "sensorbus.io/correlation-id";
