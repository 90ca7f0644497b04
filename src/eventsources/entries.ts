import type { AdapterContext, RunningAdapter } from "./types.js";

/**
 * The start/stop shape most adapters share: start each entry in turn (a failure stops those
 * already started and rejects), stop them all once, and stop when the EventSource's signal aborts.
 * `disconnected`, when given, names the entries whose broker connection is down (/readyz).
 */
export async function startEntries<Spec, E>(
  entries: ReadonlyArray<{ eventName: string; spec: Spec }>,
  ctx: AdapterContext,
  hooks: {
    start(eventName: string, spec: Spec, ctx: AdapterContext): Promise<E>;
    stop(entry: E): Promise<void>;
    disconnected?(running: readonly E[]): string[];
  },
): Promise<RunningAdapter> {
  const running: E[] = [];
  const stopAll = () => Promise.allSettled(running.map((e) => hooks.stop(e))).then(() => undefined);
  try {
    for (const { eventName, spec } of entries)
      running.push(await hooks.start(eventName, spec, ctx));
  } catch (err) {
    await stopAll();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= stopAll();
    return stopping;
  };
  ctx.signal.addEventListener("abort", () => void stop(), { once: true });
  const { disconnected } = hooks;
  return disconnected ? { stop, disconnected: () => disconnected(running) } : { stop };
}
