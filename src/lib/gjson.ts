/**
 * gjson path GET over JSON text (github.com/tidwall/gjson semantics, which Argo Events uses for
 * every filter and parameter path). The scanner walks the text once and stops at the first match:
 * it never parses a whole document to answer a simple path, and it never throws on malformed JSON
 * or paths (a miss is `exists: false`).
 *
 * Offsets are UTF-16 code units of the input string; they are what sjson.ts uses to replace a
 * value in place.
 */

import { checkBudget, isBudgetExceeded } from "./budget.js";

export type GType = "String" | "Number" | "True" | "False" | "Null" | "JSON";

/** The value found at a path. */
export interface GResult {
  /** A key holding `null` exists; an absent key does not. */
  exists: boolean;
  /** "Null" when `!exists`. */
  type: GType;
  /** Raw JSON text of the value exactly as in the input (strings keep their quotes); "" when absent. */
  raw: string;
  /**
   * Argo's "text of a value": strings unquoted and unescaped, integers exactly as written, other
   * numbers in shortest plain decimal (`1.50` -> `1.5`, `1e3` -> `1000`), `true`/`false`, `""`
   * for null and absent values, raw text for objects and arrays.
   */
  text: string;
  /** Decoded JS value (JSON.parse of raw, lenient for malformed text); undefined when absent. */
  value(): unknown;
}

// Result types, ordered as gjson orders them (Null < False < Number < String < True < JSON).
const T_NULL = 0;
const T_FALSE = 1;
const T_NUMBER = 2;
const T_STRING = 3;
const T_TRUE = 4;
const T_JSON = 5;
const TYPE_NAMES: readonly GType[] = ["Null", "False", "Number", "String", "True", "JSON"];

/** Internal result; `index` is the offset of `raw` in the searched text, 0 when unknown. */
export interface RawResult {
  t: number;
  raw: string;
  str: string;
  num: number;
  index: number;
  /** Offsets of every element of a `#.key` / `#(...)#` collection, when known. */
  indexes: number[] | undefined;
}

const QUOTE = 34;
const BACKSLASH = 92;

function none(): RawResult {
  return { t: T_NULL, raw: "", str: "", num: 0, index: 0, indexes: undefined };
}

function mk(t: number, raw: string, index: number): RawResult {
  return { t, raw, str: "", num: 0, index, indexes: undefined };
}

/** gjson Result.Exists(). */
export function rawExists(r: RawResult): boolean {
  return exists(r);
}

function exists(r: RawResult): boolean {
  return r.t !== T_NULL || r.raw.length !== 0;
}

// ---------------------------------------------------------------------------------------------
// Public API

export function gjsonGet(json: string, path: string): GResult {
  return toPublic(rawGet(json, path));
}

/** Strict RFC 8259 validation of the whole text (gjson.Valid). */
export function gjsonValid(json: string): boolean {
  try {
    return validPayload(json, 0);
  } catch {
    // Nesting deep enough to exhaust the stack: the same grammar without recursion.
    const end = validValueEndIterative(json, 0);
    return end >= 0 && skipWs(json, end) === json.length;
  }
}

/**
 * Where the JSON value starting at `i` (after any whitespace) ends, checked as gjsonValid checks
 * a document (RFC 8259); -1 when it is not valid JSON. Builds nothing.
 */
export function validValueEnd(s: string, i: number): number {
  try {
    return validAny(s, i, 0) ? vpos : -1;
  } catch {
    // Nesting deep enough to exhaust the stack: the same grammar without recursion.
    return validValueEndIterative(s, i);
  }
}

/** Go's encoding/json refuses nesting deeper than this ("exceeded max depth"). */
export const MAX_JSON_DEPTH = 10_000;

/**
 * The deepest nesting of `{`/`[` outside strings, counted without recursion; stops counting once
 * `limit` is exceeded (returns limit + 1).
 */
