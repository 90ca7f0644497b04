/**
 * govaluate (github.com/Knetic/govaluate at 9aa4983, the commit Argo Events pins) for sensor
 * `filters.exprs`. The lexer, the token-transition table, the precedence ladder and the runtime
 * type checks follow that commit so parse and evaluation errors carry govaluate's texts.
 *
 * Known differences (sensorbus):
 * - none for `=~` / `!~`: patterns are Go's RE2 (lib/re2.ts), with Go's syntax, error texts and
 *   linear-time matching.
 * - Date-like string literals are parsed in UTC (govaluate uses the process zone, UTC in
 *   containers).
 * - Accessors (`a.Field`, method calls) never resolve: event values are never Go structs, so they
 *   fail at evaluation exactly as govaluate does for maps. No functions are registered (as in Argo).
 * - Expressions are limited to MAX_TOKENS tokens and MAX_DEPTH nested parentheses.
 */
import { EventsError } from "../errors.js";
import { checkBudget, isBudgetExceeded } from "./budget.js";
import type { GoRegexp } from "./re2.js";
import { compileGoRegexp } from "./re2.js";

const MAX_SOURCE = 20_000;
const MAX_TOKENS = 4_000;
const MAX_DEPTH = 100;

export interface GovaluateExpression {
  evaluate(params: Record<string, unknown>): unknown;
}

// ---------------------------------------------------------------------------------------------
// Go value printing (fmt %v), shared with the expr-lang implementation.

/** Go's strconv.FormatFloat(f, 'g', -1, 64) as used by fmt's %v. */
export function goFormatFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "+Inf";
  if (x === Number.NEGATIVE_INFINITY) return "-Inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mant = "", expText = "0"] = x.toExponential().split("e");
  const exp = Number(expText);
  // %v uses the shortest digits and switches to exponent form outside [1e-4, 1e6).
  if (exp < -4 || exp >= 6) {
    return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return String(x);
}

/** fmt.Sprint of a decoded JSON value (nil, float64, string, bool, []interface{}, map). */
export function goSprint(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return goFormatFloat(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v instanceof Pattern) return v.source;
  if (v instanceof GoTimeLiteral) return v.display;
  if (Array.isArray(v)) return `[${v.map(goSprint).join(" ")}]`;
  if (typeof v === "object") {
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    return `map[${keys.map((k) => `${k}:${goSprint(obj[k])}`).join(" ")}]`;
  }
  return String(v);
}

// ---------------------------------------------------------------------------------------------
// RE2 patterns: Go's regexp (lib/re2.ts), linear in the input for every pattern.

/**
 * Compiles an RE2 pattern (Go regexp syntax, unanchored match). Throws an Error with Go's
 * `error parsing regexp: ...` text. Cached (bounded) in lib/re2.ts.
 */
export function compileRe2(pattern: string): GoRegexp {
  return compileGoRegexp(pattern);
}

// ---------------------------------------------------------------------------------------------
// Date-like string literals (govaluate tryParseTime), evaluated in UTC.

class GoTimeLiteral {
  constructor(
    readonly unix: number,
    readonly display: string,
  ) {}
}

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

// Layouts as element lists: time.ANSIC, UnixDate, RubyDate, Kitchen, RFC3339, RFC3339Nano, then
// govaluate's own list, in govaluate's order.
const TIME_LAYOUTS: readonly (readonly string[])[] = [
  ["Mon", " ", "Jan", " ", "_2", " ", "15", ":", "04", ":", "05", " ", "2006"],
  ["Mon", " ", "Jan", " ", "_2", " ", "15", ":", "04", ":", "05", " ", "MST", " ", "2006"],
  ["Mon", " ", "Jan", " ", "02", " ", "15", ":", "04", ":", "05", " ", "-0700", " ", "2006"],
  ["3", ":", "04", "PM"],
  ["2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05", "Z07:00"],
  ["2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05", ".9", "Z07:00"],
  ["2006", "-", "01", "-", "02"],
  ["2006", "-", "01", "-", "02", " ", "15", ":", "04"],
  ["2006", "-", "01", "-", "02", " ", "15", ":", "04", ":", "05"],
  ["2006", "-", "01", "-", "02", " ", "15", ":", "04", ":", "05", "-07:00"],
  ["2006", "-", "01", "-", "02", "T", "15", "Z0700"],
  ["2006", "-", "01", "-", "02", "T", "15", ":", "04", "Z0700"],
  ["2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05", "Z0700"],
  ["2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05", ".9", "Z0700"],
];

