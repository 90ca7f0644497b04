/**
 * expr-lang (github.com/expr-lang/expr, formerly antonmedv/expr; Argo pins v1.15.5) for the
 * EventSource entry `filter.expression`, run the way Argo runs it: `expr.Eval` without a typed
 * environment, so every check happens at run time, a missing map key or variable is nil and
 * navigating through nil is an error. The environment also holds Argo's helpers `asInt`,
 * `asFloat`, `toJson`, `jsonpath` and `sprig` (a few string functions).
 *
 * Known differences (sensorbus):
 * - Go's int and float64 are one JavaScript number: integer-valued numbers act as ints where Go
 *   needs one (`%`, `..`), and `string(x)` prints integers in full (Go would print a float64
 *   million as `1e+06`).
 * - `matches` is Go's RE2 (lib/re2.ts): Go's syntax and error texts, linear-time matching.
 * - Not implemented: `let`, `if {} else {}`, `$env` assignments, bytes literals, dates/durations,
 *   slices with steps, pipes into predicates, and struct methods. Runtime errors carry no
 *   `(line:col)` snippet.
 */
import { JSONPath } from "jsonpath-plus";
import { EventsError } from "../errors.js";
import { chargeBudget, checkBudget } from "./budget.js";
import { goMarshal } from "./gojson.js";
import { compileRe2, goDeepEqual, goFormatFloat } from "./govaluate.js";
import type { GoRegexp } from "./re2.js";

export interface ExprProgram {
  run(env: Record<string, unknown>): unknown;
}

const MAX_SOURCE = 20_000;
const MAX_DEPTH = 100;
const MAX_RANGE = 1_000_000;
const MAX_STRING = 10_000_000;

// ---------------------------------------------------------------------------------------------
// Lexer

type TokKind = "num" | "str" | "ident" | "op" | "bracket" | "eof";
interface Tok {
  kind: TokKind;
  value: string;
  pos: number;
  num?: number;
}

const WORD_OPS = new Set([
  "and",
  "or",
  "not",
  "in",
  "matches",
  "contains",
  "startsWith",
  "endsWith",
]);
const OPS3 = ["..."];
const OPS2 = ["?.", "??", "..", "**", "==", "!=", "<=", ">=", "&&", "||"];
const OPS1 = "!<>+-*/%^?:.,#|;=";

class ExprSyntaxError extends Error {}

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const err = (msg: string, at: number): never => {
    throw new ExprSyntaxError(`${msg} (1:${at + 1})`);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) err("unclosed comment", i);
      i = end + 2;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      const rest = src.slice(i);
      const radix = /^0[xX][0-9a-fA-F_]+|^0[oO][0-7_]+|^0[bB][01_]+/.exec(rest);
      if (radix) {
        const m = radix;
        const clean = m[0].replaceAll("_", "");
        const base = /[xX]/.test(clean[1]!) ? 16 : /[oO]/.test(clean[1]!) ? 8 : 2;
        out.push({
          kind: "num",
          value: m[0],
          pos: start,
          num: Number.parseInt(clean.slice(2), base),
        });
        i += m[0].length;
        continue;
      }
      const m = /^(?:[0-9][0-9_]*)?(?:\.(?!\.)[0-9_]*)?(?:[eE][+-]?[0-9_]+)?/.exec(rest)!;
      const text = m[0].replaceAll("_", "");
      const n = Number(text);
      if (text === "" || Number.isNaN(n)) err(`invalid number literal ${m[0]}`, start);
      if (!Number.isFinite(n)) err("float literal is too large", start);
      out.push({ kind: "num", value: m[0], pos: start, num: n });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let s = "";
      i++;
      while (true) {
        const ch = src[i];
        if (ch === undefined) err("literal not terminated", start);
        if (ch === c) {
          i++;
          break;
        }
        if (ch === "\\") {
          const e = src[i + 1];
          i += 2;
          switch (e) {
            case "n":
              s += "\n";
              break;
            case "t":
              s += "\t";
              break;
            case "r":
              s += "\r";
              break;
            case "a":
              s += "\x07";
              break;
            case "b":
              s += "\b";
              break;
            case "f":
              s += "\f";
              break;
            case "v":
              s += "\v";
              break;
            case "\\":
            case "'":
            case '"':
              s += e;
              break;
            case "x":
            case "u":
            case "U": {
              const len = e === "x" ? 2 : e === "u" ? 4 : 8;
              const hex = src.slice(i, i + len);
              if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) err("invalid char escape", i);
              const cp = Number.parseInt(hex, 16);
              if (cp > 0x10ffff) err("escape sequence is invalid Unicode code point", i);
              s += String.fromCodePoint(cp);
              i += len;
              break;
            }
            default:
              if (e !== undefined && /[0-7]/.test(e)) {
                const oct = src.slice(i - 1, i + 2);
                if (!/^[0-7]{3}$/.test(oct)) err("invalid char escape", i);
                s += String.fromCodePoint(Number.parseInt(oct, 8));
                i += 2;
                break;
              }
              err("invalid char escape", i);
          }
          continue;
        }
        s += ch;
        i++;
      }
      out.push({ kind: "str", value: s, pos: start });
      continue;
    }
    if (c === "`") {
      const end = src.indexOf("`", i + 1);
      if (end < 0) err("literal not terminated", start);
      out.push({ kind: "str", value: src.slice(i + 1, end), pos: start });
      i = end + 1;
      continue;
    }
    if (/[\p{L}_$]/u.test(c)) {
      const m = /^[\p{L}\p{Nd}_$]+/u.exec(src.slice(i))!;
      const word = m[0];
      out.push({ kind: WORD_OPS.has(word) ? "op" : "ident", value: word, pos: start });
      i += word.length;
      continue;
    }
    if ("()[]{}".includes(c)) {
      out.push({ kind: "bracket", value: c, pos: start });
      i++;
      continue;
    }
    const three = src.slice(i, i + 3);
    const two = src.slice(i, i + 2);
    if (OPS3.includes(three)) err(`unexpected token ${three}`, start);
    if (OPS2.includes(two) && !(two === "?." && /[0-9]/.test(src[i + 2] ?? ""))) {
      out.push({ kind: "op", value: two, pos: start });
      i += 2;
      continue;
    }
    if (OPS1.includes(c)) {
      out.push({ kind: "op", value: c, pos: start });
      i++;
      continue;
    }
    err(
      `unrecognized character: U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} '${c}'`,
      start,
    );
  }
  out.push({ kind: "eof", value: "", pos: src.length });
  return out;
}

