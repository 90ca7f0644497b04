import type { CloudEvent } from "../cloudevents/event.js";

/**
 * The event bus contract. Two implementations (memory.ts, jetstream/) pass one shared conformance
 * suite (test/integration/eventbus.contract.ts).
 *
 * Implementations must:
 * - resolve `publish` only once the event is stored durably (for JetStream: the stream acknowledged
 *   it); reject with EventBusError (`SB_ERR_BUS_UNAVAILABLE`, `SB_ERR_BUS_FULL`, retryable) otherwise.
 *   Never report success for an event that may be lost.
 * - drop a repeated event id published within the dedupe window (JetStream `Nats-Msg-Id`), resolving
 *   the publish as `duplicate: true`.
 * - deliver to a durable subscription every event published on its subject after the durable was
 *   first created, including events published while no subscriber was running.
 * - acknowledge a message only when the handler resolves; redeliver it when the handler throws (after
 *   a back-off) or when the process dies before the handler resolves.
 */
export interface EventBus {
  /** For logs only ("sensorbus running" names it); callers ask `capabilities`, never the kind. */
  readonly kind: "memory" | "jetstream";
  /** What this bus keeps beyond the process: callers choose their stores by these, not by kind. */
  readonly capabilities: BusCapabilities;
  publish(event: CloudEvent, options?: PublishOptions): Promise<PublishResult>;
  subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription>;
  /** A key-value bucket (JetStream KV, or in memory). Created when missing. */
  kv(bucket: string, options?: KvOptions): Promise<KeyValueStore>;
  /**
   * An append-only log of records in named partitions, bounded by age and size (oldest dropped
   * first): a JetStream stream, or in memory. Created when missing.
   */
  recordLog(name: string, options: RecordLogOptions): Promise<RecordLog>;
  /** Deletes a durable subscription's server-side state (consumer). Missing is not an error. */
  deleteDurable(durable: string): Promise<void>;
  /**
   * Stores a firing that failed for good (after retries, with no or a failed dlqTrigger). Resolves
   * with the record's sequence once it is stored durably; rejects with EventBusError otherwise (the
   * caller then leaves the bus message unacknowledged).
   */
  deadLetter(record: DeadLetterRecord): Promise<number>;
  /** Stored dead letters, oldest first. */
  listDeadLetters(): Promise<StoredDeadLetter[]>;
  /** Removes one dead letter; false when no record has that sequence. */
  removeDeadLetter(seq: number): Promise<boolean>;
  /** True while the bus can accept publishes. */
  readonly connected: boolean;
  /** Stops delivering, waits for in-flight handlers (bounded), closes connections. */
  close(): Promise<void>;
}

/**
 * What a bus can do beyond the contract every bus meets. Every bus offers KV buckets, record logs,
 * dead letters and durable subscriptions within its own lifetime (the contract suite checks them);
 * these say which of them outlive the process and are shared with other replicas.
 */
export interface BusCapabilities {
  /**
   * KV buckets are stored by the bus, survive a restart and are shared by every replica
   * (compare-and-set across processes): sensor condition state, correlation and calendar ticks
   * belong there. Without it, those stay in the process's memory.
   */
  readonly durableKv: boolean;
  /**
   * Record logs are streams stored by the bus, kept across restarts and readable by other
   * processes: the event journal is mirrored into one.
   */
  readonly journalStream: boolean;
  /** Dead letters are stored by the bus until replayed or removed, across restarts. */
  readonly durableDeadLetters: boolean;
  /**
   * A durable subscription's position is kept by the bus: a restarted process (or another replica)
   * resumes where it stopped.
   */
  readonly durableConsumers: boolean;
}

export interface PublishOptions {
  /**
   * A replayed dead letter: only this Sensor's trigger acts on the event; every other trigger
   * subscribed to its subject acknowledges and skips it (a JetStream message header, not part of
   * the CloudEvent).
   */
  replayFor?: ReplayTarget;
}

/** The one trigger a replayed dead letter is meant for. */
export interface ReplayTarget {
  sensor: string;
  trigger: string;
}

export interface PublishResult {
  /** Stream sequence (1-based) assigned to the event. */
  seq: number;
  duplicate: boolean;
}

