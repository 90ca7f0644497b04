import { DEFAULTS } from "../../config/defaults.js";
/** What every filter kind returns. Filters report; they never throw on event data. */
export interface FilterOutcome {
  pass: boolean;
  /** Argo-formatted error text, e.g. "data filter error (path 'body.x' does not exist)". */
  error?: string;
  /** Why a filter did not pass (sensorbus: the answer to "why didn't my sensor fire?"). */
  reason?: string;
  /** Set when an evaluation was stopped by its budget: the filter kind (data, expr, script). */
  budget?: string;
}

export const PASS: FilterOutcome = { pass: true };
export const FAIL: FilterOutcome = { pass: false };

export function filterError(kind: string, message: string): FilterOutcome {
  return { pass: false, error: `${kind} filter error (${message})` };
}

/**
 * Argo's list evaluation for data and expr filters: `and` stops at the first failure or error;
 * `or` stops at the first pass (dropping earlier errors), else fails with the errors joined.
 * Each step returns pass / fail / an error message (without the kind prefix).
 */
export type StepResult = true | false | { fail: string } | { error: string };

export function combineList<T>(
  kind: string,
  items: readonly T[],
  operator: string | undefined,
  step: (item: T) => StepResult,
): FilterOutcome {
  const or = (operator || DEFAULTS.dependency.logicalOperator) === "or";
  const errors: string[] = [];
  const reasons: string[] = [];
  for (const item of items) {
    const r = step(item);
    if (r === true) {
      if (or) return PASS;
      continue;
    }
    if (r === false || "fail" in r) {
      const reason = r === false ? undefined : `${kind} filter: ${r.fail}`;
      if (!or) return reason ? { pass: false, reason } : FAIL;
      if (reason) reasons.push(reason);
      continue;
    }
    if (!or) return filterError(kind, r.error);
    errors.push(r.error);
  }
  if (!or) return PASS;
  if (errors.length > 0)
    return { pass: false, error: `${kind} filter errors [${errors.join(" / ")}]` };
  return reasons.length > 0 ? { pass: false, reason: reasons.join("; ") } : FAIL;
}
