import { createHash } from "node:crypto";
import { DiscardPolicy, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { CloudEvent } from "../../cloudevents/event.js";
import {
  decodeStructured,
  encodeStructured,
  scanTopLevelMembers,
} from "../../cloudevents/event.js";
import { errorMessage } from "../../errors.js";
import type { DeadLetterRecord, StoredDeadLetter } from "../types.js";
import type { BusInternals } from "./internals.js";
import { MS } from "./options.js";
import type { OwnStreams } from "./stream-setup.js";

/**
 * The dead-letter stream: firings that failed for good, kept until replayed or removed
 * (`sensorbus deadletters`). File storage, discard New: when full (10,000 records or 256 MiB) a new
 * dead letter is refused, so its bus message stays unacknowledged and is redelivered rather than
 * lost. Nothing expires by age. A 2-minute dedupe window on (sensor, trigger, event ids) keeps a
 * firing that failed again after a crash from being stored twice.
 */
export const DEAD_LETTER_STREAM = "sensorbus-deadletter";
const DEAD_LETTER_LIMITS = { maxMsgs: 10_000, maxBytes: 256 * 1024 * 1024, dedupeMs: 120_000 };

/** The dead letters of one bus, on the dead-letter stream (created on first use). */
export class JetStreamDeadLetters {
  constructor(
    private readonly bus: BusInternals,
    private readonly streams: OwnStreams,
  ) {}

  async store(record: DeadLetterRecord): Promise<number> {
    this.bus.assertOpen();
    const subject = `deadletter.${subjectToken(record.sensor)}.${subjectToken(record.trigger)}`;
    const ids = Object.values(record.events)
      .map((e) => e.id)
      .sort();
    try {
      await this.ensureStream();
      const ack = await this.bus.publishAcked(
        subject,
        encodeDeadLetter(record),
        createHash("sha256")
          .update(`${record.sensor}\n${record.trigger}\n${ids.join(",")}`)
          .digest("hex"),
      );
      return ack.seq;
    } catch (err) {
      throw this.bus.publishError(err, `dead letter of trigger '${record.trigger}'`);
    }
  }

  async list(): Promise<StoredDeadLetter[]> {
    this.bus.assertOpen();
    try {
      await this.ensureStream();
      const info = await this.bus.jsm.streams.info(DEAD_LETTER_STREAM);
      const out: StoredDeadLetter[] = [];
      const { first_seq, last_seq, messages } = info.state;
      for (let seq = first_seq; seq <= last_seq && out.length < messages; seq++) {
        const m = await this.bus.jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq });
        if (m) out.push({ ...decodeDeadLetter(m.string()), seq: m.seq });
      }
      return out;
    } catch (err) {
      throw this.bus.apiError(err, `list dead letters on stream '${DEAD_LETTER_STREAM}'`);
    }
  }

  async remove(seq: number): Promise<boolean> {
    this.bus.assertOpen();
    try {
      await this.ensureStream();
      if (!(await this.bus.jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq }))) return false;
      return await this.bus.jsm.streams.deleteMessage(DEAD_LETTER_STREAM, seq, false);
    } catch (err) {
      if (/no message found/i.test(errorMessage(err))) return false;
      throw this.bus.apiError(err, `remove dead letter ${seq} from stream '${DEAD_LETTER_STREAM}'`);
    }
  }

  /** Creates the dead-letter stream on first use (same replica count as `default`). */
  private ensureStream(): Promise<void> {
    return this.streams.ensure({
      name: DEAD_LETTER_STREAM,
      subjects: ["deadletter.*.*"],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.New,
      max_msgs: DEAD_LETTER_LIMITS.maxMsgs,
      max_bytes: DEAD_LETTER_LIMITS.maxBytes,
      max_age: 0,
      duplicate_window: DEAD_LETTER_LIMITS.dedupeMs * MS,
      num_replicas: this.bus.replicas,
    });
  }
}

/** A name as one NATS subject token (the record keeps the real name). */
function subjectToken(name: string): string {
  const t = name.replace(/[.*>\s]/g, "_");
  return t === "" ? "_" : t;
}

/** Record JSON with every event as a structured CloudEvent (data bytes kept exactly). */
function encodeDeadLetter(r: DeadLetterRecord): string {
  const events = Object.entries(r.events)
    .map(([dep, e]) => `${JSON.stringify(dep)}:${encodeStructured(e)}`)
    .join(",");
  return `{"sensor":${JSON.stringify(r.sensor)},"trigger":${JSON.stringify(r.trigger)},"error":${JSON.stringify(r.error)},"failedAt":${JSON.stringify(r.failedAt)},"attempts":${r.attempts},"events":{${events}}}`;
}

function decodeDeadLetter(text: string): DeadLetterRecord {
  const outer = JSON.parse(text) as Record<string, unknown>;
  const span = scanTopLevelMembers(text).get("events");
  const events: Record<string, CloudEvent> = {};
  if (span) {
    const inner = text.slice(span[0], span[1]);
    for (const [dep, [a, b]] of scanTopLevelMembers(inner))
      events[dep] = decodeStructured(inner.slice(a, b));
  }
  return {
    sensor: String(outer.sensor ?? ""),
    trigger: String(outer.trigger ?? ""),
    error: String(outer.error ?? ""),
    failedAt: String(outer.failedAt ?? ""),
    attempts: Number(outer.attempts ?? 0),
    events,
  };
}