function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysIn(m: number, y: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

function parseWithLayout(value: string, layout: readonly string[]): GoTimeLiteral | undefined {
  let v = value;
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let offset = 0;
  let zoneName = "UTC";
  let pm: boolean | undefined;
  let hour12 = false;
  const num = (fixed: boolean): number | undefined => {
    const m = (fixed ? /^\d\d/ : /^\d\d?/).exec(v);
    if (!m) return undefined;
    v = v.slice(m[0].length);
    return Number(m[0]);
  };
  const tz = (colon: boolean, allowZ: boolean): boolean => {
    if (allowZ && v.startsWith("Z")) {
      v = v.slice(1);
      return true;
    }
    const m = (colon ? /^([+-])(\d\d):(\d\d)/ : /^([+-])(\d\d)(\d\d)/).exec(v);
    if (!m) return false;
    offset = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60);
    zoneName = "";
    v = v.slice(m[0].length);
    return true;
  };
  for (let k = 0; k < layout.length; k++) {
    const el = layout[k]!;
    switch (el) {
      case " ":
        if (v.length > 0 && v[0] !== " ") return undefined;
        v = v.replace(/^ +/, "");
        break;
      case "Mon":
      case "Jan": {
        const list = el === "Mon" ? DAYS : MONTHS;
        const idx = list.indexOf(v.slice(0, 3).toLowerCase());
        if (idx < 0) return undefined;
        if (el === "Jan") month = idx + 1;
        v = v.slice(3);
        break;
      }
      case "2006": {
        if (!/^\d{4}/.test(v)) return undefined;
        year = Number(v.slice(0, 4));
        v = v.slice(4);
        break;
      }
      case "01": {
        const n = num(true);
        if (n === undefined || n < 1 || n > 12) return undefined;
        month = n;
        break;
      }
      case "02":
      case "_2": {
        if (el === "_2" && v.startsWith(" ")) v = v.slice(1);
        const n = num(el === "02");
        if (n === undefined || n < 1 || n > 31) return undefined;
        day = n;
        break;
      }
      case "15":
      case "3": {
        const n = num(false);
        if (n === undefined || n > (el === "3" ? 12 : 23)) return undefined;
        hour = n;
        hour12 = el === "3";
        break;
      }
      case "04":
      case "05": {
        const n = num(true);
        if (n === undefined || n > 59) return undefined;
        if (el === "04") min = n;
        else {
          sec = n;
          if (layout[k + 1] !== ".9") {
            const frac = /^[.,]\d+/.exec(v);
            if (frac) v = v.slice(frac[0].length);
          }
        }
        break;
      }
      case ".9": {
        const frac = /^[.,]\d{1,9}/.exec(v);
        if (frac) v = v.slice(frac[0].length);
        break;
      }
      case "PM": {
        const p = v.slice(0, 2);
        if (p !== "AM" && p !== "PM") return undefined;
        pm = p === "PM";
        v = v.slice(2);
        break;
      }
      case "MST": {
        const m = /^(UTC|GMT([+-]\d{1,2})?|ChST|MeST|[A-Z]{3}(?:[A-Z]T|T)?|WITA)/.exec(v);
        if (!m) return undefined;
        zoneName = m[0];
        if (m[2]) offset = Number(m[2]) * 3600;
        v = v.slice(m[0].length);
        break;
      }
      case "-0700":
        if (!tz(false, false)) return undefined;
        break;
      case "-07:00":
        if (!tz(true, false)) return undefined;
        break;
      case "Z07:00":
        if (!tz(true, true)) return undefined;
        break;
      case "Z0700":
        if (!tz(false, true)) return undefined;
        break;
      default:
        if (!v.startsWith(el)) return undefined;
        v = v.slice(el.length);
    }
  }
  if (v.length > 0) return undefined;
  if (hour12 && pm !== undefined) {
    if (pm && hour < 12) hour += 12;
    if (!pm && hour === 12) hour = 0;
  }
  if (day > daysIn(month, year)) return undefined;
  const unix = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
  const p2 = (n: number): string => String(n).padStart(2, "0");
  const off = `${offset < 0 ? "-" : "+"}${p2(Math.floor(Math.abs(offset) / 3600))}${p2(Math.floor((Math.abs(offset) % 3600) / 60))}`;
  const display = `${String(year).padStart(4, "0")}-${p2(month)}-${p2(day)} ${p2(hour)}:${p2(min)}:${p2(sec)} ${off} ${zoneName || off}`;
  return new GoTimeLiteral(unix, display);
}

