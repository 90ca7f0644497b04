/**
 * Go's fmt and strconv number formatting for template values.
 *
 * Value model (what a JSON-decoded Go `interface{}` holds): JS `number` is float64, `bigint` is a
 * Go int, strings, booleans, `null` is nil, arrays are slices, plain objects are
 * map[string]interface{}, GoTime is time.Time. `undefined` is an invalid reflect.Value (a missing
 * map key), which the template printer shows as `<no value>` and fmt shows as `<nil>`.
 */

import { GoTime } from "../gotime.js";

export { GoTime };

/** A Go int64 (what sprig's math functions return); a bare `bigint` is a Go int. */
export class Int64 {
  constructor(readonly v: bigint) {}
}

/** The integer held by a Go int or int64, else undefined. */
export function intValue(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v;
  if (v instanceof Int64) return v.v;
  return undefined;
}

/** A Go value with methods (a *semver.Version): printed via String(), fields via method(). */
export abstract class GoObject {
  abstract readonly goType: string;
  /** Result of calling a no-argument method, or undefined when there is no such method. */
  abstract method(name: string): unknown;
  abstract toString(): string;
}

const TYPE_TAGS = new WeakMap<object, string>();

/** Marks a slice or map produced by a function with its Go type (`[]string`, `map[string]string`). */
export function tagType<T extends object>(value: T, goType: string): T {
  TYPE_TAGS.set(value, goType);
  return value;
}

export function isMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Go's %T. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  switch (typeof v) {
    case "number":
      return "float64";
    case "bigint":
      return "int";
    case "string":
      return "string";
    case "boolean":
      return "bool";
  }
  if (v instanceof GoTime) return "time.Time";
  if (v instanceof Int64) return "int64";
  if (v instanceof GoObject) return v.goType;
  if (typeof v === "object") {
    const tag = TYPE_TAGS.get(v);
    if (tag) return tag;
    return Array.isArray(v) ? "[]interface {}" : "map[string]interface {}";
  }
  return "interface {}";
}

/** reflect.Kind name as sprig's kindOf reports it. */
export function goKind(v: unknown): string {
  if (v === null || v === undefined) return "invalid";
  if (Array.isArray(v)) return "slice";
  if (v instanceof GoTime) return "struct";
  if (v instanceof Int64) return "int64";
  if (v instanceof GoObject) return "ptr";
  if (typeof v === "object") return "map";
  const t = goTypeName(v);
  return t;
}

/** Orders map keys as Go's fmt and encoding/json do (byte order of UTF-8 = code point order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : 1;
}

export function sortedKeys(m: Record<string, unknown>): string[] {
  return Object.keys(m).sort(compareKeys);
}

// ---------------------------------------------------------------------------------------------
// strconv.FormatFloat

interface Digits {
  /** Significant decimal digits, no leading zeros (empty for zero). */
  d: string;
  /** Decimal point position relative to the start of `d`. */
  dp: number;
}

/** Exact decimal expansion of a finite non-negative double. */
function exactDigits(x: number): Digits {
  if (x === 0) return { d: "", dp: 0 };
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (exp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = exp - 1075;
  }
  let d: string;
  let dp: number;
  if (e >= 0) {
    d = (mant << BigInt(e)).toString();
    dp = d.length;
  } else {
    d = (mant * 5n ** BigInt(-e)).toString();
    dp = d.length + e;
  }
  const stripped = d.replace(/0+$/, "");
  return { d: stripped, dp };
}

/** Rounds to `n` significant digits, half to even on exact ties (as strconv does). */
function roundDigits(x: Digits, n: number): Digits {
  if (n < 0) return { d: "", dp: x.dp };
  if (x.d.length <= n) return x;
  const keep = x.d.slice(0, n);
  const next = x.d.charCodeAt(n) - 48;
  let up: boolean;
  if (next > 5) up = true;
  else if (next < 5) up = false;
  else if (x.d.length > n + 1) up = true;
  else up = n > 0 && (keep.charCodeAt(n - 1) - 48) % 2 === 1;
  if (!up) return { d: keep.replace(/0+$/, ""), dp: x.dp };
  const digits = keep.split("").map((c) => c.charCodeAt(0) - 48);
  let i = digits.length - 1;
  while (i >= 0) {
    if (digits[i]! < 9) {
      digits[i]! += 1;
      break;
    }
    digits[i] = 0;
    i--;
  }
  if (i < 0) return { d: "1", dp: x.dp + 1 };
  return { d: digits.join("").replace(/0+$/, ""), dp: x.dp };
}

