import type { LuaFactory } from "wasmoon";

/**
 * Lua for Argo's `script` filters and transforms, in a real Lua VM (wasmoon: Lua 5.4 compiled to
 * WebAssembly). Argo runs gopher-lua (Lua 5.1); the differences users may meet are listed in
 * docs/lua.md (integer/float subtypes: `tostring(1.0)` is "1.0"; `//` and bitwise operators exist;
 * `unpack` is `table.unpack`; `setfenv`/`getfenv` are gone).
 *
 * A fresh state per run (a failed parse can leave a wasmoon state unusable, and a script must not
 * see another event's globals), bounded by a time limit and a memory cap.
 */

/** wasmoon is loaded with the first script run, not with the process (most Sensors have none). */
let factory: Promise<LuaFactory> | undefined;

export interface LuaRunOptions {
  /** Wall-clock limit for one run, ms (default 1000). */
  timeoutMs?: number;
  /** Memory cap for one state, bytes (default 64 MiB). */
  memoryMax?: number;
  /** What runs, for the LuaTimeoutError message when the time limit stops it ("script filter"). */
  what?: string;
}

export class LuaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LuaError";
  }
}

/** The run's time limit stopped it (the evaluation budget, for sensors). */
export class LuaTimeoutError extends LuaError {
  constructor(
    readonly what: string,
    readonly budgetMs: number,
  ) {
    super(`${what}: evaluation exceeded its ${budgetMs} ms budget`);
    this.name = "LuaTimeoutError";
  }
}

/**
 * Converts the chunk's result the way Argo's toGoValue does, on the Lua side (wasmoon's automatic
 * conversion differs): the LAST returned value (gopher-lua reads the stack top); a table whose
 * metatable has `__is_array = true`, or whose length (`#`, gopher-lua's MaxN) is > 0, is an array of
 * elements 1..n (other keys dropped, holes => null); any other table (also an empty one) is an
 * object with keys as text (`1` => "1"); numbers are float64; a function, userdata or thread at
 * the top is null, inside a table an error (Go's json.Marshal refuses them), as are NaN/Inf and
 * cycles. The result travels to JS as JSON text.
 */
const PRELUDE = String.raw`
local type, rawlen, rawget, next, tostring, error = type, rawlen, rawget, next, tostring, error
local tonumber, load = tonumber, load
local format, gsub, byte, concat, pack = string.format, string.gsub, string.byte, table.concat, table.pack
local mtype, floor, huge, tointeger = math.type, math.floor, math.huge, math.tointeger
local getmt = (debug and debug.getmetatable) or getmetatable
local esc = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local function str(s)
  return '"' .. (gsub(s, '[%c"\\]', function(c) return esc[c] or format('\\u%04x', byte(c)) end)) .. '"'
end
local function shortest(n)
  for p = 1, 17 do
    local s = format('%.' .. p .. 'g', n)
    if tonumber(s) == n then return s end
  end
  return format('%.17g', n)
end
local function num(n)
  if n ~= n then error('json: unsupported value: NaN', 0) end
  if n == huge or n == -huge then error('json: unsupported value: ' .. (n > 0 and '+Inf' or '-Inf'), 0) end
  if mtype(n) == 'integer' then return format('%d', n) end
  return shortest(n)
end
local function key(k)
  local tk = type(k)
  if tk == 'string' then return k end
  if tk == 'number' then
    if mtype(k) == 'float' and k == floor(k) and tointeger(k) then return format('%d', tointeger(k)) end
    return num(k)
  end
  return tostring(k)
end
local enc
local function tbl(t, seen)
  if seen[t] then error('json: unsupported value: encountered a cycle', 0) end
  seen[t] = true
  local n, mt, out = rawlen(t), getmt(t), {}
  local s
  if n > 0 or (type(mt) == 'table' and rawget(mt, '__is_array') == true) then
    for i = 1, n do out[i] = enc(rawget(t, i), seen) end
    s = '[' .. concat(out, ',') .. ']'
  else
    for k, v in next, t do out[#out + 1] = str(key(k)) .. ':' .. enc(v, seen) end
    s = '{' .. concat(out, ',') .. '}'
  end
  seen[t] = nil
  return s
end
enc = function(v, seen)
  local tv = type(v)
  if tv == 'nil' then return 'null' end
  if tv == 'boolean' then return v and 'true' or 'false' end
  if tv == 'number' then return num(v) end
  if tv == 'string' then return str(v) end
  if tv == 'table' then return tbl(v, seen) end
  error('json: unsupported type: ' .. tv, 0)
end
local MARK = "\1sbv:"
local sub, char, tonumber_ = string.sub, string.char, tonumber
local function unmark(t)
  for k, v in next, t do
    local tv = type(v)
    if tv == 'table' then unmark(v)
    elseif tv == 'string' and sub(v, 1, #MARK) == MARK then
      local rest = sub(v, #MARK + 2)
      if sub(v, #MARK + 1, #MARK + 1) == 'n' then t[k] = tonumber_(rest) + 0.0
      else t[k] = (gsub(rest, '%%(%x%x)', function(h) return char(tonumber_(h, 16)) end)) end
    end
  end
end
-- No process control from a script: a clear error that pcall can catch (wasmoon's own os.execute
-- fails with an internal TypeError, os.exit unwinds the whole state).
if os then
  os.execute = function() error('os.execute is not available to sensor scripts', 2) end
  os.exit = function() error('os.exit is not available to sensor scripts', 2) end
end
__sb_run = function(src)
  if type(event) == 'table' then unmark(event) end
  local chunk, err = load(src)
  if not chunk then error(err, 0) end
  local r = pack(chunk())
  local v = r[r.n]
  local tv = type(v)
  if tv == 'function' or tv == 'userdata' or tv == 'thread' then return 'null' end
  if tv == 'number' and (v ~= v or v == huge or v == -huge) then return 'null' end
  return enc(v, {})
end
`;

