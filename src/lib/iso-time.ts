let lastMs = Number.NaN;
let lastIso = "";

/**
 * `new Date(ms).toISOString()` (RFC 3339 UTC with milliseconds), formatted once per millisecond:
 * the log lines, journal entries and events of one millisecond share the string. Callers that
 * derive their own format from it can compare the returned string by identity to reuse theirs.
 */
export function isoMillis(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}
