import type { EventContext } from "../../cloudevents/event.js";
import type { EventContextFilter } from "../../config/types.js";

/** Argo §3.6: exact equality on the fields the filter sets (type, subject, source, datacontenttype). */
export function evaluateContextFilter(
  expected: EventContextFilter | undefined,
  actual: EventContext,
): boolean {
  if (!expected) return true;
  if (expected.type && expected.type !== actual.type) return false;
  if (expected.subject && expected.subject !== actual.subject) return false;
  if (expected.source && expected.source !== actual.source) return false;
  if (expected.datacontenttype && expected.datacontenttype !== actual.datacontenttype) return false;
  return true;
}