// ---------------------------------------------------------------------------------------------
// AST and parser

type Node =
  | { t: "lit"; v: unknown }
  | { t: "ident"; name: string }
  | { t: "pointer"; name: string }
  | { t: "member"; obj: Node; prop: Node; optional: boolean }
  | { t: "slice"; obj: Node; from: Node | null; to: Node | null }
  | { t: "chain"; node: Node }
  | { t: "call"; callee: Node; args: Node[] }
  | { t: "builtin"; name: string; args: Node[] }
  | { t: "unary"; op: string; node: Node }
  | { t: "binary"; op: string; l: Node; r: Node }
  | { t: "cond"; c: Node; a: Node; b: Node }
  | { t: "array"; items: Node[] }
  | { t: "map"; pairs: [Node, Node][] }
  | { t: "predicate"; node: Node };

const BINARY: Record<string, { prec: number; right?: boolean }> = {
  "|": { prec: 0 },
  or: { prec: 10 },
  "||": { prec: 10 },
  and: { prec: 15 },
  "&&": { prec: 15 },
  "==": { prec: 20 },
  "!=": { prec: 20 },
  "<": { prec: 20 },
  ">": { prec: 20 },
  ">=": { prec: 20 },
  "<=": { prec: 20 },
  in: { prec: 20 },
  matches: { prec: 20 },
  contains: { prec: 20 },
  startsWith: { prec: 20 },
  endsWith: { prec: 20 },
  "..": { prec: 25 },
  "+": { prec: 30 },
  "-": { prec: 30 },
  "*": { prec: 60 },
  "/": { prec: 60 },
  "%": { prec: 60 },
  "**": { prec: 100, right: true },
  "^": { prec: 100, right: true },
  "??": { prec: 500 },
};
const UNARY: Record<string, number> = { not: 50, "!": 50, "-": 90, "+": 90 };
const NEGATABLE = new Set(["contains", "matches", "startsWith", "endsWith", "in"]);
const PREDICATE_BUILTINS = new Set([
  "all",
  "none",
  "any",
  "one",
  "filter",
  "map",
  "count",
  "find",
  "findIndex",
  "findLast",
  "findLastIndex",
  "sum",
]);

function describe(t: Tok): string {
  switch (t.kind) {
    case "eof":
      return "EOF";
    case "num":
      return `Number("${t.value}")`;
    case "str":
      return `String("${t.value}")`;
    case "ident":
      return `Identifier("${t.value}")`;
    case "op":
      return `Operator("${t.value}")`;
    default:
      return `Bracket("${t.value}")`;
  }
}

class Parser {
  private i = 0;
  private depth = 0;
  private predicateDepth = 0;
  constructor(private readonly toks: Tok[]) {}

  private get cur(): Tok {
    return this.toks[this.i]!;
  }
  private is(kind: TokKind, value?: string): boolean {
    return this.cur.kind === kind && (value === undefined || this.cur.value === value);
  }
  private fail(msg: string, t: Tok = this.cur): never {
    throw new ExprSyntaxError(`${msg} (1:${t.pos + 1})`);
  }
  private expect(kind: TokKind, value?: string): Tok {
    if (!this.is(kind, value)) this.fail(`unexpected token ${describe(this.cur)}`);
    return this.toks[this.i++]!;
  }

  parseProgram(): Node {
    const node = this.expression(0);
    if (!this.is("eof")) this.fail(`unexpected token ${describe(this.cur)}`);
    return node;
  }

