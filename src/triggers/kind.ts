import type { TriggerKindSpec } from "../config/kinds.js";
import type { KubeClient } from "../k8s/client.js";
import type { Logger } from "../observability/logger.js";
import type { SourceContext } from "./source.js";
import type { TriggerKind } from "./types.js";

export interface TriggerRegistryOptions {
  /** undefined: no cluster; Kubernetes triggers render to the log. */
  kube: KubeClient | undefined;
  /** Render Kubernetes triggers to the log even when a cluster is configured. */
  dryRun: boolean;
  log: Logger;
  /** How trigger sources are read (replay: offline, `url` paths mapped to local files). */
  source?: Omit<SourceContext, "values" | "field">;
}

/** What a kind's runtime module (`<kind>/runtime.ts`) exports for the registry. */
export interface TriggerRuntime<S> {
  createTrigger(options: TriggerRegistryOptions): TriggerKind<S>;
}

/**
 * One trigger kind (`template.<key>`): src/triggers/<kind>/index.ts exports one, listed in
 * src/triggers/registry.ts. Schema, validation and graph are here; the runtime is imported by
 * `load` only when a Sensor fires the kind. Kinds Argo has but sensorbus does not execute have no
 * `load`.
 */
export interface TriggerKindDescriptor<S = never> extends TriggerKindSpec<S> {
  /** Acts on a Kubernetes cluster: each Sensor with its own identity gets its own instance. */
  readonly kube?: boolean;
  load?: () => Promise<TriggerRuntime<S>>;
}
