import { readFileSync } from "node:fs";

/**
 * Go's default time text, `time.Time.String()` without the monotonic suffix:
 * layout `2006-01-02 15:04:05.999999999 -0700 MST`. The fraction drops trailing zeros and is
 * omitted when zero; the zone is a numeric offset followed by the zone abbreviation.
 * Argo writes this form into payloads (Pub/Sub `publishTime`, calendar `eventTime`).
 */

const NANOS_PER_SECOND = 1_000_000_000;

/**
 * Formats `date` in `zoneName` (an IANA zone, default `UTC`) the way Go's `Time.String` does.
 * `nanos` is the nanosecond-of-second (0..999999999) when the caller has more precision than a
 * Date holds (a Pub/Sub PreciseDate); it replaces the Date's milliseconds. Without it the
 * fraction comes from the Date's milliseconds.
 */
export function formatGoTime(date: Date, nanos?: number, zoneName = "UTC"): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("formatGoTime: invalid Date");
  let nano = date.getUTCMilliseconds() * 1_000_000;
  if (nanos !== undefined) {
    if (!Number.isInteger(nanos) || nanos < 0 || nanos >= NANOS_PER_SECOND) {
      throw new RangeError(`formatGoTime: nanos must be an integer in [0, 1e9), got ${nanos}`);
    }
    nano = nanos;
  }
  const wholeSecondMs = ms - date.getUTCMilliseconds();
  const { offsetSeconds, abbreviation } = zoneAt(zoneName, wholeSecondMs);
  const local = new Date(wholeSecondMs + offsetSeconds * 1000);
  const year = local.getUTCFullYear();
  const yearText = year < 0 ? `-${pad(-year, 4)}` : pad(year, 4);
  const datePart = `${yearText}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}`;
  const timePart = `${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}`;
  return `${datePart} ${timePart}${fraction(nano)} ${formatOffset(offsetSeconds)} ${abbreviation}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** `.999999999` in a Go layout: nine digits with trailing zeros removed, nothing when zero. */
function fraction(nano: number): string {
  if (nano === 0) return "";
  return `.${pad(nano, 9).replace(/0+$/, "")}`;
}

function formatOffset(offsetSeconds: number): string {
  const sign = offsetSeconds < 0 ? "-" : "+";
  const abs = Math.abs(offsetSeconds);
  return `${sign}${pad(Math.floor(abs / 3600), 2)}${pad(Math.floor((abs % 3600) / 60), 2)}`;
}

interface ZoneInstant {
  offsetSeconds: number;
  abbreviation: string;
}

function zoneAt(zoneName: string, ms: number): ZoneInstant {
  if (zoneName === "UTC" || zoneName === "") return { offsetSeconds: 0, abbreviation: "UTC" };
  const offsetSeconds = intlOffsetSeconds(zoneName, ms);
  return { offsetSeconds, abbreviation: abbreviationFor(zoneName, ms, offsetSeconds) };
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** The UTC offset of `zoneName` at `ms`, from the runtime's time-zone database. */
function intlOffsetSeconds(zoneName: string, ms: number): number {
  let fmt = offsetFormatters.get(zoneName);
  if (!fmt) {
    // Throws RangeError for an unknown zone, which is the error we want callers to see.
    fmt = new Intl.DateTimeFormat("en-US", { timeZone: zoneName, timeZoneName: "longOffset" });
    offsetFormatters.set(zoneName, fmt);
  }
  const text = fmt.formatToParts(new Date(ms)).find((p) => p.type === "timeZoneName")?.value ?? "";
  const m = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m?.[1]) return 0;
  const secs = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0);
  return m[1] === "-" ? -secs : secs;
}

/**
 * Go takes the abbreviation from the system tzdata (TZif files). We read the same files; when
 * they are not available we fall back to the numeric form tzdata itself uses for zones without
 * a letter abbreviation (`+04`, `+0530`).
 */
function abbreviationFor(zoneName: string, ms: number, offsetSeconds: number): string {
  const table = loadTzif(zoneName);
  if (table) {
    const found = table.abbreviationAt(Math.floor(ms / 1000), offsetSeconds);
    if (found) return found;
  }
  const sign = offsetSeconds < 0 ? "-" : "+";
  const abs = Math.abs(offsetSeconds);
  const hh = pad(Math.floor(abs / 3600), 2);
  const mm = Math.floor((abs % 3600) / 60);
  return mm === 0 ? `${sign}${hh}` : `${sign}${hh}${pad(mm, 2)}`;
}

interface TzifTable {
  abbreviationAt(unixSeconds: number, offsetSeconds: number): string | undefined;
}

const tzifCache = new Map<string, TzifTable | null>();
const ZONEINFO_DIRS = [process.env.ZONEINFO, "/usr/share/zoneinfo", "/usr/lib/zoneinfo"];

function loadTzif(zoneName: string): TzifTable | null {
  const cached = tzifCache.get(zoneName);
  if (cached !== undefined) return cached;
  let table: TzifTable | null = null;
  if (/^[A-Za-z0-9_+\-/]+$/.test(zoneName) && !zoneName.includes("..")) {
    for (const dir of ZONEINFO_DIRS) {
      if (!dir) continue;
      try {
        table = parseTzif(readFileSync(`${dir}/${zoneName}`));
        if (table) break;
      } catch {
        // try the next directory
      }
    }
  }
  tzifCache.set(zoneName, table);
  return table;
}

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
