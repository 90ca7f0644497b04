import type { ValueResolver } from "../../src/config/secrets.js";
import type { AdapterContext, Clock, EmitInput, EmitResult } from "../../src/eventsources/types.js";
import { type LogSink, logSink } from "./log-sink.js";

/**
 * An EventSource adapter's context for integration tests: emits recorded (and optionally made to
 * fail or wait), logs captured as objects (pino's test pattern), Secrets from a map.
 */

/** Backoffs return at once (the tests assert order, not time). */
export const instantClock: Clock = {
  now: () => Date.now(),
  sleep: async (_ms, signal) => !signal?.aborted,
};

export interface Harness {
  emitted: EmitInput[];
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

/**
 * `behaviour(input, n)` runs inside each emit (n counts from 1); a throw is the bus refusing the
 * event. Every emit is recorded before it runs.
 */
export function adapterHarness(
  options: {
    behaviour?: (input: EmitInput, n: number) => Promise<void>;
    clock?: Clock;
    secrets?: Record<string, string>;
    eventSourceName?: string;
  } = {},
): Harness {
  const emitted: EmitInput[] = [];
  const logs = logSink();
  const abort = new AbortController();
  const emit = async (_eventName: string, input: EmitInput): Promise<EmitResult> => {
    emitted.push(input);
    if (options.behaviour) await options.behaviour(input, emitted.length);
    return { id: input.id ?? "x", status: "published" };
  };
  return {
    emitted,
    logs,
    abort,
    ctx: {
      eventSourceName: options.eventSourceName ?? "test-es",
      namespace: "default",
      emit,
      log: logs.log,
      values: secretsFrom(options.secrets ?? {}),
      clock: options.clock ?? instantClock,
      signal: abort.signal,
    },
  };
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
