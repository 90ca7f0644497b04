import type { KubeClient } from "../k8s/client.js";
import type { TickStore } from "./calendar/runtime.js";
import { createCalendarAdapter } from "./calendar/runtime.js";
import { ConfigMapTickStore } from "./calendar/configmap-tick-store.js";
import { pubSubAdapter } from "./pubsub/runtime.js";
import { createResourceAdapter } from "./resource/runtime.js";
import type { EventSourceAdapter } from "./types.js";
import { webhookAdapter } from "./webhook/runtime.js";

export interface AdapterRegistryOptions {
  /** The cluster for `resource` EventSources (undefined: they fail to start with a clear error). */
  kube?: () => KubeClient | undefined;
  /** Where calendar EventSources persist their last tick (default: a state directory). */
  tickStore?: TickStore;
  /** Adapters that replace the built-in ones of the same key (tests: fake clocks). */
  extra?: readonly EventSourceAdapter<never>[];
}

/**
 * Every EventSource type sensorbus runs, by its key under `spec`. The only file that imports the
 * adapters.
 */
export function adapterRegistry(
  options: AdapterRegistryOptions = {},
): Map<string, EventSourceAdapter<unknown>> {
  const all = [
    webhookAdapter,
    pubSubAdapter,
    createCalendarAdapter({
      ...(options.tickStore ? { tickStore: options.tickStore } : {}),
      configMapStore: (ref) => {
        const kube = options.kube?.();
        return kube ? new ConfigMapTickStore(kube, ref) : undefined;
      },
    }),
    createResourceAdapter({ kube: options.kube ?? (() => undefined) }),
    ...(options.extra ?? []),
  ] as Array<EventSourceAdapter<unknown>>;
  return new Map(all.map((a) => [a.key, a]));
}

/** `spec` keys that hold event entries but that sensorbus does not run (warned at load). */
export const NON_ENTRY_KEYS = new Set(["eventBusName", "replicas", "service", "template"]);
