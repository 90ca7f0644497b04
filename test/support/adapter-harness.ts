import type { ValueResolver } from "../../src/config/secrets.js";
import {
  type AdapterContext,
  type Clock,
  type EmitInput,
  type EmitResult,
  systemClock,
} from "../../src/eventsources/types.js";
import { type LogSink, type LogSinkOptions, logSink } from "./log-sink.js";

/**
 * An EventSource adapter's context for tests: emits recorded (and optionally made to fail or
 * wait), refused deliveries recorded, logs captured (log-sink.ts), Secrets from a map.
 */

/** Backoffs return at once (the tests assert order, not time). */
export const instantClock: Clock = {
  now: () => Date.now(),
  sleep: async (_ms, signal) => !signal?.aborted,
};

export interface Harness {
  /** Every emit, in order (also those `behaviour` made fail); `eventNames` in step. */
  emitted: EmitInput[];
  eventNames: string[];
  /** `verificationFailed` calls (a webhook kind refusing a delivery). */
  refused: Array<{ eventName: string; reason: string }>;
  /** The next emit rejects with this error, unrecorded (then it is cleared). */
  failNext?: Error;
  logs: LogSink;
  abort: AbortController;
  ctx: AdapterContext;
}

/** Secret values by `name/key`; a missing one rejects as the real resolver does. */
export function secretsFrom(values: Record<string, string>): ValueResolver {
  return {
    secret: async (ref: { name: string; key: string }) => {
      const v = values[`${ref.name}/${ref.key}`];
      if (v === undefined) throw new Error(`secret ${ref.name}/${ref.key} not found`);
      return v;
    },
    configMap: async () => {
      throw new Error("no config maps in this test");
    },
  } as unknown as ValueResolver;
}

export interface HarnessOptions {
  /**
   * Runs inside each emit (n counts from 1); a throw is the bus refusing the event. Every emit is
   * recorded before it runs.
   */
  behaviour?: (input: EmitInput, n: number) => Promise<void>;
  /** Default {@link instantClock}. */
  clock?: Clock;
  /** Secret values by `name/key`. */
  secrets?: Record<string, string>;
  eventSourceName?: string;
  /** Default: every line from debug on, unredacted. */
  logs?: LogSinkOptions;
}

export function adapterHarness(options: HarnessOptions = {}): Harness {
  const logs = logSink(options.logs);
  const h: Harness = {
    emitted: [],
    eventNames: [],
    refused: [],
    logs,
    abort: new AbortController(),
    ctx: undefined as unknown as AdapterContext,
  };
  const emit = async (eventName: string, input: EmitInput): Promise<EmitResult> => {
    if (h.failNext) {
      const e = h.failNext;
      delete h.failNext;
      throw e;
    }
    h.emitted.push(input);
    h.eventNames.push(eventName);
    if (options.behaviour) await options.behaviour(input, h.emitted.length);
    return { id: input.id ?? `minted-${h.emitted.length}`, status: "published" };
  };
  h.ctx = {
    eventSourceName: options.eventSourceName ?? "test-es",
    namespace: "default",
    emit,
    log: logs.log,
    values: secretsFrom(options.secrets ?? {}),
    clock: options.clock ?? instantClock,
    signal: h.abort.signal,
    verificationFailed: (eventName, reason) => h.refused.push({ eventName, reason }),
  };
  return h;
}

export function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The harness of a webhook-style kind: real time, every log line (trace) with the service's
 * redaction, Secrets by `name/key`.
 */
export function webhookHarness(secrets: Record<string, string>, eventSourceName = "es"): Harness {
  return adapterHarness({
    secrets,
    eventSourceName,
    clock: systemClock,
    logs: { level: "trace", redaction: true },
  });
}