  private expression(prec: number): Node {
    if (++this.depth > MAX_DEPTH) this.fail("expression nested too deeply");
    try {
      let left = this.primary();
      while (this.cur.kind === "op") {
        let opTok = this.cur;
        let negate = false;
        if (opTok.value === "not") {
          const next = this.toks[this.i + 1]!;
          if (next.kind !== "op" || !NEGATABLE.has(next.value))
            this.fail(`unexpected token ${describe(next)}`, next);
          if (BINARY[next.value]!.prec < prec) break;
          this.i++;
          negate = true;
          opTok = next;
        }
        const op = BINARY[opTok.value];
        if (!op || op.prec < prec) break;
        this.i++;
        if (opTok.value === "|") {
          const name = this.expect("ident");
          left = this.call(name, [left]);
          continue;
        }
        const right = this.expression(op.right ? op.prec : op.prec + 1);
        left = { t: "binary", op: opTok.value, l: left, r: right };
        if (negate) left = { t: "unary", op: "not", node: left };
      }
      if (prec === 0) left = this.conditional(left);
      return left;
    } finally {
      this.depth--;
    }
  }

  private conditional(node: Node): Node {
    while (this.is("op", "?")) {
      this.i++;
      if (this.is("op", ":")) {
        this.i++;
        node = { t: "cond", c: node, a: node, b: this.expression(0) };
        continue;
      }
      const a = this.expression(0);
      this.expect("op", ":");
      const b = this.expression(0);
      node = { t: "cond", c: node, a, b };
    }
    return node;
  }

  private primary(): Node {
    const t = this.cur;
    if (t.kind === "op" && UNARY[t.value] !== undefined) {
      this.i++;
      const node = this.expression(UNARY[t.value]!);
      return this.postfix({ t: "unary", op: t.value, node });
    }
    if (this.is("bracket", "(")) {
      this.i++;
      const e = this.expression(0);
      this.expect("bracket", ")");
      return this.postfix(e);
    }
    if (this.predicateDepth > 0 && (this.is("op", "#") || this.is("op", "."))) {
      if (this.is("op", "#")) {
        this.i++;
        let name = "";
        if (this.is("ident")) name = this.toks[this.i++]!.value;
        return this.postfix({ t: "pointer", name });
      }
      // `.Field` inside a predicate means `#.Field`
      return this.postfix({ t: "pointer", name: "" });
    }
    return this.secondary();
  }

  private secondary(): Node {
    const t = this.cur;
    switch (t.kind) {
      case "ident": {
        this.i++;
        if (t.value === "true") return this.postfix({ t: "lit", v: true });
        if (t.value === "false") return this.postfix({ t: "lit", v: false });
        if (t.value === "nil") return this.postfix({ t: "lit", v: null });
        if (this.is("bracket", "(")) return this.postfix(this.call(t, []));
        return this.postfix({ t: "ident", name: t.value });
      }
      case "num":
        this.i++;
        return this.postfix({ t: "lit", v: t.num });
      case "str":
        this.i++;
        return this.postfix({ t: "lit", v: t.value });
      case "bracket":
        if (t.value === "[") return this.postfix(this.array());
        if (t.value === "{") return this.postfix(this.map());
        break;
    }
    return this.fail(`unexpected token ${describe(t)}`);
  }

  private call(name: Tok, leading: Node[]): Node {
    if (PREDICATE_BUILTINS.has(name.value)) {
      this.expect("bracket", "(");
      const args = [...leading];
      if (args.length === 0) {
        args.push(this.expression(0));
        this.expect("op", ",");
      }
      if (!(name.value === "count" || name.value === "sum") || !this.is("bracket", ")")) {
        args.push(this.predicate());
      }
      if (this.is("op", ",")) this.i++;
      this.expect("bracket", ")");
      return { t: "builtin", name: name.value, args };
    }
    const args = [...leading, ...this.args()];
    if (BUILTINS[name.value]) return { t: "builtin", name: name.value, args };
    return { t: "call", callee: { t: "ident", name: name.value }, args };
  }

  private args(): Node[] {
    this.expect("bracket", "(");
    const args: Node[] = [];
    while (!this.is("bracket", ")")) {
      if (args.length > 0) {
        this.expect("op", ",");
        if (this.is("bracket", ")")) break;
      }
      args.push(this.expression(0));
    }
    this.expect("bracket", ")");
    return args;
  }

  private predicate(): Node {
    const braces = this.is("bracket", "{");
    if (braces) this.i++;
    this.predicateDepth++;
    const node = this.expression(0);
    this.predicateDepth--;
    if (braces) this.expect("bracket", "}");
    return { t: "predicate", node };
  }

  private array(): Node {
    this.expect("bracket", "[");
    const items: Node[] = [];
    while (!this.is("bracket", "]")) {
      if (items.length > 0) {
        this.expect("op", ",");
        if (this.is("bracket", "]")) break;
      }
      items.push(this.expression(0));
    }
    this.expect("bracket", "]");
    return { t: "array", items };
  }