/** govaluate's tryParseTime: the first layout that parses the whole literal wins. */
export function govaluateParseTime(text: string): number | undefined {
  return tryParseTime(text)?.unix;
}

function tryParseTime(text: string): GoTimeLiteral | undefined {
  for (const layout of TIME_LAYOUTS) {
    const t = parseWithLayout(text, layout);
    if (t) return t;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Lexer

type Kind =
  | "UNKNOWN"
  | "PREFIX"
  | "NUMERIC"
  | "BOOLEAN"
  | "STRING"
  | "PATTERN"
  | "TIME"
  | "VARIABLE"
  | "FUNCTION"
  | "SEPARATOR"
  | "ACCESSOR"
  | "COMPARATOR"
  | "LOGICALOP"
  | "MODIFIER"
  | "CLAUSE"
  | "CLAUSE_CLOSE"
  | "TERNARY";

class Pattern {
  constructor(
    readonly source: string,
    readonly re: GoRegexp,
  ) {}
}

interface Token {
  kind: Kind;
  value: unknown;
}

interface LexState {
  eof: boolean;
  next: readonly Kind[];
}

const VALUE_START: Kind[] = [
  "PREFIX",
  "NUMERIC",
  "BOOLEAN",
  "VARIABLE",
  "PATTERN",
  "FUNCTION",
  "ACCESSOR",
  "STRING",
  "TIME",
  "CLAUSE",
];
const AFTER_VALUE: Kind[] = [
  "MODIFIER",
  "COMPARATOR",
  "LOGICALOP",
  "CLAUSE_CLOSE",
  "TERNARY",
  "SEPARATOR",
];

const LEX_STATES: Record<Kind, LexState> = {
  UNKNOWN: { eof: false, next: VALUE_START },
  CLAUSE: { eof: false, next: [...VALUE_START, "CLAUSE_CLOSE"] },
  CLAUSE_CLOSE: {
    eof: true,
    next: [
      "COMPARATOR",
      "MODIFIER",
      "NUMERIC",
      "BOOLEAN",
      "VARIABLE",
      "STRING",
      "PATTERN",
      "TIME",
      "CLAUSE",
      "CLAUSE_CLOSE",
      "LOGICALOP",
      "TERNARY",
      "SEPARATOR",
    ],
  },
  NUMERIC: { eof: true, next: AFTER_VALUE },
  BOOLEAN: { eof: true, next: AFTER_VALUE },
  STRING: { eof: true, next: AFTER_VALUE },
  TIME: { eof: true, next: ["MODIFIER", "COMPARATOR", "LOGICALOP", "CLAUSE_CLOSE", "SEPARATOR"] },
  PATTERN: {
    eof: true,
    next: ["MODIFIER", "COMPARATOR", "LOGICALOP", "CLAUSE_CLOSE", "SEPARATOR"],
  },
  VARIABLE: { eof: true, next: AFTER_VALUE },
  MODIFIER: {
    eof: false,
    next: [
      "PREFIX",
      "NUMERIC",
      "VARIABLE",
      "FUNCTION",
      "ACCESSOR",
      "STRING",
      "BOOLEAN",
      "CLAUSE",
      "CLAUSE_CLOSE",
    ],
  },
  COMPARATOR: {
    eof: false,
    next: [
      "PREFIX",
      "NUMERIC",
      "BOOLEAN",
      "VARIABLE",
      "FUNCTION",
      "ACCESSOR",
      "STRING",
      "TIME",
      "CLAUSE",
      "CLAUSE_CLOSE",
      "PATTERN",
    ],
  },
  LOGICALOP: {
    eof: false,
    next: [
      "PREFIX",
      "NUMERIC",
      "BOOLEAN",
      "VARIABLE",
      "FUNCTION",
      "ACCESSOR",
      "STRING",
      "TIME",
      "CLAUSE",
      "CLAUSE_CLOSE",
    ],
  },
  PREFIX: {
    eof: false,
    next: ["NUMERIC", "BOOLEAN", "VARIABLE", "FUNCTION", "ACCESSOR", "CLAUSE", "CLAUSE_CLOSE"],
  },
  TERNARY: {
    eof: false,
    next: [
      "PREFIX",
      "NUMERIC",
      "BOOLEAN",
      "STRING",
      "TIME",
      "VARIABLE",
      "FUNCTION",
      "ACCESSOR",
      "CLAUSE",
      "SEPARATOR",
    ],
  },
  FUNCTION: { eof: false, next: ["CLAUSE"] },
  ACCESSOR: {
    eof: true,
    next: ["CLAUSE", "MODIFIER", "COMPARATOR", "LOGICALOP", "CLAUSE_CLOSE", "TERNARY", "SEPARATOR"],
  },
  SEPARATOR: {
    eof: false,
    next: [
      "PREFIX",
      "NUMERIC",
      "BOOLEAN",
      "STRING",
      "TIME",
      "VARIABLE",
      "FUNCTION",
      "ACCESSOR",
      "CLAUSE",
    ],
  },
};

const COMPARATORS = new Set(["==", "!=", ">", ">=", "<", "<=", "=~", "!~", "in"]);
const LOGICALS = new Set(["&&", "||"]);
const MODIFIERS = new Set(["+", "-", "*", "/", "%", "**", "&", "|", "^", ">>", "<<"]);
const PREFIXES = new Set(["-", "!", "~"]);
const TERNARIES = new Set(["?", ":", "??"]);

const isSpace = (c: string): boolean =>
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/.test(c);
const isDigit = (c: string): boolean => /^\p{Nd}$/u.test(c);
const isLetter = (c: string): boolean => /^\p{L}$/u.test(c);
const isNumeric = (c: string): boolean => isDigit(c) || c === ".";
const isQuote = (c: string): boolean => c === "'" || c === '"';
const isHexDigit = (c: string): boolean => /^[0-9a-fA-F]$/.test(c) || isDigit(c);
const isVariableChar = (c: string): boolean => isLetter(c) || isDigit(c) || c === "_" || c === ".";
const isSymbolChar = (c: string): boolean =>
  !(isDigit(c) || isLetter(c) || c === "(" || c === ")" || c === "[" || c === "]" || isQuote(c));

function parseError(message: string): EventsError {
  return new EventsError("SB_ERR_EXPR_PARSE", message);
}

class Lexer {
  private readonly cs: string[];
  private pos = 0;
  constructor(source: string) {
    this.cs = Array.from(source);
  }

  private canRead(): boolean {
    return this.pos < this.cs.length;
  }
  private read(): string {
    return this.cs[this.pos++]!;
  }

  /** govaluate readUntilFalse: returns the text and whether the condition (or whitespace) ended it. */
  private readUntilFalse(
    includeWs: boolean,
    breakWs: boolean,
    escaping: boolean,
    cond: (c: string) => boolean,
  ): [string, boolean] {
    let buf = "";
    let conditioned = false;
    while (this.canRead()) {
      let c = this.read();
      if (escaping && c === "\\") {
        if (!this.canRead()) throw parseError("Unexpected end of expression after '\\'");
        c = this.read();
        buf += c;
        continue;
      }
      if (isSpace(c)) {
        if (breakWs && buf.length > 0) {
          conditioned = true;
          break;
        }
        if (!includeWs) continue;
      }
      if (cond(c)) buf += c;
      else {
        conditioned = true;
        this.pos--;
        break;
      }
    }
    return [buf, conditioned];
  }

  private readTokenUntilFalse(cond: (c: string) => boolean): string {
    this.pos--;
    return this.readUntilFalse(false, true, true, cond)[0];
  }

  tokens(): Token[] {
    const out: Token[] = [];
    let state = LEX_STATES.UNKNOWN;
    let depth = 0;
    while (this.canRead()) {
      const tok = this.readToken(state);
      if (!tok) break;
      if (tok.kind === "CLAUSE" && ++depth > MAX_DEPTH) {
        throw parseError(`Expression nested deeper than ${MAX_DEPTH} parentheses`);
      }
      if (tok.kind === "CLAUSE_CLOSE") depth--;
      state = LEX_STATES[tok.kind];
      out.push(tok);
      if (out.length > MAX_TOKENS)
        throw parseError(`Expression has more than ${MAX_TOKENS} tokens`);
    }
    return out;
  }

  private readToken(state: LexState): Token | undefined {
    while (this.canRead()) {
      let c = this.read();
      if (isSpace(c)) continue;
      if (isNumeric(c)) {
        if (this.canRead() && c === "0") {
          c = this.read();
          if (this.canRead() && c === "x") {
            const [hex] = this.readUntilFalse(false, true, true, isHexDigit);
            if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length > 16) {
              throw parseError(`Unable to parse hex value '${hex}' to uint64\n`);
            }
            return { kind: "NUMERIC", value: Number.parseInt(hex, 16) };
          }
          this.pos--;
        }
        const text = this.readTokenUntilFalse(isNumeric);
        if (!/^(\d+(?:\.\d*)?|\.\d+)$/.test(text)) {
          throw parseError(`Unable to parse numeric value '${text}' to float64\n`);
        }
        return { kind: "NUMERIC", value: Number(text) };
      }
      if (c === ",") return { kind: "SEPARATOR", value: "," };
      if (c === "[") {
        const [name, completed] = this.readUntilFalse(true, false, true, (ch) => ch !== "]");
        if (!completed) throw parseError("Unclosed parameter bracket");
        this.pos++;
        return { kind: "VARIABLE", value: name };
      }
      if (isLetter(c)) {
        const text = this.readTokenUntilFalse(isVariableChar);
        if (text === "true" || text === "false") return { kind: "BOOLEAN", value: text === "true" };
        if (text === "in" || text === "IN") return { kind: "COMPARATOR", value: "in" };
        if (text.indexOf(".") > 0) {
          if (text.endsWith(".")) throw parseError(`Hanging accessor on token '${text}'`);
          const parts = text.split(".");
          for (let k = 1; k < parts.length; k++) {
            const first = [...parts[k]!][0] ?? "";
            if (first.toUpperCase() !== first) {
              throw parseError(
                `Unable to access unexported field '${parts[k]}' in token '${text}'`,
              );
            }
          }
          return { kind: "ACCESSOR", value: parts };
        }
        return { kind: "VARIABLE", value: text };
      }
      if (isQuote(c)) {
        const [text, completed] = this.readUntilFalse(true, false, true, (ch) => !isQuote(ch));
        if (!completed) throw parseError("Unclosed string literal");
        this.pos++;
        const time = tryParseTime(text);
        return time ? { kind: "TIME", value: time } : { kind: "STRING", value: text };
      }
      if (c === "(") return { kind: "CLAUSE", value: "(" };
      if (c === ")") return { kind: "CLAUSE_CLOSE", value: ")" };
      const sym = this.readTokenUntilFalse(isSymbolChar);
      if (state.next.includes("PREFIX") && PREFIXES.has(sym)) return { kind: "PREFIX", value: sym };
      if (MODIFIERS.has(sym)) return { kind: "MODIFIER", value: sym };
      if (LOGICALS.has(sym)) return { kind: "LOGICALOP", value: sym };
      if (COMPARATORS.has(sym)) return { kind: "COMPARATOR", value: sym };
      if (TERNARIES.has(sym)) return { kind: "TERNARY", value: sym };
      throw parseError(`Invalid token: '${sym}'`);
    }
    return undefined;
  }
}

function tokenText(t: Token | undefined): string {
  if (!t) return "<nil>";
  if (t.kind === "CLAUSE") return "40";
  if (t.kind === "CLAUSE_CLOSE") return "41";
  return goSprint(t.value);
}

function checkSyntax(tokens: readonly Token[]): void {
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === "CLAUSE") depth++;
    if (t.kind === "CLAUSE_CLOSE") depth--;
  }
  if (depth !== 0) throw parseError("Unbalanced parenthesis");
  let state: Kind = "UNKNOWN";
  let last: Token | undefined;
  for (const t of tokens) {
    if (!LEX_STATES[state].next.includes(t.kind)) {
      if (last?.kind === "VARIABLE" && t.kind === "CLAUSE") {
        throw parseError(`Undefined function ${String(last.value)}`);
      }
      throw parseError(
        `Cannot transition token types from ${state} [${tokenText(last)}] to ${t.kind} [${tokenText(t)}]`,
      );
    }
    state = t.kind;
    last = t;
  }
  if (!LEX_STATES[state].eof) throw parseError("Unexpected end of expression");
}