export function jsonNestingDepth(s: string, limit: number = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = s.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/**
 * {@link validValueEnd} with an explicit stack instead of recursion (any depth up to
 * MAX_JSON_DEPTH, as the recursive check): the end offset of the value at `i`, or -1.
 */
function validValueEndIterative(s: string, i: number): number {
  const stack: number[] = []; // 123 = in an object, 91 = in an array
  for (;;) {
    // A value starts at i.
    i = skipWs(s, i);
    if (i >= s.length) return -1;
    const c = s.charCodeAt(i);
    if (c === 123 || c === 91) {
      if (stack.length >= MAX_JSON_DEPTH) return -1;
      i = skipWs(s, i + 1);
      const close = c === 123 ? 125 : 93;
      if (s.charCodeAt(i) === close) {
        i++;
      } else {
        stack.push(c);
        if (c === 123) {
          if (s.charCodeAt(i) !== QUOTE || !validString(s, i + 1)) return -1;
          i = skipWs(s, vpos);
          if (s.charCodeAt(i) !== 58) return -1;
          i++;
        }
        continue;
      }
    } else {
      let ok: boolean;
      if (c === QUOTE) ok = validString(s, i + 1);
      else if (c === 116) ok = validWord(s, i, "true");
      else if (c === 102) ok = validWord(s, i, "false");
      else if (c === 110) ok = validWord(s, i, "null");
      else if (c === 45 || (c >= 48 && c <= 57)) ok = validNumber(s, i);
      else ok = false;
      if (!ok) return -1;
      i = vpos;
    }
    // After a value: close containers or move to the next member/element.
    for (;;) {
      if (stack.length === 0) return i;
      i = skipWs(s, i);
      const top = stack[stack.length - 1]!;
      const d = s.charCodeAt(i);
      if (d === (top === 123 ? 125 : 93)) {
        stack.pop();
        i++;
        continue;
      }
      if (d !== 44) return -1;
      i = skipWs(s, i + 1);
      if (top === 123) {
        if (s.charCodeAt(i) !== QUOTE || !validString(s, i + 1)) return -1;
        i = skipWs(s, vpos);
        if (s.charCodeAt(i) !== 58) return -1;
        i++;
      }
      break;
    }
  }
}

/** The scanner behind gjsonGet, with offsets; shared with sjson.ts. Never throws. */
export function rawGet(json: string, path: string): RawResult {
  try {
    return get(json, path);
  } catch (err) {
    if (isBudgetExceeded(err)) throw err;
    // Only reachable through pathological nesting (stack exhaustion): report a miss.
    return none();
  }
}

function toPublic(r: RawResult): GResult {
  const found = exists(r);
  return {
    exists: found,
    type: found ? (TYPE_NAMES[r.t] ?? "Null") : "Null",
    raw: r.raw,
    text: found ? resultString(r) : "",
    value: () => (found ? resultValue(r) : undefined),
  };
}

// ---------------------------------------------------------------------------------------------
// Result conversions

/** gjson Result.String(). */
function resultString(r: RawResult): string {
  switch (r.t) {
    case T_FALSE:
      return "false";
    case T_TRUE:
      return "true";
    case T_STRING:
      return r.str;
    case T_JSON:
      return r.raw;
    case T_NUMBER: {
      const raw = r.raw;
      if (raw.length === 0) return formatFloat(r.num);
      let i = raw.charCodeAt(0) === 45 ? 1 : 0;
      for (; i < raw.length; i++) {
        const c = raw.charCodeAt(i);
        if (c < 48 || c > 57) return formatFloat(r.num);
      }
      return raw;
    }
    default:
      return "";
  }
}

function resultValue(r: RawResult): unknown {
  switch (r.t) {
    case T_STRING:
      return r.str;
    case T_NUMBER:
      return r.num;
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_JSON:
      try {
        return JSON.parse(r.raw);
      } catch {
        return lenientDecode(r);
      }
    default:
      return null;
  }
}

/** Decodes malformed JSON the way gjson's Value() does: whatever members can be scanned. */
function lenientDecode(r: RawResult, depth = 0): unknown {
  if (r.t !== T_JSON) return resultValue(r);
  if (depth > 200) return null;
  let isObj = false;
  for (let i = 0; i < r.raw.length; i++) {
    const c = r.raw[i];
    if (c === "{") {
      isObj = true;
      break;
    }
    if (c === "[") break;
  }
  if (isObj) {
    const out: Record<string, unknown> = {};
    forEach(r, (k, v) => {
      out[k.str] = lenientDecode(v, depth + 1);
      return true;
    });
    return out;
  }
  const arr: unknown[] = [];
  forEach(r, (_k, v) => {
    arr.push(lenientDecode(v, depth + 1));
    return true;
  });
  return arr;
}

/** Go strconv.FormatFloat(f, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Number.POSITIVE_INFINITY) return "+Inf";
  if (f === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Object.is(f, -0)) return "-0";
  const s = String(f);
  const e = s.indexOf("e");
  if (e < 0) return s;
  const neg = s[0] === "-";
  const mant = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mant.indexOf(".");
  const digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  const intLen = (dot < 0 ? mant.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = `0.${"0".repeat(-intLen)}${digits}`;
  else if (intLen >= digits.length) out = digits + "0".repeat(intLen - digits.length);
  else out = `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  return neg ? `-${out}` : out;
}

/** Go strconv.ParseFloat with errors mapped to 0 (range errors keep +-Inf, as Go does). */
export function parseGoFloat(s: string): number {
  if (/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) return Number(s);
  const l = s.toLowerCase();
  if (l === "inf" || l === "+inf" || l === "infinity" || l === "+infinity") {
    return Number.POSITIVE_INFINITY;
  }
  if (l === "-inf" || l === "-infinity") return Number.NEGATIVE_INFINITY;
  if (l === "nan") return Number.NaN;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Low-level scanners (all take the offset just past the opening character, like gjson's)

/** Set by scanString: false when the string ran to the end of the text unterminated. */
let strOk = false;

/** `i` is just past the opening quote; returns the offset just past the closing quote. */
function scanString(json: string, i: number): number {
  const start = i;
  for (;;) {
    const q = json.indexOf('"', i);
    if (q < 0) {
      strOk = false;
      return json.length;
    }
    let k = q - 1;
    while (k >= start && json.charCodeAt(k) === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) {
      strOk = true;
      return q + 1;
    }
    i = q + 1;
  }
}

/** Content of a raw string token (quotes stripped, escapes decoded). */
function strOf(raw: string): string {
  const inner = raw.length >= 2 && raw.endsWith('"') ? raw.slice(1, -1) : raw.slice(1);
  return inner.indexOf("\\") >= 0 ? unescapeJson(inner) : inner;
}

/** Number token: runs to whitespace, `,`, `]` or `}`. `i` is at its first character. */
function scanNumber(json: string, i: number): number {
  const n = json.length;
  for (i++; i < n; i++) {
    const c = json.charCodeAt(i);
    if (c <= 32 || c === 44 || c === 93 || c === 125) return i;
  }
  return n;
}

/** Literal token (true/false/null): runs while lower-case letters. */
function scanLiteral(json: string, i: number): number {
  const n = json.length;
  for (i++; i < n; i++) {
    const c = json.charCodeAt(i);
    if (c < 97 || c > 122) return i;
  }
  return n;
}

/** `i` is at an opening `{`, `[` or `(`; returns the offset past its balanced close. */
function scanSquash(json: string, i: number): number {
  const n = json.length;
  let depth = 1;
  for (i++; i < n; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      i = scanString(json, i + 1) - 1;
    } else if (c === 123 || c === 91 || c === 40) {
      depth++;
    } else if (c === 125 || c === 93 || c === 41) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return n;
}

/** gjson squash(): the leading value of `s` (string or balanced block), or all of `s`. */
function squash(s: string): string {
  if (s.length === 0) return s;
  if (s.charCodeAt(0) === QUOTE) {
    const end = scanString(s, 1);
    return strOk ? s.slice(0, end) : s;
  }
  const end = scanSquash(s, 0);
  return s.slice(0, end);
}

function isNumStart(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 105 || c === 73 || c === 78;
}

/** gjson unescapeJson(): stops quietly at invalid escapes or control characters. */
function unescapeJson(s: string): string {
  let out = "";
  let from = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 32) return out + s.slice(from, i);
    if (c !== BACKSLASH) continue;
    out += s.slice(from, i);
    i++;
    if (i >= n) return out;
    switch (s[i]) {
      case "\\":
        out += "\\";
        break;
      case "/":
        out += "/";
        break;
      case "b":
        out += "\b";
        break;
      case "f":
        out += "\f";
        break;
      case "n":
        out += "\n";
        break;
      case "r":
        out += "\r";
        break;
      case "t":
        out += "\t";
        break;
      case '"':
        out += '"';
        break;
      case "u": {
        if (i + 5 > n) return out;
        let r = hex4(s, i + 1);
        i += 4;
        if (r >= 0xd800 && r < 0xe000) {
          if (r < 0xdc00 && s.charCodeAt(i + 1) === BACKSLASH && s[i + 2] === "u" && i + 7 <= n) {
            const r2 = hex4(s, i + 3);
            if (r2 >= 0xdc00 && r2 < 0xe000) {
              out += String.fromCharCode(r, r2);
            } else {
              out += "\ufffd";
            }
            i += 6;
          } else {
            out += "\ufffd";
          }
          r = -1;
        }
        if (r >= 0) out += String.fromCharCode(r);
        break;
      }
      default:
        return out;
    }
    from = i + 1;
  }
  return out + s.slice(from);
}

function hex4(s: string, i: number): number {
  const h = s.slice(i, i + 4);
  return /^[0-9a-fA-F]{4}$/.test(h) ? Number.parseInt(h, 16) : 0;
}

// ---------------------------------------------------------------------------------------------
// Path parsing

interface ObjectPath {
  part: string;
  path: string;
  pipe: string;
  piped: boolean;
  wild: boolean;
  more: boolean;
}

/** Is the component after a `.` one that must be applied to the whole result (like a pipe)? */
function isDotPiperChar(s: string): boolean {
  const c = s[0];
  if (c === "@") {
    let i = 1;
    for (; i < s.length; i++) {
      const d = s[i];
      if (d === "." || d === "|" || d === ":") break;
    }
    return MODIFIERS.has(s.slice(1, i));
  }
  return c === "[" || c === "{";
}

function parseObjectPath(path: string): ObjectPath {
  const r: ObjectPath = { part: "", path: "", pipe: "", piped: false, wild: false, more: false };
  const n = path.length;
  for (let i = 0; i < n; i++) {
    const c = path[i];
    if (c === "|") {
      r.part = path.slice(0, i);
      r.pipe = path.slice(i + 1);
      r.piped = true;
      return r;
    }
    if (c === ".") {
      r.part = path.slice(0, i);
      splitDot(r, path, i);
      return r;
    }
    if (c === "*" || c === "?") {
      r.wild = true;
      continue;
    }
    if (c === "\\") {
      // Escape mode: the part is rebuilt without the backslashes.
      let epart = path.slice(0, i);
      i++;
      if (i < n) {
        epart += path[i];
        i++;
        for (; i < n; i++) {
          const d = path[i];
          if (d === "\\") {
            i++;
            if (i < n) epart += path[i];
            continue;
          }
          if (d === ".") {
            r.part = epart;
            splitDot(r, path, i);
            return r;
          }
          if (d === "|") {
            r.part = epart;
            r.pipe = path.slice(i + 1);
            r.piped = true;
            return r;
          }
          if (d === "*" || d === "?") r.wild = true;
          epart += d;
        }
      }
      r.part = epart;
      return r;
    }
  }
  r.part = path;
  return r;
}

function splitDot(
  r: { path: string; pipe: string; piped: boolean; more: boolean },
  path: string,
  i: number,
): void {
  if (i < path.length - 1 && isDotPiperChar(path.slice(i + 1))) {
    r.pipe = path.slice(i + 1);
    r.piped = true;
  } else {
    r.path = path.slice(i + 1);
    r.more = true;
  }
}

interface ArrayPath {
  part: string;
  path: string;
  pipe: string;
  piped: boolean;
  more: boolean;
  alogok: boolean;
  arrch: boolean;
  alogkey: string;
  qOn: boolean;
  qAll: boolean;
  qPath: string;
  qOp: string;
  qValue: string;
}

function parseArrayPath(path: string): ArrayPath {
  const r: ArrayPath = {
    part: "",
    path: "",
    pipe: "",
    piped: false,
    more: false,
    alogok: false,
    arrch: false,
    alogkey: "",
    qOn: false,
    qAll: false,
    qPath: "",
    qOp: "",
    qValue: "",
  };
  const n = path.length;
  for (let i = 0; i < n; i++) {
    const c = path[i];
    if (c === "|") {
      r.part = path.slice(0, i);
      r.pipe = path.slice(i + 1);
      r.piped = true;
      return r;
    }
    if (c === ".") {
      r.part = path.slice(0, i);
      if (!r.arrch && i < n - 1 && isDotPiperChar(path.slice(i + 1))) {
        r.pipe = path.slice(i + 1);
        r.piped = true;
      } else {
        r.path = path.slice(i + 1);
        r.more = true;
      }
      return r;
    }
    if (c === "#") {
      r.arrch = true;
      if (i === 0 && n > 1) {
        const d = path[1];
        if (d === ".") {
          r.alogok = true;
          r.alogkey = path.slice(2);
          r.path = path.slice(0, 1);
        } else if (d === "[" || d === "(") {
          r.qOn = true;
          const q = parseQuery(path.slice(i));
          if (q === undefined) break;
          let value = q.value;
          if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') {
            value = value.slice(1, -1);
            if (q.vesc) value = unescapeJson(value);
          }
          r.qPath = q.path;
          r.qOp = q.op;
          r.qValue = value;
          i = q.end - 1;
          if (i + 1 < n && path[i + 1] === "#") r.qAll = true;
        }
      }
    }
  }
  r.part = path;
  r.path = "";
  return r;
}

