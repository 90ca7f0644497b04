import type { EventContext } from "../../cloudevents/event.js";
import { DEFAULTS } from "../../config/defaults.js";
import type { EventDependencyFilter } from "../../config/types.js";
import { evaluationBudgetMs, isBudgetExceeded, withBudget } from "../../lib/budget.js";
import { evaluateContextFilter } from "./context.js";
import { evaluateDataFilters } from "./data.js";
import { evaluateExprFilters } from "./expr.js";
import { evaluateScriptFilter } from "./script.js";
import { evaluateTimeFilter } from "./time.js";
import type { FilterOutcome } from "./types.js";

export type { FilterOutcome } from "./types.js";

/** The event as filters see it (after the dependency's transform). */
export interface FilterInput {
  context: EventContext;
  /** Event data text; undefined when the event has none. */
  data: string | undefined;
  /** The data text is known to be valid JSON (checked when the event was decoded). */
  dataIsJson?: boolean;
  /** Event time, ms since epoch (CloudEvent `time`). */
  timeMs: number;
  /** Time one filter kind's evaluation may take, ms (default: the process-wide budget). */
  budgetMs?: number;
}

/**
 * Runs one synchronous filter kind within the budget; a kind stopped by it is an error for the
 * dependency ("data filter: evaluation exceeded its 100 ms budget"), marked for the metric.
 */
function budgeted(kind: string, ms: number, run: () => FilterOutcome): FilterOutcome {
  try {
    return withBudget(`${kind} filter`, ms, run);
  } catch (err) {
    if (!isBudgetExceeded(err)) throw err;
    return { pass: false, error: err.message, budget: kind };
  }
}

/**
 * Argo §3.3: all kinds evaluated independently. `and`: an error from exprs/data/time/script rejects;
 * otherwise AND. `or`: OR over the kinds present, errors collected and returned beside the result.
 * The dependency accepts the event only when pass is true and there is no error.
 */
export async function evaluateFilters(
  filters: EventDependencyFilter | undefined,
  operator: string | undefined,
  input: FilterInput,
): Promise<FilterOutcome> {
  if (!filters) return { pass: true };
  const or = (operator || DEFAULTS.dependency.logicalOperator) === "or";
  const errors: string[] = [];
  const budgetMs = input.budgetMs ?? evaluationBudgetMs();

  const expr = budgeted("expr", budgetMs, () =>
    evaluateExprFilters(filters.exprs, filters.exprLogicalOperator, input.data, input.dataIsJson),
  );
  // A kind stopped by the budget rejects the event whatever the operator.
  if (expr.budget) return expr;
  if (expr.error) {
    if (!or) return { pass: false, error: expr.error };
    errors.push(expr.error);
  }
  const data = budgeted("data", budgetMs, () =>
    evaluateDataFilters(filters.data, filters.dataLogicalOperator, input.data, input.dataIsJson),
  );
  if (data.budget) return data;
  if (data.error) {
    if (!or) return { pass: false, error: data.error };
    errors.push(data.error);
  }
  const ctx = evaluateContextFilter(filters.context, input.context);
  const time = evaluateTimeFilter(filters.time, input.timeMs);
  if (time.error) {
    if (!or) return { pass: false, error: time.error };
    errors.push(time.error);
  }
  const script = await evaluateScriptFilter(filters.script, input.data, budgetMs);
  if (script.error) return script.budget ? script : { pass: false, error: script.error };

  if (or) {
    const pass =
      (filters.exprs !== undefined && filters.exprs !== null && expr.pass) ||
      (filters.data !== undefined && filters.data !== null && data.pass) ||
      (filters.context !== undefined && filters.context !== null && ctx) ||
      (filters.time !== undefined && filters.time !== null && time.pass) ||
      (!!filters.script && script.pass);
    if (errors.length > 0) return { pass, error: errors.join(" / ") };
    return pass ? { pass } : { pass, reason: "no filter kind passed (filtersLogicalOperator: or)" };
  }
  const pass = expr.pass && data.pass && ctx && time.pass && script.pass;
  if (pass) return { pass };
  const reasons: string[] = [];
  if (!expr.pass) reasons.push(expr.reason ?? "expr filter: expression(s) evaluated to false");
  if (!data.pass) reasons.push(data.reason ?? "data filter did not pass");
  if (!ctx) reasons.push(`context filter: ${JSON.stringify(filters.context)} does not match`);
  if (!time.pass) reasons.push(time.reason ?? "time filter: event time outside the window");
  if (!script.pass) reasons.push("script filter: script did not return true");
  return { pass, reason: reasons.join("; ") };
}
