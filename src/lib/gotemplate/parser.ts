/**
 * Parser from tokens to a tree shaped like Go's text/template/parse nodes, with the same
 * parse-time checks: functions must exist, variables must be declared, `break`/`continue` only
 * inside `range`, control structures closed by `{{end}}`.
 */

import { LexError, lex, type Token } from "./lexer.js";

export interface NumberLit {
  type: "number";
  text: string;
  isInt: boolean;
  isFloat: boolean;
  int: bigint;
  float: number;
  /** A character constant ('a'): always an int. */
  isRune: boolean;
}

export type Arg =
  | { type: "field"; idents: string[] }
  | { type: "variable"; name: string; idents: string[] }
  | { type: "dot" }
  | { type: "nil" }
  | { type: "bool"; value: boolean }
  | NumberLit
  | { type: "string"; value: string; quoted: string }
  | { type: "identifier"; name: string }
  | { type: "pipe"; pipe: Pipe }
  | { type: "chain"; node: Arg; idents: string[] };

export interface Command {
  args: Arg[];
}

export interface Pipe {
  line: number;
  decl: string[];
  isAssign: boolean;
  cmds: Command[];
}

export type Node =
  | { type: "text"; text: string }
  | { type: "action"; line: number; pipe: Pipe }
  | { type: "if" | "with" | "range"; line: number; pipe: Pipe; list: Node[]; elseList?: Node[] }
  | { type: "template"; line: number; name: string; pipe?: Pipe }
  | { type: "break" | "continue"; line: number };

export interface ParsedTemplate {
  root: Node[];
  defines: Map<string, Node[]>;
}

export class ParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = "ParseError";
  }
}

/** Renders an argument the way Go's parse.Node String() does (used in error messages). */
export function argString(a: Arg): string {
  switch (a.type) {
    case "field":
      return a.idents.map((i) => `.${i}`).join("");
    case "variable":
      return a.name + a.idents.map((i) => `.${i}`).join("");
    case "dot":
      return ".";
    case "nil":
      return "nil";
    case "bool":
      return String(a.value);
    case "number":
      return a.text;
    case "string":
      return a.quoted;
    case "identifier":
      return a.name;
    case "pipe":
      return `(${pipeString(a.pipe)})`;
    case "chain":
      return argString(a.node) + a.idents.map((i) => `.${i}`).join("");
  }
}

export function pipeString(p: Pipe): string {
  let s = "";
  if (p.decl.length > 0) s = `${p.decl.join(", ")} ${p.isAssign ? "=" : ":="} `;
  return s + p.cmds.map((c) => c.args.map(argString).join(" ")).join(" | ");
}

function unquote(text: string, line: number): string {
  const body = text.slice(1, -1);
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i];
    const hex = (len: number): number => {
      const h = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) {
        throw new ParseError(`invalid syntax: ${text}`, line);
      }
      i += len;
      return Number.parseInt(h, 16);
    };
    switch (e) {
      case "a":
        out += "\x07";
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
      case "v":
        out += "\v";
        break;
      case "\\":
        out += "\\";
        break;
      case '"':
      case "'":
        if (e !== text[0]) throw new ParseError(`invalid syntax: ${text}`, line);
        out += e;
        break;
      case "x":
        out += String.fromCharCode(hex(2));
        break;
      case "u":
        out += String.fromCodePoint(hex(4));
        break;
      case "U": {
        const cp = hex(8);
        if (cp > 0x10ffff) throw new ParseError(`invalid syntax: ${text}`, line);
        out += String.fromCodePoint(cp);
        break;
      }
      default: {
        if (e !== undefined && /[0-7]/.test(e)) {
          const o = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(o)) throw new ParseError(`invalid syntax: ${text}`, line);
          out += String.fromCharCode(Number.parseInt(o, 8));
          i += 2;
          break;
        }
        throw new ParseError(`invalid syntax: ${text}`, line);
      }
    }
  }
  return out;
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

function parseGoInt(text: string): bigint | undefined {
  let s = text;
  let neg = false;
  if (s[0] === "+" || s[0] === "-") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  let base = 10;
  const lower = s.toLowerCase();
  if (lower.startsWith("0x")) base = 16;
  else if (lower.startsWith("0o")) base = 8;
  else if (lower.startsWith("0b")) base = 2;
  else if (s.length > 1 && s[0] === "0") base = 8;
  let digits = base === 10 ? s : base === 8 && !lower.startsWith("0o") ? s.slice(1) : s.slice(2);
  if (digits.includes("_")) {
    if (/__|_$/.test(digits) || (base === 10 && digits.startsWith("_"))) return undefined;
    digits = digits.replace(/^_/, "").replace(/_/g, "");
  }
  const valid = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base]!;
  if (!valid.test(digits)) return undefined;
  const prefix = { 2: "0b", 8: "0o", 10: "", 16: "0x" }[base]!;
  const v = BigInt(prefix + digits) * (neg ? -1n : 1n);
  return v;
}

