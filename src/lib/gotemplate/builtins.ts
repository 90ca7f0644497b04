/**
 * Function signatures shared by the Go builtins and sprig, plus Go text/template's predefined
 * functions (and, or, not, len, index, slice, print*, eq/ne/lt/le/gt/ge, html, js, urlquery, call).
 */

import {
  GoTime,
  goFormatValue,
  goTypeName,
  Int64,
  intValue,
  isMap,
  sprint,
  sprintf,
  sprintln,
} from "./format.js";

/**
 * Go parameter types the executor converts arguments to (as reflect would): `any` is
 * interface{} (a missing value becomes nil), `value` is reflect.Value (missing stays invalid).
 */
export type ParamType =
  | "any"
  | "value"
  | "string"
  | "int"
  | "int64"
  | "float64"
  | "bool"
  | "map"
  | "time";

export interface FuncContext {
  now(): Date;
  env: Record<string, string | undefined>;
}

export interface FuncDef {
  params: ParamType[];
  variadic?: ParamType;
  fn: (args: unknown[], ctx: FuncContext) => unknown;
}

/** Thrown by a function; the executor reports it as `error calling NAME: MESSAGE`. */
export class FuncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FuncError";
  }
}

export const GO_TYPE_OF_PARAM: Record<ParamType, string> = {
  any: "interface {}",
  value: "reflect.Value",
  string: "string",
  int: "int",
  int64: "int64",
  float64: "float64",
  bool: "bool",
  map: "map[string]interface {}",
  time: "time.Time",
};

/** Go's template truth: false, 0, nil, empty string/slice/map are false. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case "boolean":
      return v;
    case "string":
      return v.length > 0;
    case "number":
      return v !== 0;
    case "bigint":
      return v !== 0n;
  }
  if (v instanceof Int64) return v.v !== 0n;
  if (v instanceof GoTime) return true;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

type BasicKind = "invalid" | "bool" | "int" | "float" | "string" | "other";

function basicKind(v: unknown): BasicKind {
  if (v === undefined || v === null) return "invalid";
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "number":
      return "float";
    case "bigint":
      return "int";
    case "string":
      return "string";
  }
  if (v instanceof Int64) return "int";
  return "other";
}

const ERR_BAD_TYPE = "invalid type for comparison";
const ERR_BAD_CMP = "incompatible types for comparison";

function eqOne(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 !== k2) {
    if (k1 !== "invalid" && k2 !== "invalid") throw new FuncError(ERR_BAD_CMP);
    return false;
  }
  switch (k1) {
    case "invalid":
      return true;
    case "bool":
    case "float":
    case "string":
      return a === b;
    case "int":
      return intValue(a) === intValue(b);
  }
  if (a instanceof GoTime && b instanceof GoTime) {
    return a.sec === b.sec && a.nsec === b.nsec && a.offset === b.offset && a.zone === b.zone;
  }
  if (goTypeName(a) !== goTypeName(b)) {
    throw new FuncError(
      `non-comparable types ${goFormatValue(a)}: ${goTypeName(a)}, ${goTypeName(b)}: ${goFormatValue(b)}`,
    );
  }
  throw new FuncError(`non-comparable type ${goFormatValue(b)}: ${goTypeName(b)}`);
}

function lessThan(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === "invalid" || k1 === "other" || k2 === "invalid" || k2 === "other") {
    throw new FuncError(ERR_BAD_TYPE);
  }
  if (k1 !== k2) throw new FuncError(ERR_BAD_CMP);
  switch (k1) {
    case "bool":
      throw new FuncError(ERR_BAD_TYPE);
    case "int":
      return intValue(a)! < intValue(b)!;
    case "string":
      return Buffer.compare(Buffer.from(a as string), Buffer.from(b as string)) < 0;
    default:
      return (a as number) < (b as number);
  }
}

function eq(args: unknown[]): boolean {
  const [a, ...rest] = args;
  if (rest.length === 0) throw new FuncError("missing argument for comparison");
  for (const b of rest) if (eqOne(a, b)) return true;
  return false;
}

function indexArg(index: unknown, len: number): number {
  const i = intValue(index);
  if (i === undefined) {
    if (index === undefined || index === null) {
      throw new FuncError("cannot index slice/array with nil");
    }
    throw new FuncError(`cannot index slice/array with type ${goTypeName(index)}`);
  }
  if (i < 0n || i >= BigInt(len)) throw new FuncError(`index out of range: ${i}`);
  return Number(i);
}

function index(args: unknown[]): unknown {
  let item = args[0];
  if (item === undefined || item === null) throw new FuncError("index of untyped nil");
  for (const idx of args.slice(1)) {
    if (item === null || item === undefined) throw new FuncError("index of nil pointer");
    if (typeof item === "string") {
      const bytes = Buffer.from(item, "utf8");
      item = BigInt(bytes[indexArg(idx, bytes.length)]!);
    } else if (Array.isArray(item)) {
      item = item[indexArg(idx, item.length)];
    } else if (isMap(item)) {
      if (idx !== undefined && idx !== null && typeof idx !== "string") {
        throw new FuncError(`value has type ${goTypeName(idx)}; should be string`);
      }
      const key = idx ?? "";
      item = Object.hasOwn(item, key) ? item[key] : null;
    } else {
      throw new FuncError(`can't index item of type ${goTypeName(item)}`);
    }
  }
  return item;
}

function length(v: unknown): bigint {
  if (v === undefined) throw new FuncError("reflect: call of reflect.Value.Type on zero Value");
  if (v === null) throw new FuncError("len of nil pointer");
  if (typeof v === "string") return BigInt(Buffer.byteLength(v, "utf8"));
  if (Array.isArray(v)) return BigInt(v.length);
  if (isMap(v)) return BigInt(Object.keys(v).length);
  throw new FuncError(`len of type ${goTypeName(v)}`);
}

/** Go's builtin slice (sprig replaces it, but it is kept for completeness and tests). */
export function goSlice(args: unknown[]): unknown {
  const [item, ...idx] = args;
  if (item === undefined || item === null) throw new FuncError("slice of untyped nil");
  if (idx.length > 3) throw new FuncError(`too many slice indexes: ${idx.length}`);
  let len: number;
  if (typeof item === "string") {
    if (idx.length === 3) throw new FuncError("cannot 3-index slice a string");
    len = Buffer.byteLength(item, "utf8");
  } else if (Array.isArray(item)) len = item.length;
  else throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
  const ix = [0, len, len];
  for (let k = 0; k < idx.length; k++) ix[k] = indexArg(idx[k], len + 1);
  if (ix[0]! > ix[1]!) throw new FuncError(`invalid slice index: ${ix[0]} > ${ix[1]}`);
  if (typeof item === "string") {
    return Buffer.from(item, "utf8").subarray(ix[0], ix[1]).toString("utf8");
  }
  return item.slice(ix[0], ix[1]);
}

