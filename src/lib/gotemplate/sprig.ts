import { chargeBudget, isBudgetExceeded } from "../budget.js";
import type { GoRegexp } from "../re2.js";
import { compileGoRegexp, goQuoteMeta } from "../re2.js";
/**
 * Sprig v3 functions (Masterminds/sprig GenericFuncMap) with their Go signatures, so argument
 * type errors match Go's, and sprig's coercions (spf13/cast for int/int64/float64, strval for
 * strings). Functions that would panic in Go throw FuncError with the panic text.
 * Not provided (not useful without I/O or crypto material): crypto/cert generators, bcrypt,
 * getHostByName, urlParse/urlJoin, decimal float math (addf…).
 */

import { createHash, randomBytes, randomUUID } from "node:crypto";
import { formatGoDurationNanos, parseDuration } from "../duration.js";
import { formatTime, parseTime } from "../gotime.js";
import { loadLocation } from "../tz.js";
import { type FuncDef, FuncError, isTrue } from "./builtins.js";
import {
  compareKeys,
  formatFloat,
  GoObject,
  GoTime,
  goFormatValue,
  goKind,
  goQuoteString,
  goTypeName,
  Int64,
  intValue,
  isMap,
  sortedKeys,
  sprintf,
  tagType,
} from "./format.js";

type Dict = Record<string, unknown>;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const wrap64 = (v: bigint): bigint => BigInt.asIntN(64, v);
/** Cap on strings and lists built by functions (repeat, indent, until…). */
const MAX_BUILD = 4 * 1024 * 1024;

const bigMax = (a: bigint, b: bigint): bigint => (a >= b ? a : b);
const bigMin = (a: bigint, b: bigint): bigint => (a <= b ? a : b);

/** Lines after the first (newlines) in `s`. */
function lineCount(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

function checkSize(n: number): void {
  if (n > MAX_BUILD) throw new FuncError(`result too large (${n} > ${MAX_BUILD})`);
  chargeBudget(n);
}

function setKey(d: Dict, k: string, v: unknown): void {
  if (k === "__proto__")
    Object.defineProperty(d, k, { value: v, enumerable: true, writable: true, configurable: true });
  else d[k] = v;
}

function newDict(): Dict {
  return {};
}

const NIL_PANIC = "runtime error: invalid memory address or nil pointer dereference";

// ---------------------------------------------------------------------------------------------
// cast / strval

/** strconv.ParseInt(s, 0, 64). */
export function parseIntBase0(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  let body = m[2]!;
  const hasPrefix = /^0[xXoObB]/.test(body);
  if (body.includes("_")) {
    if (!hasPrefix && !(body.length > 1 && body[0] === "0")) return undefined;
    if (/__|_$/.test(body)) return undefined;
    body = body.replace(/_/g, "");
  }
  let v: bigint;
  if (hasPrefix) v = BigInt(body.toLowerCase());
  else if (body.length > 1 && body[0] === "0") v = BigInt(`0o${body.slice(1)}`);
  else v = BigInt(body);
  if (m[1] === "-") v = -v;
  if (v < INT64_MIN || v > INT64_MAX) return undefined;
  return v;
}

function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === ".") {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === "0") foundZero = true;
    else return s;
  }
  return s;
}

function floatToInt64(f: number): bigint {
  if (!Number.isFinite(f) || f >= 2 ** 63 || f < -(2 ** 63)) return INT64_MIN;
  return BigInt(Math.trunc(f));
}

/** cast.ToInt64 (errors give 0). */
export function toInt64(v: unknown): bigint {
  const i = intValue(v);
  if (i !== undefined) return i;
  switch (typeof v) {
    case "number":
      return floatToInt64(v);
    case "string":
      return parseIntBase0(trimZeroDecimal(v)) ?? 0n;
    case "boolean":
      return v ? 1n : 0n;
  }
  return 0n;
}

/** strconv.ParseFloat(s, 64). */
export function parseGoFloat(s: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s[0] === "-" ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return Number.NaN;
  if (/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(s)) return Number(s);
  const h = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(s);
  if (h && (h[2] || h[3])) {
    const mant = Number.parseInt(`${h[2] || "0"}${h[3] ?? ""}`, 16);
    return mant * 2 ** (Number(h[4]) - 4 * (h[3]?.length ?? 0)) * (h[1] === "-" ? -1 : 1);
  }
  return undefined;
}

/** cast.ToFloat64 (errors give 0). */
export function toFloat64(v: unknown): number {
  const i = intValue(v);
  if (i !== undefined) return Number(i);
  switch (typeof v) {
    case "number":
      return v;
    case "string":
      return parseGoFloat(v) ?? 0;
    case "boolean":
      return v ? 1 : 0;
  }
  return 0;
}

/** sprig's strval: strings as-is, Stringers via String(), everything else fmt %v. */
export function strval(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof SemVer) return v.toString();
  return goFormatValue(v);
}

function strslice(v: unknown): string[] {
  if (Array.isArray(v)) {
    const isStrings = goTypeName(v) === "[]string";
    const out: string[] = [];
    for (const e of v) {
      if (e === null && !isStrings) continue;
      out.push(strval(e));
    }
    return tagType(out, "[]string");
  }
  if (v === null || v === undefined) return tagType([], "[]string");
  return tagType([strval(v)], "[]string");
}

/** sprig's `empty`. */
export function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (v instanceof GoTime || v instanceof GoObject) return false;
  return !isTrue(v);
}

// ---------------------------------------------------------------------------------------------
// reflect.DeepEqual

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (goTypeName(a) !== goTypeName(b)) return false;
  if (a === null || b === null) return a === b;
  if (typeof a !== "object") return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (a instanceof Int64) return a.v === (b as Int64).v;
  if (a instanceof GoTime) {
    const t = b as GoTime;
    return a.sec === t.sec && a.nsec === t.nsec && a.offset === t.offset && a.zone === t.zone;
  }
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const am = a as Dict;
  const bm = b as Dict;
  const ak = Object.keys(am);
  if (ak.length !== Object.keys(bm).length) return false;
  return ak.every((k) => Object.hasOwn(bm, k) && deepEqual(am[k], bm[k]));
}

// ---------------------------------------------------------------------------------------------
// JSON (encoding/json)

class JsonError extends Error {}

function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || (escapeHTML && (ch === "<" || ch === ">" || ch === "&"))) {
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    } else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd";
    else out += ch;
  }
  return `${out}"`;
}

