import type { ValueResolver } from "../config/secrets.js";
import type { KubeClient } from "../k8s/client.js";
import { sleepUnlessAborted } from "../lib/sleep.js";
import type { Logger } from "../observability/logger.js";

/**
 * What an adapter hands to the runner for one event. The runner applies the entry's
 * `filter.expression`, builds the CloudEvent (id, source, subject, type, time) and publishes it.
 */
export interface EmitInput {
  /** The source payload as JSON text, encoded as Argo's Go encoder writes it (see lib/gojson.ts). */
  data: string;
  /** Event id to use instead of a random one (an inbound CloudEvent id, a hash of a message id). */
  id?: string;
  /** CloudEvent extension attributes (correlationid, traceparent, ...). */
  extensions?: Record<string, string>;
  /** resource EventSource: the object that changed (journal and `sensorbus trace`, not the event). */
  object?: { kind: string; namespace?: string; name: string; change?: string; phase?: string };
}

export interface EmitResult {
  id: string;
  /** `filtered`: the entry's filter.expression dropped it (Argo still reports success). */
  status: "published" | "duplicate" | "filtered";
}

/** Emits one event; rejects with a retryable EventBusError when the bus did not store it. */
export type Emit = (eventName: string, input: EmitInput) => Promise<EmitResult>;

/** Injectable wall clock (calendar tests use a fake one; nothing sleeps in tests). */
export interface Clock {
  now(): number;
  /** Resolves after `ms` or when `signal` aborts (then resolves false). */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: sleepUnlessAborted,
};

export interface AdapterContext {
  eventSourceName: string;
  namespace: string;
  emit: Emit;
  log: Logger;
  values: ValueResolver;
  clock: Clock;
  /** Aborted when the EventSource stops. */
  signal: AbortSignal;
  /** A request refused by the kind's verification (signature, token): counted in a metric. */
  verificationFailed?: (eventName: string, reason: string) => void;
}

/** A started adapter. `stop` stops taking new input and resolves when in-flight emits finished. */
export interface RunningAdapter {
  stop(): Promise<void>;
  /** Event names whose broker connection is down now (shown in /readyz); absent: never down. */
  disconnected?(): string[];
}

/**
 * One EventSource type (`spec.<key>`). Registered in eventsources/registry.ts.
 * An adapter never imports the event bus: it only calls `ctx.emit`, and must treat a rejected emit
 * as "not accepted" (webhook 503, Pub/Sub nack, calendar retry).
 */
export interface EventSourceAdapter<Spec = unknown> {
  /** Key under `spec` (webhook, pubSub, calendar, resource). */
  readonly key: string;
  /** CloudEvent `type` Argo uses for it (webhook, pubsub, calendar, resource). */
  readonly ceType: string;
  start(
    entries: ReadonlyArray<{ eventName: string; spec: Spec }>,
    ctx: AdapterContext,
  ): Promise<RunningAdapter>;
}

/** What the registry hands every kind's runtime when it creates its adapter. */
export interface AdapterRegistryOptions {
  /** The cluster for `resource` EventSources (undefined: they fail to start with a clear error). */
  kube?: () => KubeClient | undefined;
  /** Where calendar EventSources persist their last tick (default: a state directory). */
  tickStore?: TickStore;
  /** Adapters that replace the built-in ones of the same key (tests: fake clocks). */
  extra?: readonly EventSourceAdapter<never>[];
}

/**
 * Where the last emitted tick of each calendar entry is kept. Implementations must make `put`
 * durable before resolving (a restart reads it back with `get`) and must return exactly the
 * stored text. Keys contain letters, digits, `.`, `-`, `_` and whatever an event name holds.
 */
export interface TickStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
}
