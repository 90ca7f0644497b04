import { ConfigError } from "../errors.js";
import { isValidZone, normalizeZone, wallTime, zoneOffsetMs } from "./tz.js";

/**
 * Five-field cron schedules as Argo's calendar EventSource parses them: robfig/cron v3 with
 * `NewParser(Minute | Hour | Dom | Month | Dow)` — `min hour dom month dow`, no seconds field, no
 * descriptors (`@hourly`, `@every`), an optional `CRON_TZ=<zone> ` (or `TZ=`) prefix. Fields take
 * `*`, `?`, numbers, names (`jan`-`dec`, `sun`-`sat`, any case), ranges `a-b`, steps `x/n`
 * (`5/15` means `5-max/15`) and comma lists. Error messages are robfig's.
 *
 * Next-occurrence search runs on wall-clock time in an IANA zone (offsets from Intl via tz.ts).
 * Daylight-saving changes, where sensorbus deliberately differs from robfig/cron:
 * - a wall time that does not exist (spring forward) fires once, at the first instant after the
 *   gap (02:30 on a 02:00->03:00 night fires at 03:00), where robfig skips the day;
 * - a wall time that occurs twice (fall back) fires once, at its first pass, where robfig fires
 *   both passes.
 * Schedules whose hour field matches every hour (`*`, `0-23`) keep following elapsed time, as
 * robfig and Vixie cron do: in a skipped hour nothing fires, in a repeated hour both passes fire,
 * so `*\/15 * * * *` never pauses for an hour in autumn.
 */

export interface CronSchedule {
  /** The text as given. */
  readonly source: string;
  /** Ascending. */
  readonly minutes: readonly number[];
  /** Ascending. */
  readonly hours: readonly number[];
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday. */
  readonly daysOfWeek: ReadonlySet<number>;
  /** Field written as `*` or `?` (robfig's star bit): then dom AND dow must match, else dom OR dow. */
  readonly domStar: boolean;
  readonly dowStar: boolean;
  /** Zone named by a `CRON_TZ=` / `TZ=` prefix; it wins over the zone passed to `cronNext`. */
  readonly zone?: string;
}

interface Bounds {
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
}

const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = {
  min: 1,
  max: 12,
  names: {
    jan: 1,
    feb: 2,
    mar: 3,
    apr: 4,
    may: 5,
    jun: 6,
    jul: 7,
    aug: 8,
    sep: 9,
    oct: 10,
    nov: 11,
    dec: 12,
  },
};
const DOW: Bounds = {
  min: 0,
  max: 6,
  names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 },
};

interface Field {
  values: Set<number>;
  star: boolean;
}

/** Parses a 5-field schedule. Throws ConfigError with robfig/cron's message on bad input. */
export function parseCron(spec: string): CronSchedule {
  const source = spec;
  if (spec.length === 0) throw new ConfigError("empty spec string");
  let zone: string | undefined;
  if (spec.startsWith("TZ=") || spec.startsWith("CRON_TZ=")) {
    const space = spec.indexOf(" ");
    const eq = spec.indexOf("=");
    if (space < 0) {
      // robfig slices up to the first space; without one Go panics. Report it instead.
      throw new ConfigError(`expected a space and 5 fields after the time zone prefix: ${spec}`);
    }
    const name = spec.slice(eq + 1, space);
    if (!isValidZone(name)) {
      throw new ConfigError(`provided bad location ${name}: unknown time zone ${name}`);
    }
    zone = normalizeZone(name);
    spec = spec.slice(space).trim();
  }
  if (spec.startsWith("@")) throw new ConfigError(`parser does not accept descriptors: ${spec}`);
  const fields = spec.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 5) {
    throw new ConfigError(
      `expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`,
    );
  }
  const [min, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const minutes = parseField(min, MINUTES);
  const hours = parseField(hour, HOURS);
  const days = parseField(dom, DOM);
  const months = parseField(month, MONTHS);
  const weekdays = parseField(dow, DOW);
  return {
    source,
    minutes: [...minutes.values].sort((a, b) => a - b),
    hours: [...hours.values].sort((a, b) => a - b),
    daysOfMonth: days.values,
    months: months.values,
    daysOfWeek: weekdays.values,
    domStar: days.star,
    dowStar: weekdays.star,
    ...(zone === undefined ? {} : { zone }),
  };
}

