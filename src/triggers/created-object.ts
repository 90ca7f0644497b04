import type { TriggerOutput } from "../config/kinds.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;

export type CreatedObject = Omit<
  Extract<TriggerOutput, { type: "object" }>,
  "type" | "creates" | "namespace"
> & {
  namespace: string | undefined;
};

/**
 * The object a Kubernetes trigger (k8s, argoWorkflow) acts on, as far as its inline source tells
 * (graph). `rename` lets a kind say what the operation really creates (argo submit --from).
 */
export function inlineObject(
  spec: Obj,
  rename?: (obj: CreatedObject, resource: Obj) => void,
): CreatedObject | undefined {
  const source = isObj(spec.source) ? spec.source : {};
  const resource = isObj(source.resource) ? source.resource : undefined;
  if (!resource) return undefined;
  const meta = isObj(resource.metadata) ? resource.metadata : {};
  const labels: Record<string, string> = {};
  if (isObj(meta.labels)) {
    for (const [k, v] of Object.entries(meta.labels)) labels[k] = str(v) ?? "";
  }
  const dynamicLabels = new Set<string>();
  for (const p of Array.isArray(spec.parameters) ? (spec.parameters as unknown[]) : []) {
    const dest = isObj(p) ? str(p.dest) : undefined;
    if (dest?.startsWith("metadata.labels.")) dynamicLabels.add(dest.slice(16));
  }
  const obj: CreatedObject = {
    apiVersion: str(resource.apiVersion) ?? "",
    kind: str(resource.kind) ?? "",
    namespace: str(meta.namespace),
    namePrefix: str(meta.generateName) ?? str(meta.name) ?? "",
    labels,
    dynamicLabels,
    manifest: resource,
  };
  rename?.(obj, resource);
  const resSpec = isObj(resource.spec) ? resource.spec : {};
  const ref = isObj(resSpec.workflowTemplateRef)
    ? str(resSpec.workflowTemplateRef.name)
    : undefined;
  if (obj.kind === "Workflow" && ref) obj.labels["workflows.argoproj.io/workflow-template"] = ref;
  return obj;
}

/** The graph contribution shared by the Kubernetes trigger kinds. */
export function kubeTriggerGraph<S>(
  defaultOperation: string,
  creates: (operation: string) => boolean,
  rename?: (obj: CreatedObject, resource: Obj, operation: string) => void,
): {
  detail(spec: S): string;
  outputs(spec: S, sensorNamespace: string): TriggerOutput[];
} {
  const operationOf = (spec: Obj) => str(spec.operation) ?? defaultOperation;
  const objectOf = (spec: Obj) =>
    inlineObject(spec, rename ? (o, r) => rename(o, r, operationOf(spec)) : undefined);
  return {
    detail(spec) {
      const s = spec as Obj;
      const obj = objectOf(s);
      const op = operationOf(s);
      return obj ? `${op} ${obj.kind} ${obj.namePrefix}` : op;
    },
    outputs(spec, sensorNamespace) {
      const s = spec as Obj;
      const obj = objectOf(s);
      if (!obj) return [];
      return [
        {
          type: "object",
          ...obj,
          creates: creates(operationOf(s)),
          namespace: obj.namespace ?? sensorNamespace,
        },
      ];
    },
  };
}