interface Query {
  path: string;
  op: string;
  value: string;
  end: number;
  vesc: boolean;
}

/** Splits `#(path op value)` into its parts; `end` is the offset past the closing bracket. */
function parseQuery(query: string): Query | undefined {
  if (query.length < 2 || query[0] !== "#" || (query[1] !== "(" && query[1] !== "[")) {
    return undefined;
  }
  const n = query.length;
  let i = 2;
  let j = 0;
  let depth = 1;
  let vesc = false;
  for (; i < n; i++) {
    const c = query[i];
    if (depth === 1 && j === 0) {
      if (c === "!" || c === "=" || c === "<" || c === ">" || c === "%") {
        j = i;
        continue;
      }
    }
    if (c === "\\") {
      i++;
    } else if (c === "[" || c === "(") {
      depth++;
    } else if (c === "]" || c === ")") {
      depth--;
      if (depth === 0) break;
    } else if (c === '"') {
      i++;
      for (; i < n; i++) {
        if (query[i] === "\\") {
          vesc = true;
          i++;
        } else if (query[i] === '"') {
          break;
        }
      }
    }
  }
  if (depth > 0) return undefined;
  let path: string;
  let op = "";
  let value = "";
  if (j > 0) {
    path = trim(query.slice(2, j));
    value = trim(query.slice(j, i));
    let opsz = 0;
    const a = value[0];
    const b = value[1];
    if (value.length === 1) opsz = 1;
    else if (a === "!" && (b === "=" || b === "%")) opsz = 2;
    else if ((a === "<" || a === ">") && b === "=") opsz = 2;
    else if (a === "=" && b === "=") {
      value = value.slice(1);
      opsz = 1;
    } else if (a === "<" || a === ">" || a === "=" || a === "%") opsz = 1;
    op = value.slice(0, opsz);
    value = trim(value.slice(opsz));
  } else {
    path = trim(query.slice(2, i));
  }
  return { path, op, value, end: i + 1, vesc };
}

function trim(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) <= 32) a++;
  while (b > a && s.charCodeAt(b - 1) <= 32) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

// ---------------------------------------------------------------------------------------------
// Wildcard matching (tidwall/match: `*` any run, `?` one character, `\` escapes)

function wildMatch(str: string, pattern: string): boolean {
  if (pattern === "*") return true;
  const s = Array.from(str);
  const p = Array.from(pattern);
  let si = 0;
  let pi = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const pc = p[pi];
    if (pc === "*") {
      starP = pi++;
      starS = si;
      continue;
    }
    if (pc !== undefined) {
      let lit = pc;
      let w = 1;
      if (pc === "\\") {
        lit = p[pi + 1] ?? "";
        w = 2;
      }
      if (pc === "?" || (lit !== "" && lit === s[si])) {
        si++;
        pi += w;
        continue;
      }
    }
    if (starP < 0) return false;
    checkBudget();
    pi = starP + 1;
    si = ++starS;
  }
  while (p[pi] === "*") pi++;
  return pi >= p.length;
}

// ---------------------------------------------------------------------------------------------
// The walk

interface Ctx {
  json: string;
  value: RawResult;
  pipe: string;
  piped: boolean;
  /** Return channel of parseObject/parseArray: did the sub-walk find the value? */
  hit: boolean;
}

