import { createHash } from "node:crypto";
import { ConfigError, errorMessage } from "../../errors.js";
import { goMarshal, goQuote } from "../../lib/gojson.js";
import type { Logger } from "../../observability/logger.js";
import {
  connectRedis,
  type RedisConnection,
  type RedisReply,
  redisClientName,
} from "../redis-shared/client.js";
import { tlsMaterial } from "../redis-shared/common.js";
import { runningEntries } from "../running.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import type { RedisStreamEventSpec } from "./schema.js";

/**
 * Redis streams EventSource (`spec.redisStream.<eventName>`), as Argo's redis_stream/start.go:
 * one consumer group (default `argo-events-cg`) created on every stream at `$`, one consumer
 * `argo-events-worker`, XREADGROUP of its own pending entries (id 0) first and new ones (`>`) once
 * those are done. Differences: the group is created with MKSTREAM (Argo fails while a stream does
 * not exist yet), and an entry is XACKed only after `ctx.emit` resolved (the bus stored it); when
 * the emit fails the reader backs off and re-reads its pending entries from 0, so the entry is
 * delivered again (Argo skips it until the next restart).
 */

export const DEFAULT_CONSUMER_GROUP = "argo-events-cg";
export const CONSUMER_NAME = "argo-events-worker";
export const DEFAULT_COUNT = 10;
/** XREADGROUP BLOCK, ms (Argo's 2 s). */
export const BLOCK_MS = 2000;
export const RETRY_BASE_MS = 250;
export const RETRY_MAX_MS = 10_000;

/** Argo's RedisStreamEventData: stream, message_id, values (sorted keys), metadata omitempty. */
export function buildRedisStreamPayload(
  stream: string,
  id: string,
  values: Record<string, string>,
  metadata?: Record<string, string>,
): string {
  const meta =
    metadata && Object.keys(metadata).length > 0 ? `,"metadata":${goMarshal(metadata)}` : "";
  return `{"stream":${goQuote(stream)},"message_id":${goQuote(id)},"values":${goMarshal(values)}${meta}}`;
}

/** The CloudEvent id: a redelivered entry gets the same one, so the bus drops the duplicate. */
export function redisStreamEventId(group: string, stream: string, id: string): string {
  return createHash("sha256")
    .update(`${group}\u0000${stream}\u0000${id}`)
    .digest("hex")
    .slice(0, 32);
}

/** Parses an XREADGROUP reply: per stream, its entries (values null for a deleted entry). */
export function parseReadReply(reply: RedisReply): Array<{
  stream: string;
  entries: Array<{ id: string; values: Record<string, string> | null }>;
}> {
  if (!Array.isArray(reply)) return [];
  return reply.map((s) => {
    const [name, list] = s as [string, RedisReply[]];
    const entries = (Array.isArray(list) ? list : []).map((e) => {
      const [id, fields] = e as [string, RedisReply];
      if (!Array.isArray(fields)) return { id, values: null };
      const values: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2)
        values[String(fields[i])] = String(fields[i + 1]);
      return { id, values };
    });
    return { stream: String(name), entries };
  });
}

interface Entry {
  eventName: string;
  spec: RedisStreamEventSpec;
  group: string;
  conn: RedisConnection;
  log: Logger;
  /** Read cursor per stream: "0" while reading own pending entries, ">" after. */
  cursor: Map<string, string>;
  failures: number;
  reading: boolean;
  done: Promise<void>;
}

function isBusyGroup(err: unknown): boolean {
  return /BUSYGROUP/.test(errorMessage(err));
}

async function createGroups(e: Entry): Promise<void> {
  for (const stream of e.spec.streams ?? []) {
    try {
      await e.conn.command(["XGROUP", "CREATE", stream, e.group, "$", "MKSTREAM"]);
      e.log.info({ stream, group: e.group }, "created Redis stream consumer group");
    } catch (err) {
      if (!isBusyGroup(err)) throw err;
    }
  }
}

async function backoff(e: Entry, ctx: AdapterContext): Promise<void> {
  e.failures++;
  await ctx.clock.sleep(
    Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(e.failures - 1, 16)),
    ctx.signal,
  );
}

