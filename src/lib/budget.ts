/**
 * The evaluation budget: how long one filter, transform or template evaluation may hold the event
 * loop. The interpreters (Go templates and sprig, govaluate, expr-lang, gjson, Go regexps) call
 * `checkBudget()` as they step; when the running evaluation's deadline has passed it throws
 * `BudgetExceededError`, which unwinds the evaluation (never caught by the interpreters'
 * own error handling: `isBudgetExceeded` tells callers to re-throw it).
 *
 * Evaluations are synchronous, so one module-level deadline is enough; `withBudget` nests (the
 * nearer deadline wins). Outside `withBudget` there is no deadline. Pure: no project imports.
 */

/** Default budget per evaluation, ms (the `run` flag `--evaluation-budget` changes it). */
export const DEFAULT_EVALUATION_BUDGET_MS = 100;

/** The budget evaluations run with (process-wide; `run --evaluation-budget`). */
let configuredMs = DEFAULT_EVALUATION_BUDGET_MS;

/** Sets the budget every evaluation runs with, ms (<= 0: none). */
export function setEvaluationBudget(ms: number): void {
  configuredMs = ms;
}

/** The budget evaluations run with, ms. */
export function evaluationBudgetMs(): number {
  return configuredMs;
}

/** An evaluation stopped by its budget: `kind` is data, expr, script, transform, template, … */
export interface BudgetExceededReport {
  kind: string;
  /** The Sensor or EventSource whose evaluation it was. */
  scope: string;
  budgetMs: number;
}

let listener: ((report: BudgetExceededReport) => void) | undefined;

/** Installs the one listener told about every evaluation stopped by its budget (metrics). */
export function onBudgetExceeded(fn: ((report: BudgetExceededReport) => void) | undefined): void {
  listener = fn;
}

/** Called where an evaluation stopped by its budget is rejected (once per evaluation). */
export function reportBudgetExceeded(report: BudgetExceededReport): void {
  listener?.(report);
}

/** The clock read for deadlines (ms); injectable so tests need not depend on real time. */
let clock: () => number = () => performance.now();
let deadline = Number.POSITIVE_INFINITY;
let budgetMs = 0;
let label = "evaluation";
/** Steps until the clock is read again (reading it on every step would cost more than the step). */
let countdown = 0;
const STEPS_PER_CHECK = 64;

export class BudgetExceededError extends Error {
  constructor(
    /** What was being evaluated ("data filter", "template", …). */
    readonly what: string,
    readonly budgetMs: number,
  ) {
    super(`${what}: evaluation exceeded its ${budgetMs} ms budget`);
    this.name = "BudgetExceededError";
  }
}

export function isBudgetExceeded(err: unknown): err is BudgetExceededError {
  return err instanceof BudgetExceededError;
}

/**
 * Runs `fn` with a deadline `ms` from now; `what` names the evaluation in the error. `ms` <= 0 or
 * not finite: no budget. Re-entrant: an inner call never extends an outer deadline.
 */
export function withBudget<T>(what: string, ms: number, fn: () => T): T {
  if (!(ms > 0) || !Number.isFinite(ms)) return fn();
  const saved = { deadline, budgetMs, label, countdown };
  const mine = clock() + ms;
  if (mine < deadline) {
    deadline = mine;
    budgetMs = ms;
    label = what;
  }
  countdown = 0;
  try {
    return fn();
  } finally {
    deadline = saved.deadline;
    budgetMs = saved.budgetMs;
    label = saved.label;
    countdown = saved.countdown;
  }
}

/** Time left to the running evaluation's deadline, ms (+Infinity outside a budget). */
export function remainingBudgetMs(): number {
  if (deadline === Number.POSITIVE_INFINITY) return deadline;
  return deadline - clock();
}

/** Throws the running evaluation's BudgetExceededError (its work cannot finish in time). */
export function exceedBudget(): never {
  throw new BudgetExceededError(label, budgetMs);
}

/** One interpreter step: throws BudgetExceededError once the running evaluation's deadline passed. */
export function checkBudget(): void {
  if (deadline === Number.POSITIVE_INFINITY) return;
  if (--countdown > 0) return;
  countdown = STEPS_PER_CHECK;
  if (clock() > deadline) throw new BudgetExceededError(label, budgetMs);
}

/** Like checkBudget, for a step whose cost grows with `units` (characters built, items made). */
export function chargeBudget(units: number): void {
  if (deadline === Number.POSITIVE_INFINITY) return;
  countdown -= Math.floor(units / 1024);
  checkBudget();
}

/** Tests only: replaces the clock (ms); returns a function restoring the real one. */
export function setBudgetClock(fn: () => number): () => void {
  const before = clock;
  clock = fn;
  return () => {
    clock = before;
  };
}
