import type { NatsAuth } from "./nats-auth.js";

/**
 * A plain (core) NATS connection for the kinds that talk to a NATS server of their own: the `nats`
 * EventSource subscribes with one, the `nats` trigger publishes with one. The client is the event
 * bus's (eventbus/jetstream/ is the one place that imports `@nats-io/*`, and it already connects
 * with every authentication mode and TLS); this file holds only the contract, and
 * nats-connect.ts loads the implementation on first use (`validate` and `graph` never load it).
 */

export interface PlainNatsOptions {
  /** `nats://host:port`, `tls://host:port` or `host:port`, one or several. */
  servers: string[];
  /** Credentials and TLS (one method at most; `from` names where each came from, for errors). */
  auth?: NatsAuth;
  /** Connection name shown by the server. */
  name: string;
  /**
   * true: after a lost connection the client reconnects forever (every `reconnectWaitMs`) and
   * subscribes again; false: the connection closes and the caller dials a new one.
   */
  reconnect: boolean;
  /** Wait between reconnect attempts, ms (default 2 s, as Go's client). */
  reconnectWaitMs?: number;
  /** Longest a connect attempt waits, ms (default 5 s). */
  connectTimeoutMs?: number;
}

/** One message as received (data copied: the caller may keep it). */
export interface PlainNatsMessage {
  subject: string;
  data: Uint8Array;
  /** Headers as Go's `nats.Header` (`map[string][]string`, names as sent); absent: none. */
  headers?: Record<string, string[]>;
  /** The requester's inbox, when the message is a request. */
  reply?: string;
}

/** What happened to a connection (the caller logs it; each is reported once per change). */
export type PlainNatsEvent =
  | { type: "disconnected" }
  | { type: "reconnected" }
  | { type: "closed"; error?: string }
  | { type: "error"; error: string };

export interface PlainNatsSubscription {
  /** Stops delivery after the messages the server already sent were handed over. */
  drain(): Promise<void>;
}

export interface PlainNatsConnection {
  /** The servers as they may be logged (scheme, host and port; no credentials). */
  readonly at: string;
  /** Up now (false while reconnecting and after close). */
  readonly connected: boolean;
  /**
   * Subscribes (with `queue`: as a member of that queue group). `onMessage` is called in arrival
   * order; `onError` with a scrubbed message when the server ends the subscription (permissions).
   */
  subscribe(
    subject: string,
    queue: string | undefined,
    onMessage: (msg: PlainNatsMessage) => void,
    onError: (message: string) => void,
  ): PlainNatsSubscription;
  /** Resolves once the server has the subscriptions sent so far (a PING/PONG round trip). */
  flush(timeoutMs: number): Promise<void>;
  /**
   * Publishes and waits for the server's PONG, so a resolved publish reached the server. Rejects
   * with PlainNatsError: `final` for what retrying cannot fix (bad subject, payload too large).
   */
  publish(
    subject: string,
    data: Uint8Array,
    headers: Record<string, string> | undefined,
    timeoutMs: number,
  ): Promise<void>;
  /** Called for every PlainNatsEvent; returns the function that removes the listener. */
  onEvent(listener: (event: PlainNatsEvent) => void): () => void;
  close(): Promise<void>;
}

/** A connect or publish failure; the message names the servers and holds no secret. */
export class PlainNatsError extends Error {
  /** The server refused the credentials (or TLS settings): retrying with them will not help. */
  readonly refused: boolean;
  /** The request itself is wrong (bad subject, payload over the server's max_payload). */
  readonly final: boolean;
  constructor(message: string, options: { refused?: boolean; final?: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PlainNatsError";
    this.refused = options.refused === true;
    this.final = options.final === true;
  }
}