function parseObject(c: Ctx, i: number, path: string): number {
  const json = c.json;
  const n = json.length;
  const rp = parseObjectPath(path);
  if (!rp.more && rp.piped) {
    c.pipe = rp.pipe;
    c.piped = true;
  }
  while (i < n) {
    let key = "";
    let found = false;
    for (; i < n; i++) {
      const ch = json.charCodeAt(i);
      if (ch === QUOTE) {
        const s = i + 1;
        const end = scanString(json, s);
        if (!strOk) {
          c.hit = false;
          return end;
        }
        key = json.slice(s, end - 1);
        i = end;
        found = true;
        break;
      }
      if (ch === 125) {
        c.hit = false;
        return i + 1;
      }
    }
    if (!found) break;
    if (key.indexOf("\\") >= 0) key = unescapeJson(key);
    const pmatch = rp.wild ? wildMatch(key, rp.part) : rp.part === key;
    let hit = pmatch && !rp.more;
    for (; i < n; i++) {
      const ch = json.charCodeAt(i);
      if (ch === QUOTE) {
        const s = i;
        i = scanString(json, i + 1);
        if (!strOk) {
          c.hit = false;
          return i;
        }
        if (hit) {
          const raw = json.slice(s, i);
          c.value = { t: T_STRING, raw, str: strOf(raw), num: 0, index: s, indexes: undefined };
          c.hit = true;
          return i;
        }
      } else if (ch === 123 || ch === 91) {
        if (pmatch && !hit) {
          i = ch === 123 ? parseObject(c, i + 1, rp.path) : parseArray(c, i + 1, rp.path);
          hit = c.hit;
          if (hit) return i;
        } else {
          const s = i;
          i = scanSquash(json, i);
          if (hit) {
            c.value = mk(T_JSON, json.slice(s, i), s);
            c.hit = true;
            return i;
          }
        }
      } else if ((ch === 110 && json.charCodeAt(i + 1) === 117) || ch === 116 || ch === 102) {
        const s = i;
        i = scanLiteral(json, i);
        if (hit) {
          c.value = mk(ch === 116 ? T_TRUE : ch === 102 ? T_FALSE : T_NULL, json.slice(s, i), s);
          c.hit = true;
          return i;
        }
      } else if (isNumStart(ch) || ch === 110) {
        const s = i;
        i = scanNumber(json, i);
        if (hit) {
          const raw = json.slice(s, i);
          c.value = {
            t: T_NUMBER,
            raw,
            str: "",
            num: parseGoFloat(raw),
            index: s,
            indexes: undefined,
          };
          c.hit = true;
          return i;
        }
      } else {
        continue;
      }
      break;
    }
  }
  c.hit = false;
  return i;
}

function trueish(r: RawResult): boolean {
  switch (r.t) {
    case T_TRUE:
      return true;
    case T_STRING:
      return goParseBool(r.str.toLowerCase()) === true;
    case T_NUMBER:
      return r.num !== 0;
    default:
      return false;
  }
}

function falseish(r: RawResult): boolean {
  switch (r.t) {
    case T_NULL:
    case T_FALSE:
      return true;
    case T_STRING:
      return goParseBool(r.str.toLowerCase()) === false;
    case T_NUMBER:
      return r.num === 0;
    default:
      return false;
  }
}

function goParseBool(s: string): boolean | undefined {
  switch (s) {
    case "1":
    case "t":
    case "T":
    case "true":
    case "TRUE":
    case "True":
      return true;
    case "0":
    case "f":
    case "F":
    case "false":
    case "FALSE":
    case "False":
      return false;
    default:
      return undefined;
  }
}

function queryMatches(rp: ArrayPath, value: RawResult): boolean {
  let rpv = rp.qValue;
  if (rpv.length > 0 && rpv[0] === "~") {
    rpv = rpv.slice(1);
    let ish: boolean | undefined;
    switch (rpv) {
      case "*":
        ish = exists(value);
        break;
      case "null":
        ish = value.t === T_NULL;
        break;
      case "true":
        ish = trueish(value);
        break;
      case "false":
        ish = falseish(value);
        break;
    }
    if (ish === undefined) {
      rpv = "";
      value = none();
    } else {
      rpv = "true";
      value = mk(ish ? T_TRUE : T_FALSE, "", 0);
    }
  }
  if (!exists(value)) return false;
  const op = rp.qOp;
  if (op === "") return true;
  switch (value.t) {
    case T_STRING: {
      const s = value.str;
      switch (op) {
        case "=":
          return s === rpv;
        case "!=":
          return s !== rpv;
        case "<":
          return s < rpv;
        case "<=":
          return s <= rpv;
        case ">":
          return s > rpv;
        case ">=":
          return s >= rpv;
        case "%":
          return wildMatch(s, rpv);
        case "!%":
          return !wildMatch(s, rpv);
      }
      return false;
    }
    case T_NUMBER: {
      const v = parseGoFloat(rpv);
      const x = value.num;
      switch (op) {
        case "=":
          return x === v;
        case "!=":
          return x !== v;
        case "<":
          return x < v;
        case "<=":
          return x <= v;
        case ">":
          return x > v;
        case ">=":
          return x >= v;
      }
      return false;
    }
    case T_TRUE:
      switch (op) {
        case "=":
          return rpv === "true";
        case "!=":
          return rpv !== "true";
        case ">":
          return rpv === "false";
        case ">=":
          return true;
      }
      return false;
    case T_FALSE:
      switch (op) {
        case "=":
          return rpv === "false";
        case "!=":
          return rpv !== "false";
        case "<":
          return rpv === "true";
        case "<=":
          return true;
      }
      return false;
  }
  return false;
}

/** Result.Get: a path applied to a result; known offsets stay absolute. */
function subGet(parent: RawResult, path: string): RawResult {
  const r = get(parent.raw, path);
  if (r.indexes !== undefined) {
    r.indexes = r.indexes.map((x) => (x > 0 && parent.index > 0 ? x + parent.index : 0));
  } else {
    r.index = r.index > 0 && parent.index > 0 ? r.index + parent.index : 0;
  }
  return r;
}

