import type { KubeClient } from "../k8s/client.js";
import type { Logger } from "../observability/logger.js";
import { argoWorkflowTrigger } from "./argo-workflow.js";
import { httpTrigger } from "./http.js";
import { k8sTrigger } from "./k8s.js";
import { logTrigger } from "./log.js";
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

/** Every trigger kind sensorbus executes, by its key under `template`. The only file importing them. */
export function triggerRegistry(
  options: TriggerRegistryOptions,
): Map<string, TriggerKind<unknown>> {
  const kinds: Array<TriggerKind<never>> = [
    logTrigger(),
    httpTrigger(),
    argoWorkflowTrigger(options.kube, {
      dryRun: options.dryRun,
      log: options.log,
      ...(options.source ? { source: options.source } : {}),
    }),
    k8sTrigger(options.kube, {
      dryRun: options.dryRun,
      log: options.log,
      ...(options.source ? { source: options.source } : {}),
    }),
  ];
  return new Map(kinds.map((k) => [k.kind, k as TriggerKind<unknown>]));
}

/**
 * `kinds` with the Kubernetes trigger kinds (argoWorkflow, k8s) bound to `kube` instead: a
 * Sensor's own identity and lane. The other kinds (and their connection pools) stay shared.
 */
export function withKubeClient(
  kinds: ReadonlyMap<string, TriggerKind<unknown>>,
  options: TriggerRegistryOptions,
): Map<string, TriggerKind<unknown>> {
  const out = new Map(kinds);
  const own: Array<TriggerKind<never>> = [
    argoWorkflowTrigger(options.kube, { dryRun: options.dryRun, log: options.log }),
    k8sTrigger(options.kube, { dryRun: options.dryRun, log: options.log }),
  ];
  for (const k of own) out.set(k.kind, k as TriggerKind<unknown>);
  return out;
}

export async function closeTriggers(
  kinds: ReadonlyMap<string, TriggerKind<unknown>>,
): Promise<void> {
  await Promise.allSettled([...kinds.values()].map((k) => k.close?.()));
}
