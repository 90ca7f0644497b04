import { LuaFactory } from "wasmoon";

/**
 * Lua for Argo's `script` filters and transforms, in a real Lua VM (wasmoon: Lua 5.4 compiled to
 * WebAssembly). Argo runs gopher-lua (Lua 5.1); differences users may meet: integer/float
 * subtypes (`tostring(1.0)` is "1.0"), `//` and bitwise operators exist, `unpack` is `table.unpack`,
 * `setfenv`/`getfenv` are gone.
 *
 * A fresh state per run (a failed parse can leave a wasmoon state unusable, and a script must not
 * see another event's globals), bounded by a time limit and a memory cap.
 */

const factory = new LuaFactory();

export interface LuaRunOptions {
  /** Wall-clock limit for one run, ms (default 1000). */
  timeoutMs?: number;
  /** Memory cap for one state, bytes (default 64 MiB). */
  memoryMax?: number;
}

export class LuaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LuaError";
  }
}

/** Sets the global `event` and runs `script`; returns its first result converted to JS. */
export async function runLua(
  script: string,
  event: Record<string, unknown>,
  options: LuaRunOptions = {},
): Promise<unknown> {
  const engine = await factory.createEngine({
    injectObjects: false,
    enableProxy: false,
    traceAllocations: true,
  });
  try {
    engine.global.setMemoryMax(options.memoryMax ?? 64 * 1024 * 1024);
    engine.global.setTimeout(Date.now() + (options.timeoutMs ?? 1000));
    engine.global.set("event", toLuaValue(event));
    return await engine.doString(script);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new LuaError(msg.split("\nstack traceback:")[0]!.trim());
  } finally {
    engine.global.close();
  }
}

/**
 * Argo's mapToTable: JSON null members are dropped; array elements keep only objects, numbers,
 * strings and booleans (null and nested arrays vanish).
 */
export function toLuaValue(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) {
      out[k] = v
        .filter(
          (e) =>
            e !== null &&
            !Array.isArray(e) &&
            ["object", "number", "string", "boolean"].includes(typeof e),
        )
        .map((e) => (typeof e === "object" ? toLuaValue(e as Record<string, unknown>) : e));
    } else if (typeof v === "object") out[k] = toLuaValue(v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}
