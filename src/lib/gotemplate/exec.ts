/**
 * Tree-walking executor with Go text/template semantics: field chains on maps (a missing key is
 * an invalid value printed as `<no value>`), typed function arguments checked as reflect would,
 * lazy and/or, variable scoping per control block, range over slices, maps (sorted keys) and
 * ints, break/continue, define/template/block. Runaway templates are cut off by output, step and
 * depth limits.
 */

import { chargeBudget, checkBudget, isBudgetExceeded } from "../budget.js";
import { formatTime } from "../gotime.js";
import {
  BUILTINS,
  type FuncContext,
  type FuncDef,
  FuncError,
  GO_TYPE_OF_PARAM,
  isTrue,
  type ParamType,
} from "./builtins.js";
import {
  GoObject,
  GoTime,
  goFormatValue,
  goTypeName,
  Int64,
  intValue,
  isMap,
  sortedKeys,
} from "./format.js";
import {
  type Arg,
  argString,
  type Node,
  type NumberLit,
  type ParsedTemplate,
  type Pipe,
} from "./parser.js";

export const LIMITS = {
  /** Characters of output before execution is aborted. */
  maxOutput: 4 * 1024 * 1024,
  /** Nodes walked + functions called + range iterations. */
  maxSteps: 1_000_000,
  /** Nested {{template}} calls. */
  maxDepth: 1000,
};

/** Raised during execution; index.ts turns it into a TemplateError. */
export class ExecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExecError";
  }
}

const MISSING: unique symbol = Symbol("missing");
type Final = unknown | typeof MISSING;

class BreakSignal {}
class ContinueSignal {}

interface Variable {
  name: string;
  value: unknown;
}

export class Executor {
  private out: string[] = [];
  private outLen = 0;
  private vars: Variable[] = [];
  private steps = 0;
  private depth = 0;
  private line = 0;
  private at = "";
  private execName: string;

  constructor(
    private readonly tmpl: ParsedTemplate,
    private readonly name: string,
    private readonly funcs: Record<string, FuncDef>,
    private readonly ctx: FuncContext,
  ) {
    this.execName = name;
  }

  run(data: unknown): string {
    this.vars = [{ name: "$", value: data }];
    this.walkList(data, this.tmpl.root);
    return this.out.join("");
  }

  private fail(msg: string): never {
    const where = this.at ? ` at <${this.at}>` : "";
    throw new ExecError(
      `template: ${this.name}:${this.line}: executing "${this.execName}"${where}: ${msg}`,
    );
  }

  private step(): void {
    checkBudget();
    if (++this.steps > LIMITS.maxSteps) {
      this.fail(`execution exceeded ${LIMITS.maxSteps} steps`);
    }
  }

  private write(s: string): void {
    chargeBudget(s.length);
    this.outLen += s.length;
    if (this.outLen > LIMITS.maxOutput) this.fail(`output exceeds ${LIMITS.maxOutput} characters`);
    this.out.push(s);
  }

  private walkList(dot: unknown, list: Node[]): void {
    for (const n of list) this.walk(dot, n);
  }

  private walk(dot: unknown, node: Node): void {
    this.step();
    switch (node.type) {
      case "text":
        this.write(node.text);
        return;
      case "action": {
        this.line = node.line;
        const v = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.write(printValue(v));
        return;
      }
      case "if":
      case "with": {
        this.line = node.line;
        const mark = this.vars.length;
        const v = this.evalPipeline(dot, node.pipe);
        if (isTrue(v)) this.walkList(node.type === "with" ? v : dot, node.list);
        else if (node.elseList) this.walkList(dot, node.elseList);
        this.vars.length = mark;
        return;
      }
      case "range":
        this.walkRange(dot, node);
        return;
      case "template": {
        this.line = node.line;
        const body = this.tmpl.defines.get(node.name);
        if (!body) {
          this.at = `{{template ${JSON.stringify(node.name)}}}`;
          this.fail(`no such template "${node.name}"`);
        }
        const newDot = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined;
        if (++this.depth > LIMITS.maxDepth) {
          this.fail(`exceeded maximum template depth (${LIMITS.maxDepth})`);
        }
        const savedVars = this.vars;
        const savedName = this.execName;
        this.vars = [{ name: "$", value: newDot }];
        this.execName = node.name;
        try {
          this.walkList(newDot, body);
        } finally {
          this.vars = savedVars;
          this.execName = savedName;
          this.depth--;
        }
        return;
      }
      case "break":
        throw new BreakSignal();
      case "continue":
        throw new ContinueSignal();
    }
  }

