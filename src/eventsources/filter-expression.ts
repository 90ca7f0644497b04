import { errorMessage } from "../errors.js";
import {
  evaluationBudgetMs,
  isBudgetExceeded,
  reportBudgetExceeded,
  withBudget,
} from "../lib/budget.js";
import type { ExprProgram } from "../lib/exprlang.js";
import { compileExpr } from "../lib/exprlang.js";
import { memoize } from "../lib/memo.js";

/** Compiled per expression text; a compile failure is kept too (as its Error). */
const compiled = memoize(1000, (expression: string): ExprProgram | Error => {
  try {
    return compileExpr(expression);
  } catch (err) {
    return new Error(errorMessage(err));
  }
});

/**
 * The entry-level `filter.expression` (Argo §2.4), expr-lang over the payload: top-level keys with
 * `-` replaced by `_`, dotted keys expanded into nested objects. Returns true to keep the event;
 * false or a reason string (error) to drop it. Argo drops silently; sensorbus logs the reason.
 */
export function evaluateEntryFilter(
  expression: string,
  payloadJson: string,
  /** The EventSource, for the budget metric. */
  scope = "",
): true | { drop: string } {
  const program = compiled(expression);
  if (program instanceof Error)
    return { drop: `filter.expression does not compile: ${program.message}` };
  let payload: unknown;
  try {
    payload = JSON.parse(payloadJson);
  } catch (err) {
    return { drop: `payload is not JSON: ${errorMessage(err)}` };
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    return { drop: "payload is not a JSON object" };
  }
  let result: unknown;
  const run = program;
  try {
    result = withBudget("filter.expression", evaluationBudgetMs(), () =>
      run.run(expressionEnv(payload as Record<string, unknown>)),
    );
  } catch (err) {
    if (isBudgetExceeded(err)) {
      reportBudgetExceeded({ kind: "filter.expression", scope, budgetMs: err.budgetMs });
      return { drop: err.message };
    }
    return { drop: `filter.expression failed: ${errorMessage(err)}` };
  }
  if (result === true) return true;
  if (typeof result !== "boolean")
    return { drop: `filter.expression returned ${JSON.stringify(result)}, not a boolean` };
  return { drop: "filter.expression is false" };
}

function expressionEnv(payload: Record<string, unknown>): Record<string, unknown> {
  const env: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(payload)) {
    const k = key.replaceAll("-", "_");
    if (!k.includes(".")) {
      env[k] = value;
      continue;
    }
    const parts = k.split(".");
    let cur = env;
    for (const p of parts.slice(0, -1)) {
      if (cur[p] === null || typeof cur[p] !== "object") cur[p] = {};
      cur = cur[p] as Record<string, unknown>;
    }
    cur[parts[parts.length - 1]!] = value;
  }
  return env;
}