/** A comma list of ranges; empty items are dropped (robfig uses strings.FieldsFunc). */
function parseField(field: string, bounds: Bounds): Field {
  const out: Field = { values: new Set(), star: false };
  for (const expr of field.split(",")) {
    if (expr === "") continue;
    parseRange(expr, bounds, out);
  }
  return out;
}

/** `number | name | * | ?` optionally `-end`, optionally `/step`. */
function parseRange(expr: string, bounds: Bounds, out: Field): void {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = (rangeAndStep[0] ?? "").split("-");
  const single = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  const low = lowAndHigh[0] ?? "";
  if (low === "*" || low === "?") {
    start = bounds.min;
    end = bounds.max;
    star = true;
  } else {
    start = parseIntOrName(low, bounds.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1] ?? "", bounds.names);
    else throw new ConfigError(`too many hyphens: ${expr}`);
  }
  let step: number;
  if (rangeAndStep.length === 1) {
    step = 1;
  } else if (rangeAndStep.length === 2) {
    step = parseNonNegativeInt(rangeAndStep[1] ?? "");
    if (single) end = bounds.max;
    if (step > 1) star = false;
  } else {
    throw new ConfigError(`too many slashes: ${expr}`);
  }
  if (start < bounds.min) {
    throw new ConfigError(`beginning of range (${start}) below minimum (${bounds.min}): ${expr}`);
  }
  if (end > bounds.max) {
    throw new ConfigError(`end of range (${end}) above maximum (${bounds.max}): ${expr}`);
  }
  if (start > end) {
    throw new ConfigError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  }
  if (step === 0) throw new ConfigError(`step of range should be a positive number: ${expr}`);
  for (let i = start; i <= end; i += step) out.values.add(i);
  if (star) out.star = true;
}

function parseIntOrName(expr: string, names: Bounds["names"]): number {
  const named = names?.[expr.toLowerCase()];
  return named ?? parseNonNegativeInt(expr);
}