  private map(): Node {
    this.expect("bracket", "{");
    const pairs: [Node, Node][] = [];
    while (!this.is("bracket", "}")) {
      if (pairs.length > 0) {
        this.expect("op", ",");
        if (this.is("bracket", "}")) break;
      }
      let key: Node;
      const t = this.cur;
      if (t.kind === "num" || t.kind === "str" || t.kind === "ident") {
        this.i++;
        key = { t: "lit", v: t.value };
      } else if (this.is("bracket", "(")) key = this.expression(0);
      else {
        this.fail(
          `a map key must be a quoted string, a number, a identifier, or an expression enclosed in parentheses (unexpected token ${describe(t)})`,
        );
      }
      this.expect("op", ":");
      pairs.push([key, this.expression(0)]);
    }
    this.expect("bracket", "}");
    return { t: "map", pairs };
  }

  private postfix(node: Node): Node {
    let chained = false;
    while (true) {
      const t = this.cur;
      if (t.kind === "op" && (t.value === "." || t.value === "?.")) {
        const optional = t.value === "?.";
        this.i++;
        if (optional && this.is("bracket", "[")) {
          this.i++;
          const prop = this.expression(0);
          this.expect("bracket", "]");
          node = { t: "member", obj: node, prop, optional: true };
          chained = true;
          continue;
        }
        const p = this.cur;
        if (p.kind !== "ident" && !(p.kind === "op" && /^[A-Za-z]+$/.test(p.value)))
          this.fail("expected name");
        this.i++;
        node = { t: "member", obj: node, prop: { t: "lit", v: p.value }, optional };
        if (optional) chained = true;
        if (this.is("bracket", "(")) node = { t: "call", callee: node, args: this.args() };
        continue;
      }
      if (this.is("bracket", "[")) {
        this.i++;
        if (this.is("op", ":")) {
          this.i++;
          const to = this.is("bracket", "]") ? null : this.expression(0);
          this.expect("bracket", "]");
          node = { t: "slice", obj: node, from: null, to };
          continue;
        }
        const from = this.expression(0);
        if (this.is("op", ":")) {
          this.i++;
          const to = this.is("bracket", "]") ? null : this.expression(0);
          this.expect("bracket", "]");
          node = { t: "slice", obj: node, from, to };
          continue;
        }
        this.expect("bracket", "]");
        node = { t: "member", obj: node, prop: from, optional: false };
        continue;
      }
      break;
    }
    return chained ? { t: "chain", node } : node;
  }
}

// ---------------------------------------------------------------------------------------------
// Runtime

class RunFailure extends Error {}
class ChainNil {}
const CHAIN_NIL = new ChainNil();

type Fn = (...args: unknown[]) => unknown;

/** Go's %T for decoded JSON values (integers shown as int, other numbers as float64). */
function goType(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float64";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "function") return "func(...interface {}) interface {}";
  if (Array.isArray(v)) return "[]interface {}";
  return "map[string]interface {}";
}

