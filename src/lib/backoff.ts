import { parseGoDuration } from "./duration.js";

/**
 * Argo's `Backoff` (a trigger's `retryStrategy`, `policy.k8s.backoff`) the way Argo runs it:
 * `Convert2WaitBackoff` (pkg/shared/util/retry.go) then k8s.io `wait.ExponentialBackoff`.
 *
 * - `steps`: checks made; absent, 0 or negative => 5.
 * - `duration`: the first wait; a YAML integer is nanoseconds, a string a Go duration; absent => 1 s.
 * - `factor`: each wait is the previous one times `factor`; 0 (or absent) => no growth. A negative
 *   factor gives a negative wait, which Go's `time.Sleep` returns from at once (here: 0 ms).
 * - `jitter`: each wait gets up to `jitter` times itself added at random; absent => 1; 0 or
 *   negative => none.
 *
 * A `factor` or `jitter` that is not a number (validate warns: Argo fails such a trigger) counts
 * as absent.
 */
export interface BackoffSpec {
  steps?: number;
  /** A number is nanoseconds (YAML integer); a string is a Go duration. */
  duration?: number | string;
  factor?: unknown;
  jitter?: unknown;
}

export interface BackoffPlan {
  /** Checks (attempts) to make, at least 1. */
  steps: number;
  /** Wait before check k + 1 (k = 1..steps-1), ms; draws from `random` once per call. */
  delayMs(k: number): number;
}

export const DEFAULT_STEPS = 5;
export const DEFAULT_DURATION_MS = 1000;

/** The waits of `wait.ExponentialBackoff` for `spec`. Throws ConfigError for a bad duration. */
export function exponentialBackoff(
  spec: BackoffSpec = {},
  random: () => number = Math.random,
): BackoffPlan {
  const steps =
    typeof spec.steps === "number" && spec.steps > 0
      ? Math.max(1, Math.floor(spec.steps))
      : DEFAULT_STEPS;
  const base = backoffDurationMs(spec.duration);
  const factor = typeof spec.factor === "number" && spec.factor !== 0 ? spec.factor : 1;
  const jitter = typeof spec.jitter === "number" ? spec.jitter : 1;
  return {
    steps,
    delayMs(k) {
      const wait = base * factor ** (k - 1);
      const jittered = jitter > 0 ? wait + random() * jitter * wait : wait;
      return Math.max(0, jittered);
    },
  };
}

/**
 * A YAML integer is nanoseconds; a string is a Go duration (parsed as Go does: no trimming, ""
 * is invalid); absent => 1 s. Throws ConfigError with Go's message for a bad string.
 */
export function backoffDurationMs(duration: number | string | undefined | null): number {
  if (duration === undefined || duration === null) return DEFAULT_DURATION_MS;
  if (typeof duration === "number") return duration / 1e6;
  return parseGoDuration(duration);
}

export interface RetryPlan {
  /** Total attempts (1 = no retry). */
  attempts: number;
  /** Wait before retry k (k = 1..attempts-1), ms. */
  delayMs(k: number): number;
}

/**
 * A trigger's `retryStrategy` (§6): absent => one attempt; otherwise `exponentialBackoff`, its
 * steps being the attempts. Wait before retry k = duration * factor^(k-1) * (1 + rand[0, jitter)).
 */
export function retryPlan(
  strategy: BackoffSpec | undefined,
  random: () => number = Math.random,
): RetryPlan {
  if (!strategy) return { attempts: 1, delayMs: () => 0 };
  const plan = exponentialBackoff(strategy, random);
  return { attempts: plan.steps, delayMs: plan.delayMs };
}
