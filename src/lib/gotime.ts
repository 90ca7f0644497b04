import { memoize } from "./memo.js";
import { zoneAt } from "./tz.js";

/**
 * Go's `time.Time` as sensorbus shows it: an instant with a fixed zone offset and abbreviation,
 * layout-based Format/Parse ("2006-01-02T15:04:05Z07:00") for sprig's date functions, and
 * `Time.String` for the payloads Argo writes (Pub/Sub `publishTime`, calendar `eventTime`).
 * Zones (offsets, abbreviations, which names exist) come from `tz.ts`; durations from
 * `duration.ts`. "Local" is treated as UTC (the timezone of the containers Argo runs in).
 */

const NS_PER_SEC = 1_000_000_000n;
/** Seconds from 0001-01-01T00:00:00Z (Go's zero time) to the Unix epoch. */
const ZERO_UNIX = -62_135_596_800;

export class GoTime {
  /** `sec` is Unix seconds, `nsec` in [0, 1e9), `offset` seconds east of UTC, `zone` its abbreviation. */
  constructor(
    readonly sec: number,
    readonly nsec: number,
    readonly offset: number,
    readonly zone: string,
  ) {}

  static zero(): GoTime {
    return new GoTime(ZERO_UNIX, 0, 0, "UTC");
  }

  static fromDate(d: Date): GoTime {
    const ms = d.getTime();
    const sec = Math.floor(ms / 1000);
    return new GoTime(sec, (ms - sec * 1000) * 1_000_000, 0, "UTC");
  }

  static unix(sec: number): GoTime {
    return new GoTime(sec, 0, 0, "UTC");
  }

  isZero(): boolean {
    return this.sec === ZERO_UNIX && this.nsec === 0;
  }

  unixNanos(): bigint {
    return BigInt(this.sec) * NS_PER_SEC + BigInt(this.nsec);
  }

  add(ns: bigint): GoTime {
    const total = this.unixNanos() + ns;
    let sec = total / NS_PER_SEC;
    let nsec = total % NS_PER_SEC;
    if (nsec < 0n) {
      nsec += NS_PER_SEC;
      sec -= 1n;
    }
    return new GoTime(Number(sec), Number(nsec), this.offset, this.zone).in(this.zoneId);
  }

  /** IANA zone this instant was placed in, if any (offsets are recomputed for DST on `add`). */
  zoneId: string | undefined;

  in(zoneId: string | undefined): GoTime {
    if (zoneId === undefined) return this;
    const { offset, abbr } = zoneInfo(zoneId, this.sec);
    const t = new GoTime(this.sec, this.nsec, offset, abbr);
    t.zoneId = zoneId;
    return t;
  }

  /** Go's time.Time.String(), without the monotonic clock reading. */
  toString(): string {
    return formatTime(this, TIME_STRING_LAYOUT);
  }
}

/** The layout of Go's `Time.String`: the fraction drops trailing zeros and is omitted when zero. */
const TIME_STRING_LAYOUT = "2006-01-02 15:04:05.999999999 -0700 MST";

/**
 * Formats `date` in `zoneName` (an IANA zone, default `UTC`) the way Go's `Time.String` does.
 * `nanos` is the nanosecond-of-second (0..999999999) when the caller has more precision than a
 * Date holds (a Pub/Sub PreciseDate); it replaces the Date's milliseconds. Without it the
 * fraction comes from the Date's milliseconds. Throws RangeError for an invalid Date or zone.
 */
export function formatGoTime(date: Date, nanos?: number, zoneName = "UTC"): string {
  if (!Number.isFinite(date.getTime())) throw new RangeError("formatGoTime: invalid Date");
  let t = GoTime.fromDate(date);
  if (nanos !== undefined) {
    if (!Number.isInteger(nanos) || nanos < 0 || nanos >= Number(NS_PER_SEC)) {
      throw new RangeError(`formatGoTime: nanos must be an integer in [0, 1e9), got ${nanos}`);
    }
    t = new GoTime(t.sec, nanos, 0, "UTC");
  }
  return t.in(zoneName).toString();
}

function zoneInfo(zone: string, sec: number): { offset: number; abbr: string } {
  const { offsetSeconds, abbreviation } = zoneAt(zone, sec * 1000);
  return { offset: offsetSeconds, abbr: abbreviation };
}

const LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const LONG_MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

type Chunk =
  | { kind: "lit"; text: string }
  | { kind: "std"; std: string }
  | { kind: "frac"; sep: string; digits: number; optional: boolean };

