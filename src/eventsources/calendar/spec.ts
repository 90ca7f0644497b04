/* The calendar entry parser: `validate` (index.ts) and the runtime both call it. */
import { ConfigError, errorMessage } from "../../errors.js";
import { type CronSchedule, cronNext, parseCron } from "../../lib/cron.js";
import { parseGoDuration } from "../../lib/duration.js";
import { goQuote } from "../../lib/gojson.js";
import { isValidZone, normalizeZone, wallTime, wallToInstant } from "../../lib/tz.js";
import type { CalendarEventSpec } from "./schema.js";

const EXDATE_PREFIX = "EXDATE:";

/** A calendar entry checked and ready to compute occurrences. */
export interface CompiledCalendar {
  /** Zone of `timezone` (UTC when unset): catch-up event times and exclusion dates use it. */
  readonly zone: string;
  /** First occurrence strictly after `afterMs`, exclusion dates skipped; undefined when none. */
  next(afterMs: number): number | undefined;
  readonly persistence: boolean;
  readonly catchup: boolean;
  /** Catch-up horizon in ms; undefined means unbounded. */
  readonly maxDurationMs: number | undefined;
}

/**
 * Validates one entry the way Argo does at start (schedule wins over interval; timezone, exclusion
 * dates and maxDuration must parse). Throws ConfigError naming `where` and the field.
 * Beyond Argo: an interval must be at least 1s (shorter ones make Argo fire without pause,
 * because each next time is computed from the previous one truncated to the second).
 */
export function compileCalendarSpec(spec: CalendarEventSpec, where = "calendar"): CompiledCalendar {
  return compile(spec, (field, message) => {
    const problem = `${where}${field}: ${message}`;
    throw new ConfigError(problem, [problem]);
  });
}

/**
 * The first problem `compileCalendarSpec` refuses an entry for: the field (".interval", "" for
 * the entry) and the message; undefined when the entry would start. `validate` reports it, so
 * it refuses exactly what the EventSource refuses.
 */
export function calendarSpecProblem(
  spec: CalendarEventSpec,
): { field: string; message: string } | undefined {
  let found: { field: string; message: string } | undefined;
  try {
    compile(spec, (field, message) => {
      found = { field, message };
      throw new ConfigError(message);
    });
  } catch (err) {
    if (found === undefined) return { field: "", message: errorMessage(err) };
  }
  return found;
}

function compile(
  spec: CalendarEventSpec,
  fail: (field: string, message: string) => never,
): CompiledCalendar {
  const tz = spec.timezone ?? "";
  if (tz !== "" && !isValidZone(tz)) {
    fail(".timezone", `failed to load location: unknown time zone ${tz}`);
  }
  const zone = normalizeZone(tz);
  let step: (afterMs: number) => number | undefined;
  let isInterval = false;
  let intervalMs = 0;
  if (spec.schedule) {
    let schedule: CronSchedule | undefined;
    try {
      schedule = parseCron(spec.schedule);
    } catch (err) {
      fail(
        ".schedule",
        `failed to parse schedule ${spec.schedule} from calendar event. Cause: ${errorMessage(err)}`,
      );
    }
    const s = schedule as CronSchedule;
    step = (afterMs) => cronNext(s, afterMs, zone);
  } else if (spec.interval) {
    try {
      intervalMs = parseGoDuration(spec.interval);
    } catch (err) {
      fail(
        ".interval",
        `failed to parse interval ${spec.interval} from calendar event. Cause: ${errorMessage(err)}`,
      );
    }
    if (intervalMs < 1000) fail(".interval", `interval ${spec.interval} is shorter than 1s`);
    isInterval = true;
    step = (afterMs) => Math.floor(afterMs / 1000) * 1000 + intervalMs;
  } else {
    return fail("", "calendar event must contain either a schedule or interval");
  }
  let excluded = new Set<string>();
  try {
    excluded = parseExclusionDates(spec.exclusionDates ?? [], "");
  } catch (err) {
    const m = /^(\[\d+\]): (.*)$/s.exec(errorMessage(err));
    fail(`.exclusionDates${m?.[1] ?? ""}`, m?.[2] ?? errorMessage(err));
  }
  const catchupSpec = spec.persistence?.catchup;
  let maxDurationMs: number | undefined;
  if (catchupSpec?.maxDuration) {
    try {
      maxDurationMs = parseGoDuration(catchupSpec.maxDuration);
    } catch (err) {
      fail(".persistence.catchup.maxDuration", errorMessage(err));
    }
  }
  const catchup = catchupSpec?.enabled === true;
  const isExcluded = (t: number) => {
    const w = wallTime(t, zone);
    return excluded.has(dateKey(w.year, w.month, w.day));
  };
  return {
    zone,
    persistence: spec.persistence?.configMap != null || catchup,
    catchup,
    maxDurationMs,
    next(afterMs) {
      let t = step(afterMs);
      while (t !== undefined && isExcluded(t)) {
        if (isInterval) {
          // Step through the excluded day arithmetically; checking each step's date is wasteful.
          const w = wallTime(t, zone);
          const nextDay = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
          const dayEnd = wallToInstant(
            nextDay.getUTCFullYear(),
            nextDay.getUTCMonth() + 1,
            nextDay.getUTCDate(),
            0,
            0,
            0,
            zone,
          );
          while (t < dayEnd) t = Math.floor(t / 1000) * 1000 + intervalMs;
        } else {
          t = step(t);
        }
      }
      return t;
    },
  };
}

/**
 * The first occurrence of `spec` strictly after `after`, or undefined when the schedule has none
 * within five years. Throws ConfigError for an invalid spec. Used by tests and `validate`.
 */
export function nextOccurrence(spec: CalendarEventSpec, after: Date): Date | undefined {
  const t = compileCalendarSpec(spec).next(after.getTime());
  return t === undefined ? undefined : new Date(t);
}

function dateKey(year: number, month: number, day: number): string {
  return `${year}-${month}-${day}`;
}

/**
 * Argo's ParseExclusionDates: only values starting with `EXDATE:` count; each holds comma-separated
 * `20060102T150405Z` times (UTC) of which only the date is used. Returns `Y-M-D` keys.
 */
export function parseExclusionDates(
  values: readonly string[],
  where = "exclusionDates",
): Set<string> {
  const out = new Set<string>();
  values.forEach((value, i) => {
    if (!value.startsWith(EXDATE_PREFIX)) return;
    for (const text of value.slice(EXDATE_PREFIX.length).split(",")) {
      const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
      const [year, month, day, hour, minute, second] = (m?.slice(1) ?? []).map(Number);
      const valid =
        m !== null &&
        month !== undefined &&
        month >= 1 &&
        month <= 12 &&
        day !== undefined &&
        day >= 1 &&
        day <= daysInMonth(year ?? 0, month) &&
        (hour ?? 99) <= 23 &&
        (minute ?? 99) <= 59 &&
        (second ?? 99) <= 59;
      if (!valid) {
        const problem = `${where}[${i}]: parsing time ${goQuote(text)} as "20060102T150405Z": not a valid UTC date-time`;
        throw new ConfigError(problem, [problem]);
      }
      out.add(dateKey(year as number, month as number, day as number));
    }
  });
  return out;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
