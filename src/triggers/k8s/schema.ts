import type { Static } from "typebox";
import { Struct } from "../../config/schema/common.js";
import {
  ArtifactLocation as ArtifactLocationSchema,
  Parameters,
} from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { ArtifactLocation, TriggerParameter } from "../../config/types.js";

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
