import type { Static } from "typebox";
import { Int64, SecretKeySelector, StringMap, Struct } from "../../config/schema/common.js";
import { Parameters } from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { TriggerParameter } from "../../config/types.js";

/**
 * `template.pubSub` (a sensorbus extension: Argo Events has no such trigger and refuses a Sensor
 * that uses it). The fields follow the pubSub EventSource's (`projectID`, `topic`,
 * `credentialSecret`) and Argo's publishing triggers (`payload`, `parameters`).
 */
export const PubSubTriggerSchema = Struct(
  {
    projectID: Type.Optional(
      Type.String({
        description:
          "project of the topic; default: the project of the credentials or the environment",
      }),
    ),
    topic: Type.Optional(
      Type.String({ description: "topic ID, or projects/<project>/topics/<id>" }),
    ),
    credentialSecret: Type.Optional(SecretKeySelector),
    attributes: Type.Optional(StringMap("message attributes")),
    payload: Parameters,
    parameters: Parameters,
    timeout: Type.Optional(Int64("seconds a publish may take, retries included; default 15")),
  },
  "Publishes the rendered payload to a Google Cloud Pub/Sub topic (sensorbus extension)",
);

/** The schema's shape, with parameters as the runtime reads them after validate. */
export type PubSubTrigger = Omit<Static<typeof PubSubTriggerSchema>, "parameters" | "payload"> & {
  parameters?: TriggerParameter[];
  payload?: TriggerParameter[];
};
