import type { Static } from "typebox";
import {
  EventSourceFilter,
  Int32,
  SecretKeySelector,
  StringMap,
  Struct,
  TLSConfig,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";

export const RedisEventSchema = Struct(
  {
    hostAddress: Type.Optional(Type.String()),
    password: Type.Optional(SecretKeySelector),
    namespace: Type.Optional(Type.String()),
    db: Type.Optional(Int32("database number (default 0)")),
    channels: Type.Optional(Type.Array(Type.String())),
    tls: Type.Optional(TLSConfig),
    metadata: Type.Optional(StringMap()),
    filter: Type.Optional(EventSourceFilter),
    jsonBody: Type.Optional(Type.Boolean()),
    username: Type.Optional(Type.String()),
  },
  "Redis pub/sub channels",
);

export type RedisEventSpec = Static<typeof RedisEventSchema>;
