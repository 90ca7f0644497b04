import type { Static } from "typebox";
import { Int32, Struct } from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { REDIS_CONNECTION_FIELDS } from "../redis-shared/common.js";

export const RedisStreamEventSchema = Struct(
  {
    ...REDIS_CONNECTION_FIELDS,
    streams: Type.Optional(Type.Array(Type.String())),
    maxMsgCountPerRead: Type.Optional(Int32("entries per stream per XREADGROUP (default 10)")),
    consumerGroup: Type.Optional(Type.String()),
  },
  "Redis streams read through one consumer group",
);

export type RedisStreamEventSpec = Static<typeof RedisStreamEventSchema>;
