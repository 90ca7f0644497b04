import type { CloudEvent } from "../cloudevents/event.js";
import { rfc3339Millis } from "../cloudevents/event.js";
import { EventBusError } from "../errors.js";
import { ExpiringMap } from "../lib/fifo.js";
import { checkRecordLogToken, dedupeKey, subjectFor } from "./subjects.js";
import type {
  BusCapabilities,
  BusMessage,
  DeadLetterRecord,
  EventBus,
  KeyValueStore,
  KvEntry,
  MessageHandler,
  PublishOptions,
  PublishResult,
  RecordLog,
  RecordLogOptions,
  ReplayTarget,
  StoredDeadLetter,
  SubscribeOptions,
  Subscription,
} from "./types.js";

export interface MemoryBusOptions {
  /** Undelivered messages a durable may hold before publishing fails (discard New), default 50,000. */
  maxPending?: number;
  /** Dedupe window for repeated event ids, ms (default 300 s, as the JetStream stream). */
  duplicateWindowMs?: number;
  now?: () => number;
}

interface Stored {
  seq: number;
  subject: string;
  event: CloudEvent;
  timestamp: string;
  replayFor?: ReplayTarget;
}

/**
 * One-process bus. Durable consumers live as long as the bus object, so "restart" means a new
 * subscription with the same durable name on the same bus. Nothing survives the process.
 */
export class MemoryBus implements EventBus {
  readonly kind = "memory" as const;
  /** Everything lives in this process and is gone when it exits. */
  readonly capabilities: BusCapabilities = {
    durableKv: false,
    journalStream: false,
    durableDeadLetters: false,
    durableConsumers: false,
  };
  private seq = 0;
  private closed = false;
  private readonly durables = new Map<string, Durable>();
  private readonly recentIds: ExpiringMap<string, number>;
  private readonly buckets = new Map<string, MemoryKv>();
  private readonly recordLogs = new Map<string, MemoryRecordLog>();
  private readonly deadLetters: StoredDeadLetter[] = [];
  private deadLetterSeq = 0;
  private readonly maxPending: number;
  private readonly now: () => number;

  constructor(options: MemoryBusOptions = {}) {
    this.maxPending = options.maxPending ?? 50_000;
    this.recentIds = new ExpiringMap(options.duplicateWindowMs ?? 300_000);
    this.now = options.now ?? Date.now;
  }

  get connected(): boolean {
    return !this.closed;
  }

  async publish(event: CloudEvent, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.closed) throw new EventBusError("SB_ERR_BUS_CLOSED", "event bus is closed");
    const subject = subjectFor(event.source, event.subject);
    const now = this.now();
    this.recentIds.expire(now);
    const key = dedupeKey(subject, event.id);
    const seen = this.recentIds.get(key);
    if (seen !== undefined) return { seq: seen, duplicate: true };
    const targets = [...this.durables.values()].filter((d) => d.subject === subject);
    for (const d of targets) {
      if (d.queue.length >= this.maxPending) {
        throw new EventBusError(
          "SB_ERR_BUS_FULL",
          `event bus is full: durable '${d.name}' holds ${d.queue.length} undelivered events`,
        );
      }
    }
    const stored: Stored = {
      seq: ++this.seq,
      subject,
      event,
      timestamp: rfc3339Millis(now),
      ...(options.replayFor ? { replayFor: options.replayFor } : {}),
    };
    this.recentIds.set(key, stored.seq, now);
    for (const d of targets) d.push(stored);
    return { seq: stored.seq, duplicate: false };
  }

  async subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    if (this.closed) throw new EventBusError("SB_ERR_BUS_CLOSED", "event bus is closed");
    const subject = subjectFor(options.eventSourceName, options.eventName);
    let d = this.durables.get(options.durable);
    if (!d || d.subject !== subject) {
      d = new Durable(options.durable, subject);
      this.durables.set(options.durable, d);
    }
    return d.attach(handler, options.maxInFlight ?? 1, options.nakDelayMs ?? 1000);
  }

  async deleteDurable(durable: string): Promise<void> {
    const d = this.durables.get(durable);
    if (d) {
      await d.detach();
      this.durables.delete(durable);
    }
  }

  async kv(bucket: string): Promise<KeyValueStore> {
    let kv = this.buckets.get(bucket);
    if (!kv) {
      kv = new MemoryKv();
      this.buckets.set(bucket, kv);
    }
    return kv;
  }

  async recordLog(name: string, options: RecordLogOptions): Promise<RecordLog> {
    checkRecordLogToken("record log name", name);
    let log = this.recordLogs.get(name);
    if (!log) {
      log = new MemoryRecordLog(options, this.now);
      this.recordLogs.set(name, log);
    }
    return log;
  }

  async deadLetter(record: DeadLetterRecord): Promise<number> {
    if (this.closed) throw new EventBusError("SB_ERR_BUS_CLOSED", "event bus is closed");
    const seq = ++this.deadLetterSeq;
    this.deadLetters.push({ ...structuredClone(record), seq });
    return seq;
  }

  async listDeadLetters(): Promise<StoredDeadLetter[]> {
    return this.deadLetters.map((d) => structuredClone(d));
  }

  async removeDeadLetter(seq: number): Promise<boolean> {
    const i = this.deadLetters.findIndex((d) => d.seq === seq);
    if (i < 0) return false;
    this.deadLetters.splice(i, 1);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.durables.values()].map((d) => d.detach()));
  }
}

