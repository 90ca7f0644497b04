import type { Static } from "typebox";
import { err, join, str, warn } from "../../config/findings.js";
import type { TemplateCheck } from "../../config/kinds.js";
import { Struct } from "../../config/schema/common.js";
import {
  ArtifactLocation as ArtifactLocationSchema,
  Parameters,
} from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { ArtifactLocation, TriggerParameter } from "../../config/types.js";
import { errorMessage } from "../../errors.js";
import { checkSource } from "../check-source.js";
import { kubeTriggerGraph } from "../created-object.js";
import type { TriggerKindDescriptor } from "../kind.js";
import { checkWorkflowArgs } from "./args.js";

export const ArgoWorkflowTriggerSchema = Struct({
  source: ArtifactLocationSchema,
  operation: Type.Optional(
    Type.String({
      description: "submit | submit-from | suspend | resume | retry | resubmit | terminate | stop",
    }),
  ),
  parameters: Parameters,
  args: Type.Optional(Type.Array(Type.String())),
  concurrencyPolicy: Type.Optional(
    Type.Union([Type.Literal("Allow"), Type.Literal("Forbid"), Type.Literal("Replace")], {
      description:
        "sensorbus extension, like a CronWorkflow's: Allow (default), Forbid (skip while this trigger's last Workflow runs) or Replace (terminate it, then submit)",
    }),
  ),
});

/**
 * The schema's shape, with the shared Argo structs as the runtime reads them after validate
 * (config/types.ts: parameters with a `dest`, sources with a path).
 */
export type ArgoWorkflowTrigger = Omit<
  Static<typeof ArgoWorkflowTriggerSchema>,
  "source" | "parameters" | "concurrencyPolicy"
> & {
  source?: ArtifactLocation;
  parameters?: TriggerParameter[];
  /** Written as any string; the runtime refuses values other than Allow, Forbid, Replace. */
  concurrencyPolicy?: string;
};

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
