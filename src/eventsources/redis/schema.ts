import type { Static } from "typebox";
import { Struct } from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { REDIS_CONNECTION_FIELDS } from "../redis-shared/common.js";

export const RedisEventSchema = Struct(
  {
    ...REDIS_CONNECTION_FIELDS,
    namespace: Type.Optional(Type.String()),
    channels: Type.Optional(Type.Array(Type.String())),
    jsonBody: Type.Optional(Type.Boolean()),
  },
  "Redis pub/sub channels",
);

export type RedisEventSpec = Static<typeof RedisEventSchema>;