class Durable {
  readonly queue: Array<Stored & { deliveries: number }> = [];
  private handler: MessageHandler | undefined;
  private maxInFlight = 1;
  private nakDelayMs = 1000;
  private inFlight = new Set<Promise<void>>();
  private inFlightCount = 0;
  private cursor = 0; // index into queue of next undelivered message
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly name: string,
    readonly subject: string,
  ) {}

  push(stored: Stored): void {
    this.queue.push({ ...stored, deliveries: 0 });
    this.pump();
  }

  attach(handler: MessageHandler, maxInFlight: number, nakDelayMs: number): Subscription {
    this.handler = handler;
    this.maxInFlight = Math.max(1, maxInFlight);
    this.nakDelayMs = nakDelayMs;
    // Messages delivered to a previous handler and never acked are redelivered.
    this.cursor = 0;
    queueMicrotask(() => this.pump());
    return {
      stop: () => this.detach(),
      pending: async () => this.queue.length,
    };
  }

  async detach(): Promise<void> {
    this.handler = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private pump(): void {
    const handler = this.handler;
    if (!handler) return;
    while (this.inFlightCount < this.maxInFlight && this.cursor < this.queue.length) {
      const item = this.queue[this.cursor++]!;
      item.deliveries++;
      this.inFlightCount++;
      const msg: BusMessage = {
        event: item.event,
        seq: item.seq,
        deliveryCount: item.deliveries,
        timestamp: item.timestamp,
        ...(item.replayFor ? { replayFor: item.replayFor } : {}),
      };
      const p = handler(msg).then(
        () => this.settle(item, true, handler),
        () => this.settle(item, false, handler),
      );
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  private settle(
    item: Stored & { deliveries: number },
    ok: boolean,
    handler: MessageHandler,
  ): void {
    this.inFlightCount--;
    const idx = this.queue.indexOf(item);
    if (idx >= 0) {
      this.queue.splice(idx, 1);
      if (idx < this.cursor) this.cursor--;
    }
    if (!ok && this.handler === handler) {
      // Redeliver after the nak delay, ahead of newer messages (ordering as JetStream's redelivery).
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.queue.splice(this.cursor, 0, item);
        this.pump();
      }, this.nakDelayMs);
      this.timers.add(t);
    } else if (!ok) {
      this.queue.splice(0, 0, item);
      this.cursor = 0;
    }
    this.pump();
  }
}

/** Records in arrival order; the oldest go first past the age or byte bound. */
class MemoryRecordLog implements RecordLog {
  private readonly records: { partition: string; at: number; record: string }[] = [];
  private bytes = 0;

  constructor(
    private readonly options: RecordLogOptions,
    private readonly now: () => number,
  ) {}

  async append(partition: string, record: string): Promise<void> {
    checkRecordLogToken("record log partition", partition);
    this.records.push({ partition, at: this.now(), record });
    this.bytes += Buffer.byteLength(record);
    this.prune();
  }

  async appendBatch(records: ReadonlyArray<readonly [string, string]>): Promise<void> {
    for (const [partition, record] of records) await this.append(partition, record);
  }

  async read(partition: string): Promise<string[]> {
    checkRecordLogToken("record log partition", partition);
    this.prune();
    return this.records.filter((r) => r.partition === partition).map((r) => r.record);
  }

  private prune(): void {
    const oldest = this.now() - this.options.maxAgeMs;
    let drop = 0;
    while (
      drop < this.records.length &&
      (this.records[drop]!.at < oldest || this.bytes > this.options.maxBytes)
    ) {
      this.bytes -= Buffer.byteLength(this.records[drop]!.record);
      drop++;
    }
    if (drop > 0) this.records.splice(0, drop);
  }
}

class MemoryKv implements KeyValueStore {
  private readonly entries = new Map<string, KvEntry>();
  private revision = 0;

  async get(key: string): Promise<KvEntry | undefined> {
    return this.entries.get(key);
  }
  async put(key: string, value: string): Promise<number> {
    const revision = ++this.revision;
    this.entries.set(key, { key, value, revision });
    return revision;
  }
  async create(key: string, value: string): Promise<number> {
    if (this.entries.has(key)) throw new EventBusError("SB_ERR_KV_CONFLICT", `key '${key}' exists`);
    return this.put(key, value);
  }
  async update(key: string, value: string, revision: number): Promise<number> {
    const cur = this.entries.get(key);
    if (!cur || cur.revision !== revision) {
      throw new EventBusError(
        "SB_ERR_KV_CONFLICT",
        `key '${key}' changed (expected revision ${revision})`,
      );
    }
    return this.put(key, value);
  }
  async delete(key: string, revision?: number): Promise<void> {
    if (revision !== undefined && this.entries.get(key)?.revision !== revision) {
      throw new EventBusError(
        "SB_ERR_KV_CONFLICT",
        `key '${key}' changed (expected revision ${revision})`,
      );
    }
    this.entries.delete(key);
  }
  async keys(prefix = ""): Promise<string[]> {
    return [...this.entries.keys()].filter((k) => k.startsWith(prefix));
  }

  async purgeDeleted(): Promise<number> {
    return 0; // a delete removes the entry here
  }
}
