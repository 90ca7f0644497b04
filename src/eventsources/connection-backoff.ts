import { err } from "../config/findings.js";
import type { EntryCheck } from "../config/kinds.js";
import { type BackoffSpec, backoffDurationMs, exponentialBackoff } from "../lib/backoff.js";
import { parseDuration } from "../lib/duration.js";

/**
 * A broker EventSource's `connectionBackoff` (Argo's `Backoff`), shared by the kinds that have one.
 *
 * Argo dials with `DoWithRetry(connectionBackoff)` (absent: its DefaultBackoff, 5 steps of 1 s,
 * factor 1, jitter 1) and gives up after `steps` attempts; its eventing layer then restarts the
 * listener a few more times and stops for good. A service should not stop: sensorbus waits as
 * the plan says for the first `steps - 1` retries and then keeps retrying at the plan's last
 * wait, at most {@link RECONNECT_MAX_MS} apart. The same plan paces reconnects after an outage.
 */

/** Longest wait between attempts once the plan's steps are used up, ms. */
export const RECONNECT_MAX_MS = 60_000;

/** Wait before reconnect attempt `attempt + 1` (attempt >= 1), ms. */
export function reconnectDelayMs(
  spec: BackoffSpec | undefined,
  attempt: number,
  random: () => number = Math.random,
): number {
  const plan = exponentialBackoff(spec ?? {}, random);
  const last = Math.max(1, plan.steps - 1);
  if (attempt <= last && plan.steps > 1) return plan.delayMs(attempt);
  return Math.min(RECONNECT_MAX_MS, plan.delayMs(last));
}

/**
 * What Argo's `Convert2WaitBackoff` refuses at run time (the source then never connects), as
 * errors at `<entry>/connectionBackoff`.
 */
export function checkConnectionBackoff(spec: unknown, { at, report }: EntryCheck): void {
  if (typeof spec !== "object" || spec === null) return;
  const b = spec as Record<string, unknown>;
  const where = `${at}/connectionBackoff`;
  if (typeof b.duration === "string" && parseDuration(b.duration) === undefined) {
    report(
      err(
        `${where}/duration`,
        `"${b.duration}" is not a Go duration (a string needs a unit, e.g. "10s"; a YAML integer means nanoseconds): the source would never connect`,
      ),
    );
  }
  for (const k of ["factor", "jitter"] as const) {
    const v = b[k];
    if (v !== undefined && typeof v !== "number") {
      report(err(`${where}/${k}`, `${k} must be a YAML number: the source would never connect`));
    }
  }
}

/** Why the plan cannot run (the runtime refuses to start the entry), or undefined. */
export function connectionBackoffProblem(spec: BackoffSpec | undefined): string | undefined {
  try {
    backoffDurationMs(spec?.duration);
  } catch (e) {
    return `connectionBackoff.duration: ${(e as Error).message}`;
  }
  for (const k of ["factor", "jitter"] as const) {
    const v = spec?.[k];
    if (v !== undefined && typeof v !== "number") return `connectionBackoff.${k}: not a number`;
  }
  return undefined;
}
