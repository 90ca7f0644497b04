import type { Static } from "typebox";
import { err, join } from "../../config/findings.js";
import type { TemplateCheck } from "../../config/kinds.js";
import { Struct } from "../../config/schema/common.js";
import {
  ArtifactLocation as ArtifactLocationSchema,
  Parameters,
} from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { ArtifactLocation, TriggerParameter } from "../../config/types.js";
import { checkSource } from "../check-source.js";
import { kubeTriggerGraph } from "../created-object.js";
import type { TriggerKindDescriptor } from "../kind.js";

export const K8sTriggerSchema = Struct({
  source: ArtifactLocationSchema,
  operation: Type.Optional(Type.String({ description: "create | update | patch | delete" })),
  parameters: Parameters,
  patchStrategy: Type.Optional(Type.String()),
  liveObject: Type.Optional(Type.Boolean()),
});

/**
 * The schema's shape, with the shared Argo structs as the runtime reads them after validate
 * (config/types.ts: parameters with a `dest`, sources with a path).
 */
export type K8sTrigger = Omit<Static<typeof K8sTriggerSchema>, "source" | "parameters"> & {
  source?: ArtifactLocation;
  parameters?: TriggerParameter[];
};

const OPERATIONS = new Set(["", "create", "update", "patch", "delete"]);

function validate(spec: K8sTrigger, check: TemplateCheck): void {
  if (typeof spec.operation === "string" && !OPERATIONS.has(spec.operation)) {
    check.report(err(join(check.at, "operation"), `unknown operation type ${spec.operation}`));
  }
  check.parameters(spec.parameters, "parameters", "resource parameter");
  checkSource(spec.source, "k8s.source", check);
}

export const k8s: TriggerKindDescriptor<K8sTrigger> = {
  key: "k8s",
  schema: K8sTriggerSchema,
  runs: true,
  policy: "k8s",
  kube: true,
  validate,
  graph: kubeTriggerGraph<K8sTrigger>("create", (op) => op === "create"),
  load: () => import("./runtime.js"),
};
