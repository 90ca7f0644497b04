import { registerTriggerKinds } from "../config/kinds.js";
import {
  awsLambda,
  azureEventHubs,
  azureServiceBus,
  kafka,
  openWhisk,
  pulsar,
} from "./argo-only.js";
import { argoWorkflow } from "./argo-workflow/index.js";
import { custom } from "./custom/index.js";
import { email } from "./email/index.js";
import { http } from "./http/index.js";
import { k8s } from "./k8s/index.js";
import type { TriggerKindDescriptor, TriggerRegistryOptions } from "./kind.js";
import { log } from "./log/index.js";
import { nats } from "./nats/index.js";
import { pubSub } from "./pubsub/index.js";
import { slack } from "./slack/index.js";
import type { TriggerKind } from "./types.js";

export type { TriggerRegistryOptions } from "./kind.js";

/**
 * Every trigger kind a template may hold, one line each, in Argo's precedence order (when one
 * template sets several kinds, the first present runs: Argo's GetTrigger order). Kinds from
 * argo-only.ts are accepted but not executed.
 */
export const ALL_TRIGGER_KINDS: readonly TriggerKindDescriptor<never>[] = [
  k8s,
  argoWorkflow,
  http,
  awsLambda,
  azureEventHubs,
  azureServiceBus,
  kafka,
  pulsar,
  nats,
  slack,
  openWhisk,
  custom,
  log,
  email,
  // sensorbus extensions (Argo has none of these; it refuses a Sensor that uses one)
  pubSub,
] as readonly TriggerKindDescriptor<never>[];

registerTriggerKinds(ALL_TRIGGER_KINDS);

/** The trigger kinds sensorbus executes. */
export const TRIGGER_KINDS = ALL_TRIGGER_KINDS.filter((k) => k.load !== undefined);

/**
 * Every trigger kind sensorbus executes, by its key under `template`. A kind's runtime module is
 * imported when a Sensor first fires it.
 */
export function triggerRegistry(
  options: TriggerRegistryOptions,
): Map<string, TriggerKind<unknown>> {
  return new Map(executed().map((k) => [k.key, lazyTrigger(k.key, k.load, options)]));
}

/**
 * `kinds` with the Kubernetes trigger kinds bound to `kube` instead: a Sensor's own identity and
 * lane. The other kinds (and their connection pools) stay shared.
 */
export function withKubeClient(
  kinds: ReadonlyMap<string, TriggerKind<unknown>>,
  options: TriggerRegistryOptions,
): Map<string, TriggerKind<unknown>> {
  const out = new Map(kinds);
  const own = { kube: options.kube, dryRun: options.dryRun, log: options.log };
  for (const k of executed()) if (k.kube) out.set(k.key, lazyTrigger(k.key, k.load, own));
  return out;
}

export async function closeTriggers(
  kinds: ReadonlyMap<string, TriggerKind<unknown>>,
): Promise<void> {
  await Promise.allSettled([...kinds.values()].map((k) => k.close?.()));
}

/** The kind's trigger, its runtime module imported on first use. */
function lazyTrigger(
  key: string,
  load: NonNullable<TriggerKindDescriptor<never>["load"]>,
  options: TriggerRegistryOptions,
): TriggerKind<unknown> {
  let created: Promise<TriggerKind<unknown>> | undefined;
  const get = () => {
    created ??= load().then((m) => m.createTrigger(options) as TriggerKind<unknown>);
    return created;
  };
  return {
    kind: key,
    render: async (template, ctx) => (await get()).render(template, ctx),
    execute: async (rendered, ctx) => (await get()).execute(rendered, ctx),
    close: async () => {
      if (created) await (await created).close?.();
    },
  };
}

/** The kinds with a runtime, each with its `load`. */
function executed(): Array<
  TriggerKindDescriptor<never> & { load: NonNullable<TriggerKindDescriptor<never>["load"]> }
> {
  return TRIGGER_KINDS.filter(
    (k): k is typeof k & { load: NonNullable<typeof k.load> } => k.load !== undefined,
  );
}
