import type { Static } from "typebox";
import { Struct } from "../../config/schema/common.js";
import {
  ArtifactLocation as ArtifactLocationSchema,
  Parameters,
} from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { ArtifactLocation, TriggerParameter } from "../../config/types.js";

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