function parseNumber(text: string, line: number): NumberLit {
  const n: NumberLit = {
    type: "number",
    text,
    isInt: false,
    isFloat: false,
    int: 0n,
    float: 0,
    isRune: false,
  };
  if (text.endsWith("i"))
    throw new ParseError(`complex constants are not supported: ${text}`, line);
  const i = parseGoInt(text);
  if (i !== undefined) {
    if (i > INT64_MAX || i < INT64_MIN) {
      throw new ParseError(`integer overflow: ${JSON.stringify(text)}`, line);
    }
    n.isInt = true;
    n.int = i;
    n.isFloat = true;
    n.float = Number(i);
    return n;
  }
  const clean = text.replace(/_/g, "");
  let f: number;
  if (/^[+-]?0[xX]/.test(clean)) {
    const m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(clean);
    if (!m) throw new ParseError(`illegal number syntax: ${JSON.stringify(text)}`, line);
    const mant = Number.parseInt(`${m[2] || "0"}${m[3] ?? ""}`, 16);
    f = mant * 2 ** (Number(m[4]) - 4 * (m[3]?.length ?? 0)) * (m[1] === "-" ? -1 : 1);
  } else if (/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(clean)) {
    f = Number(clean);
  } else throw new ParseError(`illegal number syntax: ${JSON.stringify(text)}`, line);
  if (!/[.eEpP]/.test(text))
    throw new ParseError(`integer overflow: ${JSON.stringify(text)}`, line);
  if (!Number.isFinite(f))
    throw new ParseError(`illegal number syntax: ${JSON.stringify(text)}`, line);
  n.isFloat = true;
  n.float = f;
  if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) {
    n.isInt = true;
    n.int = BigInt(f);
  }
  return n;
}

class Parser {
  private i = 0;
  private vars: string[] = ["$"];
  private rangeDepth = 0;
  readonly defines = new Map<string, Node[]>();

  constructor(
    private readonly toks: Token[],
    private readonly funcs: ReadonlySet<string>,
  ) {}

  private peek(): Token {
    return this.toks[this.i]!;
  }
  private next(): Token {
    const t = this.toks[this.i]!;
    if (t.type !== "eof") this.i++;
    return t;
  }
  private peekNonSpace(): Token {
    while (this.peek().type === "space") this.i++;
    return this.peek();
  }
  private nextNonSpace(): Token {
    this.peekNonSpace();
    return this.next();
  }
  private err(msg: string, tok?: Token): never {
    throw new ParseError(msg, (tok ?? this.peek()).line);
  }
  private unexpected(tok: Token, context: string): never {
    const what = tok.type === "eof" ? "EOF" : JSON.stringify(tok.text);
    this.err(`unexpected ${what} in ${context}`, tok);
  }