/** Shortest digits that round-trip, as JS and Go both choose them. */
function shortestDigits(x: number): Digits {
  if (x === 0) return { d: "", dp: 0 };
  const s = x.toExponential();
  const [m, e] = s.split("e") as [string, string];
  const d = m.replace(".", "").replace(/0+$/, "");
  return { d, dp: Number(e) + 1 };
}

function digitAt(x: Digits, i: number): string {
  return i >= 0 && i < x.d.length ? x.d[i]! : "0";
}

function fmtE(x: Digits, prec: number, e: string): string {
  let out = digitAt(x, 0);
  if (prec > 0) {
    out += ".";
    for (let i = 1; i <= prec; i++) out += digitAt(x, i);
  }
  const exp = x.d.length === 0 ? 0 : x.dp - 1;
  const a = Math.abs(exp);
  return `${out}${e}${exp < 0 ? "-" : "+"}${a < 10 ? `0${a}` : a}`;
}

function fmtF(x: Digits, prec: number): string {
  let out = "";
  if (x.dp > 0) {
    for (let i = 0; i < x.dp; i++) out += digitAt(x, i);
  } else out = "0";
  if (prec > 0) {
    out += ".";
    for (let i = 0; i < prec; i++) out += digitAt(x, x.dp + i);
  }
  return out;
}

/** strconv.FormatFloat(x, fmt, prec, 64) for fmt in e E f F g G; prec -1 = shortest. */
export function formatFloat(x: number, fmt: string, prec: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "+Inf";
  if (x === Number.NEGATIVE_INFINITY) return "-Inf";
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  const shortest = prec < 0;
  let digs: Digits;
  if (shortest) {
    digs = shortestDigits(a);
    switch (fmt) {
      case "e":
      case "E":
        prec = Math.max(digs.d.length - 1, 0);
        break;
      case "f":
      case "F":
        prec = Math.max(digs.d.length - digs.dp, 0);
        break;
      default:
        prec = digs.d.length;
    }
  } else {
    const exact = exactDigits(a);
    switch (fmt) {
      case "e":
      case "E":
        digs = roundDigits(exact, prec + 1);
        break;
      case "f":
      case "F":
        digs = roundDigits(exact, exact.dp + prec);
        if (digs.d.length === 0) digs = { d: "", dp: 0 };
        break;
      default:
        if (prec === 0) prec = 1;
        digs = roundDigits(exact, prec);
    }
  }
  let body: string;
  switch (fmt) {
    case "e":
    case "E":
      body = fmtE(digs, prec, fmt);
      break;
    case "f":
    case "F":
      body = fmtF(digs, prec);
      break;
    default: {
      let eprec = prec;
      const nd = digs.d.length;
      if (eprec > nd && nd >= digs.dp) eprec = nd;
      if (shortest) eprec = 6;
      const exp = digs.dp - 1;
      if (nd !== 0 && (exp < -4 || exp >= eprec)) {
        if (prec > nd) prec = nd;
        body = fmtE(digs, prec - 1, fmt === "G" ? "E" : "e");
      } else {
        if (prec > digs.dp) prec = nd;
        body = fmtF(digs, Math.max(prec - digs.dp, 0));
      }
    }
  }
  return neg ? `-${body}` : body;
}

// ---------------------------------------------------------------------------------------------
// fmt %v

/** Go's fmt %v for a decoded JSON value (`fmt.Sprint` of one operand). */
export function goFormatValue(v: unknown): string {
  return formatV(v, false);
}

function formatV(v: unknown, plusV: boolean): string {
  if (v === null || v === undefined) return "<nil>";
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      return formatFloat(v, "g", -1);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "true" : "false";
  }
  if (v instanceof GoTime) return v.toString();
  if (v instanceof Int64) return v.v.toString();
  if (v instanceof GoObject) return v.toString();
  if (Array.isArray(v)) return `[${v.map((e) => formatV(e, plusV)).join(" ")}]`;
  if (typeof v === "object") {
    const m = v as Record<string, unknown>;
    return `map[${sortedKeys(m)
      .map((k) => `${k}:${formatV(m[k], plusV)}`)
      .join(" ")}]`;
  }
  return String(v);
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = "";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += goFormatValue(a);
  }
  return out;
}

/** fmt.Sprintln: always spaces, newline at the end. */
export function sprintln(args: unknown[]): string {
  return `${args.map(goFormatValue).join(" ")}\n`;
}

// ---------------------------------------------------------------------------------------------
// strconv.Quote

function isPrint(ch: string): boolean {
  return ch === " " || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch);
}