  private walkRange(
    dot: unknown,
    node: { line: number; pipe: Pipe; list: Node[]; elseList?: Node[] },
  ): void {
    this.line = node.line;
    const mark = this.vars.length;
    const val = this.evalPipeline(dot, node.pipe);
    const decl = node.pipe.decl;
    const one = (key: unknown, elem: unknown): boolean => {
      this.step();
      if (decl.length > 0) {
        if (node.pipe.isAssign) {
          if (decl.length > 1) {
            this.setVar(decl[0]!, key);
            this.setVar(decl[1]!, elem);
          } else this.setVar(decl[0]!, elem);
        } else if (decl.length > 1) {
          this.vars[this.vars.length - 2]!.value = key;
          this.vars[this.vars.length - 1]!.value = elem;
        } else this.vars[this.vars.length - 1]!.value = elem;
      }
      const inner = this.vars.length;
      try {
        this.walkList(elem, node.list);
      } catch (sig) {
        if (sig instanceof BreakSignal) return false;
        if (!(sig instanceof ContinueSignal)) throw sig;
      } finally {
        this.vars.length = inner;
      }
      return true;
    };
    let ran = false;
    const n = intValue(val);
    if (Array.isArray(val)) {
      for (let i = 0; i < val.length; i++) {
        ran = true;
        if (!one(BigInt(i), val[i])) break;
      }
    } else if (isMap(val)) {
      for (const k of sortedKeys(val)) {
        ran = true;
        if (!one(k, val[k])) break;
      }
    } else if (n !== undefined) {
      if (decl.length > 1) this.fail("can't use index variable with range over int");
      for (let i = 0n; i < n; i++) {
        ran = true;
        if (!one(i, val instanceof Int64 ? new Int64(i) : i)) break;
      }
    } else if (val !== undefined && val !== null) {
      this.fail(`range can't iterate over ${goFormatValue(val)}`);
    }
    if (!ran && node.elseList) this.walkList(dot, node.elseList);
    this.vars.length = mark;
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.fail(`undefined variable: ${name}`);
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) return this.vars[i]!.value;
    }
    this.fail(`undefined variable: ${name}`);
  }

  private evalPipeline(dot: unknown, pipe: Pipe): unknown {
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd.args, value);
      // Go unwraps interface{} results: a nil interface becomes an invalid value.
      if (value === null) value = undefined;
    }
    for (const d of pipe.decl) {
      if (pipe.isAssign) this.setVar(d, value);
      else this.vars.push({ name: d, value });
    }
    return value;
  }

  private notAFunction(args: Arg[], final: Final): void {
    if (args.length > 1 || final !== MISSING) {
      this.fail(`can't give argument to non-function ${argString(args[0]!)}`);
    }
  }

  private evalCommand(dot: unknown, args: Arg[], final: Final): unknown {
    const first = args[0]!;
    this.at = argString(first);
    switch (first.type) {
      case "field":
        return this.evalFieldChain(dot, dot, first.idents, args, final, false);
      case "chain": {
        const base = this.evalArg(dot, "any", first.node, true);
        this.at = argString(first);
        return this.evalFieldChain(dot, base, first.idents, args, final, false);
      }
      case "identifier":
        return this.evalFunction(dot, first.name, args, final);
      case "pipe":
        this.notAFunction(args, final);
        return this.evalPipeline(dot, first.pipe);
      case "variable": {
        const v = this.varValue(first.name);
        if (first.idents.length === 0) {
          this.notAFunction(args, final);
          return v;
        }
        return this.evalFieldChain(dot, v, first.idents, args, final, false);
      }
    }
    this.notAFunction(args, final);
    switch (first.type) {
      case "bool":
        return first.value;
      case "dot":
        return dot;
      case "nil":
        this.fail("nil is not a command");
        break;
      case "number":
        return this.idealConstant(first);
      case "string":
        return first.value;
    }
    this.fail(`can't evaluate command ${JSON.stringify(argString(first))}`);
  }

  private idealConstant(n: NumberLit): unknown {
    if (n.isFloat && !n.isRune && !/^[+-]?0[xX]/.test(n.text) && /[.eEpP]/.test(n.text)) {
      return n.float;
    }
    if (n.isInt) return n.int;
    return n.float;
  }

  private evalFieldChain(
    dot: unknown,
    receiver: unknown,
    idents: string[],
    args: Arg[],
    final: Final,
    fromContainer: boolean,
  ): unknown {
    let r = receiver;
    let contained = fromContainer;
    for (let i = 0; i < idents.length; i++) {
      const last = i === idents.length - 1;
      r = this.evalField(dot, idents[i]!, r, last ? args : [], last ? final : MISSING, contained);
      contained = true;
    }
    return r;
  }

  private evalField(
    dot: unknown,
    name: string,
    receiver: unknown,
    args: Arg[],
    final: Final,
    contained: boolean,
  ): unknown {
    if (receiver === undefined) return undefined;
    const typ = contained ? "interface {}" : goTypeName(receiver);
    if (receiver === null) this.fail(`nil pointer evaluating ${typ}.${name}`);
    const hasArgs = args.length > 1 || final !== MISSING;
    if (isMap(receiver)) {
      if (hasArgs) this.fail(`${name} is not a method but has arguments`);
      return Object.hasOwn(receiver, name) ? receiver[name] : undefined;
    }
    if (receiver instanceof GoObject) {
      if (hasArgs) this.fail(`wrong number of args for ${name}: want 0 got ${args.length - 1}`);
      const r = receiver.method(name);
      if (r === undefined) this.fail(`can't evaluate field ${name} in type ${receiver.goType}`);
      return r;
    }
    if (receiver instanceof GoTime) {
      const margs = args.slice(1).map((a) => this.evalArg(dot, "any", a));
      if (final !== MISSING) margs.push(final);
      return this.timeMethod(receiver, name, margs);
    }
    this.fail(`can't evaluate field ${name} in type ${typ}`);
  }

  private timeMethod(t: GoTime, name: string, args: unknown[]): unknown {
    const want = name === "Format" ? 1 : 0;
    const known = [
      "Format",
      "Unix",
      "UnixMilli",
      "UnixNano",
      "Year",
      "Month",
      "Day",
      "Hour",
      "Minute",
      "Second",
      "Nanosecond",
      "YearDay",
      "Weekday",
      "UTC",
      "Local",
      "String",
      "IsZero",
    ];
    if (!known.includes(name)) this.fail(`can't evaluate field ${name} in type time.Time`);
    if (args.length !== want) {
      this.fail(`wrong number of args for ${name}: want ${want} got ${args.length}`);
    }
    const field = (layout: string): number => Number(formatTime(t, layout));
    switch (name) {
      case "Format":
        if (typeof args[0] !== "string") {
          this.fail(`wrong type for value; expected string; got ${goTypeName(args[0])}`);
        }
        return formatTime(t, args[0]);
      case "Unix":
        return new Int64(BigInt(t.sec));
      case "UnixMilli":
        return new Int64(BigInt(t.sec) * 1000n + BigInt(Math.floor(t.nsec / 1e6)));
      case "UnixNano":
        return new Int64(t.unixNanos());
      case "Year":
        return BigInt(field("2006"));
      case "Month":
        return formatTime(t, "January");
      case "Day":
        return BigInt(field("2"));
      case "Hour":
        return BigInt(field("15"));
      case "Minute":
        return BigInt(field("4"));
      case "Second":
        return BigInt(field("5"));
      case "Nanosecond":
        return BigInt(t.nsec);
      case "YearDay":
        return BigInt(field("002"));
      case "Weekday":
        return formatTime(t, "Monday");
      case "UTC":
      case "Local":
        return new GoTime(t.sec, t.nsec, 0, "UTC");
      case "String":
        return t.toString();
      default:
        return t.isZero();
    }
  }

  private evalFunction(dot: unknown, name: string, args: Arg[], final: Final): unknown {
    this.step();
    const def = this.funcs[name];
    if (!def) this.fail(`"${name}" is not a defined function`);
    const given = args.length - 1 + (final !== MISSING ? 1 : 0);
    const want = def.params.length;
    if (def.variadic ? given < want : given !== want) {
      this.fail(
        `wrong number of args for ${name}: want ${def.variadic ? "at least " : ""}${want} got ${given}`,
      );
    }
    const typeAt = (i: number): ParamType =>
      i < def.params.length ? def.params[i]! : (def.variadic ?? "any");

    if ((name === "and" || name === "or") && def === BUILTINS[name]) {
      let v: unknown;
      const n = args.length - 1;
      for (let i = 0; i < n; i++) {
        v = this.evalArg(dot, "value", args[i + 1]!);
        if (isTrue(v) === (name === "or")) return v;
      }
      if (final !== MISSING) v = final;
      return v;
    }

    const vals: unknown[] = [];
    for (let i = 1; i < args.length; i++) vals.push(this.evalArg(dot, typeAt(i - 1), args[i]!));
    if (final !== MISSING) vals.push(this.validateType(final, typeAt(vals.length)));
    this.at = name;
    try {
      const result = def.fn(vals, this.ctx);
      return result;
    } catch (err) {
      if (err instanceof ExecError || isBudgetExceeded(err)) throw err;
      if (err instanceof RangeError && /call stack/i.test(err.message)) throw err;
      const msg = err instanceof Error ? err.message : String(err);
      this.fail(`error calling ${name}: ${msg}`);
    }
  }

  private validateType(v: unknown, t: ParamType): unknown {
    const goType = GO_TYPE_OF_PARAM[t];
    if (v === undefined) {
      if (t === "value") return undefined;
      if (t === "any" || t === "map") return null;
      this.fail(`invalid value; expected ${goType}`);
    }
    let ok: boolean;
    switch (t) {
      case "any":
      case "value":
        return v;
      case "string":
        ok = typeof v === "string";
        break;
      case "int":
        ok = typeof v === "bigint";
        break;
      case "int64":
        ok = v instanceof Int64;
        break;
      case "float64":
        ok = typeof v === "number";
        break;
      case "bool":
        ok = typeof v === "boolean";
        break;
      case "map":
        ok = isMap(v) || v === null;
        break;
      case "time":
        ok = v instanceof GoTime;
        break;
    }
    if (!ok) {
      this.fail(
        `wrong type for value; expected ${goType}; got ${v === null ? "interface {}" : goTypeName(v)}`,
      );
    }
    return v;
  }

  private evalArg(dot: unknown, t: ParamType, n: Arg, forChain = false): unknown {
    switch (n.type) {
      case "dot":
        return this.validateType(dot, t);
      case "nil":
        if (t === "any" || t === "map") return null;
        if (t === "value") return undefined;
        this.fail(`cannot assign nil to ${GO_TYPE_OF_PARAM[t]}`);
        break;
      case "field":
        return this.validateType(this.evalFieldChain(dot, dot, n.idents, [n], MISSING, false), t);
      case "variable": {
        const v = this.varValue(n.name);
        const r =
          n.idents.length === 0 ? v : this.evalFieldChain(dot, v, n.idents, [n], MISSING, false);
        return this.validateType(r, t);
      }
      case "pipe": {
        const saved = this.at;
        const v = this.evalPipeline(dot, n.pipe);
        this.at = saved;
        return this.validateType(v, t);
      }
      case "identifier":
        return this.validateType(this.evalFunction(dot, n.name, [n], MISSING), t);
      case "chain": {
        if (n.node.type === "nil") this.fail(`indirection through explicit nil in ${argString(n)}`);
        const base = this.evalArg(dot, "any", n.node, true);
        return this.validateType(this.evalFieldChain(dot, base, n.idents, [n], MISSING, false), t);
      }
    }
    void forChain;
    switch (t) {
      case "bool":
        if (n.type === "bool") return n.value;
        this.fail(`expected bool; found ${argString(n)}`);
        break;
      case "float64":
        if (n.type === "number" && n.isFloat) return n.float;
        this.fail(`expected float; found ${argString(n)}`);
        break;
      case "int":
      case "int64":
        if (n.type === "number" && n.isInt) return t === "int" ? n.int : new Int64(n.int);
        this.fail(`expected integer; found ${argString(n)}`);
        break;
      case "string":
        if (n.type === "string") return n.value;
        this.fail(`expected string; found ${argString(n)}`);
        break;
      case "any":
      case "value":
        switch (n.type) {
          case "bool":
            return n.value;
          case "number":
            return this.idealConstant(n);
          case "string":
            return n.value;
        }
        break;
    }
    this.fail(`can't handle ${argString(n)} for arg of type ${GO_TYPE_OF_PARAM[t]}`);
  }
}

/** What `{{ pipeline }}` writes: invalid/nil shows as `<no value>`, the rest as fmt's %v. */
export function printValue(v: unknown): string {
  if (v === undefined || v === null) return "<no value>";
  return goFormatValue(v);
}

export { FuncError };
