import { registerEventSourceKinds } from "../config/kinds.js";
import { amqp } from "./amqp/index.js";
import { ARGO_ONLY_EVENTSOURCE_KINDS } from "./argo-only.js";
import { bitbucket } from "./bitbucket/index.js";
import { bitbucketserver } from "./bitbucketserver/index.js";
import { calendar } from "./calendar/index.js";
import { file } from "./file/index.js";
import { gerrit } from "./gerrit/index.js";
import { github } from "./github/index.js";
import { gitlab } from "./gitlab/index.js";
import type { EventSourceKind } from "./kind.js";
import { mqtt } from "./mqtt/index.js";
import { nats } from "./nats/index.js";
import { pubSub } from "./pubsub/index.js";
import { redis } from "./redis/index.js";
import { redisStream } from "./redis-stream/index.js";
import { resource } from "./resource/index.js";
import { slack } from "./slack/index.js";
import { stripe } from "./stripe/index.js";
import type { AdapterRegistryOptions, EventSourceAdapter } from "./types.js";
import { webhook } from "./webhook/index.js";

export type { AdapterRegistryOptions } from "./types.js";

/** Every EventSource kind sensorbus runs, by its key under `spec`: one line per kind. */
export const EVENTSOURCE_KINDS: readonly EventSourceKind<never>[] = [
  webhook,
  pubSub,
  calendar,
  resource,
  github,
  gitlab,
  bitbucket,
  bitbucketserver,
  redis,
  redisStream,
  slack,
  stripe,
  gerrit,
  mqtt,
  file,
  amqp,
  nats,
] as readonly EventSourceKind<never>[];

/** All kinds the manifests may hold: those run, then Argo's others (accepted, warned about). */
export const ALL_EVENTSOURCE_KINDS: readonly EventSourceKind<never>[] = [
  ...EVENTSOURCE_KINDS,
  ...ARGO_ONLY_EVENTSOURCE_KINDS,
];

registerEventSourceKinds(ALL_EVENTSOURCE_KINDS);

/** `spec` keys that hold event entries but that sensorbus does not run (warned at load). */
export const NON_ENTRY_KEYS = new Set(["eventBusName", "replicas", "service", "template"]);

/** The kind of `spec.<key>`, or undefined for keys that are no kind. */
export function eventSourceKind(key: string): EventSourceKind<never> | undefined {
  return ALL_EVENTSOURCE_KINDS.find((k) => k.key === key);
}

/**
 * The adapter of every kind sensorbus runs, by its key under `spec`. Each adapter's runtime module
 * (and vendor SDK) is imported when an EventSource first starts an entry of its kind.
 */
export function adapterRegistry(
  options: AdapterRegistryOptions = {},
): Map<string, EventSourceAdapter<unknown>> {
  const out = new Map<string, EventSourceAdapter<unknown>>();
  for (const kind of EVENTSOURCE_KINDS) {
    const load = kind.load;
    if (load) out.set(kind.key, lazyAdapter(kind.key, load, options));
  }
  for (const a of options.extra ?? []) out.set(a.key, a as EventSourceAdapter<unknown>);
  return out;
}

function lazyAdapter(
  key: string,
  load: () => Promise<{ createAdapter(o: AdapterRegistryOptions): EventSourceAdapter<never> }>,
  options: AdapterRegistryOptions,
): EventSourceAdapter<unknown> {
  let loading: Promise<EventSourceAdapter<unknown>> | undefined;
  let loaded: EventSourceAdapter<unknown> | undefined;
  return {
    key,
    // Read by the runner for every event an adapter emits, so always after start() loaded it.
    get ceType(): string {
      return loaded?.ceType ?? key;
    },
    start: async (entries, ctx) => {
      loading ??= load().then((m) => m.createAdapter(options) as EventSourceAdapter<unknown>);
      loaded = await loading;
      return loaded.start(entries, ctx);
    },
  };
}
