import { DiscardPolicy, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { checkRecordLogToken } from "../subjects.js";
import type { RecordLog } from "../types.js";
import type { BusInternals } from "./internals.js";
import { MS } from "./options.js";
import type { StreamSetup } from "./stream-setup.js";

/** Bound on reading one partition of a record log. */
const RECORD_READ_TIMEOUT_MS = 30_000;

/** The configuration of a record-log stream (see EventBus.recordLog). */
export function recordLogStream(
  name: string,
  maxAgeMs: number,
  maxBytes: number,
  replicas: number,
): StreamSetup {
  return {
    name,
    subjects: [`${name}.*`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: maxAgeMs * MS,
    max_bytes: maxBytes,
    num_replicas: replicas,
  };
}

/** A record log on its own stream `name`, one subject `name.<partition>` per partition. */
export class JetStreamRecordLog implements RecordLog {
  constructor(
    private readonly name: string,
    private readonly bus: BusInternals,
  ) {}

  async append(partition: string, record: string): Promise<void> {
    checkRecordLogToken("record log partition", partition);
    try {
      await this.bus.publishAcked(`${this.name}.${partition}`, record);
    } catch (err) {
      throw this.bus.publishError(err, `a record on stream '${this.name}'`);
    }
  }

  async appendBatch(records: ReadonlyArray<readonly [string, string]>): Promise<void> {
    for (const [partition] of records) checkRecordLogToken("record log partition", partition);
    try {
      await this.bus.publishUnacked(
        records.map(([partition, record]) => [`${this.name}.${partition}`, record] as const),
      );
    } catch (err) {
      throw this.bus.publishError(err, `${records.length} records on stream '${this.name}'`);
    }
  }

  /**
   * Streams the partition through an ordered consumer (ephemeral, filtered on its subject) until
   * nothing is pending: tens of thousands of records take a second, not one request each.
   */
  async read(partition: string): Promise<string[]> {
    checkRecordLogToken("record log partition", partition);
    const subject = `${this.name}.${partition}`;
    const out: string[] = [];
    try {
      const info = await this.bus.jsm.streams.info(this.name, { subjects_filter: subject });
      if ((info.state.subjects?.[subject] ?? 0) === 0) return out;
      const consumer = await this.bus.js.consumers.get(this.name, { filter_subjects: subject });
      const messages = await consumer.consume({ max_messages: 256 });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        messages.stop();
      }, RECORD_READ_TIMEOUT_MS);
      try {
        for await (const m of messages) {
          out.push(m.string());
          if (m.info.pending === 0) break;
        }
      } finally {
        clearTimeout(timer);
        await messages.close();
      }
      if (timedOut) throw new Error(`timed out after ${RECORD_READ_TIMEOUT_MS} ms`);
      return out;
    } catch (err) {
      throw this.bus.apiError(err, `read '${subject}' from stream '${this.name}'`);
    }
  }
}
