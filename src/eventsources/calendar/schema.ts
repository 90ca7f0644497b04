import type { Static } from "typebox";
import { EventSourceFilter, StringMap, Struct } from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";

/** One calendar entry (`spec.calendar.<eventName>`): its own file, read by spec.ts and index.ts. */
export const CalendarEventSchema = Struct(
  {
    schedule: Type.Optional(Type.String({ description: "5-field cron" })),
    interval: Type.Optional(Type.String({ description: "Go duration" })),
    exclusionDates: Type.Optional(Type.Array(Type.String())),
    timezone: Type.Optional(Type.String()),
    metadata: Type.Optional(StringMap()),
    persistence: Type.Optional(
      Struct({
        catchup: Type.Optional(
          Struct({
            enabled: Type.Optional(Type.Boolean()),
            maxDuration: Type.Optional(Type.String()),
          }),
        ),
        configMap: Type.Optional(
          Struct({
            name: Type.Optional(Type.String()),
            createIfNotExist: Type.Optional(Type.Boolean()),
          }),
        ),
      }),
    ),
    filter: Type.Optional(EventSourceFilter),
  },
  "A schedule or interval timer",
);

export type CalendarEventSpec = Static<typeof CalendarEventSchema>;
