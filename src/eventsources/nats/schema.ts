import type { Static } from "typebox";
import { NATSAuth } from "../../config/nats-connection.js";
import {
  Backoff,
  EventSourceFilter,
  StringMap,
  Struct,
  TLSConfig,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";

export const NatsEventSchema = Struct(
  {
    url: Type.Optional(
      Type.String({ description: "nats://host:port (comma-separated for several)" }),
    ),
    subject: Type.Optional(Type.String({ description: "subject, wildcards * and > allowed" })),
    connectionBackoff: Type.Optional(Backoff),
    jsonBody: Type.Optional(Type.Boolean()),
    tls: Type.Optional(TLSConfig),
    metadata: Type.Optional(StringMap()),
    auth: Type.Optional(NATSAuth),
    filter: Type.Optional(EventSourceFilter),
    queue: Type.Optional(Type.String({ description: "queue group (members share the messages)" })),
  },
  "core NATS subscription",
);

export type NatsEventSpec = Static<typeof NatsEventSchema>;