/** strconv.Quote (asciiOnly = QuoteToASCII, used by %+q). */
export function goQuoteString(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd";
    else if (c < 0x80 ? c >= 0x20 && c < 0x7f : !asciiOnly && isPrint(ch)) out += ch;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c < 0x10000) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += `\\U${c.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

// ---------------------------------------------------------------------------------------------
// fmt.Sprintf

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number | undefined;
  prec: number | undefined;
}

function padTo(s: string, spec: Spec, numeric = false): string {
  const w = spec.width;
  if (w === undefined) return s;
  const len = [...s].length;
  if (len >= w) return s;
  const fill = w - len;
  if (spec.minus) return s + " ".repeat(fill);
  if (spec.zero) {
    if (numeric && (s[0] === "-" || s[0] === "+" || s[0] === " ")) {
      return s[0] + "0".repeat(fill) + s.slice(1);
    }
    return "0".repeat(fill) + s;
  }
  return " ".repeat(fill) + s;
}

function signed(body: string, neg: boolean, spec: Spec): string {
  if (neg) return `-${body}`;
  if (spec.plus) return `+${body}`;
  if (spec.space) return ` ${body}`;
  return body;
}

function badVerb(verb: string, v: unknown): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${goFormatValue(v)})`;
}

function fmtInteger(n: bigint, verb: string, spec: Spec): string {
  const neg = n < 0n;
  const a = neg ? -n : n;
  let body: string;
  switch (verb) {
    case "d":
    case "v":
      body = a.toString();
      break;
    case "x":
      body = (spec.sharp ? "0x" : "") + a.toString(16);
      break;
    case "X":
      body = (spec.sharp ? "0X" : "") + a.toString(16).toUpperCase();
      break;
    case "o":
      body = (spec.sharp ? "0" : "") + a.toString(8);
      break;
    case "O":
      body = `0o${a.toString(8)}`;
      break;
    case "b":
      body = a.toString(2);
      break;
    case "c":
      return padTo(String.fromCodePoint(Number(n)), spec);
    case "q":
      return padTo(`'${String.fromCodePoint(Number(n))}'`, spec);
    case "U":
      return padTo(`U+${a.toString(16).toUpperCase().padStart(4, "0")}`, spec);
    default:
      return badVerb(verb, n);
  }
  if (spec.prec !== undefined) {
    body = body.padStart(spec.prec, "0");
    if (spec.prec === 0 && a === 0n) body = "";
    return padTo(signed(body, neg, spec), { ...spec, zero: false });
  }
  return padTo(signed(body, neg, spec), spec, true);
}

function fmtFloatVerb(x: number, verb: string, spec: Spec): string {
  let f: string;
  let prec: number;
  switch (verb) {
    case "v":
      f = "g";
      prec = spec.prec ?? -1;
      break;
    case "g":
    case "G":
      f = verb;
      prec = spec.prec ?? -1;
      break;
    case "e":
    case "E":
    case "f":
    case "F":
      f = verb;
      prec = spec.prec ?? 6;
      break;
    default:
      return badVerb(verb, x);
  }
  let s = formatFloat(x, f, prec);
  if (spec.sharp && !s.includes(".") && Number.isFinite(x)) {
    const i = s.search(/[eE]/);
    s = i < 0 ? `${s}.` : `${s.slice(0, i)}.${s.slice(i)}`;
  }
  const neg = s[0] === "-";
  if (neg) s = s.slice(1);
  if (!Number.isFinite(x)) {
    s = s.replace(/^\+/, "");
    return padTo(signed(s, neg, spec), { ...spec, zero: false });
  }
  return padTo(signed(s, neg, spec), spec, true);
}

function fmtStringVerb(s: string, verb: string, spec: Spec): string {
  switch (verb) {
    case "s":
    case "v":
      if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join("");
      return padTo(s, spec);
    case "q":
      if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join("");
      if (spec.sharp && !s.includes("`") && [...s].every((c) => c === "\t" || isPrint(c))) {
        return padTo(`\`${s}\``, spec);
      }
      return padTo(goQuoteString(s, spec.plus), spec);
    case "x":
    case "X": {
      let bytes = Buffer.from(s, "utf8");
      if (spec.prec !== undefined) bytes = bytes.subarray(0, spec.prec);
      let hex = [...bytes]
        .map((b) => (spec.sharp ? "0x" : "") + b.toString(16).padStart(2, "0"))
        .join(spec.space ? " " : "");
      if (verb === "X") hex = hex.toUpperCase();
      return padTo(hex, spec);
    }
    default:
      return badVerb(verb, s);
  }
}

