import { describe, expect, it } from "vitest";
import { LuaError, runLua } from "../../../src/lib/lua.js";

// Argo's toGoValue (pkg/sensors/dependencies/transform.go) on gopher-lua tables, reproduced on the
// Lua side of wasmoon: metatable `__is_array`, MaxN-based arrays, empty table => {}, float64s.
describe("runLua result conversion (Argo toGoValue)", () => {
  it.each<[string, string, Record<string, unknown>, unknown]>([
    [
      "__is_array on an empty table gives []",
      "event.env = setmetatable({}, { __is_array = true })\nreturn event",
      { env: 123 },
      { env: [] },
    ],
    ["an empty table is an object", "return {}", {}, {}],
    ["a sequence is an array", "return {1, 2, 3}", {}, [1, 2, 3]],
    [
      "a hole inside the array part is null",
      "local t = {1, 2, 3}; t[2] = nil; return t",
      {},
      [1, null, 3],
    ],
    [
      "integer keys outside the sequence make an object",
      "local t = {}; t[3] = 'x'; return t",
      {},
      { "3": "x" },
    ],
    [
      "string keys of an array are dropped",
      "local t = {10, 20}; t.k = 'v'; return t",
      {},
      [10, 20],
    ],
    [
      "a float-valued integer key is written without .0",
      "return {[2.0] = 'x', k = 'y'}",
      {},
      { "2": "x", k: "y" },
    ],
    [
      "scalars, nested tables and escapes",
      "return {a = 1.5, b = 3, c = 2^53, d = 'q\"\\n\\1', e = true, f = {x = {}}}",
      {},
      { a: 1.5, b: 3, c: 2 ** 53, d: 'q"\n\u0001', e: true, f: { x: {} } },
    ],
    [
      "the last returned value counts (gopher-lua reads the stack top)",
      "return 1, {a = 1}",
      {},
      { a: 1 },
    ],
    ["no returned value is null", "local x = 1", {}, null],
    ["a function at the top is null", "return print", {}, null],
    [
      "the event arrives as a table",
      "return event.c.d[1] == 3 and #event.c.d == 2",
      { c: { d: [3, 4] } },
      true,
    ],
    [
      "JSON nulls are dropped from the event, as Argo's mapToTable does",
      "return event.n == nil and #event.l",
      { n: null, l: [1, null, [2], "x"] },
      2,
    ],
  ])("%s", async (_name, script, event, expected) => {
    expect(await runLua(script, event)).toEqual(expected);
  });

  it.each<[string, string, RegExp]>([
    ["a function inside a table", "return {f = print}", /json: unsupported type: function/],
    ["NaN inside a table", "return {n = 0/0}", /json: unsupported value: NaN/],
    ["a cycle", "local t = {}; t.self = t; return t", /cycle/],
    ["a syntax error", "if true return 1 end", /'then' expected/],
    ["a runtime error", "return a.b", /attempt to index/],
  ])("errors on %s", async (_name, script, message) => {
    const err = await runLua(script, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LuaError);
    expect((err as Error).message).toMatch(message);
  });

  it("hands over numbers beyond int64 as floats and strings with NUL bytes intact", async () => {
    const event = { big: 1e20, neg: -1e20, nul: "x\u0000y", list: ["a\u0000b", 2 ** 70] };
    expect(await runLua("return event", event)).toEqual(event);
    expect(await runLua("return math.type(event.big) .. ' ' .. #event.nul", event)).toBe("float 3");
  });

  it("keeps the conversion helpers out of reach of a script that replaces globals", async () => {
    expect(await runLua("rawlen = nil; string = nil; tonumber = nil; return {1, 0.5}", {})).toEqual(
      [1, 0.5],
    );
  });

  it("stops a script that runs too long", async () => {
    const err = await runLua("while true do end", {}, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LuaError);
  });
});