/**
 * Sets the global `event`, runs `script` and returns its result as Argo's toGoValue converts it.
 * A run stopped by `timeoutMs` throws LuaTimeoutError, any other failure LuaError.
 */
export async function runLua(
  script: string,
  event: Record<string, unknown>,
  options: LuaRunOptions = {},
): Promise<unknown> {
  factory ??= import("wasmoon").then((m) => new m.LuaFactory());
  const engine = await (await factory).createEngine({
    injectObjects: false,
    enableProxy: false,
    traceAllocations: true,
  });
  const timeoutMs = options.timeoutMs ?? 1000;
  let deadline = Number.POSITIVE_INFINITY;
  try {
    engine.global.setMemoryMax(options.memoryMax ?? 64 * 1024 * 1024);
    deadline = Date.now() + timeoutMs;
    engine.global.setTimeout(deadline);
    engine.global.set("event", toLuaValue(event));
    await engine.doString(PRELUDE);
    engine.global.set("__sb_src", script);
    const json: unknown = await engine.doString("return __sb_run(__sb_src)");
    return JSON.parse(String(json)) as unknown;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // The time limit aborts the state (wasmoon: "thread timeout exceeded", or an abort()).
    if (Date.now() >= deadline && /timeout exceeded|Aborted\(/.test(msg)) {
      throw new LuaTimeoutError(options.what ?? "script", timeoutMs);
    }
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
  // No prototype: a key named `__proto__` (JSON.parse keeps it as an own key) stays a plain key,
  // as in gopher-lua, instead of becoming the object's prototype, whose members the table
  // conversion (for…in) would copy in as if they were the event's own.
  const out = Object.create(null) as Record<string, unknown>;
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
        .map((e) => (typeof e === "object" ? toLuaValue(e as Record<string, unknown>) : scalar(e)));
    } else if (typeof v === "object") out[k] = toLuaValue(v as Record<string, unknown>);
    else out[k] = scalar(v);
  }
  return out;
}

/**
 * Values wasmoon cannot hand over faithfully travel as marked strings that the prelude decodes:
 * integers beyond int64 (wasmoon pushes every integral number as a Lua integer, which wraps; Argo
 * has float64) and strings holding NUL (wasmoon passes C strings).
 */
const MARK = "\u0001sbv:";
function scalar(v: unknown): unknown {
  if (typeof v === "number" && Number.isInteger(v) && Math.abs(v) >= 2 ** 63) return `${MARK}n${v}`;
  if (typeof v === "string" && v.includes("\u0000")) return `${MARK}s${encodeURIComponent(v)}`;
  return v;
}