function fmtArg(v: unknown, verb: string, spec: Spec): string {
  if (verb === "T") return padTo(goTypeName(v), spec);
  if (v === null || v === undefined) {
    return verb === "v" ? padTo("<nil>", spec) : badVerb(verb, v);
  }
  if (verb === "v" && spec.sharp) return padTo(goSyntax(v), spec);
  switch (typeof v) {
    case "boolean":
      return verb === "t" || verb === "v" ? padTo(String(v), spec) : badVerb(verb, v);
    case "bigint":
      return fmtInteger(v, verb, spec);
    case "number":
      return fmtFloatVerb(v, verb, spec);
    case "string":
      return fmtStringVerb(v, verb, spec);
  }
  if (v instanceof Int64) return fmtInteger(v.v, verb, spec);
  if (v instanceof GoTime || v instanceof GoObject) {
    return verb === "v" || verb === "s" ? padTo(v.toString(), spec) : badVerb(verb, v);
  }
  if (Array.isArray(v)) return `[${v.map((e) => fmtArg(e, verb, spec)).join(" ")}]`;
  if (typeof v === "object") {
    const m = v as Record<string, unknown>;
    return `map[${sortedKeys(m)
      .map((k) => `${fmtArg(k, verb, spec)}:${fmtArg(m[k], verb, spec)}`)
      .join(" ")}]`;
  }
  return badVerb(verb, v);
}

/** %#v: Go-syntax representation. */
function goSyntax(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  switch (typeof v) {
    case "string":
      return goQuoteString(v);
    case "number":
      return formatFloat(v, "g", -1);
    case "bigint":
      return v.toString();
    case "boolean":
      return String(v);
  }
  if (v instanceof GoTime) return v.toString();
  if (v instanceof Int64) return v.v.toString();
  if (Array.isArray(v)) return `${goTypeName(v)}{${v.map(goSyntax).join(", ")}}`;
  const m = v as Record<string, unknown>;
  return `${goTypeName(v)}{${sortedKeys(m)
    .map((k) => `${goQuoteString(k)}:${goSyntax(m[k])}`)
    .join(", ")}}`;
}

/** fmt.Sprintf with Go's verbs, flags, width, precision, `*` and `[n]` argument indexes. */
export function sprintf(format: string, args: unknown[]): string {
  let out = "";
  let argNum = 0;
  let reordered = false;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf("%", i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = {
      minus: false,
      plus: false,
      sharp: false,
      space: false,
      zero: false,
      width: undefined,
      prec: undefined,
    };
    flags: while (i < n) {
      switch (format[i]) {
        case "-":
          spec.minus = true;
          spec.zero = false;
          break;
        case "+":
          spec.plus = true;
          break;
        case "#":
          spec.sharp = true;
          break;
        case " ":
          spec.space = true;
          break;
        case "0":
          spec.zero = !spec.minus;
          break;
        default:
          break flags;
      }
      i++;
    }
    const argIndex = (): void => {
      const m = /^\[(\d+)\]/.exec(format.slice(i));
      if (m) {
        argNum = Number(m[1]) - 1;
        reordered = true;
        i += m[0].length;
      }
    };
    const num = (): number | undefined => {
      const m = /^\d+/.exec(format.slice(i, i + 8));
      if (!m) return undefined;
      i += m[0].length;
      return Number(m[0]);
    };
    let bad = "";
    argIndex();
    if (format[i] === "*") {
      i++;
      const w = args[argNum++];
      const wi = intValue(w);
      if (wi !== undefined) {
        spec.width = Number(wi < 0n ? -wi : wi);
        if (wi < 0n) {
          spec.minus = true;
          spec.zero = false;
        }
      } else bad += "%!(BADWIDTH)";
    } else spec.width = num();
    if (format[i] === ".") {
      i++;
      argIndex();
      if (format[i] === "*") {
        i++;
        const p = intValue(args[argNum++]);
        if (p !== undefined && p >= 0n) spec.prec = Number(p);
        else bad += "%!(BADPREC)";
      } else spec.prec = num() ?? 0;
    }
    argIndex();
    if (i >= n) {
      out += `${bad}%!(NOVERB)`;
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    out += bad;
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += fmtArg(args[argNum++], verb, spec);
  }
  if (!reordered && argNum < args.length) {
    out += `%!(EXTRA ${args
      .slice(argNum)
      .map((a) =>
        a === null || a === undefined ? "<nil>" : `${goTypeName(a)}=${goFormatValue(a)}`,
      )
      .join(", ")})`;
  }
  return out;
}
