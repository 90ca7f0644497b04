import type { TriggerKindDescriptor } from "../kind.js";
import { type LogTrigger, LogTriggerSchema } from "./schema.js";

export { type LogTrigger, LogTriggerSchema } from "./schema.js";

export const log: TriggerKindDescriptor<LogTrigger> = {
  key: "log",
  schema: LogTriggerSchema,
  runs: true,
  graph: { detail: () => "log" },
  load: () => import("./runtime.js"),
};
