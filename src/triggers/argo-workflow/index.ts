import { err, join, str, warn } from "../../config/findings.js";
import type { TemplateCheck } from "../../config/kinds.js";
import { errorMessage } from "../../errors.js";
import { checkSource } from "../check-source.js";
import { kubeTriggerGraph } from "../created-object.js";
import type { TriggerKindDescriptor } from "../kind.js";
import { checkWorkflowArgs } from "./args.js";
import { type ArgoWorkflowTrigger, ArgoWorkflowTriggerSchema } from "./schema.js";

export { type ArgoWorkflowTrigger, ArgoWorkflowTriggerSchema } from "./schema.js";

const OPERATIONS = new Set([
  "submit",
  "submit-from",
  "suspend",
  "retry",
  "resume",
  "resubmit",
  "terminate",
  "stop",
]);

function validate(spec: ArgoWorkflowTrigger, check: TemplateCheck): void {
  const op = str(spec.operation);
  if (!OPERATIONS.has(op))
    check.report(err(join(check.at, "operation"), `unknown operation type ${op}`));
  else if (!check.touches("argoWorkflow.args"))
    checkArgList(op, spec.args, join(check.at, "args"), check);
  check.parameters(spec.parameters, "parameters", "resource parameter");
  checkSource(spec.source, "argoWorkflow.source", check);
}

/** `argoWorkflow.args` as the trigger parses them at firing time. */
function checkArgList(operation: string, args: unknown, at: string, check: TemplateCheck): void {
  if (!Array.isArray(args)) return;
  try {
    for (const a of checkWorkflowArgs(operation, args, "args")) {
      check.report(warn(join(at, a.index), `'${a.arg}' is accepted but ignored: ${a.reason}`));
    }
  } catch (e) {
    const m = /^args(?:\.(\d+))?: (.*)$/s.exec(errorMessage(e));
    check.report(
      err(
        m?.[1] ? join(at, Number(m[1])) : at,
        `${m?.[2] ?? errorMessage(e)}: every firing would fail`,
      ),
    );
  }
}

export const argoWorkflow: TriggerKindDescriptor<ArgoWorkflowTrigger> = {
  key: "argoWorkflow",
  schema: ArgoWorkflowTriggerSchema,
  runs: true,
  policy: "k8s",
  kube: true,
  validate,
  graph: kubeTriggerGraph<ArgoWorkflowTrigger>(
    "submit",
    (op) => op.startsWith("submit"),
    (obj, resource, operation) => {
      const fromTemplate = obj.kind === "WorkflowTemplate" || obj.kind === "CronWorkflow";
      if (!fromTemplate || !operation.startsWith("submit")) return;
      // `argo submit --from <kind>/<name>`: a Workflow named <name>-xxxxx, labelled by Argo.
      const meta = (resource.metadata ?? {}) as Record<string, unknown>;
      const template = typeof meta.name === "string" ? meta.name : obj.namePrefix;
      const label = obj.kind === "CronWorkflow" ? "cron-workflow" : "workflow-template";
      obj.kind = "Workflow";
      obj.namePrefix = `${template}-`;
      obj.labels[`workflows.argoproj.io/${label}`] = template;
    },
  ),
  load: () => import("./runtime.js"),
};