/** strconv.Atoi (optional sign, decimal digits, int64 range), then robfig's negativity check. */
function parseNonNegativeInt(expr: string): number {
  if (!/^[+-]?[0-9]+$/.test(expr)) {
    throw new ConfigError(
      `failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`,
    );
  }
  const big = BigInt(expr);
  if (big > 9223372036854775807n || big < -9223372036854775808n) {
    throw new ConfigError(
      `failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: value out of range`,
    );
  }
  const n = Number(big);
  if (n < 0) throw new ConfigError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Widest UTC offsets in tzdata are -12h and +14h; one hour of slack either side. */
const EARLIEST_OFFSET_MS = 15 * HOUR_MS;
const LATEST_OFFSET_MS = 13 * HOUR_MS;
/** robfig gives up when nothing matches within five years. */
const YEAR_LIMIT = 5;

/** True when the schedule's day restrictions accept this civil date (robfig's dayMatches). */
function dayMatches(s: CronSchedule, day: number, weekday: number): boolean {
  const dom = s.daysOfMonth.has(day);
  const dow = s.daysOfWeek.has(weekday);
  return s.domStar || s.dowStar ? dom && dow : dom || dow;
}

/**
 * The first occurrence strictly after `afterMs` (epoch ms), evaluated in the schedule's
 * `CRON_TZ` zone, else `zone` (default UTC). Occurrences fall on whole seconds. Returns undefined
 * when nothing matches within five years (robfig returns the zero time then), e.g. `0 0 30 2 *`.
 */
export function cronNext(
  schedule: CronSchedule,
  afterMs: number,
  zone = "UTC",
): number | undefined {
  const z = normalizeZone(schedule.zone ?? zone);
  if (schedule.minutes.length === 0 || schedule.hours.length === 0) return undefined;
  const everyHour = schedule.hours.length === 24;
  const start = wallTime(afterMs, z);
  const yearLimit = start.year + YEAR_LIMIT;
  let best: number | undefined;
  // Start a day early: where a zone falls back across midnight, instants after `afterMs` can
  // still carry the previous date.
  for (let i = -1; ; i++) {
    const dayNaive = Date.UTC(start.year, start.month - 1, start.day + i);
    if (best !== undefined && dayNaive - EARLIEST_OFFSET_MS >= best) return best;
    const date = new Date(dayNaive);
    const year = date.getUTCFullYear();
    if (year > yearLimit) return best;
    const month = date.getUTCMonth() + 1;
    const day = date.getUTCDate();
    if (!schedule.months.has(month) || !dayMatches(schedule, day, date.getUTCDay())) continue;
    const found = searchDay(schedule, z, everyHour, { year, month, day, dayNaive }, afterMs);
    if (found !== undefined && (best === undefined || found < best)) best = found;
  }
}

interface CivilDay {
  year: number;
  month: number;
  day: number;
  /** Midnight of the civil date read as if it were UTC. */
  dayNaive: number;
}

/** The earliest occurrence on one civil date that lies after `afterMs`. */
function searchDay(
  s: CronSchedule,
  zone: string,
  everyHour: boolean,
  d: CivilDay,
  afterMs: number,
): number | undefined {
  const offA = zone === "UTC" ? 0 : zoneOffsetMs(d.dayNaive - EARLIEST_OFFSET_MS, zone);
  const offB = zone === "UTC" ? 0 : zoneOffsetMs(d.dayNaive + DAY_MS + LATEST_OFFSET_MS, zone);
  if (offA === offB) {
    // No offset change anywhere near this date: every wall time maps to exactly one instant and
    // wall order is instant order.
    for (const h of s.hours) {
      for (const m of s.minutes) {
        const t = d.dayNaive + h * HOUR_MS + m * MINUTE_MS - offA;
        if (t > afterMs) return t;
      }
    }
    return undefined;
  }
  // One offset change inside the window (real zones never have two within two days): find it,
  // then map wall times with plain arithmetic.
  const change = transitionInstant(
    d.dayNaive - EARLIEST_OFFSET_MS,
    d.dayNaive + DAY_MS + LATEST_OFFSET_MS,
    offB,
    zone,
  );
  const maxOff = Math.max(offA, offB);
  let best: number | undefined;
  const consider = (t: number) => {
    if (t > afterMs && (best === undefined || t < best)) best = t;
  };
  for (const h of s.hours) {
    for (const m of s.minutes) {
      const naive = d.dayNaive + h * HOUR_MS + m * MINUTE_MS;
      // Every instant showing this wall time is at least naive - maxOff, growing with the wall.
      if (best !== undefined && naive - maxOff >= best) return best;
      const before = naive - offA; // valid while the old offset applies
      const after = naive - offB; // valid once the new one does
      const instants = [...(before < change ? [before] : []), ...(after >= change ? [after] : [])];
      if (instants.length === 0) {
        // Skipped by a forward jump: the first instant after the gap is the change itself.
        if (!everyHour) consider(change);
      } else if (everyHour) {
        for (const t of instants) consider(t);
      } else {
        consider(Math.min(...instants));
      }
    }
  }
  return best;
}

/** The first whole second in (lo, hi] at which `zone` shows offset `offHi` (offset at `hi`). */
function transitionInstant(lo: number, hi: number, offHi: number, zone: string): number {
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (zoneOffsetMs(mid, zone) === offHi) hi = mid;
    else lo = mid;
  }
  return hi;
}
