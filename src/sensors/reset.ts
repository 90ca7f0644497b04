import type { ConditionsResetCriteria } from "../config/types.js";
import { errorMessage } from "../errors.js";
import type { CronSchedule } from "../lib/cron.js";
import { cronNext, parseCron } from "../lib/cron.js";

/** A trigger's `conditionsReset[].byTime` schedules, parsed once. */
export interface ResetSchedule {
  cron: CronSchedule;
  zone: string;
}

/** Parses `conditionsReset`; a bad cron is reported and that entry ignored (Argo logs it). */
export function parseResets(criteria: readonly ConditionsResetCriteria[] | undefined): {
  schedules: ResetSchedule[];
  errors: string[];
} {
  const schedules: ResetSchedule[] = [];
  const errors: string[] = [];
  for (const [i, c] of (criteria ?? []).entries()) {
    if (!c.byTime?.cron) continue;
    try {
      schedules.push({ cron: parseCron(c.byTime.cron), zone: c.byTime.timezone ?? "UTC" });
    } catch (err) {
      errors.push(`conditionsReset[${i}].byTime.cron '${c.byTime.cron}': ${errorMessage(err)}`);
    }
  }
  return { schedules, errors };
}

/** The first reset tick in (afterMs, untilMs], or undefined. */
export function tickBetween(
  schedules: readonly ResetSchedule[],
  afterMs: number,
  untilMs: number,
): number | undefined {
  let first: number | undefined;
  for (const s of schedules) {
    const next = cronNext(s.cron, afterMs, s.zone);
    if (next !== undefined && next <= untilMs && (first === undefined || next < first))
      first = next;
  }
  return first;
}

/** The next reset tick after `afterMs`. */
export function nextTick(schedules: readonly ResetSchedule[], afterMs: number): number | undefined {
  return tickBetween(schedules, afterMs, Number.POSITIVE_INFINITY);
}

/**
 * The most recent tick at or before `atMs` (Argo purges stored entries older than it at start-up).
 * Searches back over growing windows so frequent schedules stay cheap.
 */
export function lastTickAtOrBefore(
  schedules: readonly ResetSchedule[],
  atMs: number,
): number | undefined {
  for (const windowMs of [3_600_000, 86_400_000, 32 * 86_400_000, 366 * 86_400_000]) {
    let t = atMs - windowMs;
    let last: number | undefined;
    for (let i = 0; i < 10_000; i++) {
      const next = nextTick(schedules, t);
      if (next === undefined || next > atMs) break;
      last = next;
      t = next;
    }
    if (last !== undefined) return last;
  }
  return undefined;
}
