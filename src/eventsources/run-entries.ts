import type { AdapterContext, RunningAdapter } from "./types.js";

/**
 * What broker adapters share: start each entry (stopping those started when one fails), stop them
 * all once (on `stop()` or when the EventSource's signal aborts), and report the entries whose
 * connection is down (`/readyz`).
 */
export async function runEntries<S, E extends { eventName: string }>(
  entries: ReadonlyArray<{ eventName: string; spec: S }>,
  ctx: AdapterContext,
  hooks: {
    start(eventName: string, spec: S, ctx: AdapterContext): Promise<E>;
    stop(entry: E): Promise<void>;
    connected(entry: E): boolean;
  },
): Promise<RunningAdapter> {
  const running: E[] = [];
  try {
    for (const { eventName, spec } of entries)
      running.push(await hooks.start(eventName, spec, ctx));
  } catch (err) {
    await Promise.allSettled(running.map((e) => hooks.stop(e)));
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= Promise.allSettled(running.map((e) => hooks.stop(e))).then(() => undefined);
    return stopping;
  };
  ctx.signal.addEventListener("abort", () => void stop(), { once: true });
  return {
    stop,
    disconnected: () => running.filter((e) => !hooks.connected(e)).map((e) => e.eventName),
  };
}