// ---------------------------------------------------------------------------------------------
// Planner: govaluate's precedence ladder; same-level chains evaluate left to right (what its
// reorderStages pass produces).

type Node =
  | { t: "lit"; v: unknown }
  | { t: "param"; name: string }
  | { t: "access"; path: string[]; args: Node | null }
  | { t: "noop"; inner: Node | null }
  | { t: "prefix"; op: string; r: Node | null }
  | { t: "bin"; op: string; l: Node | null; r: Node | null };

interface Level {
  kind: Kind;
  symbols: ReadonlySet<string>;
}

const LEVELS: readonly Level[] = [
  { kind: "SEPARATOR", symbols: new Set([","]) },
  { kind: "TERNARY", symbols: TERNARIES },
  { kind: "LOGICALOP", symbols: new Set(["||"]) },
  { kind: "LOGICALOP", symbols: new Set(["&&"]) },
  { kind: "COMPARATOR", symbols: COMPARATORS },
  { kind: "MODIFIER", symbols: new Set(["&", "|", "^"]) },
  { kind: "MODIFIER", symbols: new Set(["<<", ">>"]) },
  { kind: "MODIFIER", symbols: new Set(["+", "-"]) },
  { kind: "MODIFIER", symbols: new Set(["*", "/", "%"]) },
  { kind: "MODIFIER", symbols: new Set(["**"]) },
];

