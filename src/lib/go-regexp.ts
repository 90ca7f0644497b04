import type { GoRegexp } from "./re2.js";
import { compileGoRegexp } from "./re2.js";

/**
 * Compiles a Go (RE2) pattern for an unanchored match (Go's regexp.Match) on lib/re2.ts: linear
 * time for every pattern. Returns Go's error text for patterns that do not compile. Shared by
 * Sensor data filters and the resource EventSource's field selectors.
 */
export function goRegexp(pattern: string): GoRegexp | string {
  try {
    return compileGoRegexp(pattern);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
