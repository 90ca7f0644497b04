import { type AdapterContext, type EmitInput, systemClock } from "../../src/eventsources/types.js";
import { logSink } from "./log-sink.js";

/**
 * An AdapterContext recording what a webhook-style kind emits and refuses: `secrets` maps
 * `<name>/<key>` to the Secret value, `failNext` makes the next emit reject with that error,
 * `now` is the adapter's clock.
 */
export function recordingContext(secrets: Record<string, string>, name = "es") {
  const emitted: Array<{ eventName: string; input: EmitInput }> = [];
  const refused: Array<{ eventName: string; reason: string }> = [];
  const logs = logSink({ level: "trace", redaction: true });
  const state: { failNext?: Error; now: () => number } = { now: () => Date.now() };
  const controller = new AbortController();
  const ctx: AdapterContext = {
    eventSourceName: name,
    namespace: "default",
    log: logs.log,
    clock: { now: () => state.now(), sleep: systemClock.sleep },
    signal: controller.signal,
    values: {
      secret: async (sel) => {
        const v = secrets[`${sel.name}/${sel.key}`];
        if (v === undefined) throw new Error(`no Secret ${sel.name}/${sel.key}`);
        return v;
      },
      configMap: async () => "",
    },
    emit: async (eventName, input) => {
      if (state.failNext) {
        const e = state.failNext;
        delete state.failNext;
        throw e;
      }
      emitted.push({ eventName, input });
      return { id: input.id ?? `minted-${emitted.length}`, status: "published" };
    },
    verificationFailed: (eventName, reason) => refused.push({ eventName, reason }),
  };
  return { ctx, emitted, refused, logs, state, abort: () => controller.abort() };
}
