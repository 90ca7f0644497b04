import type { Static } from "typebox";
import { SecretKeySelector, StringMap, Struct } from "../../config/schema/common.js";
import { Parameters } from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { TriggerParameter } from "../../config/types.js";

/** Argo's CustomTrigger (`template.custom`). */
export const CustomTriggerSchema = Struct({
  serverURL: Type.Optional(Type.String({ description: "gRPC target, e.g. host:port" })),
  secure: Type.Optional(Type.Boolean()),
  certSecret: Type.Optional(SecretKeySelector),
  serverNameOverride: Type.Optional(Type.String()),
  spec: Type.Optional(StringMap("sent to FetchResource as YAML")),
  parameters: Parameters,
  payload: Parameters,
});

/** The schema's shape, with parameters as the runtime reads them after validate. */
export type CustomTrigger = Omit<Static<typeof CustomTriggerSchema>, "parameters" | "payload"> & {
  parameters?: TriggerParameter[];
  payload?: TriggerParameter[];
};
