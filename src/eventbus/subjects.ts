import { ConfigError } from "../errors.js";
import { fnv32a } from "../lib/hash.js";

export { fnv32a } from "../lib/hash.js";

/** Argo's JetStream layout: one stream named `default`, subjects `default.<eventSource>.<event>`. */
export const STREAM_NAME = "default";
export const SUBJECT_PREFIX = "default";

const FORBIDDEN = /[.*>\s]/;

/**
 * Argo does not escape names, so a `.` in a name publishes outside `default.*.*`. sensorbus refuses
 * such names up front instead of failing at publish time.
 */
export function checkSubjectToken(what: string, name: string): string | undefined {
  if (name.length === 0) return `${what} must not be empty`;
  if (FORBIDDEN.test(name))
    return `${what} '${name}' must not contain '.', '*', '>' or whitespace (it becomes a NATS subject token)`;
  return undefined;
}

export function subjectFor(eventSourceName: string, eventName: string): string {
  for (const [what, name] of [
    ["eventSourceName", eventSourceName],
    ["eventName", eventName],
  ] as const) {
    const problem = checkSubjectToken(what, name);
    if (problem) throw new ConfigError(problem, [problem]);
  }
  return `${SUBJECT_PREFIX}.${eventSourceName}.${eventName}`;
}

/**
 * The bus's dedupe key of an event: its id within its own EventSource and event name
 * (`default.<eventSource>.<event> <id>`; a subject has no whitespace). An id sent to one
 * endpoint never suppresses an event of another.
 */
export function dedupeKey(subject: string, id: string): string {
  return `${subject} ${id}`;
}

/** Argo's durable name: `group-<fnv32a("<sensor>-<trigger>-<dep>")>` as unsigned decimal. */
export function durableName(sensor: string, trigger: string, dependency: string): string {
  return `group-${fnv32a(`${sensor}-${trigger}-${dependency}`)}`;
}

const RECORD_LOG_TOKEN = /^[-\w]{1,64}$/;

/** Throws a ConfigError unless `value` may name a record log or one of its partitions. */
export function checkRecordLogToken(what: string, value: string): void {
  if (RECORD_LOG_TOKEN.test(value)) return;
  const problem = `${what} '${value}' may only contain letters, digits, '-' and '_' (1-64)`;
  throw new ConfigError(problem, [problem]);
}
