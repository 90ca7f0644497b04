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

export const RedisStreamEventSchema = Struct(
  {
    hostAddress: Type.Optional(Type.String()),
    password: Type.Optional(SecretKeySelector),
    db: Type.Optional(Int32("database number (default 0)")),
    streams: Type.Optional(Type.Array(Type.String())),
    maxMsgCountPerRead: Type.Optional(Int32("entries per stream per XREADGROUP (default 10)")),
    consumerGroup: Type.Optional(Type.String()),
    tls: Type.Optional(TLSConfig),
    metadata: Type.Optional(StringMap()),
    filter: Type.Optional(EventSourceFilter),
    username: Type.Optional(Type.String()),
  },
  "Redis streams read through one consumer group",
);

export type RedisStreamEventSpec = Static<typeof RedisStreamEventSchema>;