export interface SubscribeOptions {
  /** Durable name; a restarted subscriber with the same name resumes where it stopped. */
  durable: string;
  eventSourceName: string;
  eventName: string;
  /** Maximum messages handed to the handler before earlier ones resolve (default 1 = in order). */
  maxInFlight?: number;
  /** Delay before a failed (thrown) message is redelivered, ms (default 1000). */
  nakDelayMs?: number;
}

export interface BusMessage {
  event: CloudEvent;
  /** Stream sequence of the message. */
  seq: number;
  /** 1 on first delivery, then counts redeliveries. */
  deliveryCount: number;
  /** Time the bus stored the message (RFC 3339). */
  timestamp: string;
  /** Set on a replayed dead letter: the only trigger that may act on it. */
  replayFor?: ReplayTarget;
}

/**
 * Handles one message. Resolve => ack. Throw => the message is redelivered after `nakDelayMs`.
 * A message the handler cannot ever process must be dead-lettered by the handler and then resolved.
 */
export type MessageHandler = (msg: BusMessage) => Promise<void>;

export interface Subscription {
  /** Stops fetching; resolves when in-flight handlers have finished. Durable state is kept. */
  stop(): Promise<void>;
  /** Messages stored on the subject and not yet acknowledged by this durable (bus lag). */
  pending(): Promise<number>;
}

export interface KvOptions {
  /** Entry time to live, ms (0 = none). */
  ttlMs?: number;
  history?: number;
}

export interface KvEntry {
  key: string;
  value: string;
  revision: number;
}

/** Values are strings (JSON text). Revisions enable compare-and-set across replicas. */
export interface KeyValueStore {
  get(key: string): Promise<KvEntry | undefined>;
  put(key: string, value: string): Promise<number>;
  /** Creates the key; rejects with EventBusError SB_ERR_KV_CONFLICT when it exists. */
  create(key: string, value: string): Promise<number>;
  /** Writes only if the key's revision is `revision`; rejects with SB_ERR_KV_CONFLICT otherwise. */
  update(key: string, value: string, revision: number): Promise<number>;
  /**
   * Deletes the key. With `revision`, only if the key is still at that revision (rejects with
   * SB_ERR_KV_CONFLICT otherwise). A deleted key can be created again.
   */
  delete(key: string, revision?: number): Promise<void>;
  keys(prefix?: string): Promise<string[]>;
  /**
   * Removes what deleting keys that start with `prefix` left behind, for keys deleted before
   * `before` (epoch ms) (JetStream: the delete markers, ~100 bytes each, that a bucket otherwise
   * keeps forever; a key written again after its delete keeps its new value). Resolves with the
   * number of messages removed (0 in memory, where a delete leaves nothing).
   */
  purgeDeleted(prefix: string, before: number): Promise<number>;
}

export interface RecordLogOptions {
  /** Records older than this are dropped. */
  maxAgeMs: number;
  /** Past this many bytes in all partitions, the oldest records are dropped. */
  maxBytes: number;
  /** A reader: an existing stream keeps the limits it has (they are only for creating it). */
  keepLimits?: boolean;
}

/** See {@link EventBus.recordLog}. Names and partitions: letters, digits, '-' and '_'. */
export interface RecordLog {
  /** Resolves once the record is stored. */
  append(partition: string, record: string): Promise<void>;
  /** Every record of `partition` still kept, oldest first. */
  read(partition: string): Promise<string[]>;
  /**
   * Writes many records with one round trip instead of one acknowledgement each: published
   * unacknowledged, then one flush confirms the server received them (a record can be lost if the
   * server fails between receipt and storage: for diagnostics such as the trace index only).
   */
  appendBatch?(records: ReadonlyArray<readonly [partition: string, record: string]>): Promise<void>;
}

/** A firing that failed for good: what `sensorbus deadletters` lists and replays. */
export interface DeadLetterRecord {
  sensor: string;
  trigger: string;
  /** The last error message. */
  error: string;
  /** The firing's events by dependency name. */
  events: Record<string, CloudEvent>;
  /** RFC 3339. */
  failedAt: string;
  /** Attempts made by the trigger (retryStrategy steps actually run). */
  attempts: number;
}

export interface StoredDeadLetter extends DeadLetterRecord {
  /** Sequence on the dead-letter stream (memory: a counter), used to replay or remove it. */
  seq: number;
}