function parseArray(c: Ctx, i: number, path: string): number {
  const json = c.json;
  const n = json.length;
  const rp = parseArrayPath(path);
  let partidx = -1;
  if (!rp.arrch && /^[0-9]+$/.test(rp.part)) partidx = Number(rp.part);
  if (!rp.more && rp.piped) {
    c.pipe = rp.pipe;
    c.piped = true;
  }
  let pmatch = false;
  let hit = false;
  let h = 0;
  const alog: number[] = [];
  let multires: string[] | undefined;
  const queryIndexes: number[] = [];

  // Applies the query to one element; true when the walk is over (first-match query hit).
  const procQuery = (qval: RawResult): boolean => {
    if (rp.qAll && multires === undefined) multires = [];
    let res: RawResult;
    if (qval.t === T_JSON) {
      res = subGet(qval, rp.qPath);
    } else {
      if (rp.qPath !== "") return false;
      res = qval;
    }
    if (!queryMatches(rp, res)) return false;
    if (rp.more) {
      const sp = splitPossiblePipe(rp.path);
      if (sp !== undefined) {
        rp.path = sp[0];
        c.pipe = sp[1];
        c.piped = true;
      }
      res = subGet(qval, rp.path);
    } else {
      res = qval;
    }
    if (rp.qAll) {
      const raw = res.raw.length === 0 ? resultString(res) : res.raw;
      if (raw !== "") {
        multires?.push(raw);
        queryIndexes.push(res.raw.length === 0 ? 0 : res.index);
      }
      return false;
    }
    c.value = res;
    return true;
  };

  while (i < n + 1) {
    if (!rp.arrch) {
      pmatch = partidx === h;
      hit = pmatch && !rp.more;
    }
    h++;
    if (rp.alogok) alog.push(i);
    for (; ; i++) {
      if (i > n) break;
      const ch = i === n ? 93 : json.charCodeAt(i);
      if (ch === QUOTE) {
        const s = i;
        i = scanString(json, i + 1);
        if (!strOk) {
          c.hit = false;
          return i;
        }
        if (rp.qOn) {
          const raw = json.slice(s, i);
          const q: RawResult = {
            t: T_STRING,
            raw,
            str: strOf(raw),
            num: 0,
            index: s,
            indexes: undefined,
          };
          if (procQuery(q)) {
            c.hit = true;
            return i;
          }
        } else if (hit && !rp.alogok) {
          const raw = json.slice(s, i);
          c.value = { t: T_STRING, raw, str: strOf(raw), num: 0, index: s, indexes: undefined };
          c.hit = true;
          return i;
        }
      } else if (ch === 123 || ch === 91) {
        if (pmatch && !hit) {
          i = ch === 123 ? parseObject(c, i + 1, rp.path) : parseArray(c, i + 1, rp.path);
          hit = c.hit;
          if (hit && !rp.alogok) return i;
        } else {
          const s = i;
          i = scanSquash(json, i);
          if (rp.qOn) {
            if (procQuery(mk(T_JSON, json.slice(s, i), s))) {
              c.hit = true;
              return i;
            }
          } else if (hit && !rp.alogok) {
            c.value = mk(T_JSON, json.slice(s, i), s);
            c.hit = true;
            return i;
          }
        }
      } else if ((ch === 110 && json.charCodeAt(i + 1) === 117) || ch === 116 || ch === 102) {
        const s = i;
        i = scanLiteral(json, i);
        const t = ch === 116 ? T_TRUE : ch === 102 ? T_FALSE : T_NULL;
        if (rp.qOn) {
          if (procQuery(mk(t, json.slice(s, i), s))) {
            c.hit = true;
            return i;
          }
        } else if (hit && !rp.alogok) {
          c.value = mk(t, json.slice(s, i), s);
          c.hit = true;
          return i;
        }
      } else if (isNumStart(ch) || ch === 110) {
        const s = i;
        i = scanNumber(json, i);
        const raw = json.slice(s, i);
        if (rp.qOn) {
          const q: RawResult = {
            t: T_NUMBER,
            raw,
            str: "",
            num: parseGoFloat(raw),
            index: s,
            indexes: undefined,
          };
          if (procQuery(q)) {
            c.hit = true;
            return i;
          }
        } else if (hit && !rp.alogok) {
          c.value = {
            t: T_NUMBER,
            raw,
            str: "",
            num: parseGoFloat(raw),
            index: s,
            indexes: undefined,
          };
          c.hit = true;
          return i;
        }
      } else if (ch === 93) {
        return endOfArray(c, rp, i, h, alog, multires, queryIndexes);
      } else {
        continue;
      }
      break;
    }
  }
  c.hit = false;
  return i;
}

function endOfArray(
  c: Ctx,
  rp: ArrayPath,
  i: number,
  h: number,
  alog: number[],
  multires: string[] | undefined,
  queryIndexes: number[],
): number {
  const json = c.json;
  if (rp.arrch && rp.part === "#") {
    if (rp.alogok) {
      const sp = splitPossiblePipe(rp.alogkey);
      if (sp !== undefined) {
        rp.alogkey = sp[0];
        c.pipe = sp[1];
        c.piped = true;
      }
      const parts: string[] = [];
      const indexes: number[] = [];
      for (const start of alog) {
        let idx = start;
        while (idx < json.length) {
          const w = json.charCodeAt(idx);
          if (w !== 32 && w !== 9 && w !== 13 && w !== 10) break;
          idx++;
        }
        if (idx < json.length && json.charCodeAt(idx) !== 93) {
          const any = parseAny(json, idx);
          if (any !== undefined) {
            const res = subGet(any, rp.alogkey);
            if (exists(res)) {
              parts.push(res.raw.length === 0 ? resultString(res) : res.raw);
              indexes.push(res.raw.length === 0 ? 0 : res.index);
            }
          }
        }
      }
      c.value = { t: T_JSON, raw: `[${parts.join(",")}]`, str: "", num: 0, index: 0, indexes };
      c.hit = true;
      return i + 1;
    }
    c.value = {
      t: T_NUMBER,
      raw: String(h - 1),
      str: "",
      num: h - 1,
      index: 0,
      indexes: undefined,
    };
    c.hit = true;
    return i + 1;
  }
  if (!exists(c.value)) {
    if (multires !== undefined && multires.length > 0) {
      c.value = {
        t: T_JSON,
        raw: `[${multires.join(",")}]`,
        str: "",
        num: 0,
        index: 0,
        indexes: queryIndexes,
      };
    } else if (rp.qAll) {
      c.value = mk(T_JSON, "[]", 0);
    }
  }
  c.hit = false;
  return i + 1;
}

/** gjson parseAny: the next value at or after `i`, with its offset. */
function parseAny(json: string, i: number): RawResult | undefined {
  const n = json.length;
  for (; i < n; i++) {
    const ch = json.charCodeAt(i);
    if (ch === 123 || ch === 91) {
      const end = scanSquash(json, i);
      return mk(T_JSON, json.slice(i, end), i);
    }
    if (ch <= 32) continue;
    if (ch === QUOTE) {
      const end = scanString(json, i + 1);
      if (!strOk) return undefined;
      const raw = json.slice(i, end);
      return { t: T_STRING, raw, str: strOf(raw), num: 0, index: i, indexes: undefined };
    }
    if ((ch === 110 && json.charCodeAt(i + 1) === 117) || ch === 116 || ch === 102) {
      const end = scanLiteral(json, i);
      return mk(ch === 116 ? T_TRUE : ch === 102 ? T_FALSE : T_NULL, json.slice(i, end), i);
    }
    if (isNumStart(ch) || ch === 110) {
      const end = scanNumber(json, i);
      const raw = json.slice(i, end);
      return { t: T_NUMBER, raw, str: "", num: parseGoFloat(raw), index: i, indexes: undefined };
    }
  }
  return undefined;
}

