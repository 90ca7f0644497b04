import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventsError } from "../../../src/errors.js";
import { gjsonGet, gjsonValid } from "../../../src/lib/gjson.js";
import { sjsonSet } from "../../../src/lib/sjson.js";

const FIXTURES = new URL("../../fixtures/sjson/", import.meta.url);

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")) as T;
}

interface SetCase {
  json: string;
  path: string;
  value: string;
  raw: boolean;
  expect: string;
  note?: string;
}

interface ErrorCase {
  json: string;
  path: string;
  message: string;
}

const setTable = load<{ title: string; cases: SetCase[] }>("set.json");
const errorTable = load<{ title: string; cases: ErrorCase[] }>("errors.json");

describe.each([setTable])("sjsonSet: $title", (table) => {
  it.each(table.cases)("$json / $path := $value (raw=$raw)", (c) => {
    const out = sjsonSet(c.json, c.path, c.value, c.raw);
    expect(out).toBe(c.expect);
    expect(gjsonValid(out)).toBe(true);
  });
});

describe.each([errorTable])("sjsonSet: $title", (table) => {
  it.each(table.cases)("$json / $path", (c) => {
    let caught: unknown;
    try {
      sjsonSet(c.json, c.path, "1", true);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EventsError);
    const err = caught as EventsError;
    expect(err.code).toBe("SB_ERR_PARAM_DEST");
    expect(err.message).toContain(`'${c.path}'`);
    expect(err.message).toContain(c.message);
  });
});

describe("properties (fast-check)", () => {
  const key = fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/);
  const jsonValue = fc.jsonValue({ maxDepth: 3 });

  it("a set value reads back through gjson, and the rest of the document is unchanged", () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, jsonValue, { maxKeys: 5 }),
        fc.array(key, { minLength: 1, maxLength: 3 }),
        fc.string({ maxLength: 10 }),
        (obj, keys, value) => {
          const json = JSON.stringify(obj, null, 1);
          const path = keys.join(".");
          const throughArray = keys
            .slice(0, -1)
            .some((_k, i) => gjsonGet(json, keys.slice(0, i + 1).join(".")).raw.startsWith("["));
          if (throughArray) {
            // A non-numeric key on an existing array is a dest error (sjson semantics).
            expect(() => sjsonSet(json, path, value, false)).toThrow(EventsError);
            return;
          }
          const out = sjsonSet(json, path, value, false);
          expect(gjsonValid(out)).toBe(true);
          expect(gjsonGet(out, path).value()).toBe(value);
          const before = JSON.parse(json) as Record<string, unknown>;
          const after = JSON.parse(out) as Record<string, unknown>;
          for (const k of Object.keys(before)) {
            if (k !== keys[0]) expect(after[k]).toEqual(before[k]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("replacing an existing member only touches that member's text", () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, jsonValue, { minKeys: 1, maxKeys: 5 }),
        jsonValue,
        (obj, v) => {
          const json = JSON.stringify(obj, null, 2);
          const k = Object.keys(obj)[0] as string;
          const old = gjsonGet(json, k).raw;
          const at = json.indexOf(`"${k}": `) + k.length + 4;
          const raw = JSON.stringify(v);
          expect(sjsonSet(json, k, raw, true)).toBe(
            json.slice(0, at) + raw + json.slice(at + old.length),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("arbitrary text and paths: returns a string or throws EventsError, never anything else", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 12 }), (json, path) => {
        try {
          expect(typeof sjsonSet(json, path, "v", false)).toBe("string");
        } catch (err) {
          expect(err).toBeInstanceOf(EventsError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
