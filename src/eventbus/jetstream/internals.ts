import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { EventBusError } from "../../errors.js";
import type { PublishResult, ReplayTarget } from "../types.js";

/**
 * What the bus's parts (subscriptions, KV buckets, record logs, dead letters) use of the
 * connected bus (bus.ts implements it; the parts never import the bus itself).
 */
export interface BusInternals {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly replicas: number;
  /** True while the bus can accept publishes. */
  readonly connected: boolean;
  /** Rejects with SB_ERR_BUS_CLOSED once the bus is closed. */
  assertOpen(): void;
  /** Maps a failed JetStream request to an EventBusError naming `what`. */
  apiError(err: unknown, what: string): EventBusError;
  /** Maps a failed publish to an EventBusError (full, unanswered, unavailable) naming `what`. */
  publishError(err: unknown, what: string): EventBusError;
  /** Publishes without per-message acknowledgements, then flushes (RecordLog.appendBatch). */
  publishUnacked(messages: ReadonlyArray<readonly [string, string]>): Promise<void>;
  /** Publishes `data` to a stream's subject; resolves with the stream's acknowledgement. */
  publishAcked(
    subject: string,
    data: string | Uint8Array,
    msgId?: string,
    replayFor?: ReplayTarget,
  ): Promise<PublishResult>;
  /** Resolves in this event-loop turn's check phase, the same for every caller. */
  nextTurn(): Promise<void>;
  /** Messages a durable consumer has pending or unacknowledged. */
  consumerPending(durable: string): Promise<number>;
  /** Creates the durable consumer, or checks an existing one still filters `subject`. */
  ensureConsumer(durable: string, subject: string): Promise<void>;
}