async function loop(e: Entry, ctx: AdapterContext): Promise<void> {
  const streams = e.spec.streams ?? [];
  const count =
    e.spec.maxMsgCountPerRead && e.spec.maxMsgCountPerRead > 0
      ? e.spec.maxMsgCountPerRead
      : DEFAULT_COUNT;
  let readFailing = false;
  // Create the groups first, retrying while Redis is unreachable (queued until it answers).
  for (let logged = false; !ctx.signal.aborted; ) {
    e.reading = true;
    try {
      await createGroups(e);
      e.reading = false;
      break;
    } catch (err) {
      e.reading = false;
      if (ctx.signal.aborted) return;
      if (!logged && e.conn.ready)
        e.log.error(
          { err, group: e.group },
          "cannot create the consumer group; retrying with backoff",
        );
      logged = true;
      await backoff(e, ctx);
    }
  }
  e.failures = 0;
  while (!ctx.signal.aborted) {
    let reply: RedisReply;
    e.reading = true;
    try {
      reply = await e.conn.command([
        "XREADGROUP",
        "GROUP",
        e.group,
        CONSUMER_NAME,
        "COUNT",
        String(count),
        "BLOCK",
        String(BLOCK_MS),
        "STREAMS",
        ...streams,
        ...streams.map((s) => e.cursor.get(s) ?? "0"),
      ]);
      if (readFailing) e.log.info("reading the Redis streams again");
      readFailing = false;
    } catch (err) {
      e.reading = false;
      if (ctx.signal.aborted) return;
      // A lost connection is logged once by the client; other read errors once per streak here.
      if (!readFailing && e.conn.ready)
        e.log.error(
          { err },
          "reading the Redis streams with XREADGROUP failed; retrying with backoff",
        );
      readFailing = true;
      // A stream deleted while running loses its group: create it again.
      if (/NOGROUP/.test(errorMessage(err))) await createGroups(e).catch(() => {});
      await backoff(e, ctx);
      continue;
    }
    e.reading = false;
    for (const { stream, entries } of parseReadReply(reply)) {
      if (entries.length === 0) {
        e.cursor.set(stream, ">");
        continue;
      }
      for (const { id, values } of entries) {
        if (ctx.signal.aborted) return;
        if (values === null) {
          // A pending entry deleted from the stream (XDEL/trim): nothing to deliver.
          e.log.warn(
            { stream, messageId: id },
            "pending entry no longer in the stream; acknowledged",
          );
          await e.conn.command(["XACK", stream, e.group, id]).catch(() => {});
          continue;
        }
        try {
          await ctx.emit(e.eventName, {
            data: buildRedisStreamPayload(stream, id, values, e.spec.metadata),
            id: redisStreamEventId(e.group, stream, id),
          });
        } catch (err) {
          e.log.warn(
            { err, stream, messageId: id, failuresInARow: e.failures + 1 },
            "event not accepted by the bus; entry left pending and read again",
          );
          // Re-read this consumer's pending entries (this one included) after the backoff.
          for (const s of streams) e.cursor.set(s, "0");
          await backoff(e, ctx);
          break;
        }
        e.failures = 0;
        try {
          await e.conn.command(["XACK", stream, e.group, id]);
        } catch (err) {
          // Stored on the bus: a redelivery has the same event id and is dropped as a duplicate.
          e.log.warn({ err, stream, messageId: id }, "XACK failed; the entry stays pending");
        }
      }
    }
  }
}

async function startEntry(
  eventName: string,
  spec: RedisStreamEventSpec,
  ctx: AdapterContext,
): Promise<Entry> {
  const at = `spec.redisStream.${eventName}`;
  if (!spec.hostAddress) throw new ConfigError(`${at}: host address must be specified`);
  if (!spec.streams || spec.streams.length === 0)
    throw new ConfigError(`${at}: stream/streams must be specified`);
  const password = spec.password
    ? await ctx.values.secret(spec.password, `${at}.password`)
    : undefined;
  const tls = await tlsMaterial(spec.tls, at, ctx);
  const log = ctx.log.child({ eventName, streams: spec.streams });
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
  const e: Entry = {
    eventName,
    spec,
    group: spec.consumerGroup || DEFAULT_CONSUMER_GROUP,
    conn,
    log,
    cursor: new Map(spec.streams.map((s) => [s, "0"])),
    failures: 0,
    reading: false,
    done: Promise.resolve(),
  };
  log.info({ group: e.group, consumer: CONSUMER_NAME }, "reading Redis streams");
  e.done = loop(e, ctx).catch((err: unknown) => log.error({ err }, "Redis stream reader stopped"));
  return e;
}

async function stopEntry(e: Entry): Promise<void> {
  // A blocked read is cut short; an emit in flight finishes (and is acked) first.
  if (e.reading) e.conn.destroy();
  await e.done;
  e.conn.destroy();
}

export const redisStreamAdapter: EventSourceAdapter<RedisStreamEventSpec> = {
  key: "redisStream",
  ceType: "redisStream",
  async start(entries, ctx): Promise<RunningAdapter> {
    const running: Entry[] = [];
    const inner = new AbortController();
    const signal = AbortSignal.any([ctx.signal, inner.signal]);
    const c: AdapterContext = { ...ctx, signal };
    try {
      for (const { eventName, spec } of entries) running.push(await startEntry(eventName, spec, c));
    } catch (err) {
      inner.abort();
      await Promise.allSettled(running.map(stopEntry));
      throw err;
    }
    return runningEntries({
      entries: running,
      stopEntry,
      isDown: (e) => !e.conn.ready,
      signal,
      inner,
    });
  },
};

export function createAdapter(): EventSourceAdapter<RedisStreamEventSpec> {
  return redisStreamAdapter;
}
