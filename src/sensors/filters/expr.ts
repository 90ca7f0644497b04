import type { ExprFilter } from "../../config/types.js";
import { errorMessage } from "../../errors.js";
import { boundText, MAX_QUOTED_VALUE } from "../../lib/bounded-text.js";
import { isBudgetExceeded } from "../../lib/budget.js";
import { gjsonGet, gjsonValid } from "../../lib/gjson.js";
import type { GovaluateExpression } from "../../lib/govaluate.js";
import { compileGovaluate } from "../../lib/govaluate.js";
import { memoize } from "../../lib/memo.js";

export interface FilterOutcome {
  pass: boolean;
  /** Argo-formatted error text (`expr filter error (...)` / `expr filter errors [a / b]`). */
  error?: string;
  /** Why the filters did not pass, when no error explains it (sensorbus diagnostics). */
  reason?: string;
}

/** Compiles once per source text; a parse failure is cached too (as its Error). */
const compiled = memoize(1000, (expr: string): GovaluateExpression | Error => {
  try {
    return compileGovaluate(expr);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
});

/**
 * Argo §3.5 (pkg/sensors/dependencies/filter.go filterExpr). `data` is the event data text or
 * undefined (no data => pass). Each field binds `name` to the decoded value at its gjson `path`.
 * `and` (default): first failing expression => fail, first error => error. `or`: first passing
 * expression => pass (earlier errors dropped); otherwise fail with the errors joined as
 * `expr filter errors [e1 / e2]`. An expression without fields is skipped. Never throws.
 */
export function evaluateExprFilters(
  filters: readonly ExprFilter[] | undefined,
  logicalOperator: string | undefined,
  data: string | undefined,
  /** Known to be valid JSON already (the bus decode checked it): not scanned again. */
  dataIsJson = false,
): FilterOutcome {
  if (filters === undefined || filters === null) return { pass: true };
  if (data === undefined) return { pass: true };
  if (!dataIsJson && !gjsonValid(data))
    return { pass: false, error: "expr filter error (event data not valid JSON)" };
  const or = logicalOperator === "or";
  const errors: string[] = [];
  const fails: string[] = [];

  next: for (const filter of filters) {
    const params: Record<string, unknown> = {};
    let bound = 0;
    for (const field of filter.fields ?? []) {
      const res = gjsonGet(data, field.path);
      if (!res.exists) {
        const msg = `path '${field.path}' does not exist`;
        if (!or) return { pass: false, error: `expr filter error (${msg})` };
        errors.push(msg);
        continue next;
      }
      if (!Object.hasOwn(params, field.name)) bound++;
      params[field.name] = res.value() ?? null;
    }
    if (bound === 0) continue;

    const program = compiled(filter.expr);
    let result: unknown;
    try {
      if (program instanceof Error) throw program;
      result = program.evaluate(params);
    } catch (err) {
      if (isBudgetExceeded(err)) throw err;
      if (!or) return { pass: false, error: `expr filter error (${errorMessage(err)})` };
      errors.push(errorMessage(err));
      continue;
    }
    if (result === true) {
      if (or) return { pass: true };
      continue;
    }
    if (!or)
      return {
        pass: false,
        reason: `expr filter: '${filter.expr}' evaluated to ${describe(result)}`,
      };
    fails.push(`'${filter.expr}' evaluated to ${describe(result)}`);
  }

  if (!or) return { pass: true };
  if (errors.length > 0)
    return { pass: false, error: `expr filter errors [${errors.join(" / ")}]` };
  return fails.length > 0
    ? { pass: false, reason: `expr filter: ${fails.join("; ")}` }
    : { pass: false, reason: "expr filter: no expression passed (exprLogicalOperator: or)" };
}

function describe(v: unknown): string {
  if (v === undefined) return "nil";
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return boundText(text, MAX_QUOTED_VALUE);
}
