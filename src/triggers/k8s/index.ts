import { err, join } from "../../config/findings.js";
import type { TemplateCheck } from "../../config/kinds.js";
import { checkSource } from "../check-source.js";
import { kubeTriggerGraph } from "../created-object.js";
import type { TriggerKindDescriptor } from "../kind.js";
import { type K8sTrigger, K8sTriggerSchema } from "./schema.js";

export { type K8sTrigger, K8sTriggerSchema } from "./schema.js";

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