const STD_PREFIXES: [string, string][] = [
  ["January", "January"],
  ["Jan", "Jan"],
  ["Monday", "Monday"],
  ["Mon", "Mon"],
  ["MST", "MST"],
  ["002", "002"],
  ["01", "01"],
  ["02", "02"],
  ["03", "03"],
  ["04", "04"],
  ["05", "05"],
  ["06", "06"],
  ["15", "15"],
  ["1", "1"],
  ["2006", "2006"],
  ["2", "2"],
  ["__2", "__2"],
  ["_2006", "_2006"],
  ["_2", "_2"],
  ["3", "3"],
  ["4", "4"],
  ["5", "5"],
  ["PM", "PM"],
  ["pm", "pm"],
  ["-07:00:00", "-07:00:00"],
  ["-070000", "-070000"],
  ["-07:00", "-07:00"],
  ["-0700", "-0700"],
  ["-07", "-07"],
  ["Z07:00:00", "Z07:00:00"],
  ["Z070000", "Z070000"],
  ["Z07:00", "Z07:00"],
  ["Z0700", "Z0700"],
  ["Z07", "Z07"],
];

/** Layouts come from templates; a few per manifest set. */
const splitLayout = memoize(200, (layout: string): Chunk[] => {
  const out: Chunk[] = [];
  let lit = "";
  let i = 0;
  outer: while (i < layout.length) {
    const c = layout[i]!;
    if ((c === "." || c === ",") && (layout[i + 1] === "0" || layout[i + 1] === "9")) {
      const d = layout[i + 1]!;
      let j = i + 1;
      while (layout[j] === d) j++;
      if (!/[0-9]/.test(layout[j] ?? "")) {
        if (lit) out.push({ kind: "lit", text: lit });
        lit = "";
        out.push({ kind: "frac", sep: c, digits: j - i - 1, optional: d === "9" });
        i = j;
        continue;
      }
    }
    for (const [prefix, std] of STD_PREFIXES) {
      if (!layout.startsWith(prefix, i)) continue;
      // "Mon" must not be followed by a lower-case letter ("Month" is literal), as in Go.
      if ((std === "Jan" || std === "Mon") && /[a-z]/.test(layout[i + 3] ?? "")) continue;
      if (std === "_2006") {
        lit += "_";
        i += 1;
        continue outer;
      }
      if (lit) out.push({ kind: "lit", text: lit });
      lit = "";
      out.push({ kind: "std", std });
      i += prefix.length;
      continue outer;
    }
    lit += c;
    i++;
  }
  if (lit) out.push({ kind: "lit", text: lit });
  return out;
});

function pad(n: number, width: number, ch = "0"): string {
  const s = String(Math.abs(n));
  return (n < 0 ? "-" : "") + s.padStart(width, ch);
}

function formatOffset(offset: number, std: string): string {
  if (std.startsWith("Z") && offset === 0) return "Z";
  const sign = offset < 0 ? "-" : "+";
  const a = Math.abs(offset);
  const hh = pad(Math.floor(a / 3600), 2);
  const mm = pad(Math.floor((a % 3600) / 60), 2);
  const ss = pad(a % 60, 2);
  const body = std.replace(/^Z/, "-");
  switch (body) {
    case "-07":
      return `${sign}${hh}`;
    case "-0700":
      return `${sign}${hh}${mm}`;
    case "-07:00":
      return `${sign}${hh}:${mm}`;
    case "-070000":
      return `${sign}${hh}${mm}${ss}`;
    default:
      return `${sign}${hh}:${mm}:${ss}`;
  }
}

