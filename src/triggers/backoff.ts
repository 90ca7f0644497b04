import type { Backoff } from "../config/types.js";
import { parseGoDuration } from "../lib/duration.js";

export interface RetryPlan {
  /** Total attempts (1 = no retry). */
  attempts: number;
  /** Wait before retry k (k = 1..attempts-1), ms. */
  delayMs(k: number): number;
}

/**
 * Argo's retryStrategy (§6): absent => one attempt; steps = attempts (0 => 5); duration is
 * nanoseconds when a number, a Go duration when a string (default 1 s); factor default 1; jitter
 * default 1. Wait before retry k = duration * factor^(k-1) * (1 + rand[0, jitter)).
 */
export function retryPlan(
  strategy: Backoff | undefined,
  random: () => number = Math.random,
): RetryPlan {
  if (!strategy) return { attempts: 1, delayMs: () => 0 };
  const attempts =
    strategy.steps === undefined || strategy.steps === 0
      ? 5
      : Math.max(1, Math.floor(strategy.steps));
  const base = backoffDurationMs(strategy.duration);
  const factor = typeof strategy.factor === "number" && strategy.factor > 0 ? strategy.factor : 1;
  const jitter = typeof strategy.jitter === "number" && strategy.jitter >= 0 ? strategy.jitter : 1;
  return {
    attempts,
    delayMs: (k) => base * factor ** (k - 1) * (1 + random() * jitter),
  };
}

/** A YAML integer is nanoseconds; a string is a Go duration; absent => 1 s. */
export function backoffDurationMs(duration: number | string | undefined): number {
  if (duration === undefined || duration === null || duration === "") return 1000;
  if (typeof duration === "number") return duration / 1e6;
  return parseGoDuration(duration);
}