/** Splits `left|right` at the first pipe that is not inside a query or a multipath. */
function splitPossiblePipe(path: string): [string, string] | undefined {
  if (path.indexOf("|") < 0) return undefined;
  const n = path.length;
  if (n > 0 && path[0] === "{") {
    const sq = squash(path.slice(1));
    if (sq.length < n - 1) {
      const left = path.slice(0, sq.length + 1);
      const remain = path.slice(left.length);
      if (remain[0] === "|") return [left, remain.slice(1)];
    }
    return undefined;
  }
  for (let i = 0; i < n; i++) {
    const c = path[i];
    if (c === "\\") {
      i++;
    } else if (c === ".") {
      if (i === n - 1) return undefined;
      if (path[i + 1] === "#") {
        i += 2;
        if (i === n) return undefined;
        if (path[i] === "[" || path[i] === "(") {
          const open = path[i];
          const close = open === "[" ? "]" : ")";
          i++;
          let depth = 1;
          for (; i < n; i++) {
            const d = path[i];
            if (d === "\\") i++;
            else if (d === open) depth++;
            else if (d === close) {
              depth--;
              if (depth === 0) break;
            } else if (d === '"') {
              i++;
              for (; i < n; i++) {
                if (path[i] === "\\") i++;
                else if (path[i] === '"') break;
              }
            }
          }
        }
      }
    } else if (c === "|") {
      return [path.slice(0, i), path.slice(i + 1)];
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Multipaths `[a,b]` / `{a,"k":b}`

interface SubSelector {
  name: string;
  path: string;
}

function parseSubSelectors(path: string): { sels: SubSelector[]; rest: string } | undefined {
  const sels: SubSelector[] = [];
  let modifier = 0;
  let depth = 1;
  let colon = 0;
  let start = 1;
  const n = path.length;
  const push = (i: number) => {
    if (colon === 0) sels.push({ name: "", path: path.slice(start, i) });
    else sels.push({ name: path.slice(start, colon), path: path.slice(colon + 1, i) });
    colon = 0;
    modifier = 0;
    start = i + 1;
  };
  for (let i = 1; i < n; i++) {
    const c = path[i];
    switch (c) {
      case "\\":
        i++;
        break;
      case "@":
        if (modifier === 0 && i > 0 && (path[i - 1] === "." || path[i - 1] === "|")) modifier = i;
        break;
      case ":":
        if (modifier === 0 && colon === 0 && depth === 1) colon = i;
        break;
      case ",":
        if (depth === 1) push(i);
        break;
      case '"':
        for (i++; i < n; i++) {
          if (path[i] === "\\") i++;
          else if (path[i] === '"') break;
        }
        break;
      case "[":
      case "(":
      case "{":
        depth++;
        break;
      case "]":
      case ")":
      case "}":
        depth--;
        if (depth === 0) {
          push(i);
          return { sels, rest: path.slice(i + 1) };
        }
        break;
    }
  }
  return undefined;
}

function nameOfLast(path: string): string {
  for (let i = path.length - 1; i >= 0; i--) {
    if (path[i] === "|" || path[i] === ".") {
      if (i > 0 && path[i - 1] === "\\") continue;
      return path.slice(i + 1);
    }
  }
  return path;
}

function isSimpleName(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32) return false;
    if ("[]{}()#|!".includes(s[i] as string)) return false;
  }
  return true;
}

/** JSON string as Go writes it (gjson AppendJSONString / encoding/json): `<>&` escaped too. */
export function goJsonString(s: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 32) {
      esc =
        c === 8
          ? "\\b"
          : c === 12
            ? "\\f"
            : c === 10
              ? "\\n"
              : c === 13
                ? "\\r"
                : c === 9
                  ? "\\t"
                  : `\\u00${c.toString(16).padStart(2, "0")}`;
    } else if (c === 34) esc = '\\"';
    else if (c === 92) esc = "\\\\";
    else if (c === 60) esc = "\\u003c";
    else if (c === 62) esc = "\\u003e";
    else if (c === 38) esc = "\\u0026";
    else if (c === 0x2028) esc = "\\u2028";
    else if (c === 0x2029) esc = "\\u2029";
    else if (c >= 0xd800 && c < 0xe000) {
      const d = s.charCodeAt(i + 1);
      if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
        i++;
        continue;
      }
      esc = "\\ufffd";
    }
    if (esc !== undefined) {
      out += s.slice(from, i) + esc;
      from = i + 1;
    }
  }
  return `${out + s.slice(from)}"`;
}

// ---------------------------------------------------------------------------------------------
// Get

/** gjson Parse(): the first value of the text; objects/arrays take the rest of the text. */
function parse(json: string): RawResult {
  const n = json.length;
  for (let i = 0; i < n; i++) {
    const ch = json.charCodeAt(i);
    if (ch === 123 || ch === 91) return mk(T_JSON, json.slice(i), i);
    if (ch <= 32) continue;
    if (ch === QUOTE) {
      const end = scanString(json, i + 1);
      const raw = json.slice(i, end);
      return { t: T_STRING, raw, str: strOf(raw), num: 0, index: i, indexes: undefined };
    }
    if (ch === 110 && json.charCodeAt(i + 1) === 117) {
      return mk(T_NULL, json.slice(i, scanLiteral(json, i)), i);
    }
    if (ch === 116 || ch === 102) {
      return mk(ch === 116 ? T_TRUE : T_FALSE, json.slice(i, scanLiteral(json, i)), i);
    }
    if (isNumStart(ch) || ch === 110) {
      let end = i + 1;
      for (; end < n; end++) {
        const d = json.charCodeAt(end);
        if (d <= 32 || d === 44 || d === 93 || d === 125) break;
      }
      const raw = json.slice(i, end);
      return { t: T_NUMBER, raw, str: "", num: parseGoFloat(raw), index: i, indexes: undefined };
    }
    return none();
  }
  return none();
}

function get(json: string, path: string): RawResult {
  if (path.length > 1) {
    const p0 = path[0];
    if (p0 === "@" || p0 === "!") {
      const m = p0 === "@" ? execModifier(json, path) : execStatic(json, path);
      if (m !== undefined) {
        const rest = m.path;
        if (rest.length > 0 && (rest[0] === "|" || rest[0] === ".")) {
          const res = get(m.json, rest.slice(1));
          res.index = 0;
          res.indexes = undefined;
          return res;
        }
        const res = parse(m.json);
        res.index = 0;
        return res;
      }
    }
    if (p0 === "[" || p0 === "{") {
      const sub = parseSubSelectors(path);
      if (sub !== undefined) {
        const rest = sub.rest;
        if (rest.length === 0 || rest[0] === "|" || rest[0] === ".") {
          return multipath(json, p0, sub.sels, rest);
        }
      }
    }
  }
  const c: Ctx = { json, value: none(), pipe: "", piped: false, hit: false };
  const n = json.length;
  if (path.length >= 2 && path[0] === "." && path[1] === ".") {
    // JSON Lines: the text is read as an array of whitespace-separated values.
    parseArray(c, 0, path.slice(2));
  } else {
    for (let i = 0; i < n; i++) {
      const ch = json.charCodeAt(i);
      if (ch === 123) {
        parseObject(c, i + 1, path);
        break;
      }
      if (ch === 91) {
        parseArray(c, i + 1, path);
        break;
      }
    }
  }
  if (c.piped) {
    const res = get(c.value.raw, c.pipe);
    res.index = 0;
    res.indexes = undefined;
    return res;
  }
  return c.value;
}

function multipath(json: string, kind: string, sels: SubSelector[], rest: string): RawResult {
  const parts: string[] = [];
  for (const sel of sels) {
    const res = get(json, sel.path);
    if (!exists(res)) continue;
    let item = "";
    if (kind === "{") {
      if (sel.name.length > 0) {
        item = sel.name[0] === '"' && gjsonValid(sel.name) ? sel.name : goJsonString(sel.name);
      } else {
        const last = nameOfLast(sel.path);
        item = goJsonString(isSimpleName(last) ? last : "_");
      }
      item += ":";
    }
    let raw = res.raw;
    if (raw.length === 0) {
      raw = resultString(res);
      if (raw.length === 0) raw = "null";
    }
    parts.push(item + raw);
  }
  const raw = kind === "{" ? `{${parts.join(",")}}` : `[${parts.join(",")}]`;
  let res = mk(T_JSON, raw, 0);
  if (rest.length > 0) res = get(raw, rest.slice(1));
  res.index = 0;
  res.indexes = undefined;
  return res;
}

// ---------------------------------------------------------------------------------------------
// Literals (`!true`, `!"x"`, `!{"a":1}`) and modifiers