class Planner {
  private pos = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  plan(): Node | null {
    if (this.tokens.length === 0) return null;
    return this.level(0);
  }

  private level(i: number): Node | null {
    const lv = LEVELS[i];
    if (!lv) return this.func();
    let left = this.level(i + 1);
    while (this.pos < this.tokens.length) {
      const t = this.tokens[this.pos]!;
      if (t.kind !== lv.kind || typeof t.value !== "string" || !lv.symbols.has(t.value)) break;
      this.pos++;
      const right = this.level(i + 1);
      left = { t: "bin", op: t.value, l: left, r: right };
    }
    return left;
  }

  private func(): Node | null {
    const t = this.tokens[this.pos];
    if (t?.kind === "ACCESSOR") {
      this.pos++;
      let args: Node | null = null;
      if (this.tokens[this.pos]?.kind === "CLAUSE") args = this.level(0);
      return { t: "access", path: t.value as string[], args };
    }
    return this.value();
  }

  private value(): Node | null {
    const t = this.tokens[this.pos];
    if (!t) return null;
    this.pos++;
    switch (t.kind) {
      case "CLAUSE": {
        const inner = this.level(0);
        this.pos++; // the closing parenthesis (balance was checked)
        return { t: "noop", inner };
      }
      case "CLAUSE_CLOSE":
        this.pos--;
        return null;
      case "VARIABLE":
        return { t: "param", name: t.value as string };
      case "NUMERIC":
      case "STRING":
      case "PATTERN":
      case "BOOLEAN":
        return { t: "lit", v: t.value };
      case "TIME":
        return { t: "lit", v: (t.value as GoTimeLiteral).unix };
      case "PREFIX":
        return { t: "prefix", op: t.value as string, r: this.func() };
      default:
        throw parseError(`Unable to plan token kind: '${t.kind}', value: '${tokenText(t)}'`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

const LOGICAL_FMT = (v: unknown, op: string): string =>
  `Value '${goSprint(v)}' cannot be used with the logical operator '${op}', it is not a bool`;
const MODIFIER_FMT = (v: unknown, op: string): string =>
  `Value '${goSprint(v)}' cannot be used with the modifier '${op}', it is not a number`;
const COMPARATOR_FMT = (v: unknown, op: string): string =>
  `Value '${goSprint(v)}' cannot be used with the comparator '${op}', it is not a number`;
const TERNARY_FMT = (v: unknown, op: string): string =>
  `Value '${goSprint(v)}' cannot be used with the ternary operator '${op}', it is not a bool`;
const PREFIX_FMT = (v: unknown, op: string): string =>
  `Value '${goSprint(v)}' cannot be used with the prefix '${op}'`;

const isNum = (v: unknown): v is number => typeof v === "number";
const isStr = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isArr = (v: unknown): v is unknown[] => Array.isArray(v);

class EvalFailure extends Error {}

const SKIPPED = Symbol("short-circuit");

function toInt64(x: number): bigint {
  if (!Number.isFinite(x)) return -(2n ** 63n);
  return BigInt.asIntN(64, BigInt(Math.trunc(x)));
}
function toUint64(x: number): bigint {
  if (!Number.isFinite(x)) return 2n ** 63n;
  return BigInt.asUintN(64, BigInt(Math.trunc(x)));
}

/** reflect.DeepEqual over decoded JSON values. */
export function goDeepEqual(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null) return a === b;
  if (typeof a !== typeof b) return false;
  if (typeof a === "number") return a === b;
  if (typeof a !== "object") return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => goDeepEqual(x, bb[i]));
  }
  if (a instanceof Pattern || b instanceof Pattern) return a === b;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.hasOwn(bo, k) && goDeepEqual(ao[k], bo[k]));
}

