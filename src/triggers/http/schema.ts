import type { Static } from "typebox";
import {
  BasicAuth,
  ConfigMapKeySelector,
  Int64,
  NonEmptyString,
  SecretKeySelector,
  StringMap,
  Struct,
  TLSConfig,
} from "../../config/schema/common.js";
import { Parameters } from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { TriggerParameter } from "../../config/types.js";

export const SecureHeader = Struct({
  name: Type.Optional(Type.String()),
  valueFrom: Type.Optional(
    Struct({
      secretKeyRef: Type.Optional(SecretKeySelector),
      configMapKeyRef: Type.Optional(ConfigMapKeySelector),
    }),
  ),
});

export const HttpTriggerSchema = Struct({
  url: NonEmptyString(),
  payload: Parameters,
  tls: Type.Optional(TLSConfig),
  method: Type.Optional(Type.String({ description: "GET | POST | PUT | PATCH | DELETE" })),
  parameters: Parameters,
  timeout: Type.Optional(Int64("seconds; default 60")),
  basicAuth: Type.Optional(BasicAuth),
  headers: Type.Optional(StringMap()),
  secureHeaders: Type.Optional(Type.Array(SecureHeader)),
  dynamicHeaders: Parameters,
  host: Type.Optional(Type.String()),
});

/**
 * The schema's shape, with the shared Argo structs as the runtime reads them after validate
 * (config/types.ts: parameters with a `dest`, sources with a path).
 */
export type HttpTrigger = Omit<
  Static<typeof HttpTriggerSchema>,
  "parameters" | "payload" | "dynamicHeaders" | "secureHeaders"
> & {
  parameters?: TriggerParameter[];
  payload?: TriggerParameter[];
  dynamicHeaders?: TriggerParameter[];
  secureHeaders?: Array<Omit<Static<typeof SecureHeader>, "name"> & { name: string }>;
};
