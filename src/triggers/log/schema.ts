import type { Static } from "typebox";
import { Struct, Uint64 } from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";

export const LogTriggerSchema = Struct({
  intervalSeconds: Type.Optional(Uint64()),
});

export type LogTrigger = Static<typeof LogTriggerSchema>;
