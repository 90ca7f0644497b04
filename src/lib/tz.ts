import { readFileSync } from "node:fs";
import { memoize } from "./memo.js";

/**
 * IANA time zones, the one place that checks a zone name and says what a zone shows at an
 * instant: wall time and UTC offset from Intl (the runtime's time-zone database), the zone
 * abbreviation from the system tzdata (TZif files), as Go's time package takes it. Wall times are
 * plain numbers; instants are epoch milliseconds.
 */

export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday */
  weekday: number;
}

/** One formatter per zone name; throws RangeError for an unknown zone (nothing is remembered). */
const formatter = memoize(
  // Zone names come from manifests, and from templates (`dateInZone`) that may read them from
  // events: a bound well above the zones any deployment uses.
  64,
  (zone: string) =>
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
    }),
);

/** "UTC", "" and "Local" are UTC, as Go's LoadLocation (Local: the UTC of Argo's containers). */
export function normalizeZone(zone: string | undefined): string {
  if (!zone || zone === "UTC" || zone === "Local") return "UTC";
  return zone;
}

/**
 * Go's `time.LoadLocation`: the zone id to use (`UTC` for "", "UTC" and "Local"), or undefined
 * for an unknown zone or a name Go refuses outright (containing "..", starting with / or a backslash).
 */
export function loadLocation(name: string): string | undefined {
  const zone = normalizeZone(name);
  if (zone === "UTC") return zone;
  if (zone.includes("..") || zone.startsWith("/") || zone.startsWith("\\")) return undefined;
  try {
    formatter(zone);
    return zone;
  } catch {
    return undefined;
  }
}

export function isValidZone(zone: string): boolean {
  return loadLocation(zone) !== undefined;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

export function wallTime(instantMs: number, zone: string): WallTime {
  const z = normalizeZone(zone);
  if (z === "UTC") {
    const d = new Date(instantMs);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      weekday: d.getUTCDay(),
    };
  }
  const parts = formatter(z).formatToParts(new Date(instantMs));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "0";
  return {
    year: Number(get("year")),
    month: Number(get("month")),
    day: Number(get("day")),
    hour: Number(get("hour")),
    minute: Number(get("minute")),
    second: Number(get("second")),
    weekday: WEEKDAYS[get("weekday")] ?? 0,
  };
}

/** UTC offset of `zone` at `instantMs`, in ms (east positive). */
export function zoneOffsetMs(instantMs: number, zone: string): number {
  const w = wallTime(instantMs, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/**
 * The instant(s) at which `zone` shows the given wall time: [] inside a DST gap, two at a repeated
 * hour (earlier first), one otherwise.
 */
export function wallToInstants(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  zone: string,
): number[] {
  const naive = Date.UTC(year, month - 1, day, hour, minute, second);
  const candidates = new Set<number>();
  // Offsets in effect a day either side cover every real transition.
  for (const probe of [naive - 86_400_000, naive, naive + 86_400_000]) {
    candidates.add(naive - zoneOffsetMs(probe, zone));
  }
  return [...candidates]
    .filter((t) => {
      const w = wallTime(t, zone);
      return (
        w.year === year &&
        w.month === month &&
        w.day === day &&
        w.hour === hour &&
        w.minute === minute &&
        w.second === second
      );
    })
    .sort((a, b) => a - b);
}

/**
 * Go's time.Date in a location: a wall time in a DST gap is moved forward by the gap (02:30 in a
 * 02:00->03:00 gap becomes 03:30); a repeated one takes the first (earlier) instant.
 */
export function wallToInstant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  zone: string,
): number {
  const found = wallToInstants(year, month, day, hour, minute, second, zone);
  if (found.length > 0) return found[0]!;
  const naive = Date.UTC(year, month - 1, day, hour, minute, second);
  // In a gap: use the offset before the transition.
  return naive - zoneOffsetMs(naive - 86_400_000, zone);
}

export interface ZoneInstant {
  /** Seconds east of UTC. */
  offsetSeconds: number;
  /** Go's zone abbreviation ("CET", "EDT", "IST", or tzdata's numeric "+04" / "+0530"). */
  abbreviation: string;
}

/** Offset and abbreviation of `zone` at `instantMs`. Throws RangeError for an unknown zone. */
export function zoneAt(zone: string, instantMs: number): ZoneInstant {
  const z = normalizeZone(zone);
  if (z === "UTC") return { offsetSeconds: 0, abbreviation: "UTC" };
  const offsetSeconds = intlOffsetSeconds(z, instantMs);
  return { offsetSeconds, abbreviation: abbreviationFor(z, instantMs, offsetSeconds) };
}

const offsetFormatter = memoize(
  64, // as `formatter`
  (zone: string) =>
    new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" }),
);

/** The UTC offset of `zone` at `ms` in seconds, read as Intl's "GMT+05:30" (exact for any year). */
function intlOffsetSeconds(zone: string, ms: number): number {
  const text =
    offsetFormatter(zone)
      .formatToParts(new Date(ms))
      .find((p) => p.type === "timeZoneName")?.value ?? "";
  const m = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m?.[1]) return 0;
  const secs = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0);
  return m[1] === "-" ? -secs : secs;
}