function evalArgsString(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === "string") return args[0];
  return sprint(args.map((a) => (a === undefined ? null : a)));
}

export function htmlEscape(s: string): string {
  return s.replace(/[<>&'"\0]/g, (c) => {
    switch (c) {
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case "&":
        return "&amp;";
      case "'":
        return "&#39;";
      case '"':
        return "&#34;";
      default:
        return "\uFFFD";
    }
  });
}

export function jsEscape(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case "\\":
        out += "\\\\";
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case "<":
        out += "\\u003C";
        continue;
      case ">":
        out += "\\u003E";
        continue;
      case "&":
        out += "\\u0026";
        continue;
      case "=":
        out += "\\u003D";
        continue;
    }
    if (c < 0x20) out += `\\u${c.toString(16).toUpperCase().padStart(4, "0")}`;
    else if (c < 0x80 || /[\p{L}\p{M}\p{N}\p{P}\p{S} ]/u.test(ch)) out += ch;
    else out += `\\u${c.toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return out;
}

/** url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Go's predefined template functions. `and`/`or` are evaluated lazily by the executor. */
export const BUILTINS: Record<string, FuncDef> = {
  and: { params: ["value"], variadic: "value", fn: (a) => a[a.length - 1] },
  or: { params: ["value"], variadic: "value", fn: (a) => a[a.length - 1] },
  not: { params: ["value"], fn: ([a]) => !isTrue(a) },
  len: { params: ["value"], fn: ([a]) => length(a) },
  index: { params: ["value"], variadic: "value", fn: index },
  slice: { params: ["value"], variadic: "value", fn: goSlice },
  print: { params: [], variadic: "any", fn: (a) => sprint(a) },
  printf: { params: ["string"], variadic: "any", fn: ([f, ...a]) => sprintf(f as string, a) },
  println: { params: [], variadic: "any", fn: (a) => sprintln(a) },
  eq: { params: ["value"], variadic: "value", fn: eq },
  ne: { params: ["value", "value"], fn: ([a, b]) => !eqOne(a, b) },
  lt: { params: ["value", "value"], fn: ([a, b]) => lessThan(a, b) },
  le: { params: ["value", "value"], fn: ([a, b]) => lessThan(a, b) || eqOne(a, b) },
  gt: { params: ["value", "value"], fn: ([a, b]) => !(lessThan(a, b) || eqOne(a, b)) },
  ge: { params: ["value", "value"], fn: ([a, b]) => !lessThan(a, b) },
  html: { params: [], variadic: "any", fn: (a) => htmlEscape(evalArgsString(a)) },
  js: { params: [], variadic: "any", fn: (a) => jsEscape(evalArgsString(a)) },
  urlquery: { params: [], variadic: "any", fn: (a) => queryEscape(evalArgsString(a)) },
  call: {
    params: ["value"],
    variadic: "value",
    fn: ([f]) => {
      if (f === undefined || f === null) throw new FuncError("call of nil");
      throw new FuncError(`non-function of type ${goTypeName(f)}`);
    },
  },
};
