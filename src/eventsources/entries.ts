import type { AdapterContext, EmitInput, RunningAdapter } from "./types.js";

/** What {@link startEntries} needs of a kind whose entries each hold a connection or a watch. */
export interface EntryLifecycle<S, E extends { eventName: string }> {
  /** Starts one entry; `ctx.signal` aborts when the adapter stops (or the EventSource does). */
  start(eventName: string, spec: S, ctx: AdapterContext): Promise<E>;
  /** Stops one entry; resolves when its in-flight emits finished. */
  stop(entry: E): Promise<void>;
  /** Whether the entry's connection is down now (for /readyz); absent: never down. */
  down?(entry: E): boolean;
}

/**
 * The shared part of a broker or watcher adapter's `start`: starts the entries in order with a
 * context whose signal also aborts on `stop` (ending retries and backoffs), stops the started ones
 * when one fails to start, stops all when the EventSource's signal aborts, and reports the entries
 * whose connection is down.
 */
export async function startEntries<S, E extends { eventName: string }>(
  entries: ReadonlyArray<{ eventName: string; spec: S }>,
  ctx: AdapterContext,
  kind: EntryLifecycle<S, E>,
): Promise<RunningAdapter> {
  const running: E[] = [];
  const inner = new AbortController();
  const signal = AbortSignal.any([ctx.signal, inner.signal]);
  const c: AdapterContext = { ...ctx, signal };
  try {
    for (const { eventName, spec } of entries) running.push(await kind.start(eventName, spec, c));
  } catch (err) {
    inner.abort();
    await Promise.allSettled(running.map((e) => kind.stop(e)));
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = () => {
    inner.abort();
    stopping ??= Promise.allSettled(running.map((e) => kind.stop(e))).then(() => undefined);
    return stopping;
  };
  signal.addEventListener("abort", () => void stop(), { once: true });
  const down = kind.down;
  return down
    ? { stop, disconnected: () => running.filter((e) => down(e)).map((e) => e.eventName) }
    : { stop };
}

/** Wait after a refused emit: 250 ms doubling to 10 s. */
export const EMIT_RETRY_BASE_MS = 250;
export const EMIT_RETRY_MAX_MS = 10_000;

export interface EmitRetry {
  /** Whether to go on retrying (besides the signal not being aborted); default: yes. */
  keepTrying?: () => boolean;
  /** Called on the first refusal of a streak (log once, not per attempt). */
  refused(err: unknown): void;
  /** Called when it gives up (stopped, or `keepTrying` said no), with the last error. */
  gaveUp(err: unknown): void;
  /** Called when the event was stored after at least one refusal. */
  storedAfterRetry?(): void;
}

/**
 * Emits one event until the bus stores it, retrying with backoff while `ctx.signal` is not aborted
 * and `keepTrying()`. Resolves true when stored, false when it gave up: never drops silently.
 */
export async function emitUntilStored(
  ctx: AdapterContext,
  eventName: string,
  input: EmitInput,
  on: EmitRetry,
): Promise<boolean> {
  for (let failures = 0; ; ) {
    try {
      await ctx.emit(eventName, input);
      if (failures > 0) on.storedAfterRetry?.();
      return true;
    } catch (err) {
      failures++;
      if (ctx.signal.aborted || on.keepTrying?.() === false) {
        on.gaveUp(err);
        return false;
      }
      if (failures === 1) on.refused(err);
      await ctx.clock.sleep(
        Math.min(EMIT_RETRY_MAX_MS, EMIT_RETRY_BASE_MS * 2 ** Math.min(failures - 1, 16)),
        ctx.signal,
      );
    }
  }
}
