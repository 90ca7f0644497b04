import { ConfigError } from "../errors.js";

/**
 * Go `time.Duration` text (`time.ParseDuration` and `Duration.String`), pure.
 *
 * Durations are held as bigint nanoseconds, exactly as Go's int64, so parsing accepts and rejects
 * the same inputs Go does (including overflow past ±2^63-1 ns, about 292 years). The millisecond
 * helpers are for callers that schedule with timers.
 */

const NS = 1n;
const US = 1000n * NS;
const MS = 1000n * US;
const SECOND = 1000n * MS;
const MINUTE = 60n * SECOND;
const HOUR = 60n * MINUTE;

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ["ns", NS],
  ["us", US],
  ["\u00b5s", US], // U+00B5 micro sign
  ["\u03bcs", US], // U+03BC Greek small letter mu
  ["ms", MS],
  ["s", SECOND],
  ["m", MINUTE],
  ["h", HOUR],
]);

/** 1<<63: the magnitude Go allows while parsing (a negative duration may reach it). */
const LIMIT = 1n << 63n;
const MAX_INT64 = LIMIT - 1n;

/**
 * Go's `time.ParseDuration`: a possibly signed sequence of decimal numbers, each with an optional
 * fraction and a unit suffix ("300ms", "-1.5h", "2h45m"). Returns nanoseconds.
 * Throws ConfigError with Go's message (`time: invalid duration "x"`, `time: missing unit in
 * duration "x"`, `time: unknown unit "x" in duration "y"`).
 */
export function parseGoDurationNanos(text: string): bigint {
  const invalid = () => new ConfigError(`time: invalid duration ${goQuote(text)}`);
  let s = text;
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  // Special case: a bare (signed) zero needs no unit.
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let total = 0n;
  while (s !== "") {
    // The next character must be [0-9.].
    if (!(s[0] === "." || isDigit(s[0]))) throw invalid();
    // Integer part.
    let i = 0;
    let whole = 0n;
    while (i < s.length && isDigit(s[i])) {
      whole = whole * 10n + BigInt(s.charCodeAt(i) - 48);
      if (whole > LIMIT) throw invalid();
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    // Fraction: digits past int64 precision are dropped, as Go's leadingFraction does.
    let frac = 0n;
    let scale = 1n;
    let post = false;
    if (s[0] === ".") {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (j < s.length && isDigit(s[j])) {
        if (!overflow) {
          const next = frac * 10n + BigInt(s.charCodeAt(j) - 48);
          if (frac > MAX_INT64 / 10n || next > LIMIT) overflow = true;
          else {
            frac = next;
            scale *= 10n;
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid(); // no digits, e.g. ".s"
    // Unit: everything up to the next digit or dot.
    let u = 0;
    while (u < s.length && s[u] !== "." && !isDigit(s[u])) u++;
    if (u === 0) throw new ConfigError(`time: missing unit in duration ${goQuote(text)}`);
    const unitText = s.slice(0, u);
    s = s.slice(u);
    const unit = UNITS.get(unitText);
    if (unit === undefined) {
      throw new ConfigError(`time: unknown unit ${goQuote(unitText)} in duration ${goQuote(text)}`);
    }
    if (whole > LIMIT / unit) throw invalid();
    let v = whole * unit;
    if (frac > 0n) {
      // Go computes float64(f) * (float64(unit) / scale) and truncates toward zero.
      v += BigInt(Math.trunc(Number(frac) * (Number(unit) / Number(scale))));
      if (v > LIMIT) throw invalid();
    }
    total += v;
    if (total > LIMIT) throw invalid();
  }
  if (neg) return -total;
  if (total > MAX_INT64) throw invalid();
  return total;
}

/** `parseGoDurationNanos`, or undefined where Go's `time.ParseDuration` returns an error. */
export function parseDuration(text: string): bigint | undefined {
  try {
    return parseGoDurationNanos(text);
  } catch {
    return undefined;
  }
}

/** `parseGoDurationNanos` in milliseconds (fractional below 1 ms). */
export function parseGoDuration(text: string): number {
  return Number(parseGoDurationNanos(text)) / 1e6;
}

/** Go's `Duration.String`: "1h30m0s", "1.5s", "300ms", "0s". */
export function formatGoDurationNanos(nanos: bigint): string {
  const neg = nanos < 0n;
  let u = neg ? -nanos : nanos;
  let out: string;
  if (u < SECOND) {
    // Below one second Go switches to the largest unit that keeps an integer part: 1.2ms, 15µs.
    if (u === 0n) return "0s";
    if (u < US) out = `${u}ns`;
    else if (u < MS) out = `${fractional(u, 3)}\u00b5s`;
    else out = `${fractional(u, 6)}ms`;
  } else {
    const secText = fractional(u % MINUTE, 9);
    u /= MINUTE;
    out = `${secText}s`;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** `formatGoDurationNanos` for a millisecond count (sub-millisecond digits are kept to the ns). */
export function formatGoDuration(ms: number): string {
  return formatGoDurationNanos(BigInt(Math.round(ms * 1e6)));
}

/** `v / 10^prec` with trailing zeros (and a bare dot) removed, as Go's fmtFrac + fmtInt. */
function fractional(v: bigint, prec: number): string {
  const div = 10n ** BigInt(prec);
  const whole = v / div;
  const frac = (v % div).toString().padStart(prec, "0").replace(/0+$/, "");
  return frac === "" ? `${whole}` : `${whole}.${frac}`;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/**
 * The `quote` helper of Go's time package: printable ASCII as is (with `"` and `\` escaped),
 * every byte of anything else as `\xNN`.
 */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x80 || code < 0x20) {
      for (const b of Buffer.from(ch, "utf8")) out += `\\x${b.toString(16).padStart(2, "0")}`;
    } else {
      if (ch === '"' || ch === "\\") out += "\\";
      out += ch;
    }
  }
  return `${out}"`;
}