/** Go's Time.Format. */
export function formatTime(t: GoTime, layout: string): string {
  const d = new Date((t.sec + t.offset) * 1000);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth();
  const day = d.getUTCDate();
  const hour = d.getUTCHours();
  const min = d.getUTCMinutes();
  const sec = d.getUTCSeconds();
  const yday = Math.floor((Date.UTC(year, month, day) - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  let out = "";
  for (const ch of splitLayout(layout)) {
    if (ch.kind === "lit") {
      out += ch.text;
      continue;
    }
    if (ch.kind === "frac") {
      const digits = String(t.nsec).padStart(9, "0").slice(0, ch.digits);
      if (ch.optional) {
        const trimmed = digits.replace(/0+$/, "");
        if (trimmed) out += ch.sep + trimmed;
      } else out += ch.sep + digits;
      continue;
    }
    switch (ch.std) {
      case "January":
        out += LONG_MONTHS[month];
        break;
      case "Jan":
        out += LONG_MONTHS[month]!.slice(0, 3);
        break;
      case "Monday":
        out += LONG_DAYS[d.getUTCDay()];
        break;
      case "Mon":
        out += LONG_DAYS[d.getUTCDay()]!.slice(0, 3);
        break;
      case "MST":
        out += t.zone !== "" ? t.zone : formatOffset(t.offset, "-0700");
        break;
      case "002":
        out += pad(yday, 3);
        break;
      case "__2":
        out += pad(yday, 3, " ");
        break;
      case "01":
        out += pad(month + 1, 2);
        break;
      case "1":
        out += String(month + 1);
        break;
      case "02":
        out += pad(day, 2);
        break;
      case "_2":
        out += pad(day, 2, " ");
        break;
      case "2":
        out += String(day);
        break;
      case "2006":
        out += pad(year, 4);
        break;
      case "06":
        out += pad(year % 100, 2);
        break;
      case "15":
        out += pad(hour, 2);
        break;
      case "03":
        out += pad(hour % 12 === 0 ? 12 : hour % 12, 2);
        break;
      case "3":
        out += String(hour % 12 === 0 ? 12 : hour % 12);
        break;
      case "04":
        out += pad(min, 2);
        break;
      case "4":
        out += String(min);
        break;
      case "05":
        out += pad(sec, 2);
        break;
      case "5":
        out += String(sec);
        break;
      case "PM":
        out += hour >= 12 ? "PM" : "AM";
        break;
      case "pm":
        out += hour >= 12 ? "pm" : "am";
        break;
      default:
        out += formatOffset(t.offset, ch.std);
    }
  }
  return out;
}

class ParseFail extends Error {}

/**
 * Go's time.Parse (in UTC as the default location). Returns undefined when the value does not
 * match the layout; sprig's `toDate` then yields the zero time.
 */
export function parseTime(layout: string, value: string): GoTime | undefined {
  try {
    return parseStrict(layout, value);
  } catch (err) {
    if (err instanceof ParseFail) return undefined;
    throw err;
  }
}

function parseStrict(layout: string, value: string): GoTime {
  let s = value;
  let year = 1;
  let month = 1;
  let day = 1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let pm: boolean | undefined;
  let offset: number | undefined;
  let zoneName: string | undefined;
  let yday = -1;
  const num = (min: number, max: number): number => {
    const m = new RegExp(`^[0-9]{${min},${max}}`).exec(s);
    if (!m) throw new ParseFail();
    s = s.slice(m[0].length);
    return Number(m[0]);
  };
  const lookup = (names: string[], len?: number): number => {
    for (let i = 0; i < names.length; i++) {
      const n = len === undefined ? names[i]! : names[i]!.slice(0, len);
      if (s.slice(0, n.length).toLowerCase() === n.toLowerCase()) {
        s = s.slice(n.length);
        return i;
      }
    }
    throw new ParseFail();
  };
  const chunks = splitLayout(layout);
  for (let ci = 0; ci < chunks.length; ci++) {
    const ch = chunks[ci]!;
    if (ch.kind === "lit") {
      // Go skips runs of spaces leniently; keep it exact otherwise.
      if (!s.startsWith(ch.text)) throw new ParseFail();
      s = s.slice(ch.text.length);
      continue;
    }
    if (ch.kind === "frac") {
      if (ch.optional) {
        if (s[0] !== "." && s[0] !== ",") continue;
      } else if (s[0] !== ch.sep) throw new ParseFail();
      s = s.slice(1);
      const m = /^[0-9]+/.exec(s);
      if (!m || (!ch.optional && m[0].length !== ch.digits)) throw new ParseFail();
      nsec = Number(m[0].slice(0, 9).padEnd(9, "0"));
      s = s.slice(m[0].length);
      continue;
    }
    switch (ch.std) {
      case "2006": {
        const m = /^[0-9]{4}/.exec(s);
        if (!m) throw new ParseFail();
        year = Number(m[0]);
        s = s.slice(4);
        break;
      }
      case "06": {
        const y = num(2, 2);
        year = y >= 69 ? 1900 + y : 2000 + y;
        break;
      }
      case "January":
        month = lookup(LONG_MONTHS) + 1;
        break;
      case "Jan":
        month = lookup(LONG_MONTHS, 3) + 1;
        break;
      case "Monday":
        lookup(LONG_DAYS);
        break;
      case "Mon":
        lookup(LONG_DAYS, 3);
        break;
      case "01":
        month = num(2, 2);
        break;
      case "1":
        month = num(1, 2);
        break;
      case "02":
        day = num(2, 2);
        break;
      case "_2":
        if (s[0] === " ") s = s.slice(1);
        day = num(1, 2);
        break;
      case "2":
        day = num(1, 2);
        break;
      case "002":
        yday = num(3, 3);
        break;
      case "__2":
        s = s.replace(/^ {0,2}/, "");
        yday = num(1, 3);
        break;
      case "15":
        hour = num(1, 2);
        break;
      case "03":
        hour = num(2, 2);
        break;
      case "3":
        hour = num(1, 2);
        break;
      case "04":
        min = num(2, 2);
        break;
      case "4":
        min = num(1, 2);
        break;
      case "05":
      case "5": {
        sec = ch.std === "05" ? num(2, 2) : num(1, 2);
        // Go accepts fractional seconds after a seconds field even when the layout has none.
        const next = chunks[ci + 1];
        if (next?.kind !== "frac" && /^[.,][0-9]/.test(s)) {
          const m = /^[.,]([0-9]+)/.exec(s)!;
          nsec = Number(m[1]!.slice(0, 9).padEnd(9, "0"));
          s = s.slice(m[0].length);
        }
        break;
      }
      case "PM":
      case "pm": {
        const p = s.slice(0, 2).toUpperCase();
        if (p !== "AM" && p !== "PM") throw new ParseFail();
        pm = p === "PM";
        s = s.slice(2);
        break;
      }
      case "MST": {
        const m = /^(UTC|GMT([+-][0-9]{1,2})?|[A-Z]{3,5}|[+-][0-9]{2,4})/.exec(s);
        if (!m) throw new ParseFail();
        zoneName = m[0];
        s = s.slice(m[0].length);
        break;
      }
      default: {
        if (ch.std.startsWith("Z") && s[0] === "Z") {
          s = s.slice(1);
          offset = 0;
          zoneName = "UTC";
          break;
        }
        const shapes: Record<string, RegExp> = {
          "07": /^([+-])([0-9]{2})/,
          "0700": /^([+-])([0-9]{2})([0-9]{2})/,
          "07:00": /^([+-])([0-9]{2}):([0-9]{2})/,
          "070000": /^([+-])([0-9]{2})([0-9]{2})([0-9]{2})/,
          "07:00:00": /^([+-])([0-9]{2}):([0-9]{2}):([0-9]{2})/,
        };
        const re = shapes[ch.std.slice(1)]!;
        const m = re.exec(s);
        if (!m) throw new ParseFail();
        const o = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
        offset = m[1] === "-" ? -o : o;
        s = s.slice(m[0].length);
      }
    }
  }
  if (s !== "") throw new ParseFail();
  if (pm !== undefined) {
    if (hour > 12) throw new ParseFail();
    if (pm && hour < 12) hour += 12;
    if (!pm && hour === 12) hour = 0;
  }
  if (yday >= 0) {
    const d = new Date(Date.UTC(2000, 0, 1));
    d.setUTCFullYear(year, 0, yday);
    month = d.getUTCMonth() + 1;
    day = d.getUTCDate();
  }
  if (month < 1 || month > 12 || hour > 23 || min > 59 || sec > 59) throw new ParseFail();
  const dim = new Date(Date.UTC(2000, month, 0));
  dim.setUTCFullYear(year, month, 0);
  if (day < 1 || day > dim.getUTCDate()) throw new ParseFail();
  const base = new Date(Date.UTC(2000, 0, 1, hour, min, sec));
  base.setUTCFullYear(year, month - 1, day);
  const localSec = Math.floor(base.getTime() / 1000);
  if (offset !== undefined) {
    const zone = offset === 0 && zoneName === "UTC" ? "UTC" : "";
    return new GoTime(localSec - offset, nsec, offset, offset === 0 && zone === "" ? "" : zone);
  }
  if (zoneName !== undefined && zoneName !== "UTC") {
    const gmt = /^GMT([+-][0-9]{1,2})$/.exec(zoneName);
    const off = gmt ? Number(gmt[1]) * 3600 : 0;
    return new GoTime(localSec - off, nsec, off, zoneName);
  }
  return new GoTime(localSec, nsec, 0, "UTC");
}
