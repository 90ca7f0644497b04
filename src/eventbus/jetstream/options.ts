import type { Logger } from "../../observability/logger.js";
import type { NatsAuth } from "../nats-auth.js";

export interface JetStreamBusOptions {
  /**
   * NATS URLs (`nats://host:port`, `tls://host:port`); credentials in them
   * (`nats://user:password@host`, `nats://token@host`) are used and never logged.
   */
  servers: string[];
  /** Credentials and TLS settings (see NatsAuth); merged with URL credentials. */
  auth?: NatsAuth;
  /** Connection name shown by the server (default `sensorbus`). */
  name?: string;
  /** Stream `max_msgs` when this client creates the stream (default 50,000). */
  maxMsgs?: number;
  /** Stream dedupe window when this client creates the stream, ms (default 300 s). */
  duplicateWindowMs?: number;
  log?: Logger;
  /** Reconnect forever after a lost connection (default true). */
  reconnect?: boolean;
  /** Longest a publish waits for the stream's acknowledgement, ms (default 5 s). */
  publishTimeoutMs?: number;
  /** Interval of "in progress" acks while a handler runs, ms (default 5 s; ack wait is 30 s). */
  inProgressIntervalMs?: number;
  /** Longest close() waits for in-flight handlers, ms (default 30 s). */
  closeTimeoutMs?: number;
  /** Ack wait of consumers this client creates, ms (default: the server's, 30 s). For tests. */
  ackWaitMs?: number;
  /** How often acknowledged events are purged from the stream, ms (default 2 s; 0: only when full). */
  reclaimIntervalMs?: number;
}

export const DEFAULTS = {
  maxMsgs: 50_000,
  maxAgeMs: 168 * 3600_000, // 168 h, as Argo
  duplicateWindowMs: 300_000, // 300 s, as Argo
  publishTimeoutMs: 5_000,
  inProgressIntervalMs: 5_000,
  closeTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  reconnectTimeWaitMs: 500,
  /** How long a pull request waits on the server before it is renewed. */
  fetchExpiresMs: 30_000,
  /**
   * Idle heartbeat the server sends on an open pull request; two missed end it and a new one is
   * issued. A pull request lives on the consumer leader only, so when that node dies while the
   * client stays connected to another, this (not the 30 s expiry) bounds the stall.
   */
  fetchHeartbeatMs: 1_000,
  /** JetStream may need a moment after a (cluster) start to elect a meta leader. */
  streamSetupTimeoutMs: 20_000,
  setupRequestTimeoutMs: 1_500,
  nakDelayMs: 1_000,
  reclaimIntervalMs: 2_000,
} as const;

export const MS = 1_000_000; // nanoseconds per millisecond

/** Timers that bound a wait and must not keep the process alive on their own. */
export const UNREF = { ref: false } as const;
