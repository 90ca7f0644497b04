import type { Static } from "typebox";
import { Int32, SecretKeySelector, Struct } from "../../config/schema/common.js";
import { Parameters } from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { TriggerParameter } from "../../config/types.js";

/** Argo's `EmailTrigger` (pkg/apis/events/v1alpha1/sensor_types.go), field for field. */
export const EmailTriggerSchema = Struct({
  parameters: Parameters,
  username: Type.Optional(Type.String({ description: "SMTP user; auth only with smtpPassword" })),
  smtpPassword: Type.Optional(SecretKeySelector),
  host: Type.Optional(Type.String({ description: "SMTP server; required" })),
  port: Type.Optional(Int32("465: implicit TLS; else STARTTLS when offered; 0: 587")),
  to: Type.Optional(Type.Array(Type.String(), { description: "one message per address" })),
  from: Type.Optional(Type.String()),
  subject: Type.Optional(Type.String()),
  body: Type.Optional(Type.String({ description: "text/plain" })),
});

export type EmailTrigger = Omit<Static<typeof EmailTriggerSchema>, "parameters"> & {
  parameters?: TriggerParameter[];
};
