import type { CloudEvent } from "../cloudevents/event.js";
import type { EventDependency } from "../config/types.js";
import { TransformError } from "../errors.js";
import { goMarshal } from "../lib/gojson.js";
import { JqTimeoutError, runJq } from "../lib/jq.js";
import { LuaError, LuaTimeoutError, runLua } from "../lib/lua.js";

/**
 * Argo §3.1: `jq` (wins) or `script` rewrites the event data, which filters, the condition buffer
 * and parameters then see. No data => unchanged. Data must be a JSON object. The output must be an
 * object and is re-encoded as Go does (keys sorted, compact). Throws TransformError (SB_ERR_TRANSFORM)
 * with the reason; the jq/Lua time-limit errors pass through as they are.
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
    throw new TransformError(`transform: event data is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new TransformError("transform: event data is not a JSON object");
  }
  let output: unknown;
  if (transform.jq) {
    const first = await runJq(event.data, transform.jq).catch((err: Error) => {
      if (err instanceof JqTimeoutError) throw err;
      throw new TransformError(`jq transform: ${err.message}`, { cause: err });
    });
    if (first === undefined)
      throw new TransformError("no output available from the jq command execution");
    output = JSON.parse(first);
    if (output === null || typeof output !== "object" || Array.isArray(output)) {
      throw new TransformError("jq transformation output must be a JSON object");
    }
  } else {
    try {
      output = await runLua(transform.script!, input as Record<string, unknown>, {
        what: "script transform",
        ...(budgetMs !== undefined && budgetMs > 0 ? { timeoutMs: budgetMs } : {}),
      });
    } catch (err) {
      if (err instanceof LuaTimeoutError) throw err;
      throw new TransformError(
        `script transform: ${err instanceof LuaError ? err.message : String(err)}`,
        { cause: err },
      );
    }
    if (output === null || typeof output !== "object") {
      throw new TransformError("transformation script output type is not of lua table");
    }
  }
  return { ...event, datacontenttype: "application/json", data: goMarshal(output) };
}
