import type { Static } from "typebox";
import {
  Backoff,
  BasicAuth,
  EventSourceFilter,
  StringMap,
  Struct,
  TLSConfig,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";

/** Argo's MQTTEventSource, field for field. */
export const MqttEventSchema = Struct(
  {
    url: Type.Optional(
      Type.String({ description: "broker URL: tcp://, mqtt://, ssl://, mqtts://, ws://, wss://" }),
    ),
    topic: Type.Optional(Type.String({ description: "topic filter (wildcards + and #)" })),
    clientId: Type.Optional(
      Type.String({ description: "MQTT client id (also names the persistent session)" }),
    ),
    connectionBackoff: Type.Optional(Backoff),
    jsonBody: Type.Optional(Type.Boolean()),
    tls: Type.Optional(TLSConfig),
    metadata: Type.Optional(StringMap()),
    filter: Type.Optional(EventSourceFilter),
    auth: Type.Optional(BasicAuth),
  },
  "messages of one MQTT topic filter",
);

export type MqttEventSpec = Static<typeof MqttEventSchema>;