function goTypeName(v: unknown): string {
  if (Array.isArray(v)) return "[]interface {}";
  return "map[string]interface {}";
}

/** Go's `interface{} == interface{}`: false across types, a runtime panic for slices and maps. */
function goIfaceEqual(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null) return a === b;
  if (typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    throw new EvalFailure(`runtime error: comparing uncomparable type ${goTypeName(a)}`);
  }
  return a === b;
}

function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return x ** y;
}

function evaluate(node: Node | null, params: Record<string, unknown>): unknown {
  checkBudget();
  if (node === null) return null;
  switch (node.t) {
    case "lit":
      return node.v;
    case "param":
      return lookup(params, node.name);
    case "noop":
      return evaluate(node.inner, params);
    case "access": {
      const value = lookup(params, node.path[0]!);
      if (node.args) evaluate(node.args, params);
      void value;
      throw new EvalFailure(
        `Unable to access '${node.path[1]}', '${node.path[0]}' is not a struct`,
      );
    }
    case "prefix": {
      const r = evaluate(node.r, params);
      switch (node.op) {
        case "-":
          if (!isNum(r)) throw new EvalFailure(PREFIX_FMT(r, "-"));
          return -r;
        case "!":
          if (!isBool(r)) throw new EvalFailure(PREFIX_FMT(r, "!"));
          return !r;
        default:
          if (!isNum(r)) throw new EvalFailure(PREFIX_FMT(r, "~"));
          return Number(BigInt.asIntN(64, ~toInt64(r)));
      }
    }
    case "bin":
      return evalBinary(node.op, node.l, node.r, params);
  }
}

