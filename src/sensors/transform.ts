import type { CloudEvent } from "../cloudevents/event.js";
import type { EventDependency } from "../config/types.js";
import { goMarshal } from "../lib/gojson.js";
import { JqTimeoutError, runJq } from "../lib/jq.js";
import { LuaError, LuaTimeoutError, runLua } from "../lib/lua.js";

/**
 * Argo §3.1: `jq` (wins) or `script` rewrites the event data, which filters, the condition buffer
 * and parameters then see. No data => unchanged. Data must be a JSON object. The output must be an
 * object and is re-encoded as Go does (keys sorted, compact). Throws Error with the reason.
 */
export async function applyTransform(
  transform: EventDependency["transform"],
  event: CloudEvent,
  /** Time limit for a Lua script, ms (the evaluation budget; Lua runs on the event loop). */
  budgetMs?: number,
): Promise<CloudEvent> {
  if (!transform || (!transform.jq && !transform.script)) return event;
  if (event.data === undefined) return event;
  let input: unknown;
  try {
    input = JSON.parse(event.data);
  } catch (err) {
    throw new Error(`transform: event data is not valid JSON: ${(err as Error).message}`);
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new Error("transform: event data is not a JSON object");
  }
  let output: unknown;
  if (transform.jq) {
    const first = await runJq(event.data, transform.jq).catch((err: Error) => {
      if (err instanceof JqTimeoutError) throw err;
      throw new Error(`jq transform: ${err.message}`);
    });
    if (first === undefined) throw new Error("no output available from the jq command execution");
    output = JSON.parse(first);
    if (output === null || typeof output !== "object" || Array.isArray(output)) {
      throw new Error("jq transformation output must be a JSON object");
    }
  } else {
    try {
      output = await runLua(transform.script!, input as Record<string, unknown>, {
        what: "script transform",
        ...(budgetMs !== undefined && budgetMs > 0 ? { timeoutMs: budgetMs } : {}),
      });
    } catch (err) {
      if (err instanceof LuaTimeoutError) throw err;
      throw new Error(`script transform: ${err instanceof LuaError ? err.message : String(err)}`);
    }
    if (output === null || typeof output !== "object") {
      throw new Error("transformation script output type is not of lua table");
    }
  }
  return { ...event, datacontenttype: "application/json", data: goMarshal(output) };
}
