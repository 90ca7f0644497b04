import { setTimeout as delay } from "node:timers/promises";

/**
 * Waits `ms` (Node's `timers/promises` timer); resolves true when the time ran out, false when
 * `signal` aborted first (or already had). For loops that stop on shutdown:
 * `while (await sleepUnlessAborted(every, signal)) …`.
 */
export async function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch (err) {
    if (signal?.aborted) return false;
    throw err;
  }
}
