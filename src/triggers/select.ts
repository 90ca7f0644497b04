import type { TriggerTemplate } from "../config/types.js";

/** Argo's precedence when several kinds are set on one template (§4.2). */
export const KIND_PRECEDENCE = [
  "k8s",
  "argoWorkflow",
  "http",
  "awsLambda",
  "azureEventHubs",
  "azureServiceBus",
  "kafka",
  "pulsar",
  "nats",
  "slack",
  "openWhisk",
  "custom",
  "log",
  "email",
] as const;

/** The kind that runs for this template, or undefined when none is set. */
export function selectKind(
  template: TriggerTemplate | undefined,
): { kind: string; spec: unknown } | undefined {
  if (!template) return undefined;
  for (const kind of KIND_PRECEDENCE) {
    const spec = template[kind];
    if (spec !== undefined && spec !== null) return { kind, spec };
  }
  return undefined;
}
