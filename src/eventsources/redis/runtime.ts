import { ConfigError } from "../../errors.js";
import { goCompact, goMarshal, goQuote } from "../../lib/gojson.js";
import { connectRedis, type RedisConnection, redisClientName } from "../redis-shared/client.js";
import { tlsMaterial } from "../redis-shared/common.js";
import { runEntries } from "../run-entries.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import type { RedisEventSpec } from "./schema.js";

/**
 * Redis pub/sub EventSource (`spec.redis.<eventName>`), as Argo's redis/start.go: SUBSCRIBE to
 * `channels` (exact channel names, as Argo's go-redis `Subscribe`; `pattern` is therefore always
 * empty). Pub/sub has no acknowledgement: a message published while sensorbus is disconnected, or
 * whose event the bus refused, is lost (logged) — as in Argo and Redis itself. The client
 * reconnects with backoff and subscribes again.
 */

/** Argo's RedisEventData: channel, pattern, body (string, or the JSON itself with jsonBody). */
export function buildRedisPayload(
  channel: string,
  pattern: string,
  message: string,
  spec: Pick<RedisEventSpec, "jsonBody" | "metadata">,
): string {
  const body = spec.jsonBody ? goCompact(message) : goQuote(message);
  const meta =
    spec.metadata && Object.keys(spec.metadata).length > 0
      ? `,"metadata":${goMarshal(spec.metadata)}`
      : "";
  return `{"channel":${goQuote(channel)},"pattern":${goQuote(pattern)},"body":${body}${meta}}`;
}

interface Entry {
  eventName: string;
  conn: RedisConnection;
  /** Emits run one after another, in arrival order. */
  chain: Promise<void>;
}

async function startEntry(
  eventName: string,
  spec: RedisEventSpec,
  ctx: AdapterContext,
): Promise<Entry> {
  const at = `spec.redis.${eventName}`;
  if (!spec.hostAddress) throw new ConfigError(`${at}: host address must be specified`);
  const channels = spec.channels ?? [];
  if (channels.length === 0) throw new ConfigError(`${at}: channel/s must be specified`);
  const password = spec.password
    ? await ctx.values.secret(spec.password, `${at}.password`)
    : undefined;
  const tls = await tlsMaterial(spec.tls, at, ctx);
  const log = ctx.log.child({ eventName, channels });
  const conn = await connectRedis({
    hostAddress: spec.hostAddress,
    ...(spec.db ? { db: spec.db } : {}),
    ...(spec.username ? { username: spec.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
    log,
    at,
    clientName: redisClientName(ctx.eventSourceName, eventName),
  });
  const entry: Entry = { eventName, conn, chain: Promise.resolve() };
  const handle = async (message: string, channel: string): Promise<void> => {
    let data: string;
    try {
      data = buildRedisPayload(channel, "", message, spec);
    } catch (err) {
      log.error({ channel, err }, "jsonBody is set but the message is not JSON; message dropped");
      return;
    }
    try {
      await ctx.emit(eventName, { data });
    } catch (err) {
      log.error(
        { channel, err },
        "event not accepted by the bus; the Redis message is lost (pub/sub has no redelivery)",
      );
    }
  };
  // Not awaited: sent once the connection is up (and again by the client after a reconnect).
  conn
    .subscribe(channels, (message, channel) => {
      entry.chain = entry.chain.then(() => handle(message, channel));
    })
    .then(
      () => log.info("subscribed to Redis channels"),
      (err: unknown) => {
        if (!ctx.signal.aborted) log.error({ err }, "subscribing to the Redis channels failed");
      },
    );
  return entry;
}

async function stopEntry(e: Entry): Promise<void> {
  e.conn.destroy();
  await e.chain;
}

export const redisAdapter: EventSourceAdapter<RedisEventSpec> = {
  key: "redis",
  ceType: "redis",
  start: (entries, ctx): Promise<RunningAdapter> =>
    runEntries(entries, ctx, {
      start: startEntry,
      stop: stopEntry,
      connected: (e) => e.conn.ready,
    }),
};

export function createAdapter(): EventSourceAdapter<RedisEventSpec> {
  return redisAdapter;
}
