/** Longest quoted value put into a rejection reason, in characters. */
export const MAX_QUOTED_VALUE = 256;
/** Longest reason (a filter's explanation) written to a log line or the journal, in characters. */
export const MAX_REASON = 2048;

/**
 * `JSON.stringify(value)` for a message, cut to `max` characters with the full size appended:
 * `"aaaa…"…(51200 bytes)`. Short values are quoted unchanged.
 */
export function quoteBounded(value: string, max: number = MAX_QUOTED_VALUE): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}…(${Buffer.byteLength(value, "utf8")} bytes)`;
}

/** `text` cut to `max` characters with the full size appended; unchanged when short enough. */
export function boundText(text: string, max: number = MAX_REASON): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…(${Buffer.byteLength(text, "utf8")} bytes)`;
}
