import { LuaError, LuaTimeoutError, runLua } from "../../lib/lua.js";
import type { FilterOutcome } from "./types.js";
import { PASS } from "./types.js";

/**
 * Argo §3.6 script filter: global `event` = the data object; passes only when the chunk returns
 * Lua `true`. No data => pass; data not a JSON object, syntax or runtime error => error.
 * (Argo returns these errors unprefixed; sensorbus prefixes "script filter error" so `explain`
 * and `replay` name the filter kind.)
 */
export async function evaluateScriptFilter(
  script: string | undefined,
  data: string | undefined,
  /** Time limit for the run, ms (the evaluation budget). */
  budgetMs?: number,
): Promise<FilterOutcome> {
  if (!script) return PASS;
  if (data === undefined) return PASS;
  let obj: unknown;
  try {
    obj = JSON.parse(data);
  } catch (err) {
    return { pass: false, error: `script filter error (${(err as Error).message})` };
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    return { pass: false, error: "script filter error (event data is not a JSON object)" };
  }
  try {
    const result = await runLua(script, obj as Record<string, unknown>, {
      what: "script filter",
      ...(budgetMs !== undefined && budgetMs > 0 ? { timeoutMs: budgetMs } : {}),
    });
    return { pass: result === true };
  } catch (err) {
    if (err instanceof LuaTimeoutError)
      return { pass: false, error: err.message, budget: "script" };
    return {
      pass: false,
      error: `script filter error (${err instanceof LuaError ? err.message : String(err)})`,
    };
  }
}