function jsonNumber(x: number): string {
  if (!Number.isFinite(x))
    throw new JsonError(`json: unsupported value: ${formatFloat(x, "g", -1)}`);
  if (Object.is(x, -0)) return "-0";
  return String(x);
}

/** encoding/json Marshal / MarshalIndent(v, "", indent). */
export function goJson(v: unknown, escapeHTML: boolean, indent = "", prefix = ""): string {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "string":
      return jsonString(v, escapeHTML);
    case "number":
      return jsonNumber(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return String(v);
  }
  if (v instanceof Int64) return v.v.toString();
  if (v instanceof GoTime) {
    return jsonString(formatTime(v, "2006-01-02T15:04:05.999999999Z07:00"), escapeHTML);
  }
  if (v instanceof SemVer) return jsonString(v.toString(), escapeHTML);
  const inner = prefix + indent;
  const nl = indent ? `\n${inner}` : "";
  const close = indent ? `\n${prefix}` : "";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[${nl}${v.map((e) => goJson(e, escapeHTML, indent, inner)).join(`,${nl}`)}${close}]`;
  }
  const m = v as Dict;
  const keys = sortedKeys(m);
  if (keys.length === 0) return "{}";
  const sep = indent ? ": " : ":";
  return `{${nl}${keys
    .map((k) => `${jsonString(k, escapeHTML)}${sep}${goJson(m[k], escapeHTML, indent, inner)}`)
    .join(`,${nl}`)}${close}}`;
}

function fromJsonText(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch (err) {
    if (s.trim() === "") throw new FuncError("unexpected end of JSON input");
    throw new FuncError(err instanceof Error ? err.message : String(err));
  }
}

// ---------------------------------------------------------------------------------------------
// Encodings

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_MAP = new Map([...B64].map((c, i) => [c.charCodeAt(0), i]));

/** base64.StdEncoding.DecodeString, with Go's CorruptInputError offsets. */
export function goBase64Decode(s: string): { bytes: number[]; error?: string } {
  const src =
    Buffer.from(s, "latin1").length === s.length
      ? Buffer.from(s, "latin1")
      : Buffer.from(s, "utf8");
  const out: number[] = [];
  let si = 0;
  const corrupt = (at: number) => ({
    bytes: out,
    error: `illegal base64 data at input byte ${at}`,
  });
  const isNL = (b: number | undefined) => b === 10 || b === 13;
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let trailingErr: number | undefined;
    let j = 0;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return { bytes: out };
        return corrupt(si - j);
      }
      const inb = src[si]!;
      si++;
      const val = B64_MAP.get(inb);
      if (val !== undefined) {
        dbuf[j] = val;
        continue;
      }
      if (isNL(inb)) {
        j--;
        continue;
      }
      if (inb !== 61) return corrupt(si - 1);
      // Padding.
      if (j === 0 || j === 1) return corrupt(si - 1);
      if (j === 2) {
        while (si < src.length && isNL(src[si])) si++;
        if (si === src.length) return corrupt(src.length);
        if (src[si] !== 61) return corrupt(si - 1);
        si++;
      }
      while (si < src.length && isNL(src[si])) si++;
      if (si < src.length) trailingErr = si;
      dlen = j;
      break;
    }
    const v = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    const b = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
    for (let k = 0; k < dlen - 1; k++) out.push(b[k]!);
    if (trailingErr !== undefined) return corrupt(trailingErr);
  }
  return { bytes: out };
}

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32Encode(s: string): string {
  const bytes = Buffer.from(s, "utf8");
  let out = "";
  for (let i = 0; i < bytes.length; i += 5) {
    const chunk = [...bytes.subarray(i, i + 5)];
    const n = chunk.length;
    while (chunk.length < 5) chunk.push(0);
    let bits = 0n;
    for (const b of chunk) bits = (bits << 8n) | BigInt(b);
    const chars = Math.ceil((n * 8) / 5);
    for (let k = 0; k < 8; k++) {
      out += k < chars ? B32[Number((bits >> BigInt(35 - 5 * k)) & 31n)] : "=";
    }
  }
  return out;
}

function base32Decode(s: string): string {
  const clean: { c: string; at: number }[] = [];
  for (let i = 0; i < s.length; i++)
    if (s[i] !== "\n" && s[i] !== "\r") clean.push({ c: s[i]!, at: i });
  const err = (at: number) => `illegal base32 data at input byte ${at}`;
  if (clean.length % 8 !== 0)
    return err(
      clean.length === 0 ? 0 : s.length - (clean.length % 8) + (clean.length % 8 === 0 ? 0 : 0),
    );
  const out: number[] = [];
  for (let i = 0; i < clean.length; i += 8) {
    const q = clean.slice(i, i + 8);
    let pad = 0;
    let bits = 0n;
    for (let k = 0; k < 8; k++) {
      const { c, at } = q[k]!;
      if (c === "=") {
        if (i + 8 !== clean.length) return err(at);
        pad = 8 - k;
        if (!q.slice(k).every((x) => x.c === "=")) return err(at);
        if (![1, 3, 4, 6].includes(pad)) return err(at);
        bits <<= BigInt(5 * (8 - k));
        break;
      }
      const v = B32.indexOf(c);
      if (v < 0) return err(at);
      bits = (bits << 5n) | BigInt(v);
    }
    const nbytes = { 0: 5, 1: 4, 3: 3, 4: 2, 6: 1 }[pad as 0 | 1 | 3 | 4 | 6];
    for (let k = 0; k < nbytes; k++) out.push(Number((bits >> BigInt(32 - 8 * k)) & 0xffn));
  }
  return Buffer.from(out).toString("utf8");
}

function adler32(s: string): number {
  let a = 1;
  let b = 0;
  for (const byte of Buffer.from(s, "utf8")) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Regular expressions: Go's regexp on RE2 (lib/re2.ts), linear in the input for every pattern

/** Compiles a Go (RE2) pattern; returns it, or Go's `error parsing regexp: ...` text. */
export function compileGoRegex(pattern: string): GoRegexp | string {
  try {
    return compileGoRegexp(pattern);
  } catch (err) {
    if (isBudgetExceeded(err)) throw err;
    return (err as Error).message;
  }
}

/** regexp.MustCompile as sprig's non-must functions call it: a bad pattern fails the template. */
function mustRegex(pattern: string): GoRegexp {
  const re = compileGoRegex(pattern);
  if (typeof re === "string")
    throw new FuncError(`regexp: Compile(${goQuoteString(pattern)}): ${re}`);
  return re;
}

function checkedBuild<T extends string | string[]>(out: T): T {
  if (out.length > MAX_BUILD) throw new FuncError("result too large");
  return out;
}

// ---------------------------------------------------------------------------------------------
// Strings

function goSplit(s: string, sep: string, n = -1): string[] {
  if (n === 0) return [];
  if (sep === "") {
    const chars = [...s];
    if (n > 0 && chars.length > n) return [...chars.slice(0, n - 1), chars.slice(n - 1).join("")];
    return chars;
  }
  const parts = s.split(sep);
  if (n > 0 && parts.length > n) return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
  return parts;
}

function goTrimCutset(s: string, cutset: string): string {
  const set = new Set(cutset);
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  while (a < b && set.has(chars[a]!)) a++;
  while (b > a && set.has(chars[b - 1]!)) b--;
  return chars.slice(a, b).join("");
}

const IS_SPACE = /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/;

/**
 * strings.TrimSpace, in one pass from each end (a `[space]+$` regex rescans the run of spaces from
 * every start position: quadratic on a long run of spaces inside the text).
 */
function goTrimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && IS_SPACE.test(s[a]!)) a++;
  while (b > a && IS_SPACE.test(s[b - 1]!)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function byteSlice(s: string, start: number, end?: number): string {
  const b = Buffer.from(s, "utf8");
  const e = end ?? b.length;
  if (start < 0 || e > b.length || start > e) {
    throw new FuncError(`runtime error: slice bounds out of range [${start}:${e}]`);
  }
  return b.subarray(start, e).toString("utf8");
}

function isTitleSeparator(ch: string): boolean {
  if (ch.charCodeAt(0) <= 0x7f) return !/[0-9A-Za-z_]/.test(ch);
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return IS_SPACE.test(ch);
}

/** strings.Title: upper-case the first letter of each word. */
function goTitle(s: string): string {
  let prev = " ";
  let out = "";
  for (const ch of s) {
    out += isTitleSeparator(prev) ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function wrapText(str: string, width: number): string {
  if (str === "") return "";
  if (width < 1) width = 1;
  let offset = 0;
  let out = "";
  const n = str.length;
  while (n - offset > width) {
    if (str[offset] === " ") {
      offset++;
      continue;
    }
    const end = Math.min(width + offset + 1, n);
    const lastSpace = str.slice(offset, end).lastIndexOf(" ");
    if (lastSpace >= 0) {
      out += `${str.slice(offset, offset + lastSpace)}\n`;
      offset = offset + lastSpace + 1;
    } else {
      const idx = str.indexOf(" ", width + offset);
      if (idx < 0) {
        out += str.slice(offset);
        offset = n;
      } else {
        out += `${str.slice(offset, idx)}\n`;
        offset = idx + 1;
      }
    }
  }
  return out + str.slice(offset);
}

function isConnector(c: string): boolean {
  return c === "-" || c === "_" || IS_SPACE.test(c);
}

function camelCase(s: string): string {
  const chars = [...s];
  let out = "";
  let i = 0;
  while (i < chars.length && isConnector(chars[i]!)) out += chars[i++];
  let upperNext = true;
  for (; i < chars.length; i++) {
    const c = chars[i]!;
    if (isConnector(c)) {
      if (i + 1 < chars.length && isConnector(chars[i + 1]!)) out += c;
      upperNext = true;
      continue;
    }
    out += upperNext ? c.toUpperCase() : c;
    upperNext = false;
  }
  return out;
}

function delimitedCase(s: string, delim: string): string {
  const words = s
    .replace(/([\p{Ll}\p{Nd}])(\p{Lu})/gu, "$1 $2")
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, "$1 $2")
    .split(/[\s_\-.]+/u)
    .filter((w) => w !== "");
  return words.map((w) => w.toLowerCase()).join(delim);
}

function initials(s: string): string {
  let out = "";
  let atStart = true;
  for (const ch of s) {
    if (IS_SPACE.test(ch)) atStart = true;
    else if (atStart) {
      out += ch;
      atStart = false;
    }
  }
  return out;
}

function randomFrom(alphabet: string, count: bigint): string {
  if (count < 0n) throw new FuncError("runtime error: makeslice: len out of range");
  checkSize(Number(count));
  const n = Number(count);
  const bytes = randomBytes(n * 2);
  let out = "";
  for (let i = 0; i < n; i++) out += alphabet[bytes.readUInt16BE(i * 2) % alphabet.length];
  return out;
}

/** os.Getenv over the template environment: own variables only ("" when unset). */
function envLookup(env: Record<string, string | undefined>, name: string): string {
  return Object.hasOwn(env, name) ? (env[name] ?? "") : "";
}

function expandEnv(s: string, env: Record<string, string | undefined>): string {
  const special = (c: string | undefined) => c !== undefined && /[*#$@!?\-0-9]/.test(c);
  let out = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c !== "$" || i + 1 >= s.length) {
      out += c;
      i++;
      continue;
    }
    const rest = s.slice(i + 1);
    let name = "";
    let w = 0;
    if (rest[0] === "{") {
      if (rest.length > 2 && special(rest[1]) && rest[2] === "}") {
        name = rest[1]!;
        w = 3;
      } else {
        const close = rest.indexOf("}");
        if (close < 0) w = 1;
        else if (close === 1) w = 2;
        else {
          name = rest.slice(1, close);
          w = close + 1;
        }
      }
    } else if (special(rest[0])) {
      name = rest[0]!;
      w = 1;
    } else {
      const m = /^[A-Za-z0-9_]*/.exec(rest)!;
      name = m[0];
      w = name.length;
    }
    if (name === "" && w > 0) {
      // invalid syntax: eaten
    } else if (name === "") out += "$";
    else out += envLookup(env, name);
    i += 1 + w;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lists

function kindName(v: unknown): string {
  return goKind(v);
}

function listOf(v: unknown, fn: string): unknown[] {
  if (v === null || v === undefined) throw new FuncError(NIL_PANIC);
  if (!Array.isArray(v)) throw new FuncError(`Cannot find ${fn} on type ${kindName(v)}`);
  return v;
}

function toIntIndex(v: unknown): number {
  return Number(toInt64(v));
}

function mergeInto(dst: Dict, src: Dict, overwrite: boolean): void {
  for (const k of Object.keys(src)) {
    const sv = src[k];
    const dv = dst[k];
    if (isMap(dv) && isMap(sv)) mergeInto(dv, sv, overwrite);
    else if (!Object.hasOwn(dst, k) || isEmpty(dv) || (overwrite && !isEmpty(sv)))
      setKey(dst, k, sv);
  }
}

// ---------------------------------------------------------------------------------------------
// Semantic versions (Masterminds/semver v3 subset)

export class SemVer extends GoObject {
  readonly goType = "*semver.Version";
  constructor(
    readonly major: bigint,
    readonly minor: bigint,
    readonly patch: bigint,
    readonly pre: string,
    readonly meta: string,
    readonly original: string,
  ) {
    super();
  }

  static parse(s: string): SemVer | undefined {
    const m =
      /^v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/.exec(
        s,
      );
    if (!m) return undefined;
    return new SemVer(
      BigInt(m[1]!),
      BigInt(m[2] ?? 0),
      BigInt(m[3] ?? 0),
      m[4] ?? "",
      m[5] ?? "",
      s,
    );
  }

  toString(): string {
    let s = `${this.major}.${this.minor}.${this.patch}`;
    if (this.pre) s += `-${this.pre}`;
    if (this.meta) s += `+${this.meta}`;
    return s;
  }

  compare(o: SemVer): number {
    for (const [a, b] of [
      [this.major, o.major],
      [this.minor, o.minor],
      [this.patch, o.patch],
    ] as const) {
      if (a !== b) return a < b ? -1 : 1;
    }
    if (this.pre === o.pre) return 0;
    if (this.pre === "") return 1;
    if (o.pre === "") return -1;
    const ap = this.pre.split(".");
    const bp = o.pre.split(".");
    for (let i = 0; i < Math.max(ap.length, bp.length); i++) {
      const x = ap[i];
      const y = bp[i];
      if (x === undefined) return -1;
      if (y === undefined) return 1;
      if (x === y) continue;
      const xn = /^[0-9]+$/.test(x);
      const yn = /^[0-9]+$/.test(y);
      if (xn && yn) return BigInt(x) < BigInt(y) ? -1 : 1;
      if (xn) return -1;
      if (yn) return 1;
      return x < y ? -1 : 1;
    }
    return 0;
  }

  /** Methods reachable from templates: `(semver "1.2.3").Major`. */
  method(name: string): unknown {
    switch (name) {
      case "Major":
        return this.major;
      case "Minor":
        return this.minor;
      case "Patch":
        return this.patch;
      case "Prerelease":
        return this.pre;
      case "Metadata":
        return this.meta;
      case "Original":
        return this.original;
      case "String":
        return this.toString();
      default:
        return undefined;
    }
  }
}

function constraintMatches(constraint: string, v: SemVer): boolean {
  const groups = constraint.split("||");
  for (const group of groups) {
    const g = group.trim().replace(/\s+-\s+/g, " - ");
    const hy = /^(\S+) - (\S+)$/.exec(g);
    const parts = hy
      ? [`>=${hy[1]}`, `<=${hy[2]}`]
      : g
          .replace(/(>=|<=|=>|=<|!=|>|<|=|~>|~|\^)\s+/g, "$1")
          .split(/[\s,]+/)
          .filter((p) => p !== "");
    if (parts.length === 0) throw new FuncError(`improper constraint: ${constraint}`);
    if (parts.every((p) => checkOne(p, v, constraint))) return true;
  }
  return false;
}

function checkOne(part: string, v: SemVer, all: string): boolean {
  const m =
    /^(>=|<=|=>|=<|!=|>|<|=|~>|~|\^)?v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(
      part,
    );
  if (!m) throw new FuncError(`improper constraint: ${all}`);
  const op = m[1] ?? "=";
  const isX = (s: string | undefined) => s === undefined || /^[xX*]$/.test(s);
  const major = isX(m[2]) ? undefined : BigInt(m[2]!);
  const minor = major === undefined || isX(m[3]) ? undefined : BigInt(m[3]!);
  const patch = minor === undefined || isX(m[4]) ? undefined : BigInt(m[4]!);
  const pre = m[5] ?? "";
  const c = new SemVer(major ?? 0n, minor ?? 0n, patch ?? 0n, pre, "", part);
  // A pre-release version only satisfies constraints that carry a pre-release themselves.
  if (v.pre !== "" && pre === "") return false;
  const cmp = v.compare(c);
  const upper = (level: "major" | "minor" | "patch"): SemVer =>
    level === "major"
      ? new SemVer(c.major + 1n, 0n, 0n, "", "", "")
      : level === "minor"
        ? new SemVer(c.major, c.minor + 1n, 0n, "", "", "")
        : new SemVer(c.major, c.minor, c.patch + 1n, "", "", "");
  const wild =
    major === undefined
      ? "all"
      : minor === undefined
        ? "major"
        : patch === undefined
          ? "minor"
          : "none";
  switch (op) {
    case "=":
      if (wild === "all") return true;
      if (wild === "none") return cmp === 0;
      return cmp >= 0 && v.compare(upper(wild)) < 0;
    case "!=":
      if (wild === "all") return false;
      if (wild === "none") return cmp !== 0;
      return !(cmp >= 0 && v.compare(upper(wild)) < 0);
    case ">":
      if (wild === "all") return false;
      if (wild === "none") return cmp > 0;
      return v.compare(upper(wild)) >= 0;
    case ">=":
    case "=>":
      return cmp >= 0;
    case "<":
      return cmp < 0;
    case "<=":
    case "=<":
      if (wild === "none" || wild === "all") return wild === "all" || cmp <= 0;
      return v.compare(upper(wild)) < 0;
    case "~":
    case "~>":
      if (wild === "all") return true;
      return cmp >= 0 && v.compare(upper(wild === "major" ? "major" : "minor")) < 0;
    default: {
      // ^
      if (wild === "all") return true;
      if (cmp < 0) return false;
      if (c.major > 0n || wild === "major") return v.compare(upper("major")) < 0;
      if (c.minor > 0n || wild === "minor") return v.compare(upper("minor")) < 0;
      return v.compare(upper("patch")) < 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dates

function toGoTime(d: unknown, now: () => Date): GoTime {
  if (d instanceof GoTime) return d;
  const i = intValue(d);
  if (i !== undefined) return GoTime.unix(Number(i));
  return GoTime.fromDate(now());
}

function inZone(t: GoTime, zone: string): GoTime {
  return t.in(loadLocation(zone) ?? "UTC");
}

// ---------------------------------------------------------------------------------------------

const S = "string" as const;
const A = "any" as const;
const I = "int" as const;
const M = "map" as const;

function def(
  params: FuncDef["params"],
  fn: FuncDef["fn"],
  variadic?: FuncDef["variadic"],
): FuncDef {
  return variadic ? { params, variadic, fn } : { params, fn };
}

const str = (v: unknown) => v as string;
const num = (v: unknown) => Number(v as bigint);

export const SPRIG: Record<string, FuncDef> = {
  hello: def([], () => "Hello!"),
  // Dates
  now: def([], (_a, ctx) => GoTime.fromDate(ctx.now())),
  date: def([S, A], ([f, d], ctx) => formatTime(inZone(toGoTime(d, ctx.now), "Local"), str(f))),
  dateInZone: def([S, A, S], ([f, d, z], ctx) =>
    formatTime(inZone(toGoTime(d, ctx.now), str(z)), str(f)),
  ),
  date_in_zone: def([S, A, S], ([f, d, z], ctx) =>
    formatTime(inZone(toGoTime(d, ctx.now), str(z)), str(f)),
  ),
  htmlDate: def([A], ([d], ctx) => formatTime(inZone(toGoTime(d, ctx.now), "Local"), "2006-01-02")),
  htmlDateInZone: def([A, S], ([d, z], ctx) =>
    formatTime(inZone(toGoTime(d, ctx.now), str(z)), "2006-01-02"),
  ),
  dateModify: def([S, "time"], ([f, d]) => {
    const ns = parseDuration(str(f));
    return ns === undefined ? d : (d as GoTime).add(ns);
  }),
  date_modify: def([S, "time"], ([f, d]) => {
    const ns = parseDuration(str(f));
    return ns === undefined ? d : (d as GoTime).add(ns);
  }),
  mustDateModify: def([S, "time"], ([f, d]) => {
    const ns = parseDuration(str(f));
    if (ns === undefined) throw new FuncError(`time: invalid duration ${goQuoteString(str(f))}`);
    return (d as GoTime).add(ns);
  }),
  toDate: def([S, S], ([f, s]) => parseTime(str(f), str(s)) ?? GoTime.zero()),
  mustToDate: def([S, S], ([f, s]) => {
    const t = parseTime(str(f), str(s));
    if (!t) {
      throw new FuncError(
        `parsing time ${goQuoteString(str(s))} as ${goQuoteString(str(f))}: cannot parse`,
      );
    }
    return t;
  }),
  unixEpoch: def(["time"], ([d]) => String((d as GoTime).sec)),
  ago: def([A], ([d], ctx) => {
    const t =
      d instanceof GoTime
        ? d
        : intValue(d) !== undefined
          ? GoTime.unix(Number(intValue(d)))
          : GoTime.fromDate(ctx.now());
    const diff = GoTime.fromDate(ctx.now()).unixNanos() - t.unixNanos();
    const s = 1_000_000_000n;
    const half = s / 2n;
    const r = diff >= 0n ? ((diff + half) / s) * s : -((-diff + half) / s) * s;
    return formatGoDurationNanos(r);
  }),
  duration: def([A], ([v]) => {
    let n = 0n;
    if (typeof v === "string") n = /^[+-]?[0-9]+$/.test(v) ? BigInt(v) : 0n;
    else if (v instanceof Int64) n = v.v;
    return formatGoDurationNanos(wrap64(n * 1_000_000_000n));
  }),
  // Strings
  abbrev: def([I, S], ([w, s]) => {
    const width = num(w);
    const b = Buffer.from(str(s), "utf8");
    if (width < 4 || b.length <= width) return s;
    return `${b.subarray(0, width - 3).toString("utf8")}...`;
  }),
  trunc: def([I, S], ([c, s]) => {
    const n = num(c);
    const b = Buffer.from(str(s), "utf8");
    if (n < 0 && b.length + n > 0) return b.subarray(b.length + n).toString("utf8");
    if (n >= 0 && b.length > n) return b.subarray(0, n).toString("utf8");
    return s;
  }),
  trim: def([S], ([s]) => goTrimSpace(str(s))),
  upper: def([S], ([s]) => str(s).toUpperCase()),
  lower: def([S], ([s]) => str(s).toLowerCase()),
  title: def([S], ([s]) => goTitle(str(s))),
  untitle: def([S], ([s]) =>
    str(s).replace(/(^|\s)(\S)/gu, (_m, sp: string, c: string) => sp + c.toLowerCase()),
  ),
  substr: def([I, I, S], ([a, b, s]) => {
    const start = num(a);
    const end = num(b);
    const len = Buffer.byteLength(str(s), "utf8");
    if (start < 0) return byteSlice(str(s), 0, end);
    if (end < 0 || end > len) return byteSlice(str(s), start);
    return byteSlice(str(s), start, end);
  }),
  repeat: def([I, S], ([c, s]) => {
    const n = num(c);
    if (n < 0) throw new FuncError("strings: negative Repeat count");
    checkSize(n * str(s).length);
    return str(s).repeat(n);
  }),
  trimall: def([S, S], ([a, b]) => goTrimCutset(str(b), str(a))),
  trimAll: def([S, S], ([a, b]) => goTrimCutset(str(b), str(a))),
  trimSuffix: def([S, S], ([a, b]) =>
    str(a) !== "" && str(b).endsWith(str(a)) ? str(b).slice(0, -str(a).length) : b,
  ),
  trimPrefix: def([S, S], ([a, b]) =>
    str(b).startsWith(str(a)) ? str(b).slice(str(a).length) : b,
  ),
  nospace: def([S], ([s]) => str(s).replace(new RegExp(IS_SPACE.source, "g"), "")),
  initials: def([S], ([s]) => initials(str(s))),
  randAlphaNum: def([I], ([n]) =>
    randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n as bigint),
  ),
  randAlpha: def([I], ([n]) =>
    randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", n as bigint),
  ),
  randNumeric: def([I], ([n]) => randomFrom("0123456789", n as bigint)),
  randAscii: def([I], ([n]) =>
    randomFrom(
      " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
      n as bigint,
    ),
  ),
  swapcase: def([S], ([s]) =>
    [...str(s)].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(""),
  ),
  snakecase: def([S], ([s]) => delimitedCase(str(s), "_")),
  camelcase: def([S], ([s]) => camelCase(str(s))),
  kebabcase: def([S], ([s]) => delimitedCase(str(s), "-")),
  wrap: def([I, S], ([l, s]) => wrapText(str(s), num(l))),
  contains: def([S, S], ([a, b]) => str(b).includes(str(a))),
  hasPrefix: def([S, S], ([a, b]) => str(b).startsWith(str(a))),
  hasSuffix: def([S, S], ([a, b]) => str(b).endsWith(str(a))),
  quote: def(
    [],
    (a) =>
      a
        .filter((x) => x !== null)
        .map((x) => goQuoteString(strval(x)))
        .join(" "),
    A,
  ),
  squote: def(
    [],
    (a) =>
      a
        .filter((x) => x !== null)
        .map((x) => `'${strval(x)}'`)
        .join(" "),
    A,
  ),
  cat: def(
    [],
    (a) => {
      const vals = a.filter((x) => x !== null);
      return sprintf(vals.map(() => "%v").join(" "), vals);
    },
    A,
  ),
  indent: def([I, S], ([n, s]) => {
    const width = Math.max(0, Math.min(num(n), MAX_BUILD));
    checkSize(width * (lineCount(str(s)) + 1) + str(s).length);
    const pad = " ".repeat(width);
    const out = pad + str(s).split("\n").join(`\n${pad}`);
    checkSize(out.length);
    return out;
  }),
  nindent: def([I, S], ([n, s]) => {
    const width = Math.max(0, Math.min(num(n), MAX_BUILD));
    checkSize(width * (lineCount(str(s)) + 1) + str(s).length);
    const pad = " ".repeat(width);
    const out = `\n${pad}${str(s).split("\n").join(`\n${pad}`)}`;
    checkSize(out.length);
    return out;
  }),
  replace: def([S, S, S], ([o, n, s]) => {
    if (str(o) === "") {
      // strings.Replace with empty old inserts `new` around every rune.
      const chars = [...str(s)];
      return str(n) + chars.map((c) => c + str(n)).join("");
    }
    return str(s).split(str(o)).join(str(n));
  }),
  plural: def([S, S, I], ([one, many, n]) => (n === 1n ? one : many)),
  sha1sum: def([S], ([s]) => createHash("sha1").update(str(s), "utf8").digest("hex")),
  sha256sum: def([S], ([s]) => createHash("sha256").update(str(s), "utf8").digest("hex")),
  adler32sum: def([S], ([s]) => String(adler32(str(s)))),
  toString: def([A], ([v]) => strval(v)),
  // Conversions
  atoi: def([S], ([s]) => {
    const m = /^[+-]?[0-9]+$/.exec(str(s));
    if (!m) return 0n;
    const v = BigInt(m[0]);
    return v < INT64_MIN || v > INT64_MAX ? 0n : v;
  }),
  int64: def([A], ([v]) => new Int64(toInt64(v))),
  int: def([A], ([v]) => toInt64(v)),
  float64: def([A], ([v]) => toFloat64(v)),
  toDecimal: def([A], ([v]) => {
    const s = goFormatValue(v);
    const m = /^([+-]?)([0-7_]+)$/.exec(s);
    if (!m || /^_|_$|__/.test(m[2]!)) return new Int64(0n);
    const r = BigInt(`0o${m[2]!.replace(/_/g, "")}`) * (m[1] === "-" ? -1n : 1n);
    return new Int64(r < INT64_MIN || r > INT64_MAX ? 0n : r);
  }),
  split: def([S, S], ([sep, s]) => {
    const d = tagType(newDict(), "map[string]string");
    goSplit(str(s), str(sep)).forEach((p, i) => {
      setKey(d, `_${i}`, p);
    });
    return d;
  }),
  splitList: def([S, S], ([sep, s]) => tagType(goSplit(str(s), str(sep)), "[]string")),
  splitn: def([S, I, S], ([sep, n, s]) => {
    const d = tagType(newDict(), "map[string]string");
    goSplit(str(s), str(sep), num(n)).forEach((p, i) => {
      setKey(d, `_${i}`, p);
    });
    return d;
  }),
  toStrings: def([A], ([v]) => strslice(v)),
  until: def([I], ([c]) => {
    const n = num(c);
    checkSize(Math.abs(n));
    const step = n < 0 ? -1 : 1;
    const out: bigint[] = [];
    for (let i = 0; step > 0 ? i < n : i > n; i += step) out.push(BigInt(i));
    return tagType(out, "[]int");
  }),
  untilStep: def([I, I, I], ([a, b, c]) => {
    const start = num(a);
    const stop = num(b);
    const step = num(c);
    const out: bigint[] = [];
    if (step === 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop)) {
      return tagType(out, "[]int");
    }
    checkSize(Math.abs((stop - start) / step));
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(BigInt(i));
    return tagType(out, "[]int");
  }),
  // Math
  add1: def([A], ([v]) => new Int64(wrap64(toInt64(v) + 1n))),
  add: def([], (a) => new Int64(wrap64(a.reduce<bigint>((s, v) => s + toInt64(v), 0n))), A),
  sub: def([A, A], ([a, b]) => new Int64(wrap64(toInt64(a) - toInt64(b)))),
  div: def([A, A], ([a, b]) => {
    const d = toInt64(b);
    if (d === 0n) throw new FuncError("runtime error: integer divide by zero");
    return new Int64(wrap64(toInt64(a) / d));
  }),
  mod: def([A, A], ([a, b]) => {
    const d = toInt64(b);
    if (d === 0n) throw new FuncError("runtime error: integer divide by zero");
    return new Int64(toInt64(a) % d);
  }),
  mul: def(
    [A],
    ([a, ...rest]) => new Int64(rest.reduce<bigint>((p, v) => wrap64(p * toInt64(v)), toInt64(a))),
    A,
  ),
  randInt: def([I, I], ([a, b]) => {
    const span = (b as bigint) - (a as bigint);
    if (span <= 0n) throw new FuncError("invalid argument to Intn");
    return (a as bigint) + BigInt(Math.floor(Math.random() * Number(span)));
  }),
  max: def([A], ([a, ...rest]) => new Int64(rest.map(toInt64).reduce(bigMax, toInt64(a))), A),
  biggest: def([A], ([a, ...rest]) => new Int64(rest.map(toInt64).reduce(bigMax, toInt64(a))), A),
  min: def([A], ([a, ...rest]) => new Int64(rest.map(toInt64).reduce(bigMin, toInt64(a))), A),
  maxf: def(
    [A],
    ([a, ...rest]) => rest.reduce<number>((m, v) => Math.max(m, toFloat64(v)), toFloat64(a)),
    A,
  ),
  minf: def(
    [A],
    ([a, ...rest]) => rest.reduce<number>((m, v) => Math.min(m, toFloat64(v)), toFloat64(a)),
    A,
  ),
  ceil: def([A], ([a]) => Math.ceil(toFloat64(a))),
  floor: def([A], ([a]) => Math.floor(toFloat64(a))),
  round: def(
    [A, I],
    ([a, p, ...opt]) => {
      const roundOn = opt.length > 0 ? (opt[0] as number) : 0.5;
      const pow = 10 ** num(p);
      const digit = pow * toFloat64(a);
      const frac = digit - Math.trunc(digit);
      return (frac >= roundOn ? Math.ceil(digit) : Math.floor(digit)) / pow;
    },
    "float64",
  ),
  join: def([S, A], ([sep, v]) => strslice(v).join(str(sep))),
  sortAlpha: def([A], ([v]) => {
    if (Array.isArray(v)) return tagType([...strslice(v)].sort(compareKeys), "[]string");
    return tagType([strval(v)], "[]string");
  }),
  // Defaults
  default: def([A], ([d, ...given]) => (given.length === 0 || isEmpty(given[0]) ? d : given[0]), A),
  empty: def([A], ([v]) => isEmpty(v)),
  coalesce: def([], (a) => a.find((v) => !isEmpty(v)) ?? null, A),
  all: def([], (a) => a.every((v) => !isEmpty(v)), A),
  any: def([], (a) => a.some((v) => !isEmpty(v)), A),
  compact: def([A], ([l]) => listOf(l, "compact").filter((v) => !isEmpty(v))),
  mustCompact: def([A], ([l]) => listOf(l, "compact").filter((v) => !isEmpty(v))),
  fromJson: def([S], ([s]) => {
    try {
      return fromJsonText(str(s));
    } catch {
      return null;
    }
  }),
  mustFromJson: def([S], ([s]) => fromJsonText(str(s))),
  toJson: def([A], ([v]) => {
    try {
      return goJson(v, true);
    } catch {
      return "";
    }
  }),
  mustToJson: def([A], ([v]) => goJson(v, true)),
  toPrettyJson: def([A], ([v]) => {
    try {
      return goJson(v, true, "  ");
    } catch {
      return "";
    }
  }),
  mustToPrettyJson: def([A], ([v]) => goJson(v, true, "  ")),
  toRawJson: def([A], ([v]) => {
    try {
      return goJson(v, false);
    } catch {
      return "";
    }
  }),
  mustToRawJson: def([A], ([v]) => goJson(v, false)),
  ternary: def([A, A, "bool"], ([t, f, c]) => (c ? t : f)),
  deepCopy: def([A], ([v]) => structuredCloneValue(v)),
  // Reflection
  typeOf: def([A], ([v]) => goTypeName(v)),
  typeIs: def([S, A], ([t, v]) => t === goTypeName(v)),
  typeIsLike: def([S, A], ([t, v]) => t === goTypeName(v) || t === `*${goTypeName(v)}`),
  kindOf: def([A], ([v]) => goKind(v)),
  kindIs: def([S, A], ([t, v]) => t === goKind(v)),
  deepEqual: def([A, A], ([a, b]) => deepEqual(a, b)),
  // OS
  env: def([S], ([k], ctx) => envLookup(ctx.env, str(k))),
  expandenv: def([S], ([s], ctx) => expandEnv(str(s), ctx.env)),
  // Paths
  base: def([S], ([p]) => {
    let s = str(p);
    if (s === "") return ".";
    s = s.replace(/\/+$/, "");
    if (s === "") return "/";
    return s.slice(s.lastIndexOf("/") + 1);
  }),
  ext: def([S], ([p]) => {
    const s = str(p);
    for (let i = s.length - 1; i >= 0 && s[i] !== "/"; i--) if (s[i] === ".") return s.slice(i);
    return "";
  }),
  isAbs: def([S], ([p]) => str(p).startsWith("/")),
  // Encoding
  b64enc: def([S], ([s]) => Buffer.from(str(s), "utf8").toString("base64")),
  b64dec: def([S], ([s]) => {
    const r = goBase64Decode(str(s));
    return r.error ?? Buffer.from(r.bytes).toString("utf8");
  }),
  b32enc: def([S], ([s]) => base32Encode(str(s))),
  b32dec: def([S], ([s]) => base32Decode(str(s))),
  // Lists
  list: def([], (a) => [...a], A),
  tuple: def([], (a) => [...a], A),
  dict: def(
    [],
    (a) => {
      const d = newDict();
      for (let i = 0; i < a.length; i += 2)
        setKey(d, strval(a[i]), i + 1 < a.length ? a[i + 1] : "");
      return d;
    },
    A,
  ),
  get: def([M, S], ([d, k]) => {
    const m = d as Dict | null;
    return m && Object.hasOwn(m, str(k)) ? m[str(k)] : "";
  }),
  set: def([M, S, A], ([d, k, v]) => {
    if (d === null) throw new FuncError("assignment to entry in nil map");
    setKey(d as Dict, str(k), v);
    return d;
  }),
  unset: def([M, S], ([d, k]) => {
    if (d !== null) delete (d as Dict)[str(k)];
    return d;
  }),
  hasKey: def([M, S], ([d, k]) => d !== null && Object.hasOwn(d as Dict, str(k))),
  pluck: def(
    [S],
    ([k, ...ds]) =>
      ds
        .filter((d) => d !== null && Object.hasOwn(d as Dict, str(k)))
        .map((d) => (d as Dict)[str(k)]),
    M,
  ),
  keys: def(
    [],
    (ds) =>
      tagType(
        ds.flatMap((d) => (d === null ? [] : sortedKeys(d as Dict))),
        "[]string",
      ),
    M,
  ),
  values: def([M], ([d]) => (d === null ? [] : sortedKeys(d as Dict).map((k) => (d as Dict)[k]))),
  pick: def(
    [M],
    ([d, ...ks]) => {
      const out = newDict();
      for (const k of ks)
        if (d !== null && Object.hasOwn(d as Dict, str(k)))
          setKey(out, str(k), (d as Dict)[str(k)]);
      return out;
    },
    S,
  ),
  omit: def(
    [M],
    ([d, ...ks]) => {
      const out = newDict();
      const skip = new Set(ks as string[]);
      if (d !== null)
        for (const k of Object.keys(d as Dict)) if (!skip.has(k)) setKey(out, k, (d as Dict)[k]);
      return out;
    },
    S,
  ),
  merge: def(
    [M],
    ([dst, ...srcs]) => {
      const d = (dst ?? newDict()) as Dict;
      for (const s of srcs) if (s !== null) mergeInto(d, s as Dict, false);
      return d;
    },
    M,
  ),
  mergeOverwrite: def(
    [M],
    ([dst, ...srcs]) => {
      const d = (dst ?? newDict()) as Dict;
      for (const s of srcs) if (s !== null) mergeInto(d, s as Dict, true);
      return d;
    },
    M,
  ),
  dig: def(
    [],
    (ps) => {
      if (ps.length < 3) throw new FuncError("dig needs at least three arguments");
      let dict = ps[ps.length - 1];
      const dflt = ps[ps.length - 2];
      const ks = ps.slice(0, -2);
      for (let i = 0; i < ks.length; i++) {
        const k = ks[i];
        if (typeof k !== "string") {
          throw new FuncError(`interface conversion: interface {} is ${goTypeName(k)}, not string`);
        }
        if (!isMap(dict)) {
          throw new FuncError(
            `interface conversion: interface {} is ${goTypeName(dict)}, not map[string]interface {}`,
          );
        }
        if (!Object.hasOwn(dict, k)) return dflt;
        if (i === ks.length - 1) return dict[k];
        dict = dict[k];
      }
      return dflt;
    },
    A,
  ),
  append: def([A, A], ([l, v]) => [...listOf(l, "push"), v]),
  push: def([A, A], ([l, v]) => [...listOf(l, "push"), v]),
  prepend: def([A, A], ([l, v]) => [v, ...listOf(l, "prepend")]),
  first: def([A], ([l]) => {
    const a = listOf(l, "first");
    return a.length === 0 ? null : a[0];
  }),
  last: def([A], ([l]) => {
    const a = listOf(l, "last");
    return a.length === 0 ? null : a[a.length - 1];
  }),
  rest: def([A], ([l]) => {
    const a = listOf(l, "rest");
    return a.length === 0 ? null : a.slice(1);
  }),
  initial: def([A], ([l]) => {
    const a = listOf(l, "initial");
    return a.length === 0 ? null : a.slice(0, -1);
  }),
  reverse: def([A], ([l]) => [...listOf(l, "reverse")].reverse()),
  uniq: def([A], ([l]) => {
    const out: unknown[] = [];
    for (const v of listOf(l, "uniq")) if (!out.some((o) => deepEqual(o, v))) out.push(v);
    return out;
  }),
  without: def(
    [A],
    ([l, ...omit]) => listOf(l, "without").filter((v) => !omit.some((o) => deepEqual(o, v))),
    A,
  ),
  has: def([A, A], ([needle, hay]) => {
    if (hay === null) return false;
    if (!Array.isArray(hay)) throw new FuncError(`Cannot find has on type ${kindName(hay)}`);
    return hay.some((v) => deepEqual(needle, v));
  }),
  slice: def(
    [A],
    ([l, ...idx]) => {
      if (l === null) throw new FuncError(NIL_PANIC);
      if (!Array.isArray(l)) {
        throw new FuncError(`list should be type of slice or array but ${kindName(l)}`);
      }
      if (l.length === 0) return null;
      const start = idx.length > 0 ? toIntIndex(idx[0]) : 0;
      const end = idx.length > 1 ? toIntIndex(idx[1]) : l.length;
      if (start < 0 || end > l.length || start > end) {
        throw new FuncError(`reflect: slice index out of range`);
      }
      return l.slice(start, end);
    },
    A,
  ),
  concat: def(
    [],
    (lists) => {
      const out: unknown[] = [];
      for (const l of lists) {
        if (!Array.isArray(l)) throw new FuncError(`Cannot concat type ${kindName(l)} as list`);
        out.push(...l);
      }
      return out;
    },
    A,
  ),
  chunk: def([I, A], ([size, l]) => {
    const a = listOf(l, "chunk");
    const n = num(size);
    if (n <= 0) throw new FuncError("runtime error: integer divide by zero");
    const out: unknown[][] = [];
    for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n));
    return out;
  }),
  // UUID / semver
  uuidv4: def([], () => randomUUID()),
  semver: def([S], ([s]) => {
    const v = SemVer.parse(str(s));
    if (!v) throw new FuncError("Invalid Semantic Version");
    return v;
  }),
  semverCompare: def([S, S], ([c, s]) => {
    const v = SemVer.parse(str(s));
    if (!v) throw new FuncError("Invalid Semantic Version");
    return constraintMatches(str(c), v);
  }),
  // Flow control
  fail: def([S], ([m]) => {
    throw new FuncError(str(m));
  }),
  // Regex
  regexMatch: def([S, S], ([r, s]) => {
    const re = compileGoRegex(str(r));
    if (typeof re === "string") return false;
    return re.matchString(str(s));
  }),
  mustRegexMatch: def([S, S], ([r, s]) => {
    const re = compileGoRegex(str(r));
    if (typeof re === "string") throw new FuncError(re);
    return re.matchString(str(s));
  }),
  regexFind: def([S, S], ([r, s]) => mustRegex(str(r)).findString(str(s))),
  regexFindAll: def([S, S, I], ([r, s, n]) =>
    tagType(checkedBuild(mustRegex(str(r)).findAllString(str(s), num(n))), "[]string"),
  ),
  regexReplaceAll: def([S, S, S], ([r, s, repl]) =>
    checkedBuild(mustRegex(str(r)).replaceAllString(str(s), str(repl))),
  ),
  regexReplaceAllLiteral: def([S, S, S], ([r, s, repl]) =>
    checkedBuild(mustRegex(str(r)).replaceAllLiteralString(str(s), str(repl))),
  ),
  regexSplit: def([S, S, I], ([r, s, n]) =>
    tagType(checkedBuild(mustRegex(str(r)).split(str(s), num(n))), "[]string"),
  ),
  regexQuoteMeta: def([S], ([s]) => goQuoteMeta(str(s))),
};

function structuredCloneValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(structuredCloneValue);
  if (isMap(v)) {
    const out = newDict();
    for (const k of Object.keys(v)) setKey(out, k, structuredCloneValue(v[k]));
    return out;
  }
  return v;
}