  parseRoot(): Node[] {
    const root: Node[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type === "eof") return root;
      if (t.type === "leftDelim") {
        const save = this.i;
        this.next();
        const kw = this.peekNonSpace();
        if (kw.type === "keyword" && kw.text === "define") {
          this.next();
          this.parseDefine(kw);
          continue;
        }
        this.i = save;
      }
      const node = this.textOrAction();
      if (node.kind === "end" || node.kind === "else") {
        this.err(`unexpected {{${node.kind}}}`, node.tok);
      }
      if (node.node) root.push(node.node);
    }
  }

  private parseDefine(tok: Token): void {
    const nameTok = this.nextNonSpace();
    if (nameTok.type !== "string" && nameTok.type !== "rawString") {
      this.unexpected(nameTok, "define clause");
    }
    const name =
      nameTok.type === "string" ? unquote(nameTok.text, nameTok.line) : nameTok.text.slice(1, -1);
    this.expectRight("define clause");
    const saved = this.vars;
    this.vars = ["$"];
    const { list, end } = this.itemList();
    this.vars = saved;
    if (end !== "end") this.err("unexpected {{else}} in define clause", tok);
    this.defineTemplate(name, list, tok);
  }

  private defineTemplate(name: string, list: Node[], tok: Token): void {
    const existing = this.defines.get(name);
    const isEmpty = (l: Node[]): boolean =>
      l.every((n) => n.type === "text" && n.text.trim() === "");
    if (existing && !isEmpty(existing) && !isEmpty(list)) {
      this.err(`template: multiple definition of template "${name}"`, tok);
    }
    if (!existing || !isEmpty(list)) this.defines.set(name, list);
  }

  private expectRight(context: string): void {
    const t = this.nextNonSpace();
    if (t.type !== "rightDelim") this.unexpected(t, context);
  }

  /** Parses nodes until {{end}} or {{else}}; returns which ended it. */
  private itemList(): { list: Node[]; end: "end" | "else"; elseTok?: Token } {
    const list: Node[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type === "eof") this.err("unexpected EOF", t);
      const r = this.textOrAction();
      if (r.kind === "end") return { list, end: "end" };
      if (r.kind === "else") return { list, end: "else", elseTok: r.tok };
      if (r.node) list.push(r.node);
    }
  }

  private textOrAction(): { kind: "node" | "end" | "else"; node?: Node; tok?: Token } {
    const t = this.next();
    if (t.type === "text") return { kind: "node", node: { type: "text", text: t.text } };
    if (t.type !== "leftDelim") this.unexpected(t, "input");
    const kw = this.peekNonSpace();
    if (kw.type === "keyword") {
      this.next();
      switch (kw.text) {
        case "end":
          this.expectRight("end");
          return { kind: "end", tok: kw };
        case "else":
          return { kind: "else", tok: kw };
        case "if":
        case "with":
        case "range":
          return { kind: "node", node: this.control(kw.text, kw) };
        case "template":
          return { kind: "node", node: this.templateCall(kw) };
        case "block":
          return { kind: "node", node: this.block(kw) };
        case "break":
        case "continue":
          if (this.rangeDepth === 0) this.err(`{{${kw.text}}} outside {{range}}`, kw);
          this.expectRight(kw.text);
          return { kind: "node", node: { type: kw.text, line: kw.line } };
        case "define":
          this.err("unexpected define: {{define}} is only allowed at top level", kw);
      }
    }
    const pipe = this.pipeline("command", "rightDelim");
    return { kind: "node", node: { type: "action", line: t.line, pipe } };
  }

  private control(kind: "if" | "with" | "range", tok: Token): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, "rightDelim");
    if (kind === "range") this.rangeDepth++;
    const { list, end } = this.itemList();
    if (kind === "range") this.rangeDepth--;
    let elseList: Node[] | undefined;
    if (end === "else") {
      const nxt = this.peekNonSpace();
      if (
        (kind === "if" && nxt.type === "keyword" && nxt.text === "if") ||
        (kind === "with" && nxt.type === "keyword" && nxt.text === "with")
      ) {
        // "{{else if ...}}" is an if nested in the else branch sharing our {{end}}.
        this.next();
        elseList = [this.control(kind, nxt)];
      } else {
        this.expectRight(`else`);
        const r = this.itemList();
        if (r.end === "else") this.err(`expected end; found {{else}}`, r.elseTok);
        elseList = r.list;
      }
    }
    this.vars.length = mark;
    const node: Node = { type: kind, line: tok.line, pipe, list };
    if (elseList) node.elseList = elseList;
    return node;
  }

  private templateName(context: string): string {
    const t = this.nextNonSpace();
    if (t.type === "string") return unquote(t.text, t.line);
    if (t.type === "rawString") return t.text.slice(1, -1);
    this.unexpected(t, context);
  }

  private templateCall(tok: Token): Node {
    const name = this.templateName("template clause");
    const nxt = this.peekNonSpace();
    if (nxt.type === "rightDelim") {
      this.next();
      return { type: "template", line: tok.line, name };
    }
    const pipe = this.pipeline("template clause", "rightDelim");
    return { type: "template", line: tok.line, name, pipe };
  }

  private block(tok: Token): Node {
    const name = this.templateName("block clause");
    const pipe = this.pipeline("block clause", "rightDelim");
    const saved = this.vars;
    const savedRange = this.rangeDepth;
    this.vars = ["$"];
    this.rangeDepth = 0;
    const { list, end } = this.itemList();
    this.vars = saved;
    this.rangeDepth = savedRange;
    if (end !== "end") this.err("unexpected {{else}} in block clause", tok);
    this.defineTemplate(name, list, tok);
    return { type: "template", line: tok.line, name, pipe };
  }

  private pipeline(context: string, end: "rightDelim" | "rightParen"): Pipe {
    const start = this.peekNonSpace();
    const pipe: Pipe = { line: start.line, decl: [], isAssign: false, cmds: [] };
    // Declarations: "$x :=", "$x =", "$i, $v :=".
    const save = this.i;
    const v = this.peekNonSpace();
    if (v.type === "variable") {
      this.next();
      const op = this.peekNonSpace();
      if (op.type === "declare" || op.type === "assign") {
        this.next();
        pipe.decl.push(v.text);
        pipe.isAssign = op.type === "assign";
      } else if (op.type === "comma" && context === "range") {
        this.next();
        const v2 = this.nextNonSpace();
        if (v2.type !== "variable") this.err(`range can only initialize variables`, v2);
        const op2 = this.nextNonSpace();
        if (op2.type !== "declare" && op2.type !== "assign") this.unexpected(op2, "range");
        pipe.decl.push(v.text, v2.text);
        pipe.isAssign = op2.type === "assign";
      } else if (op.type === "comma") {
        this.err(`too many declarations in ${context}`, op);
      } else this.i = save;
    }
    for (const d of pipe.decl) {
      if (pipe.isAssign) {
        if (!this.vars.includes(d)) this.err(`undefined variable "${d}"`, v);
      } else this.vars.push(d);
    }
    for (;;) {
      const t = this.peekNonSpace();
      if (t.type === end) {
        this.next();
        break;
      }
      const starts = [
        "bool",
        "char",
        "dot",
        "field",
        "identifier",
        "number",
        "nil",
        "rawString",
        "string",
        "variable",
        "leftParen",
      ];
      if (!starts.includes(t.type)) this.unexpected(t, context);
      pipe.cmds.push(this.command());
    }
    if (pipe.cmds.length === 0) this.err(`missing value for ${context}`, start);
    for (let k = 1; k < pipe.cmds.length; k++) {
      const first = pipe.cmds[k]!.args[0]!;
      if (["bool", "dot", "nil", "number", "string"].includes(first.type)) {
        this.err(`non executable command in pipeline stage ${k + 1}`, start);
      }
    }
    return pipe;
  }

  private command(): Command {
    const cmd: Command = { args: [] };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const t = this.peek();
      if (t.type === "space") {
        this.next();
        continue;
      }
      if (t.type === "pipe") this.next();
      else if (t.type !== "rightDelim" && t.type !== "rightParen") this.unexpected(t, "operand");
      break;
    }
    if (cmd.args.length === 0) this.err("empty command");
    return cmd;
  }

  private operand(): Arg | undefined {
    const term = this.term();
    if (!term) return undefined;
    if (this.peek().type !== "field") return term;
    const idents: string[] = [];
    while (this.peek().type === "field") idents.push(this.next().text.slice(1));
    switch (term.type) {
      case "field":
        return { type: "field", idents: [...term.idents, ...idents] };
      case "variable":
        return { type: "variable", name: term.name, idents: [...term.idents, ...idents] };
      case "bool":
      case "string":
      case "number":
      case "nil":
      case "dot":
        return this.err(`unexpected . after term ${JSON.stringify(argString(term))}`);
      default:
        return { type: "chain", node: term, idents };
    }
  }

  private term(): Arg | undefined {
    const t = this.peek();
    switch (t.type) {
      case "identifier":
        this.next();
        if (!this.funcs.has(t.text)) this.err(`function "${t.text}" not defined`, t);
        return { type: "identifier", name: t.text };
      case "dot":
        this.next();
        return { type: "dot" };
      case "nil":
        this.next();
        return { type: "nil" };
      case "variable":
        this.next();
        if (!this.vars.includes(t.text)) this.err(`undefined variable "${t.text}"`, t);
        return { type: "variable", name: t.text, idents: [] };
      case "field":
        this.next();
        return { type: "field", idents: [t.text.slice(1)] };
      case "bool":
        this.next();
        return { type: "bool", value: t.text === "true" };
      case "char": {
        this.next();
        const s = unquote(t.text, t.line);
        const cps = [...s];
        if (cps.length !== 1) this.err(`malformed character constant: ${t.text}`, t);
        const cp = BigInt(cps[0]!.codePointAt(0)!);
        return {
          type: "number",
          text: t.text,
          isInt: true,
          isFloat: true,
          int: cp,
          float: Number(cp),
          isRune: true,
        };
      }
      case "number":
        this.next();
        return parseNumber(t.text, t.line);
      case "string":
        this.next();
        return { type: "string", value: unquote(t.text, t.line), quoted: t.text };
      case "rawString":
        this.next();
        return { type: "string", value: t.text.slice(1, -1).replace(/\r/g, ""), quoted: t.text };
      case "leftParen": {
        this.next();
        const pipe = this.pipeline("parenthesized pipeline", "rightParen");
        return { type: "pipe", pipe };
      }
      default:
        return undefined;
    }
  }
}

/** Parses template source. Throws ParseError (with line) on bad syntax. */
export function parse(src: string, funcs: ReadonlySet<string>): ParsedTemplate {
  let toks: Token[];
  try {
    toks = lex(src);
  } catch (err) {
    if (err instanceof LexError) throw new ParseError(err.message, err.line);
    throw err;
  }
  const p = new Parser(toks, funcs);
  const root = p.parseRoot();
  return { root, defines: p.defines };
}
