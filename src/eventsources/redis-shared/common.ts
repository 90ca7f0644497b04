import {
  EventSourceFilter,
  Int32,
  SecretKeySelector,
  StringMap,
  TLSConfig,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { readTlsMaterial, type TlsConfig } from "../../config/tls.js";
import type { SecretKeySelector as Selector } from "../../config/types.js";
import { ConfigError } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import type { AdapterContext } from "../types.js";
import { connectRedis, type RedisConnection, redisClientName } from "./client.js";

/** What the `redis` and `redisStream` kinds share: their connection fields and how they connect. */

/** The connection fields of Argo's RedisEventSource and RedisStreamEventSource (same names). */
export const REDIS_CONNECTION_FIELDS = {
  hostAddress: Type.Optional(Type.String()),
  password: Type.Optional(SecretKeySelector),
  db: Type.Optional(Int32("database number (default 0)")),
  username: Type.Optional(Type.String()),
  tls: Type.Optional(TLSConfig),
  metadata: Type.Optional(StringMap()),
  filter: Type.Optional(EventSourceFilter),
};

interface RedisConnectionSpec {
  hostAddress?: string | undefined;
  password?: Selector | undefined;
  db?: number | undefined;
  username?: string | undefined;
  tls?: TlsConfig | undefined;
}

/**
 * Reads the entry's password and TLS Secrets and starts its connection (not waiting for Redis);
 * `at` is `spec.<kind>.<eventName>`. A missing hostAddress is refused as Argo's start does.
 */
export async function connectEntry(
  at: string,
  eventName: string,
  spec: RedisConnectionSpec,
  ctx: AdapterContext,
  log: Logger,
): Promise<RedisConnection> {
  if (!spec.hostAddress) throw new ConfigError(`${at}: host address must be specified`);
  const password = spec.password
    ? await ctx.values.secret(spec.password, `${at}.password`)
    : undefined;
  const tls = await readTlsMaterial(spec.tls, at, ctx.values);
  return connectRedis({
    hostAddress: spec.hostAddress,
    ...(spec.db ? { db: spec.db } : {}),
    ...(spec.username ? { username: spec.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
    log,
    at,
    clientName: redisClientName(ctx.eventSourceName, eventName),
  });
}
