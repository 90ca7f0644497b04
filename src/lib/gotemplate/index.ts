/**
 * Go text/template with sprig v3 functions, as Argo Events renders `dataTemplate`,
 * `contextTemplate` and data-filter `template` (see docs: argo-semantics §5.2).
 */

import { TemplateError } from "../../errors.js";
import { isBudgetExceeded } from "../budget.js";
import { Memo } from "../memo.js";
import { BUILTINS, type FuncContext, type FuncDef } from "./builtins.js";
import { ExecError, Executor } from "./exec.js";
import { goFormatValue as formatValue } from "./format.js";
import { type ParsedTemplate, ParseError, parse } from "./parser.js";
import { SPRIG } from "./sprig.js";

/** The name Argo gives its parameter templates; it appears in error messages. */
const TEMPLATE_NAME = "param";
const CACHE_LIMIT = 1000;

/** Sprig wins over Go's builtins on a name clash (`slice`), as with template.Funcs. */
const FUNCS: Record<string, FuncDef> = { ...BUILTINS, ...SPRIG };
const FUNC_NAMES: ReadonlySet<string> = new Set(Object.keys(FUNCS));

export interface ExecuteOptions {
  /** Clock for `now`, `date`, `ago` (default: the system clock). */
  now?: () => Date;
  /** Environment for `env` / `expandenv` (default: the template environment, see below). */
  env?: Record<string, string | undefined>;
}

/**
 * What sprig's `env` and `expandenv` see. Not the process environment: NATS and cloud credentials
 * live there and every Sensor's templates would read them. Empty unless the operator names
 * variables (`run --template-env NAME,...`), which `setTemplateEnvironment` then holds.
 */
let templateEnv: Readonly<Record<string, string | undefined>> = Object.freeze(
  Object.create(null) as Record<string, string | undefined>,
);

/** Sets the variables `env` / `expandenv` see (a copy is kept; nothing else is visible). */
export function setTemplateEnvironment(env: Record<string, string | undefined>): void {
  const copy = Object.create(null) as Record<string, string | undefined>;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) copy[k] = v;
  templateEnv = Object.freeze(copy);
}

export interface CompiledTemplate {
  /** Executes with dot = data. Throws TemplateError("SB_ERR_TEMPLATE_EXEC", ...). */
  execute(data: unknown, options?: ExecuteOptions): string;
}

class Compiled implements CompiledTemplate {
  constructor(private readonly tree: ParsedTemplate) {}

  execute(data: unknown, options: ExecuteOptions = {}): string {
    const ctx: FuncContext = {
      now: options.now ?? (() => new Date()),
      env: options.env ?? templateEnv,
    };
    try {
      return new Executor(this.tree, TEMPLATE_NAME, FUNCS, ctx).run(data);
    } catch (err) {
      if (err instanceof ExecError) throw new TemplateError("SB_ERR_TEMPLATE_EXEC", err.message);
      if (isBudgetExceeded(err)) throw err;
      const msg =
        err instanceof RangeError
          ? "template execution too deep (stack exhausted)"
          : `internal error: ${err instanceof Error ? err.message : String(err)}`;
      throw new TemplateError("SB_ERR_TEMPLATE_EXEC", `template: ${TEMPLATE_NAME}: ${msg}`, {
        cause: err,
      });
    }
  }
}

const cache = new Memo<string, Compiled>(CACHE_LIMIT);

/**
 * Compiles once (compiled templates are cached by source text, at most 1000).
 * Throws TemplateError("SB_ERR_TEMPLATE_PARSE", ...) with Go-like messages.
 */
export function compileTemplate(source: string): CompiledTemplate {
  return cache.get(source, compile);
}

function compile(source: string): Compiled {
  let tree: ParsedTemplate;
  try {
    tree = parse(source, FUNC_NAMES);
  } catch (err) {
    if (err instanceof ParseError) {
      throw new TemplateError(
        "SB_ERR_TEMPLATE_PARSE",
        `template: ${TEMPLATE_NAME}:${err.line}: ${err.message}`,
      );
    }
    const msg = err instanceof RangeError ? "template nested too deeply" : String(err);
    throw new TemplateError("SB_ERR_TEMPLATE_PARSE", `template: ${TEMPLATE_NAME}: ${msg}`, {
      cause: err,
    });
  }
  return new Compiled(tree);
}

/**
 * Go's fmt %v for a decoded JSON value: float64 numbers as Go prints them (1e+06,
 * 1.234567e+06, 1e-05, 0.5, 42), maps as map[a:1 b:2] (keys sorted), slices as [1 2], nil as
 * <nil> (but a missing map key / nil printed by `{{.x}}` is "<no value>").
 */
export function goFormatValue(v: unknown): string {
  return formatValue(v);
}
