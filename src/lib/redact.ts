/**
 * The process-wide registry of secret values, and the redaction applied to everything sensorbus
 * writes out (journal, console API, logs, dead letters, replay output, metrics).
 *
 * The resolver of `--secrets-dir` registers every value it reads (config/secrets.ts), before the
 * value is used; outputs are scanned for those values and each occurrence is replaced by
 * {@link REDACTED}. Redaction is by value, not by field name: a Secret's value copied into a
 * header, an error message or a payload is caught wherever it lands.
 *
 * Short values: a value shorter than {@link MIN_SUBSTRING_LENGTH} characters is not searched inside
 * longer text (a 1-character secret "a" would otherwise blank every "a" in every log line); it is
 * redacted only where it is a whole value — a whole string in an object, a whole JSON string in
 * serialised text — and in the fields known to carry secrets (see triggers/http/runtime.ts
 * `secretHeaders`). Longer values are replaced wherever they occur.
 *
 * Cost: with no secret registered every function returns its input at once (one length check).
 * Otherwise a scan is one `String.prototype.includes` per registered form of each value (the raw
 * value, and its JSON-escaped forms where they differ), and a copy only where one is found.
 */

/** What replaces a secret value. */
export const REDACTED = "[redacted]";

/** Values at least this long are redacted wherever they occur inside text. */
export const MIN_SUBSTRING_LENGTH = 6;

/** The values to find, as one regular expression (longest first), and what replaces each. */
interface Needles {
  /** Tests for any needle (not global: no lastIndex state). */
  any: RegExp | undefined;
  /** The same alternation, global, for the replacement. */
  all: RegExp | undefined;
  replace: Map<string, string>;
}

const NONE: Needles = { any: undefined, all: undefined, replace: new Map() };

const values = new Set<string>();
/** For raw strings (error messages, object leaves): substrings of long values. */
let rawNeedles: Needles = NONE;
/** For JSON (and Prometheus) text: escaped forms; short values only as whole JSON strings. */
let jsonNeedles: Needles = NONE;
/** Every registered value, for exact (whole-string) matches. */
let exact: ReadonlySet<string> = new Set();

/** JSON-escaped once and twice (a JSON string inside a JSON string, as in a log line). */
function escaped(v: string): [string, string] {
  const once = JSON.stringify(v).slice(1, -1);
  return [once, JSON.stringify(once).slice(1, -1)];
}

function rebuild(): void {
  const raw = new Map<string, string>();
  const json = new Map<string, string>();
  for (const v of values) {
    const [once, twice] = escaped(v);
    if (v.length >= MIN_SUBSTRING_LENGTH) {
      raw.set(v, REDACTED);
      raw.set(once, REDACTED);
      json.set(once, REDACTED);
      json.set(twice, REDACTED);
    } else {
      json.set(`"${once}"`, `"${REDACTED}"`);
      json.set(`\\"${twice}\\"`, `\\"${REDACTED}\\"`);
    }
  }
  rawNeedles = compile(raw);
  jsonNeedles = compile(json);
  exact = new Set(values);
}

/** Registers a value read from a Secret. Empty values are ignored; never logs the value. */
export function registerSecret(value: string): void {
  if (value.length === 0 || values.has(value)) return;
  values.add(value);
  rebuild();
}

/** Number of registered values (for tests and the docs' benchmark). */
export function secretCount(): number {
  return values.size;
}

/** Forgets every registered value (tests only). */
export function clearSecrets(): void {
  values.clear();
  rebuild();
}

/**
 * One alternation of the literal needles, longest first (a secret that contains another one is
 * replaced whole). V8 tests a 300-character line against it in about 0.1–0.8 µs for 10–100
 * values, where a loop of `includes` took 2–36 µs.
 */
function compile(m: Map<string, string>): Needles {
  if (m.size === 0) return NONE;
  const source = [...m.keys()]
    .sort((a, b) => b.length - a.length)
    .map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
    .join("|");
  return { any: new RegExp(source), all: new RegExp(source, "g"), replace: m };
}

function scan(text: string, needles: Needles): string {
  if (needles.any === undefined || !needles.any.test(text)) return text;
  return text.replace(needles.all!, (found) => needles.replace.get(found) ?? REDACTED);
}

/** A plain string (error message, header value, object leaf) with every secret replaced. */
export function redactString(text: string): string {
  if (exact.size === 0) return text;
  if (exact.has(text)) return REDACTED;
  return scan(text, rawNeedles);
}

/** Serialised JSON (or Prometheus text, which escapes the same way) with every secret replaced. */
export function redactJson(text: string): string {
  return scan(text, jsonNeedles);
}

/**
 * A copy of a JSON-like value with {@link redactString} applied to every string in it (keys
 * included); the value itself when no secret is registered or none was found.
 */
export function redactValue<T>(value: T): T {
  if (exact.size === 0) return value;
  return walk(value) as T;
}

function walk(v: unknown): unknown {
  if (typeof v === "string") return redactString(v);
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const r = walk(v[i]);
      if (r !== v[i]) {
        out ??= v.slice();
        out[i] = r;
      }
    }
    return out ?? v;
  }
  let out: Record<string, unknown> | undefined;
  const obj = v as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const rk = redactString(key);
    const r = walk(obj[key]);
    if (r !== obj[key] || rk !== key) {
      out ??= { ...obj };
      if (rk !== key) delete out[key];
      out[rk] = r;
    }
  }
  return out ?? v;
}

/**
 * Headers for output: those named in `secretNames` (case-insensitive; values read from Secrets)
 * become {@link REDACTED} whatever their length, the others go through {@link redactString}.
 */
export function redactHeaders(
  headers: Record<string, string>,
  secretNames: readonly string[] | undefined,
): Record<string, string> {
  const secret =
    secretNames && secretNames.length > 0
      ? new Set(secretNames.map((n) => n.toLowerCase()))
      : undefined;
  if (secret === undefined && exact.size === 0) return headers;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    out[k] = secret?.has(k.toLowerCase()) ? REDACTED : redactString(v);
  return out;
}