/**
 * Go takes the abbreviation from the system tzdata (TZif files). We read the same files; when
 * they are not available we fall back to the numeric form tzdata itself uses for zones without
 * a letter abbreviation (`+04`, `+0530`). Intl's short names are not Go's ("GMT+1" for CET).
 */
function abbreviationFor(zone: string, ms: number, offsetSeconds: number): string {
  const table = loadTzif(zone);
  if (table) {
    const found = table.abbreviationAt(Math.floor(ms / 1000), offsetSeconds);
    if (found) return found;
  }
  const sign = offsetSeconds < 0 ? "-" : "+";
  const abs = Math.abs(offsetSeconds);
  const hh = String(Math.floor(abs / 3600)).padStart(2, "0");
  const mm = Math.floor((abs % 3600) / 60);
  return mm === 0 ? `${sign}${hh}` : `${sign}${hh}${String(mm).padStart(2, "0")}`;
}

interface TzifTable {
  abbreviationAt(unixSeconds: number, offsetSeconds: number): string | undefined;
}

const ZONEINFO_DIRS = [process.env.ZONEINFO, "/usr/share/zoneinfo", "/usr/lib/zoneinfo"];

/** The zone's TZif table, or null when no readable file holds it (same bound as `formatter`). */
const loadTzif = memoize(64, (zone: string): TzifTable | null => {
  if (!/^[A-Za-z0-9_+\-/]+$/.test(zone) || zone.includes("..")) return null;
  for (const dir of ZONEINFO_DIRS) {
    if (!dir) continue;
    try {
      const table = parseTzif(readFileSync(`${dir}/${zone}`));
      if (table) return table;
    } catch {
      // try the next directory
    }
  }
  return null;
});

interface TzType {
  utoff: number;
  abbr: string;
}
/** Minimal TZif (RFC 8536) reader: transitions and local time types of the last data block. */
function parseTzif(buf: Buffer): TzifTable | null {
  if (buf.length < 44 || buf.toString("latin1", 0, 4) !== "TZif") return null;
  const version = buf[4] ?? 0;
  const header = (at: number) => ({
    isutcnt: buf.readUInt32BE(at + 20),
    isstdcnt: buf.readUInt32BE(at + 24),
    leapcnt: buf.readUInt32BE(at + 28),
    timecnt: buf.readUInt32BE(at + 32),
    typecnt: buf.readUInt32BE(at + 36),
    charcnt: buf.readUInt32BE(at + 40),
  });
  let at = 0;
  let h = header(0);
  let timeSize = 4;
  if (version >= 0x32) {
    // Skip the v1 block; the v2+ block has 64-bit transition times.
    at = 44 + h.timecnt * 5 + h.typecnt * 6 + h.charcnt + h.leapcnt * 8 + h.isstdcnt + h.isutcnt;
    h = header(at);
    timeSize = 8;
  }
  let p = at + 44;
  const times: number[] = [];
  for (let i = 0; i < h.timecnt; i++) {
    times.push(timeSize === 8 ? Number(buf.readBigInt64BE(p)) : buf.readInt32BE(p));
    p += timeSize;
  }
  const indices: number[] = [];
  for (let i = 0; i < h.timecnt; i++) indices.push(buf[p++] ?? 0);
  const rawTypes: Array<{ utoff: number; desig: number }> = [];
  for (let i = 0; i < h.typecnt; i++) {
    rawTypes.push({ utoff: buf.readInt32BE(p), desig: buf[p + 5] ?? 0 });
    p += 6;
  }
  const chars = buf.subarray(p, p + h.charcnt);
  const types: TzType[] = rawTypes.map((t) => {
    const end = chars.indexOf(0, t.desig);
    return { utoff: t.utoff, abbr: chars.toString("latin1", t.desig, end < 0 ? undefined : end) };
  });
  return {
    abbreviationAt(unixSeconds, offsetSeconds) {
      // Walk back from the transition in force at that instant to the latest type with the
      // offset the runtime reports; this also covers instants past the table (slim TZif files
      // describe those with a POSIX rule, whose abbreviations are among the recent types).
      let i = times.length - 1;
      while (i >= 0 && (times[i] ?? 0) > unixSeconds) i--;
      for (let j = i; j >= 0; j--) {
        const t = types[indices[j] ?? -1];
        if (t && t.utoff === offsetSeconds) return t.abbr;
      }
      for (let j = times.length - 1; j > i; j--) {
        const t = types[indices[j] ?? -1];
        if (t && t.utoff === offsetSeconds) return t.abbr;
      }
      return types.find((t) => t.utoff === offsetSeconds)?.abbr;
    },
  };
}
