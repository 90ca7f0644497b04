import { arr, err, join, str, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import type { EventSourceKind } from "../kind.js";
import { CalendarEventSchema, type CalendarEventSpec } from "./schema.js";
import { calendarSpecProblem } from "./spec.js";

export { CalendarEventSchema, type CalendarEventSpec } from "./schema.js";

function validate(entry: CalendarEventSpec, { at, report }: EntryCheck): void {
  const schedule = str(entry.schedule);
  const interval = str(entry.interval);
  if (schedule === "" && interval === "") {
    report(err(at, "must have either schedule or interval"));
    return;
  }
  if (schedule !== "" && interval !== "")
    report(warn(join(at, "interval"), "interval is ignored when schedule is set"));
  arr(entry.exclusionDates).forEach((d, i) => {
    if (typeof d === "string" && !d.startsWith("EXDATE:")) {
      report(
        warn(join(at, "exclusionDates", i), `"${d}" does not start with EXDATE: and is ignored`),
      );
    }
  });
  // What the calendar EventSource refuses at start (the entry does not run): its own check.
  const problem = calendarSpecProblem(entry);
  if (problem) {
    report(err(join(at, ...(problem.field.match(/[^.[\]]+/g) ?? [])), problem.message));
  }
}

export const calendar: EventSourceKind<CalendarEventSpec> = {
  key: "calendar",
  schema: CalendarEventSchema,
  runs: true,
  recreate: true,
  validate,
  graph: {
    detail: (s) =>
      typeof s.schedule === "string" && s.schedule
        ? `schedule ${s.schedule}`
        : `interval ${typeof s.interval === "string" ? s.interval : "?"}`,
  },
  load: () => import("./runtime.js"),
};