function lookup(params: Record<string, unknown>, name: string): unknown {
  if (!Object.hasOwn(params, name)) throw new EvalFailure(`No parameter '${name}' found.`);
  const v = params[name];
  return v === undefined ? null : v;
}

function evalBinary(
  op: string,
  ln: Node | null,
  rn: Node | null,
  params: Record<string, unknown>,
): unknown {
  const l = evaluate(ln, params);
  let skip = false;
  switch (op) {
    case "&&":
      if (l === false) return false;
      break;
    case "||":
      if (l === true) return true;
      break;
    case "??":
      if (l !== null) return l;
      break;
    case "?":
      skip = l === false;
      break;
    case ":":
      skip = l !== null;
      break;
  }
  const r: unknown = skip ? SKIPPED : evaluate(rn, params);
  const opName = op === "==" ? "=" : op;
  switch (op) {
    case ">":
    case "<":
    case ">=":
    case "<=": {
      if (!((isNum(l) && isNum(r)) || (isStr(l) && isStr(r))))
        throw new EvalFailure(COMPARATOR_FMT(l, opName));
      const a = l as number | string;
      const b = r as number | string;
      if (isStr(a)) return goStringCompare(a, b as string, op);
      const n = b as number;
      return op === ">" ? a > n : op === "<" ? a < n : op === ">=" ? a >= n : a <= n;
    }
    case "=~":
    case "!~": {
      if (!isStr(l)) throw new EvalFailure(COMPARATOR_FMT(l, op));
      if (!isStr(r) && !(r instanceof Pattern)) throw new EvalFailure(COMPARATOR_FMT(r, op));
      let re: GoRegexp;
      if (r instanceof Pattern) re = r.re;
      else {
        try {
          re = compileRe2(r);
        } catch (err) {
          throw new EvalFailure(
            `Unable to compile regexp pattern '${r}': ${(err as Error).message}`,
          );
        }
      }
      const matched = re.matchString(l);
      return op === "=~" ? matched : !matched;
    }
    case "&&":
    case "||":
      if (!isBool(l)) throw new EvalFailure(LOGICAL_FMT(l, op));
      if (!isBool(r)) throw new EvalFailure(LOGICAL_FMT(r, op));
      return op === "&&" ? l && r : l || r;
    case "in": {
      if (!isArr(r)) throw new EvalFailure(COMPARATOR_FMT(r, "in"));
      for (const el of r) if (goIfaceEqual(l, el)) return true;
      return false;
    }
    case "&":
    case "|":
    case "^":
    case "<<":
    case ">>": {
      if (!isNum(l)) throw new EvalFailure(MODIFIER_FMT(l, op));
      if (!isNum(r)) throw new EvalFailure(MODIFIER_FMT(r, op));
      if (op === "<<" || op === ">>") {
        const a = toUint64(l);
        const n = toUint64(r);
        if (n >= 64n) return 0;
        return Number(op === "<<" ? BigInt.asUintN(64, a << n) : a >> n);
      }
      const a = toInt64(l);
      const b = toInt64(r);
      return Number(op === "&" ? a & b : op === "|" ? a | b : a ^ b);
    }
    case "+":
      if (isNum(l) && isNum(r)) return l + r;
      if (!isStr(l) && !isStr(r)) throw new EvalFailure(MODIFIER_FMT(l, "+"));
      return goSprint(l) + goSprint(r);
    case "-":
    case "*":
    case "/":
    case "%":
    case "**": {
      if (!isNum(l)) throw new EvalFailure(MODIFIER_FMT(l, op));
      if (!isNum(r)) throw new EvalFailure(MODIFIER_FMT(r, op));
      switch (op) {
        case "-":
          return l - r;
        case "*":
          return l * r;
        case "/":
          return l / r;
        case "%":
          return l % r;
        default:
          return goPow(l, r);
      }
    }
    case "==":
      return goDeepEqual(l, r);
    case "!=":
      return !goDeepEqual(l, r);
    case "?":
      if (!isBool(l)) throw new EvalFailure(TERNARY_FMT(l, "?"));
      return l ? r : null;
    case ":":
    case "??":
      return l !== null ? l : r;
    case ",":
      return isArr(l) ? [...l, r] : [l, r];
    default:
      throw new EvalFailure(`unknown operator '${op}'`);
  }
}