function toStr(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 1e21) return v.toFixed(0);
  if (typeof v === "number") return goFormatFloat(v);
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(toStr).join(" ")}]`;
  if (typeof v === "function") return "<func>";
  const o = v as Record<string, unknown>;
  return `map[${Object.keys(o)
    .sort()
    .map((k) => `${k}:${toStr(o[k])}`)
    .join(" ")}]`;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function equal(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b;
  return goDeepEqual(a ?? null, b ?? null);
}

function num(v: unknown, op: string, other: unknown, left: boolean): number {
  if (typeof v === "number") return v;
  throw new RunFailure(
    `invalid operation: ${left ? goType(v) : goType(other)} ${op} ${left ? goType(other) : goType(v)}`,
  );
}

function asBool(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  throw new RunFailure(`interface conversion: interface {} is ${goType(v)}, not bool`);
}

function asString(v: unknown, fn: string): string {
  if (typeof v === "string") return v;
  throw new RunFailure(`invalid argument for ${fn} (type ${goType(v)})`);
}

function asArray(v: unknown, fn: string): unknown[] {
  if (Array.isArray(v)) return v;
  throw new RunFailure(`invalid argument for ${fn} (type ${goType(v)})`);
}

function fetch(from: unknown, key: unknown): unknown {
  if (from === null || from === undefined)
    throw new RunFailure(`cannot fetch ${toStr(key)} from <nil>`);
  if (Array.isArray(from) || typeof from === "string") {
    if (typeof key !== "number")
      throw new RunFailure(`cannot fetch ${toStr(key)} from ${goType(from)}`);
    const arr = typeof from === "string" ? Array.from(from) : from;
    let idx = Math.trunc(key);
    if (idx < 0) idx += arr.length;
    if (idx < 0 || idx >= arr.length) {
      throw new RunFailure(
        `index out of range: ${Math.trunc(key)} (array length is ${arr.length})`,
      );
    }
    return arr[idx] ?? null;
  }
  if (isObj(from)) {
    if (typeof key !== "string") return null;
    return Object.hasOwn(from, key) ? (from[key] ?? null) : null;
  }
  throw new RunFailure(`cannot fetch ${toStr(key)} from ${goType(from)}`);
}

function goInt(v: unknown): number {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return -(2 ** 63);
    return Math.trunc(v);
  }
  if (typeof v === "string") {
    if (!/^[+-]?\d+$/.test(v))
      throw new RunFailure(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) && Math.abs(n) > 2 ** 63) {
      throw new RunFailure(`strconv.Atoi: parsing ${JSON.stringify(v)}: value out of range`);
    }
    return n;
  }
  throw new RunFailure(`invalid argument for int (type ${goType(v)})`);
}

function goFloat(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const t = v.trim() === v ? v : "";
    if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
    if (/^nan$/i.test(t)) return Number.NaN;
    if (!/^[+-]?(\d+(?:\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
      throw new RunFailure(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    return Number(t);
  }
  throw new RunFailure(`invalid argument for float (type ${goType(v)})`);
}

function checkArity(name: string, args: unknown[], min: number, max = min): void {
  if (args.length < min) throw new RunFailure(`not enough arguments to call ${name}`);
  if (args.length > max) throw new RunFailure(`too many arguments to call ${name}`);
}

const BUILTINS: Record<string, Fn> = {
  len: (...a) => {
    checkArity("len", a, 1);
    const v = a[0];
    if (typeof v === "string") return Array.from(v).length;
    if (Array.isArray(v)) return v.length;
    if (isObj(v)) return Object.keys(v).length;
    throw new RunFailure(`invalid argument for len (type ${goType(v)})`);
  },
  abs: (...a) => {
    checkArity("abs", a, 1);
    if (typeof a[0] !== "number")
      throw new RunFailure(`invalid argument for abs (type ${goType(a[0])})`);
    return Math.abs(a[0]);
  },
  int: (...a) => {
    checkArity("int", a, 1);
    return goInt(a[0]);
  },
  float: (...a) => {
    checkArity("float", a, 1);
    return goFloat(a[0]);
  },
  string: (...a) => {
    checkArity("string", a, 1);
    return toStr(a[0]);
  },
  upper: (...a) => {
    checkArity("upper", a, 1);
    return asString(a[0], "upper").toUpperCase();
  },
  lower: (...a) => {
    checkArity("lower", a, 1);
    return asString(a[0], "lower").toLowerCase();
  },
  trim: (...a) => {
    checkArity("trim", a, 1, 2);
    const s = asString(a[0], "trim");
    if (a.length === 1)
      return s.replace(/^[\t\n\v\f\r \u0085\u00a0]+|[\t\n\v\f\r \u0085\u00a0]+$/g, "");
    const chars = new Set(Array.from(asString(a[1], "trim")));
    const cs = Array.from(s);
    let b = 0;
    let e = cs.length;
    while (b < e && chars.has(cs[b]!)) b++;
    while (e > b && chars.has(cs[e - 1]!)) e--;
    return cs.slice(b, e).join("");
  },
  trimPrefix: (...a) => {
    checkArity("trimPrefix", a, 2);
    const s = asString(a[0], "trimPrefix");
    const p = asString(a[1], "trimPrefix");
    return s.startsWith(p) ? s.slice(p.length) : s;
  },
  trimSuffix: (...a) => {
    checkArity("trimSuffix", a, 2);
    const s = asString(a[0], "trimSuffix");
    const p = asString(a[1], "trimSuffix");
    return p !== "" && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  },
  split: (...a) => {
    checkArity("split", a, 2, 3);
    const s = asString(a[0], "split");
    const sep = asString(a[1], "split");
    const parts = sep === "" ? Array.from(s) : s.split(sep);
    if (a.length === 3) {
      const n = goInt(a[2]);
      if (n === 0) return [];
      if (n > 0 && parts.length > n)
        return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
    }
    return parts;
  },
  join: (...a) => {
    checkArity("join", a, 1, 2);
    const arr = asArray(a[0], "join");
    const sep = a.length > 1 ? asString(a[1], "join") : "";
    return arr.map((x) => asString(x, "join")).join(sep);
  },
  replace: (...a) => {
    checkArity("replace", a, 3);
    return asString(a[0], "replace").replaceAll(
      asString(a[1], "replace"),
      asString(a[2], "replace"),
    );
  },
  repeat: (...a) => {
    checkArity("repeat", a, 2);
    const s = asString(a[0], "repeat");
    const n = goInt(a[1]);
    if (n < 0) throw new RunFailure("strings: negative Repeat count");
    if (s.length * n > MAX_STRING) throw new RunFailure("memory budget exceeded");
    chargeBudget(s.length * n);
    return s.repeat(n);
  },
  indexOf: (...a) => {
    checkArity("indexOf", a, 2);
    const s = asString(a[0], "indexOf");
    const i = s.indexOf(asString(a[1], "indexOf"));
    return i < 0 ? -1 : Array.from(s.slice(0, i)).length;
  },
  hasPrefix: (...a) => {
    checkArity("hasPrefix", a, 2);
    return asString(a[0], "hasPrefix").startsWith(asString(a[1], "hasPrefix"));
  },
  hasSuffix: (...a) => {
    checkArity("hasSuffix", a, 2);
    return asString(a[0], "hasSuffix").endsWith(asString(a[1], "hasSuffix"));
  },
  keys: (...a) => {
    checkArity("keys", a, 1);
    if (!isObj(a[0])) throw new RunFailure(`cannot get keys from ${goType(a[0])}`);
    return Object.keys(a[0]);
  },
  values: (...a) => {
    checkArity("values", a, 1);
    if (!isObj(a[0])) throw new RunFailure(`cannot get values from ${goType(a[0])}`);
    return Object.values(a[0]);
  },
  max: (...a) => {
    const xs = a.length === 1 && Array.isArray(a[0]) ? a[0] : a;
    if (xs.length === 0) throw new RunFailure("not enough arguments to call max");
    return Math.max(...xs.map((x) => num(x, "max", x, true)));
  },
  min: (...a) => {
    const xs = a.length === 1 && Array.isArray(a[0]) ? a[0] : a;
    if (xs.length === 0) throw new RunFailure("not enough arguments to call min");
    return Math.min(...xs.map((x) => num(x, "min", x, true)));
  },
  ceil: (...a) => Math.ceil(num(a[0], "ceil", a[0], true)),
  floor: (...a) => Math.floor(num(a[0], "floor", a[0], true)),
  round: (...a) => {
    const x = num(a[0], "round", a[0], true);
    return x < 0 ? -Math.round(-x) : Math.round(x);
  },
  first: (...a) => {
    const arr = asArray(a[0], "first");
    return arr.length > 0 ? arr[0] : null;
  },
  last: (...a) => {
    const arr = asArray(a[0], "last");
    return arr.length > 0 ? arr[arr.length - 1] : null;
  },
};

function sprigString(name: string, v: unknown): string {
  if (typeof v === "string") return v;
  throw new RunFailure(`reflect: Call using ${goType(v)} as type string (sprig.${name})`);
}

/** The few sprig string functions sensorbus supports under `sprig.` (argument order as in sprig). */
const SPRIG: Record<string, Fn> = {
  upper: (s) => sprigString("upper", s).toUpperCase(),
  lower: (s) => sprigString("lower", s).toLowerCase(),
  trim: (s) => sprigString("trim", s).trim(),
  trimPrefix: (p, s) => {
    const str = sprigString("trimPrefix", s);
    const pre = sprigString("trimPrefix", p);
    return str.startsWith(pre) ? str.slice(pre.length) : str;
  },
  trimSuffix: (x, s) => {
    const str = sprigString("trimSuffix", s);
    const suf = sprigString("trimSuffix", x);
    return suf !== "" && str.endsWith(suf) ? str.slice(0, str.length - suf.length) : str;
  },
  contains: (sub, s) => sprigString("contains", s).includes(sprigString("contains", sub)),
  hasPrefix: (p, s) => sprigString("hasPrefix", s).startsWith(sprigString("hasPrefix", p)),
  hasSuffix: (x, s) => sprigString("hasSuffix", s).endsWith(sprigString("hasSuffix", x)),
  replace: (o, n, s) =>
    sprigString("replace", s).replaceAll(sprigString("replace", o), sprigString("replace", n)),
  b64enc: (s) => Buffer.from(sprigString("b64enc", s), "utf8").toString("base64"),
  b64dec: (s) => {
    const str = sprigString("b64dec", s);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(str) || str.length % 4 !== 0) {
      const bad = str.search(/[^A-Za-z0-9+/=]/);
      return `illegal base64 data at input byte ${bad < 0 ? str.length - (str.length % 4) : bad}`;
    }
    return Buffer.from(str, "base64").toString("utf8");
  },
};

function jsonpathFn(...a: unknown[]): unknown {
  checkArity("jsonpath", a, 2);
  const text = a[0];
  const path = a[1];
  if (typeof text !== "string" || typeof path !== "string") {
    throw new RunFailure(
      `reflect: Call using ${goType(typeof text !== "string" ? text : path)} as type string`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RunFailure(`jsonpath: invalid JSON: ${(err as Error).message}`);
  }
  let results: unknown[];
  try {
    results = JSONPath({ path, json: json as object, eval: "safe", wrap: true }) as unknown[];
  } catch (err) {
    throw new RunFailure(`jsonpath: ${(err as Error).message}`);
  }
  // A definite path (no wildcard, recursion, filter, union or slice) yields one value.
  const definite = !/\*|\.\.|\[\s*\?|,|:/.test(path);
  if (definite) {
    if (!results || results.length === 0) throw new RunFailure(`jsonpath: '${path}' not found`);
    return results[0] ?? null;
  }
  return results ?? [];
}

const ARGO_ENV: Record<string, unknown> = {
  asInt: (...a: unknown[]) => {
    checkArity("asInt", a, 1);
    return goInt(a[0]);
  },
  asFloat: (...a: unknown[]) => {
    checkArity("asFloat", a, 1);
    return goFloat(a[0]);
  },
  toJson: (...a: unknown[]) => {
    checkArity("toJson", a, 1);
    return goMarshal(a[0]);
  },
  jsonpath: jsonpathFn,
  sprig: SPRIG,
};

interface Scope {
  env: Record<string, unknown>;
  item?: unknown;
  index?: number;
  hasItem: boolean;
}

function run(node: Node, s: Scope): unknown {
  checkBudget();
  switch (node.t) {
    case "lit":
      return node.v;
    case "ident": {
      if (node.name === "$env") return s.env;
      if (Object.hasOwn(ARGO_ENV, node.name)) return ARGO_ENV[node.name];
      return Object.hasOwn(s.env, node.name) ? (s.env[node.name] ?? null) : null;
    }
    case "pointer":
      if (!s.hasItem) throw new RunFailure("# used outside a predicate");
      if (node.name === "index") return s.index ?? 0;
      return s.item ?? null;
    case "chain": {
      const v = run(node.node, s);
      return v === CHAIN_NIL ? null : v;
    }
    case "member": {
      const obj = run(node.obj, s);
      if (obj === CHAIN_NIL) return CHAIN_NIL;
      if (node.optional && (obj === null || obj === undefined)) return CHAIN_NIL;
      const key = run(node.prop, s);
      if (obj === SPRIG && typeof key === "string" && !Object.hasOwn(SPRIG, key)) {
        throw new RunFailure(`sprig.${key} is not supported by sensorbus`);
      }
      return fetch(obj, key);
    }
    case "slice": {
      const obj = run(node.obj, s);
      if (obj === CHAIN_NIL) return CHAIN_NIL;
      if (!Array.isArray(obj) && typeof obj !== "string")
        throw new RunFailure(`cannot slice ${goType(obj)}`);
      const arr = typeof obj === "string" ? Array.from(obj) : obj;
      const norm = (v: unknown, dflt: number): number => {
        if (v === undefined) return dflt;
        let n = Math.trunc(num(v, "slice", v, true));
        if (n < 0) n += arr.length;
        return Math.min(Math.max(n, 0), arr.length);
      };
      const from = norm(node.from ? run(node.from, s) : undefined, 0);
      const to = norm(node.to ? run(node.to, s) : undefined, arr.length);
      const out = arr.slice(from, Math.max(from, to));
      return typeof obj === "string" ? out.join("") : out;
    }
    case "call": {
      const fn = run(node.callee, s);
      if (fn === CHAIN_NIL) return CHAIN_NIL;
      if (typeof fn !== "function") {
        const name = node.callee.t === "ident" ? node.callee.name : "value";
        throw new RunFailure(`${name} is not callable (type ${goType(fn)})`);
      }
      return (fn as Fn)(...node.args.map((a) => run(a, s)));
    }
    case "builtin":
      return runBuiltin(node.name, node.args, s);
    case "unary": {
      const v = run(node.node, s);
      if (node.op === "not" || node.op === "!") return !asBool(v);
      if (typeof v !== "number") throw new RunFailure(`invalid operation: ${node.op}${goType(v)}`);
      return node.op === "-" ? -v : v;
    }
    case "binary":
      return runBinary(node.op, node.l, node.r, s);
    case "cond":
      if (node.a === node.c) {
        const v = run(node.c, s);
        return v === null || v === false || v === "" || v === 0 ? run(node.b, s) : v;
      }
      return asBool(run(node.c, s)) ? run(node.a, s) : run(node.b, s);
    case "array":
      return node.items.map((n) => run(n, s));
    case "map": {
      const out: Record<string, unknown> = {};
      for (const [k, v] of node.pairs) out[toStr(run(k, s))] = run(v, s);
      return out;
    }
    case "predicate":
      return run(node.node, s);
  }
}

function runBinary(op: string, ln: Node, rn: Node, s: Scope): unknown {
  if (op === "and" || op === "&&") return asBool(run(ln, s)) ? asBool(run(rn, s)) : false;
  if (op === "or" || op === "||") return asBool(run(ln, s)) ? true : asBool(run(rn, s));
  if (op === "??") {
    const l = run(ln, s);
    return l === null || l === undefined ? run(rn, s) : l;
  }
  const l = run(ln, s);
  const r = run(rn, s);
  switch (op) {
    case "==":
      return equal(l, r);
    case "!=":
      return !equal(l, r);
    case "<":
    case ">":
    case "<=":
    case ">=": {
      if (
        !(
          (typeof l === "number" && typeof r === "number") ||
          (typeof l === "string" && typeof r === "string")
        )
      ) {
        throw new RunFailure(`invalid operation: ${goType(l)} ${op} ${goType(r)}`);
      }
      const a = l as number | string;
      const b = r as number | string;
      return op === "<" ? a < b : op === ">" ? a > b : op === "<=" ? a <= b : a >= b;
    }
    case "+":
      if (typeof l === "number" && typeof r === "number") return l + r;
      if (typeof l === "string" && typeof r === "string") {
        if (l.length + r.length > MAX_STRING) throw new RunFailure("memory budget exceeded");
        chargeBudget(l.length + r.length);
        return l + r;
      }
      throw new RunFailure(`invalid operation: ${goType(l)} + ${goType(r)}`);
    case "-":
      return num(l, op, r, true) - num(r, op, l, false);
    case "*":
      return num(l, op, r, true) * num(r, op, l, false);
    case "/":
      return num(l, op, r, true) / num(r, op, l, false);
    case "%": {
      const a = num(l, op, r, true);
      const b = num(r, op, l, false);
      if (!Number.isInteger(a) || !Number.isInteger(b)) {
        throw new RunFailure(`invalid operation: ${goType(l)} % ${goType(r)}`);
      }
      if (b === 0) throw new RunFailure("runtime error: integer divide by zero");
      return a % b;
    }
    case "**":
    case "^":
      return num(l, op, r, true) ** num(r, op, l, false);
    case "..": {
      const a = num(l, op, r, true);
      const b = num(r, op, l, false);
      if (!Number.isInteger(a) || !Number.isInteger(b)) {
        throw new RunFailure(`invalid operation: ${goType(l)} .. ${goType(r)}`);
      }
      if (b - a + 1 > MAX_RANGE) throw new RunFailure(`range ${a}..${b} is too large`);
      chargeBudget(b - a + 1);
      const out: number[] = [];
      for (let i = a; i <= b; i++) out.push(i);
      return out;
    }
    case "in":
      if (Array.isArray(r)) return r.some((x) => equal(l, x));
      if (isObj(r)) return typeof l === "string" && Object.hasOwn(r, l);
      if (r === null) return false;
      throw new RunFailure(`operator "in" not defined on ${goType(r)}`);
    case "matches": {
      if (typeof l !== "string" || typeof r !== "string") {
        throw new RunFailure(`invalid operation: ${goType(l)} matches ${goType(r)}`);
      }
      let re: GoRegexp;
      try {
        re = compileRe2(r);
      } catch (err) {
        throw new RunFailure((err as Error).message);
      }
      return re.matchString(l);
    }
    case "contains":
    case "startsWith":
    case "endsWith": {
      if (typeof l !== "string" || typeof r !== "string") {
        throw new RunFailure(`invalid operation: ${goType(l)} ${op} ${goType(r)}`);
      }
      return op === "contains"
        ? l.includes(r)
        : op === "startsWith"
          ? l.startsWith(r)
          : l.endsWith(r);
    }
    default:
      throw new RunFailure(`unknown operator ${op}`);
  }
}

function runBuiltin(name: string, args: Node[], s: Scope): unknown {
  if (!PREDICATE_BUILTINS.has(name)) {
    const fn = BUILTINS[name]!;
    return fn(...args.map((a) => run(a, s)));
  }
  const coll = run(args[0]!, s);
  const arr = coll === null ? [] : Array.isArray(coll) ? coll : undefined;
  if (!arr) throw new RunFailure(`cannot iterate ${goType(coll)}`);
  const pred = args[1];
  const test = (item: unknown, index: number): unknown =>
    pred ? run(pred, { env: s.env, item, index, hasItem: true }) : item;
  const truth = (item: unknown, index: number): boolean => asBool(test(item, index));
  switch (name) {
    case "all":
      return arr.every(truth);
    case "any":
      return arr.some(truth);
    case "none":
      return !arr.some(truth);
    case "one":
      return arr.filter(truth).length === 1;
    case "filter":
      return arr.filter(truth);
    case "map":
      return arr.map(test);
    case "count":
      return arr.filter(truth).length;
    case "sum":
      return arr.reduce((acc: number, x, i) => acc + num(test(x, i), "+", acc, false), 0);
    case "find":
      return arr.find(truth) ?? null;
    case "findIndex":
      return arr.findIndex(truth);
    case "findLast":
      return arr.findLast(truth) ?? null;
    default:
      return arr.findLastIndex(truth);
  }
}

/**
 * Parses once (callers cache). Throws EventsError("SB_ERR_EXPR_PARSE"); `run` throws
 * EventsError("SB_ERR_EXPR_EVAL") for runtime errors (type mismatches, navigating through nil,
 * index out of range, bad regex, ...).
 */
export function compileExpr(expr: string): ExprProgram {
  if (expr.length > MAX_SOURCE) {
    throw new EventsError("SB_ERR_EXPR_PARSE", `expression longer than ${MAX_SOURCE} characters`);
  }
  let root: Node;
  try {
    root = new Parser(lex(expr)).parseProgram();
  } catch (err) {
    if (err instanceof ExprSyntaxError) throw new EventsError("SB_ERR_EXPR_PARSE", err.message);
    throw err;
  }
  return {
    run(env: Record<string, unknown>): unknown {
      try {
        const out = run(root, { env: env ?? {}, hasItem: false });
        return out === CHAIN_NIL ? null : out;
      } catch (err) {
        if (err instanceof RunFailure) throw new EventsError("SB_ERR_EXPR_EVAL", err.message);
        if (err instanceof RangeError) {
          throw new EventsError(
            "SB_ERR_EXPR_EVAL",
            `expression too deeply nested to run: ${err.message}`,
          );
        }
        throw err;
      }
    },
  };
}
