import type { Static } from "typebox";
import { Struct, Uint64 } from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import type { TriggerKindDescriptor } from "../kind.js";

export const LogTriggerSchema = Struct({
  intervalSeconds: Type.Optional(Uint64()),
});

export type LogTrigger = Static<typeof LogTriggerSchema>;

export const log: TriggerKindDescriptor<LogTrigger> = {
  key: "log",
  schema: LogTriggerSchema,
  runs: true,
  graph: { detail: () => "log" },
  load: () => import("./runtime.js"),
};