function execStatic(_json: string, path: string): { path: string; json: string } | undefined {
  let name = path.slice(1);
  if (name.length > 0 && /^[{["+\-0-9]/.test(name)) {
    const c = name.charCodeAt(0);
    const end =
      c === 123 || c === 91
        ? scanSquash(name, 0)
        : c === QUOTE
          ? scanString(name, 1)
          : scanNumber(name, 0);
    return { path: name.slice(end), json: name.slice(0, end) };
  }
  let rest = "";
  for (let i = 1; i < path.length; i++) {
    if (path[i] === "|" || path[i] === ".") {
      rest = path.slice(i);
      name = path.slice(1, i);
      break;
    }
  }
  switch (name.toLowerCase()) {
    case "true":
    case "false":
    case "null":
    case "nan":
    case "inf":
      return { path: rest, json: name };
  }
  return undefined;
}

type Modifier = (json: string, arg: string) => string;

function execModifier(json: string, path: string): { path: string; json: string } | undefined {
  let name = path.slice(1);
  let rest = "";
  let hasArgs = false;
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (c === ":") {
      rest = path.slice(i + 1);
      name = path.slice(1, i);
      hasArgs = rest.length > 0;
      break;
    }
    if (c === "|" || c === ".") {
      rest = path.slice(i);
      name = path.slice(1, i);
      break;
    }
  }
  const fn = MODIFIERS.get(name);
  if (fn === undefined) return undefined;
  let args = "";
  if (hasArgs) {
    let parsed = false;
    const c0 = rest[0];
    if ((c0 === "{" || c0 === "[" || c0 === '"') && exists(parse(rest))) {
      args = squash(rest);
      rest = rest.slice(args.length);
      parsed = true;
    }
    if (!parsed) {
      let i = 0;
      for (; i < rest.length; i++) {
        const c = rest[i];
        if (c === "|") break;
        if (c === "{" || c === "[" || c === '"' || c === "(") i += squash(rest.slice(i)).length - 1;
      }
      args = rest.slice(0, i);
      rest = rest.slice(i);
    }
  }
  return { path: rest, json: fn(json, args) };
}

/** gjson ForEach: object members (key, value) or array elements (index, value). */
function forEach(r: RawResult, it: (key: RawResult, value: RawResult) => boolean): void {
  if (!exists(r)) return;
  if (r.t !== T_JSON) {
    it(none(), r);
    return;
  }
  const json = r.raw;
  const n = json.length;
  let i = 0;
  let obj = false;
  for (; i < n; i++) {
    const c = json.charCodeAt(i);
    if (c === 123 || c === 91) {
      obj = c === 123;
      i++;
      break;
    }
    if (c > 32) return;
  }
  let idx = 0;
  for (; i < n; i++) {
    let key: RawResult;
    if (obj) {
      if (json.charCodeAt(i) !== QUOTE) continue;
      const s = i;
      i = scanString(json, i + 1);
      if (!strOk) return;
      const raw = json.slice(s, i);
      key = { t: T_STRING, raw, str: strOf(raw), num: 0, index: s, indexes: undefined };
    } else {
      key = { t: T_NUMBER, raw: "", str: "", num: idx, index: 0, indexes: undefined };
    }
    for (; i < n; i++) {
      const c = json.charCodeAt(i);
      if (c <= 32 || c === 44 || c === 58) continue;
      break;
    }
    const value = parseAny(json, i);
    if (value === undefined) return;
    i = value.index + value.raw.length;
    if (!it(key, value)) return;
    idx++;
    i--;
  }
}

/** gjson Parse(), for sjson.ts: the first value of `json` (objects/arrays run to the end). */
export function rawParse(json: string): RawResult {
  return parse(json);
}

/** The members (objects) or elements (arrays) of a JSON result, for sjson.ts. */
export function rawElements(r: RawResult): RawResult[] {
  const out: RawResult[] = [];
  forEach(r, (_k, v) => {
    out.push(v);
    return true;
  });
  return out;
}

function isObjectText(s: string): boolean {
  const r = parse(s);
  return r.t === T_JSON && r.raw[0] === "{";
}

function isArrayText(s: string): boolean {
  const r = parse(s);
  return r.t === T_JSON && r.raw[0] === "[";
}

function unwrap(s: string): string {
  s = trim(s);
  if (s.length >= 2 && (s[0] === "[" || s[0] === "{")) s = s.slice(1, -1);
  return s;
}

function boolArg(arg: string, name: string): boolean {
  let out = false;
  if (arg === "") return out;
  forEach(parse(arg), (k, v) => {
    if (k.str === name) out = v.t === T_TRUE || trueish(v);
    return true;
  });
  return out;
}

function modReverse(json: string): string {
  const r = parse(json);
  if (isArrayText(json)) {
    const vals: string[] = [];
    forEach(r, (_k, v) => {
      vals.push(v.raw);
      return true;
    });
    return `[${vals.reverse().join(",")}]`;
  }
  if (isObjectText(json)) {
    const kvs: string[] = [];
    forEach(r, (k, v) => {
      kvs.push(`${k.raw}:${v.raw}`);
      return true;
    });
    return `{${kvs.reverse().join(",")}}`;
  }
  return json;
}

function modFlatten(json: string, arg: string): string {
  if (!isArrayText(json)) return json;
  const deep = boolArg(arg, "deep");
  const out: string[] = [];
  forEach(parse(json), (_k, v) => {
    let raw = v.raw;
    if (v.t === T_JSON && raw[0] === "[") raw = unwrap(deep ? modFlatten(raw, arg) : raw);
    raw = trim(raw);
    if (raw.length > 0) out.push(raw);
    return true;
  });
  return `[${out.join(",")}]`;
}

function modKeys(json: string): string {
  const v = parse(json);
  if (!exists(v)) return "[]";
  const obj = isObjectText(json);
  const out: string[] = [];
  forEach(v, (k) => {
    out.push(obj ? k.raw : "null");
    return true;
  });
  return `[${out.join(",")}]`;
}

function modValues(json: string): string {
  const v = parse(json);
  if (!exists(v)) return "[]";
  if (isArrayText(json)) return json;
  const out: string[] = [];
  forEach(v, (_k, val) => {
    out.push(val.raw);
    return true;
  });
  return `[${out.join(",")}]`;
}

function modJoin(json: string, arg: string): string {
  if (!isArrayText(json)) return json;
  const preserve = boolArg(arg, "preserve");
  const res = parse(json);
  if (preserve) {
    const out: string[] = [];
    forEach(res, (_k, v) => {
      if (v.t === T_JSON && v.raw[0] === "{") out.push(unwrap(v.raw));
      return true;
    });
    return `{${out.join(",")}}`;
  }
  const keys = new Map<string, { key: string; val: string }>();
  forEach(res, (_k, v) => {
    if (!(v.t === T_JSON && v.raw[0] === "{")) return true;
    forEach(v, (k, val) => {
      const prev = keys.get(k.str);
      if (prev) prev.val = val.raw;
      else keys.set(k.str, { key: k.raw, val: val.raw });
      return true;
    });
    return true;
  });
  return `{${[...keys.values()].map((e) => `${e.key}:${e.val}`).join(",")}}`;
}

function modGroup(json: string): string {
  if (!isObjectText(json)) return "";
  const all: string[][] = [];
  forEach(parse(json), (k, v) => {
    if (!(v.t === T_JSON && v.raw[0] === "[")) return true;
    let idx = 0;
    forEach(v, (_i, item) => {
      if (idx === all.length) all.push([]);
      all[idx]?.push(`${k.raw}:${item.raw}`);
      idx++;
      return true;
    });
    return true;
  });
  return `[${all.map((g) => `{${g.join(",")}}`).join(",")}]`;
}

/** Removes whitespace outside strings (tidwall/pretty Ugly). */
function ugly(json: string): string {
  let out = "";
  const n = json.length;
  for (let i = 0; i < n; i++) {
    const c = json.charCodeAt(i);
    if (c <= 32) continue;
    if (c === QUOTE) {
      const end = scanString(json, i + 1);
      out += json.slice(i, end);
      i = end - 1;
    } else {
      out += json[i];
    }
  }
  return out;
}

interface PrettyOpts {
  width: number;
  prefix: string;
  indent: string;
  sortKeys: boolean;
}

/** Indented JSON in tidwall/pretty's layout: short scalar arrays stay on one line. */
function prettyJson(json: string, o: PrettyOpts): string {
  const root = parse(json);
  if (!exists(root)) return "";
  const tabs = (n: number) => o.prefix + o.indent.repeat(n);
  const oneLine = (v: RawResult, max: number): string | undefined => {
    if (v.t !== T_JSON) return v.raw;
    if (v.raw[0] === "{") return undefined;
    const items: string[] = [];
    let len = 2;
    let ok = true;
    forEach(v, (_k, item) => {
      const s = oneLine(item, max);
      if (s === undefined) {
        ok = false;
        return false;
      }
      items.push(s);
      len += s.length + 2;
      if (len > max + 2) {
        ok = false;
        return false;
      }
      return true;
    });
    if (!ok) return undefined;
    const s = `[${items.join(", ")}]`;
    return s.length <= max ? s : undefined;
  };
  const fmt = (v: RawResult, depth: number, col: number): string => {
    if (v.t !== T_JSON) return v.t === T_STRING || v.t === T_NUMBER ? v.raw : v.raw;
    const isArr = v.raw[0] === "[";
    if (isArr && o.width > 0) {
      const max = o.width - col;
      if (max > 3) {
        const s = oneLine(v, max);
        if (s !== undefined) return s;
      }
    }
    const items: { key: RawResult | undefined; text: string }[] = [];
    forEach(v, (k, item) => {
      const pad = tabs(depth + 1);
      const head = isArr ? pad : `${pad}${k.raw}: `;
      items.push({ key: isArr ? undefined : k, text: head + fmt(item, depth + 1, head.length) });
      return true;
    });
    if (items.length === 0) return isArr ? "[]" : "{}";
    if (!isArr && o.sortKeys) {
      items.sort((a, b) => {
        const x = a.key?.str ?? "";
        const y = b.key?.str ?? "";
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }
    const [open, close] = isArr ? ["[", "]"] : ["{", "}"];
    return `${open}\n${items.map((x) => x.text).join(",\n")}\n${tabs(depth)}${close}`;
  };
  return `${o.prefix}${fmt(root, 0, o.prefix.length)}\n`;
}

function modPretty(json: string, arg: string): string {
  const o: PrettyOpts = { width: 80, prefix: "", indent: "  ", sortKeys: false };
  if (arg !== "") {
    forEach(parse(arg), (k, v) => {
      switch (k.str) {
        case "sortKeys":
          o.sortKeys = v.t === T_TRUE || trueish(v);
          break;
        case "indent":
          o.indent = resultString(v).replace(/[^ \t\n\r]/g, "");
          break;
        case "prefix":
          o.prefix = resultString(v).replace(/[^ \t\n\r]/g, "");
          break;
        case "width":
          o.width = Math.trunc(v.num);
          break;
      }
      return true;
    });
  }
  return prettyJson(json, o);
}

const MODIFIERS: ReadonlyMap<string, Modifier> = new Map<string, Modifier>([
  ["pretty", modPretty],
  ["ugly", (json) => ugly(json)],
  ["reverse", (json) => modReverse(json)],
  ["this", (json) => json],
  ["flatten", modFlatten],
  ["join", modJoin],
  ["valid", (json) => (gjsonValid(json) ? json : "")],
  ["keys", (json) => modKeys(json)],
  ["values", (json) => modValues(json)],
  ["tostr", (json) => goJsonString(json)],
  ["fromstr", (json) => (gjsonValid(json) ? resultString(parse(json)) : "")],
  ["group", (json) => modGroup(json)],
]);

// ---------------------------------------------------------------------------------------------
// Validation (RFC 8259, as gjson.Valid)

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Set by the valid* helpers: the offset after the value just checked. */
let vpos = 0;

function validPayload(s: string, i: number): boolean {
  const n = s.length;
  while (i < n && isWs(s.charCodeAt(i))) i++;
  if (i >= n || !validAny(s, i, 0)) return false;
  i = vpos;
  while (i < n && isWs(s.charCodeAt(i))) i++;
  return i === n;
}

function validAny(s: string, i: number, depth: number): boolean {
  const n = s.length;
  while (i < n && isWs(s.charCodeAt(i))) i++;
  if (i >= n || depth > 10000) return false;
  const c = s.charCodeAt(i);
  switch (c) {
    case 123:
      return validObject(s, i + 1, depth + 1);
    case 91:
      return validArray(s, i + 1, depth + 1);
    case QUOTE:
      return validString(s, i + 1);
    case 116:
      return validWord(s, i, "true");
    case 102:
      return validWord(s, i, "false");
    case 110:
      return validWord(s, i, "null");
    default:
      if (c === 45 || (c >= 48 && c <= 57)) return validNumber(s, i);
      return false;
  }
}

function validWord(s: string, i: number, w: string): boolean {
  if (!s.startsWith(w, i)) return false;
  vpos = i + w.length;
  return true;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

function validObject(s: string, i: number, depth: number): boolean {
  i = skipWs(s, i);
  if (s.charCodeAt(i) === 125) {
    vpos = i + 1;
    return true;
  }
  for (;;) {
    if (s.charCodeAt(i) !== QUOTE || !validString(s, i + 1)) return false;
    i = skipWs(s, vpos);
    if (s.charCodeAt(i) !== 58) return false;
    if (!validAny(s, i + 1, depth)) return false;
    i = skipWs(s, vpos);
    const c = s.charCodeAt(i);
    if (c === 125) {
      vpos = i + 1;
      return true;
    }
    if (c !== 44) return false;
    i = skipWs(s, i + 1);
  }
}

function validArray(s: string, i: number, depth: number): boolean {
  i = skipWs(s, i);
  if (s.charCodeAt(i) === 93) {
    vpos = i + 1;
    return true;
  }
  for (;;) {
    if (!validAny(s, i, depth)) return false;
    i = skipWs(s, vpos);
    const c = s.charCodeAt(i);
    if (c === 93) {
      vpos = i + 1;
      return true;
    }
    if (c !== 44) return false;
    i++;
  }
}

function validString(s: string, i: number): boolean {
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      vpos = i + 1;
      return true;
    }
    if (c < 32) return false;
    if (c === BACKSLASH) {
      i++;
      const e = s.charCodeAt(i);
      if (e === 117) {
        for (let k = 1; k <= 4; k++) {
          const h = s.charCodeAt(i + k);
          if (!((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102)))
            return false;
        }
        i += 4;
      } else if (
        e !== 34 &&
        e !== 92 &&
        e !== 47 &&
        e !== 98 &&
        e !== 102 &&
        e !== 110 &&
        e !== 114 &&
        e !== 116
      ) {
        return false;
      }
    }
  }
  return false;
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function validNumber(s: string, i: number): boolean {
  NUMBER_RE.lastIndex = i;
  if (!NUMBER_RE.test(s)) return false;
  vpos = NUMBER_RE.lastIndex;
  return true;
}
