import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GType } from "../../../src/lib/gjson.js";
import { gjsonGet, gjsonValid } from "../../../src/lib/gjson.js";

const FIXTURES = new URL("../../fixtures/gjson/", import.meta.url);

interface GetCase {
  json?: string;
  path: string;
  exists?: boolean;
  raw?: string;
  type?: GType;
  text?: string;
  note?: string;
}

interface GetTable {
  title: string;
  json?: string;
  cases: GetCase[];
}

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")) as T;
}

const tables = ["syntax.json", "text.json", "queries.json", "modifiers.json"].map((f) =>
  load<GetTable>(f),
);

describe.each(tables)("gjsonGet: $title", (table) => {
  it.each(table.cases)("$path", (c) => {
    const json = c.json ?? table.json ?? "";
    const res = gjsonGet(json, c.path);
    if (c.exists === false) {
      expect(res).toMatchObject({ exists: false, type: "Null", raw: "", text: "" });
      expect(res.value()).toBeUndefined();
      return;
    }
    expect(res.exists).toBe(true);
    expect(res.raw).toBe(c.raw);
    if (c.type !== undefined) expect(res.type).toBe(c.type);
    if (c.text !== undefined) expect(res.text).toBe(c.text);
  });
});

const validTable = load<{ title: string; cases: { json: string; valid: boolean }[] }>("valid.json");

describe.each([validTable])("gjsonValid: $title", (table) => {
  it.each(table.cases)("%j", (c) => {
    expect(gjsonValid(c.json)).toBe(c.valid);
  });
});

describe("GResult.value()", () => {
  it("decodes each JSON type", () => {
    const json = '{"s":"a\\u0062","n":-1.5e2,"t":true,"f":false,"z":null,"o":{"k":[1,{"x":"y"}]}}';
    expect(gjsonGet(json, "s").value()).toBe("ab");
    expect(gjsonGet(json, "n").value()).toBe(-150);
    expect(gjsonGet(json, "t").value()).toBe(true);
    expect(gjsonGet(json, "f").value()).toBe(false);
    expect(gjsonGet(json, "z").value()).toBeNull();
    expect(gjsonGet(json, "o").value()).toEqual({ k: [1, { x: "y" }] });
    expect(gjsonGet(json, "missing").value()).toBeUndefined();
  });

  it("decodes malformed objects leniently instead of throwing", () => {
    expect(gjsonGet('{"o":{"a":1,"b":[2,3}', "o").value()).toEqual({ a: 1, b: [2, 3] });
  });
});

describe("malformed input", () => {
  it.each([
    ["", "a"],
    ["{", "a"],
    ['{"a"', "a"],
    ['{"a":', "a"],
    ['{"a":"unterminated', "a"],
    ["[1,2", "5"],
    ["not json", "a"],
    ['{"a":1}', ""],
    ['{"a":1}', "#(("],
    ['{"a":1}', "a.#(b=="],
    ['{"a":[1]}', "a.#(=="],
    ['{"a":1}', "[a,"],
    ['{"a":1}', "{a"],
    ['{"a":1}', "@"],
    ['{"a":1}', "@nope"],
    ['{"a":1}', "a\\"],
    ['{"a":1}', "..."],
  ])("%j / %j does not throw", (json, path) => {
    const res = gjsonGet(json, path);
    expect(typeof res.exists).toBe("boolean");
    if (!res.exists) expect(res.raw).toBe("");
  });

  it("reads the valid prefix of truncated documents, as gjson does", () => {
    expect(gjsonGet('{"a":1,"b":{"c":', "a").raw).toBe("1");
    expect(gjsonGet('{"a":1,"b":{"c":', "b.c").exists).toBe(false);
  });

  it("survives pathological nesting and long paths", () => {
    const deep = `${"[".repeat(50_000)}1${"]".repeat(50_000)}`;
    expect(gjsonGet(deep, "0.0.0").raw).toBe(`${"[".repeat(49_997)}1${"]".repeat(49_997)}`);
    expect(gjsonGet(deep, Array(20_000).fill("0").join(".")).exists).toBe(false);
    expect(gjsonValid(deep)).toBe(false);
    expect(gjsonGet('{"a":1}', "a*".repeat(5_000)).exists).toBe(false);
  });
});

describe("properties (fast-check)", () => {
  const jsonValue = fc.jsonValue({ maxDepth: 4 });
  const key = fc.string({ maxLength: 6 }).filter((k) => /^[a-z0-9_]+$/.test(k));

  it("any text and any path: never throws, raw is empty iff absent", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.string({ maxLength: 20 }), (json, path) => {
        const res = gjsonGet(json, path);
        expect(res.exists).toBe(res.raw !== "" || res.type !== "Null");
        expect(() => res.value()).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it("gjsonValid agrees with JSON.parse on serialized values", () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        expect(gjsonValid(JSON.stringify(v, null, 1))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("a key of an object decodes to the member's value and raw is its own serialization", () => {
    fc.assert(
      fc.property(fc.dictionary(key, jsonValue, { minKeys: 1, maxKeys: 5 }), (obj) => {
        const json = JSON.stringify(obj);
        for (const [k, v] of Object.entries(obj)) {
          if (/^\d+$/.test(k) || k.includes("*") || k.includes("?")) continue;
          const res = gjsonGet(json, k);
          expect(res.exists).toBe(true);
          expect(res.raw).toBe(JSON.stringify(v));
          expect(res.value()).toEqual(JSON.parse(JSON.stringify(v)));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("array index and # agree with the decoded array", () => {
    fc.assert(
      fc.property(fc.array(jsonValue, { maxLength: 6 }), (arr) => {
        const json = JSON.stringify({ a: arr });
        expect(gjsonGet(json, "a.#").text).toBe(String(arr.length));
        arr.forEach((v, i) => {
          expect(gjsonGet(json, `a.${i}`).raw).toBe(JSON.stringify(v));
        });
        expect(gjsonGet(json, `a.${arr.length}`).exists).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