/** Go compares strings by bytes (UTF-8), not UTF-16 code units. */
function goStringCompare(a: string, b: string, op: string): boolean {
  const c = Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
  return op === ">" ? c > 0 : op === "<" ? c < 0 : op === ">=" ? c >= 0 : c <= 0;
}

/** Regex literals right after `=~` / `!~` are compiled at parse time (govaluate optimizeTokens). */
function optimizeTokens(tokens: Token[]): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== "COMPARATOR" || (t.value !== "=~" && t.value !== "!~")) continue;
    const next = tokens[i + 1];
    if (next?.kind !== "STRING") continue;
    const src = next.value as string;
    let re: GoRegexp;
    try {
      re = compileRe2(src);
    } catch (err) {
      throw parseError((err as Error).message);
    }
    tokens[i + 1] = { kind: "PATTERN", value: new Pattern(src, re) };
  }
}

/**
 * Parses once (callers cache). Throws EventsError("SB_ERR_EXPR_PARSE") with govaluate's messages;
 * `evaluate` throws EventsError("SB_ERR_EXPR_EVAL"). Parameters are decoded JSON values (a
 * missing name is an error, `undefined` counts as nil). An empty expression is a parse error, as
 * in govaluate.
 */
export function compileGovaluate(expr: string): GovaluateExpression {
  if (expr.length > MAX_SOURCE) throw parseError(`Expression longer than ${MAX_SOURCE} characters`);
  const tokens = new Lexer(expr).tokens();
  checkSyntax(tokens);
  optimizeTokens(tokens);
  const root = new Planner(tokens).plan();
  return {
    evaluate(params: Record<string, unknown>): unknown {
      try {
        const out = evaluate(root, params ?? {});
        return out instanceof Pattern ? out.source : out;
      } catch (err) {
        if (err instanceof EvalFailure) throw new EventsError("SB_ERR_EXPR_EVAL", err.message);
        if (isBudgetExceeded(err)) throw err;
        if (err instanceof RangeError) {
          throw new EventsError(
            "SB_ERR_EXPR_EVAL",
            `expression too deeply nested to evaluate: ${err.message}`,
          );
        }
        throw err;
      }
    },
  };
}
