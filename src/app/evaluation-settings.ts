import { ConfigError } from "../errors.js";
import {
  DEFAULT_EVALUATION_BUDGET_MS,
  onBudgetExceeded,
  setEvaluationBudget,
} from "../lib/budget.js";
import { parseGoDuration } from "../lib/duration.js";
import { setTemplateEnvironment } from "../lib/gotemplate/index.js";
import type { Metrics } from "../observability/metrics.js";

export interface EvaluationOptions {
  /** `--evaluation-budget`: a Go duration ("100ms", "1s"); "0" turns the budget off. */
  budget?: string | undefined;
  /** `--template-env`: variable names `env` / `expandenv` may read, comma-separated. */
  templateEnv?: string | undefined;
}

/**
 * Applies the process-wide evaluation settings of `run` and `controller`: the evaluation budget
 * (default 100 ms) with its metrics, and the environment Go templates see (default: none; the
 * flag, else $SENSORBUS_TEMPLATE_ENV, names the variables allowed). Throws ConfigError on a bad
 * value. Returns what was applied, for the start-up log.
 */
export function applyEvaluationSettings(
  opts: EvaluationOptions,
  env: NodeJS.ProcessEnv,
  metrics?: Metrics,
): { budgetMs: number; templateEnv: string[] } {
  let budgetMs = DEFAULT_EVALUATION_BUDGET_MS;
  if (opts.budget !== undefined) {
    try {
      budgetMs = opts.budget.trim() === "0" ? 0 : parseGoDuration(opts.budget.trim());
    } catch {
      throw new ConfigError(
        `--evaluation-budget: '${opts.budget}' is not a duration (e.g. 100ms, 1s; 0 turns it off)`,
      );
    }
    if (!(budgetMs >= 0)) {
      throw new ConfigError(`--evaluation-budget: '${opts.budget}' must not be negative`);
    }
  }
  setEvaluationBudget(budgetMs);
  const list = opts.templateEnv ?? env.SENSORBUS_TEMPLATE_ENV ?? "";
  const names = list
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  for (const n of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) {
      throw new ConfigError(`--template-env: '${n}' is not an environment variable name`);
    }
  }
  const visible: Record<string, string | undefined> = {};
  for (const n of names) if (Object.hasOwn(env, n)) visible[n] = env[n];
  setTemplateEnvironment(visible);
  if (metrics) {
    metrics.evaluationBudget.set({ namespace: metrics.namespace }, budgetMs);
    onBudgetExceeded(({ kind, scope }) =>
      metrics.evaluationBudgetExceeded.inc({ namespace: metrics.namespace, name: scope, kind }),
    );
  }
  return { budgetMs, templateEnv: names };
}
