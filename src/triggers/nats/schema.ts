import type { Static } from "typebox";
import { NATSAuth } from "../../config/nats-connection.js";
import { Struct, TLSConfig } from "../../config/schema/common.js";
import { Parameters } from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { TriggerParameter } from "../../config/types.js";

export const NatsTriggerSchema = Struct({
  url: Type.Optional(
    Type.String({ description: "nats://host:port (comma-separated for several)" }),
  ),
  subject: Type.Optional(Type.String({ description: "the subject published to (no wildcards)" })),
  payload: Parameters,
  parameters: Parameters,
  tls: Type.Optional(TLSConfig),
  auth: Type.Optional(NATSAuth),
});

/** The schema's shape, parameters as the runtime reads them after validate (with a `dest`). */
export type NatsTrigger = Omit<Static<typeof NatsTriggerSchema>, "parameters" | "payload"> & {
  parameters?: TriggerParameter[];
  payload?: TriggerParameter[];
};
