import type { TimeFilter } from "../../config/types.js";
import { isValidZone, normalizeZone, wallTime, wallToInstant } from "../../lib/tz.js";
import type { FilterOutcome } from "./types.js";
import { filterError, PASS } from "./types.js";

const LAYOUT = "2006-01-02 15:04:05";

/**
 * Argo §3.6: start/stop (`hh:mm:ss`, Go layout 15:04:05) anchored on the date of the event's
 * CloudEvent time in `timezone` (default UTC). start < stop: [start, stop); else overnight.
 */
export function evaluateTimeFilter(
  filter: TimeFilter | undefined,
  eventTimeMs: number,
): FilterOutcome {
  if (!filter) return PASS;
  const zone = normalizeZone(filter.timezone);
  if (filter.timezone && !isValidZone(filter.timezone)) {
    return filterError(
      "time",
      `invalid timezone '${filter.timezone}': unknown time zone ${filter.timezone}`,
    );
  }
  const date = wallTime(eventTimeMs, zone);
  const start = parseClock(filter.start, date, zone);
  if (typeof start === "string") return filterError("time", start);
  const stop = parseClock(filter.stop, date, zone);
  if (typeof stop === "string") return filterError("time", stop);
  const t = eventTimeMs;
  const pass = start < stop ? t >= start && t < stop : t >= start || t < stop;
  if (pass) return PASS;
  const at = `${String(date.hour).padStart(2, "0")}:${String(date.minute).padStart(2, "0")}:${String(date.second).padStart(2, "0")}`;
  return {
    pass,
    reason: `time filter: event time ${at} (${zone}) outside [${filter.start}, ${filter.stop})`,
  };
}

/** Parses "15:04:05" as Go's time.Parse does (hour 1-2 digits; minutes, seconds exactly 2). */
function parseClock(
  value: string,
  date: { year: number; month: number; day: number },
  zone: string,
): number | string {
  const ymd = `${date.year}-${String(date.month).padStart(2, "0")}-${String(date.day).padStart(2, "0")}`;
  const full = `${ymd} ${value}`;
  const fail = (detail: string) =>
    `parsing time ${JSON.stringify(full)} as ${JSON.stringify(LAYOUT)}: ${detail}`;
  const m = /^(\d{1,2})(?::(\d{2})(?::(\d{2})(.*))?)?/s.exec(value);
  if (!m) return fail(`cannot parse ${JSON.stringify(value)} as "15"`);
  if (m[2] === undefined) {
    const rest = value.slice(m[1]!.length);
    return fail(
      rest.startsWith(":")
        ? `cannot parse ${JSON.stringify(rest.slice(1))} as "04"`
        : `cannot parse ${JSON.stringify(rest)} as ":"`,
    );
  }
  if (m[3] === undefined) {
    const rest = value.slice(m[1]!.length + 3);
    return fail(
      rest.startsWith(":")
        ? `cannot parse ${JSON.stringify(rest.slice(1))} as "05"`
        : `cannot parse ${JSON.stringify(rest)} as ":"`,
    );
  }
  const extra = m[4] ?? "";
  // Go accepts a fractional second after the seconds field even when the layout has none.
  const frac = /^[.,]\d+/.exec(extra);
  const trailing = frac ? extra.slice(frac[0].length) : extra;
  if (trailing !== "") return fail(`extra text: ${JSON.stringify(trailing)}`);
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  const second = Number(m[3]);
  // Go reports range errors without the layout: parsing time "...": hour out of range
  const range = (what: string) => `parsing time ${JSON.stringify(full)}: ${what} out of range`;
  if (hour > 23) return range("hour");
  if (minute > 59) return range("minute");
  if (second > 59) return range("second");
  const base = wallToInstant(date.year, date.month, date.day, hour, minute, second, zone);
  return base + (frac ? Math.floor(Number(`0.${frac[0].slice(1)}`) * 1000) : 0);
}
