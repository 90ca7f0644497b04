import type { RunningAdapter } from "./types.js";

/**
 * The RunningAdapter of a broker kind whose entries each hold their own connection: `stop` (or
 * the EventSource's `signal` aborting) aborts `inner` when given (the signal the entries' loops
 * watch) and stops every entry, once; `disconnected` names the entries `isDown` says are down.
 */
export function runningEntries<E extends { eventName: string }>(options: {
  entries: readonly E[];
  stopEntry: (e: E) => Promise<void>;
  isDown: (e: E) => boolean;
  signal: AbortSignal;
  inner?: AbortController;
}): RunningAdapter {
  const { entries, stopEntry, isDown, signal, inner } = options;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    inner?.abort();
    stopping ??= Promise.allSettled(entries.map(stopEntry)).then(() => undefined);
    return stopping;
  };
  signal.addEventListener("abort", () => void stop(), { once: true });
  return { stop, disconnected: () => entries.filter(isDown).map((e) => e.eventName) };
}
