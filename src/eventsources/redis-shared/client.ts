import { createClient } from "redis";
import type { TlsMaterial } from "../../config/tls.js";
import { EventsError } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";

/**
 * The one file that imports the `redis` client (node-redis), shared by the `redis` and
 * `redisStream` EventSource runtimes. It connects, reconnects with exponential backoff
 * (RECONNECT_BASE_MS doubling up to RECONNECT_MAX_MS) and logs an outage once: the first error
 * after the connection was ready, then "reconnected" when it is ready again.
 */

export const RECONNECT_BASE_MS = 100;
export const RECONNECT_MAX_MS = 10_000;

export interface RedisConnectOptions {
  hostAddress: string;
  db?: number;
  username?: string;
  password?: string;
  /** Present: connect with TLS. */
  tls?: TlsMaterial;
  log: Logger;
  /** Where errors name the entry (`spec.redisStream.<name>`). */
  at: string;
  /** CLIENT SETNAME, so an operator sees which entry a connection is (CLIENT LIST). */
  clientName?: string;
}

/** A client name Redis accepts (no spaces or newlines). */
export function redisClientName(eventSource: string, eventName: string): string {
  return `sensorbus:${eventSource}/${eventName}`.replace(/[^\x21-\x7e]/g, "_");
}

/** A raw command reply: strings, arrays of them, numbers or null (RESP2). */
export type RedisReply = string | number | null | RedisReply[];

/** The calls the runtimes make; a thin surface over node-redis so they need no types from it. */
export interface RedisConnection {
  command(args: string[]): Promise<RedisReply>;
  subscribe(
    channels: string[],
    listener: (message: string, channel: string) => void,
  ): Promise<void>;
  /** Whether the connection is up now. */
  readonly ready: boolean;
  /** Closes at once; pending commands reject. */
  destroy(): void;
}

/** `host:port` (or `[v6]:port`, or a bare host for port 6379). */
export function parseHostAddress(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(address.trim());
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? "";
  const port = m[3] === undefined ? 6379 : Number(m[3]);
  if (host === "" || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/**
 * Starts connecting and returns at once (retrying with backoff until the server answers); rejects
 * only for a `hostAddress` that is not host:port.
 */
export async function connectRedis(opts: RedisConnectOptions): Promise<RedisConnection> {
  const addr = parseHostAddress(opts.hostAddress);
  if (!addr) {
    throw new EventsError(
      "SB_ERR_EVENTSOURCE_START",
      `${opts.at}.hostAddress: '${opts.hostAddress}' is not host:port`,
      { retryable: false },
    );
  }
  const tls = opts.tls;
  const client = createClient({
    socket: {
      host: addr.host,
      port: addr.port,
      reconnectStrategy: (retries: number) =>
        Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(retries, 16)),
      ...(tls
        ? {
            tls: true as const,
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert } : {}),
            ...(tls.key ? { key: tls.key } : {}),
            rejectUnauthorized: tls.insecureSkipVerify !== true,
          }
        : {}),
    },
    ...(opts.username ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    database: opts.db ?? 0,
    ...(opts.clientName ? { name: opts.clientName } : {}),
  });
  let ready = false;
  let everReady = false;
  let outage = false;
  client.on("error", (err: unknown) => {
    if (outage) return;
    outage = true;
    const where = { err, hostAddress: opts.hostAddress, db: opts.db ?? 0 };
    if (everReady) opts.log.warn(where, "Redis connection lost; reconnecting with backoff");
    else opts.log.error(where, "cannot connect to Redis; retrying with backoff");
  });
  client.on("ready", () => {
    if (outage) opts.log.info({ hostAddress: opts.hostAddress }, "Redis connection restored");
    outage = false;
    ready = true;
    everReady = true;
  });
  client.on("end", () => {
    ready = false;
  });
  client.on("reconnecting", () => {
    ready = false;
  });
  // Not awaited: an unreachable Redis must not hold up the EventSource's start. Commands sent
  // meanwhile wait in the client's queue; the entry shows as disconnected in /readyz until ready.
  client.connect().catch((err: unknown) => {
    if (!outage) opts.log.error({ err, hostAddress: opts.hostAddress }, "cannot connect to Redis");
  });
  return {
    command: (args) => client.sendCommand(args) as Promise<RedisReply>,
    subscribe: async (channels, listener) => {
      await client.subscribe(channels, listener);
    },
    get ready() {
      return ready;
    },
    destroy: () => {
      ready = false;
      client.destroy();
    },
  };
}
