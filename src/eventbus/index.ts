import { ConfigError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { MemoryBus } from "./memory.js";
import type { NatsAuth } from "./nats-auth.js";
import { redactUrls } from "./nats-auth.js";
import type { EventBus } from "./types.js";

export type { JetStreamBus, JetStreamBusOptions } from "./jetstream/index.js";
export type { MemoryBusOptions } from "./memory.js";
export { MemoryBus } from "./memory.js";
export type { NatsAuth, NatsAuthField, NatsTarget } from "./nats-auth.js";
export { redactUrls, resolveNatsTarget, scrubSecrets } from "./nats-auth.js";
export {
  checkSubjectToken,
  durableName,
  STREAM_NAME,
  SUBJECT_PREFIX,
  subjectFor,
} from "./subjects.js";
export type {
  BusCapabilities,
  BusMessage,
  EventBus,
  KeyValueStore,
  KvEntry,
  KvOptions,
  MessageHandler,
  PublishResult,
  SubscribeOptions,
  Subscription,
} from "./types.js";

/**
 * The bus to use: the `--bus` flag when given, else `NATS_URL`. "memory" (or nothing) selects the
 * in-process bus; anything else is a comma-separated list of NATS URLs.
 */
export function resolveBusUrl(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const pick = (v: string | undefined) =>
    v !== undefined && v.trim() !== "" ? v.trim() : undefined;
  return pick(flag) ?? pick(env.NATS_URL);
}

/** Splits and checks a NATS URL list ("nats://h:p,nats://h2:p2"); a bare host:port gets nats://. */
export function parseNatsServers(url: string): string[] {
  const servers = url
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const problems: string[] = [];
  const out = servers.map((s) => {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `nats://${s}`;
    let parsed: URL | undefined;
    try {
      parsed = new URL(withScheme);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !["nats:", "tls:"].includes(parsed.protocol) || !parsed.hostname) {
      problems.push(
        `event bus URL '${redactUrls(s)}' is not a NATS URL (expected nats://host:port or "memory")`,
      );
    }
    return withScheme;
  });
  if (out.length === 0)
    problems.push('event bus URL is empty (expected nats://host:port or "memory")');
  if (problems.length > 0) throw new ConfigError(problems.join("; "), problems);
  return out;
}

/**
 * Creates the bus named by `url` (see resolveBusUrl): MemoryBus for "memory"/undefined. `auth` holds
 * the NATS credentials and TLS settings (see app/nats-options.ts); URL credentials
 * (`nats://user:password@host`, `nats://token@host`) are used too, and never logged.
 */
export async function createBus(
  url: string | undefined,
  opts: { log: Logger; auth?: NatsAuth | undefined },
): Promise<EventBus> {
  if (url === undefined || url.trim().toLowerCase() === "memory") {
    const log = opts.log.child({ component: "eventbus" });
    log.info("using the in-memory event bus (nothing survives a restart)");
    const given = Object.entries(opts.auth ?? {})
      .filter(([k, v]) => k !== "from" && v !== undefined)
      .map(([k]) => k);
    if (given.length > 0)
      log.warn(
        { ignored: given },
        "NATS credentials or TLS settings are given but the bus is in memory",
      );
    return new MemoryBus();
  }
  // The NATS client is loaded only for a NATS bus (the memory bus and `validate` never need it).
  const { JetStreamBus } = await import("./jetstream/index.js");
  return JetStreamBus.connect({
    servers: parseNatsServers(url),
    log: opts.log,
    ...(opts.auth ? { auth: opts.auth } : {}),
  });
}
