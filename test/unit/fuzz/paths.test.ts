import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventsError } from "../../../src/errors.js";
import { gjsonGet, gjsonValid } from "../../../src/lib/gjson.js";
import { sjsonSet } from "../../../src/lib/sjson.js";
import { KEYS, realisticJson, runs, timed } from "./support.js";

/** Path components from gjson's SYNTAX.md: keys, indexes, wildcards, escapes, queries, modifiers. */
const component = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KEYS.filter((k) => k !== "")) },
  fc.constantFrom("#", "-1", "2", "10", "99999999999999999999"),
  fc.constantFrom("a*", "*", "?", "f?rst", "n*s", "*e", "**"),
  fc.constantFrom("x\\.y", "a\\-b", "\\*", "\\", "a\\"),
  fc.constantFrom(
    "#(age>40)",
    "#(age>40)#",
    '#(last=="Murphy")',
    '#(last=="Murphy")#.first',
    '#(first%"D*")#',
    '#(first!%"D*")',
    '#(nets.#(=="fb"))#',
    '#(=="fb")',
    "#(age)",
    "#(",
    "#(age>",
    '#(name=="unterminated)',
    "#(a<=1)#|#(b>=2)",
  ),
  fc.constantFrom(
    "@reverse",
    "@ugly",
    "@pretty",
    '@pretty:{"indent":"\\t"}',
    "@this",
    "@valid",
    "@flatten",
    '@flatten:{"deep":true}',
    "@join",
    "@keys",
    "@values",
    "@tostr",
    "@fromstr",
    "@group",
    "@dig:name",
    "@nope",
    "@",
  ),
  fc.constantFrom("{a,b.c}", "[a,friends.#]", '{"k":name}', "{", "[", "}", "]", "!true", '!"lit"'),
);
const separator = fc.constantFrom(".", ".", ".", "|", "..", "");
const gjsonPath = fc
  .array(fc.tuple(component, separator), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.map(([c, s], i) => (i === parts.length - 1 ? c : c + s)).join(""));

/** A valid document, sometimes with surrounding whitespace, sometimes truncated or corrupted. */
const jsonText = fc.oneof(
  { weight: 4, arbitrary: realisticJson.map((v) => JSON.stringify(v)) },
  realisticJson.map((v) => JSON.stringify(v, null, 2)),
  fc
    .tuple(
      realisticJson.map((v) => JSON.stringify(v)),
      fc.nat(),
    )
    .map(([t, n]) => t.slice(0, n % (t.length + 1))),
  fc
    .tuple(
      realisticJson.map((v) => JSON.stringify(v)),
      fc.nat(),
      fc.constantFrom("{", "}", "[", "]", '"', ",", ":", "\\", "\u0000"),
    )
    .map(([t, n, c]) => {
      const at = n % (t.length + 1);
      return t.slice(0, at) + c + t.slice(at);
    }),
);

describe("fuzz: gjson paths on JSON documents", () => {
  it("grammar-built paths on realistic documents: never throw, results are consistent", () => {
    fc.assert(
      fc.property(jsonText, gjsonPath, (json, path) => {
        const out = timed(`gjsonGet(${JSON.stringify(path)})`, () => {
          const r = gjsonGet(json, path);
          return { r, value: r.value(), text: r.text };
        });
        if (!out.ok) throw out.error;
        const { r } = out.value;
        expect(typeof out.value.text).toBe("string");
        expect(out.value.r.exists || out.value.r.raw === "").toBe(true);
        // What a path selects is itself JSON when it is an object or array.
        if (r.type === "JSON" && r.raw !== "" && gjsonValid(json)) {
          expect(r.raw.trimStart()[0]).toMatch(/[[{]/);
        }
      }),
      { numRuns: runs(1500) },
    );
  });

  it("a path of existing plain keys finds exactly the value stored there", () => {
    const plainKey = fc.constantFrom("a", "b", "name", "age", "first", "nets");
    fc.assert(
      fc.property(
        fc.array(plainKey, { minLength: 1, maxLength: 4 }),
        realisticJson,
        (keys, leafValue) => {
          let doc: unknown = leafValue;
          for (const k of [...keys].reverse()) doc = { [k]: doc };
          const json = JSON.stringify(doc);
          const out = timed("gjsonGet", () => gjsonGet(json, keys.join(".")));
          if (!out.ok) throw out.error;
          expect(out.value.exists).toBe(true);
          expect(JSON.parse(out.value.raw)).toEqual(JSON.parse(JSON.stringify(leafValue)));
        },
      ),
      { numRuns: runs(400) },
    );
  });
});

describe("fuzz: sjson set", () => {
  const destComponent = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...KEYS.filter((k) => k !== "")) },
    fc.constantFrom("0", "1", "-1", "3", "100001", ":0", ":1"),
    fc.constantFrom("x\\.y", "a\\*", "#", "*", "?", "@reverse", "#(age>1)", "a|b"),
  );
  const destPath = fc
    .array(destComponent, { minLength: 1, maxLength: 5 })
    .map((parts) => parts.join("."));
  const value = fc.oneof(
    realisticJson.map((v) => ({ text: JSON.stringify(v), raw: true })),
    fc.string({ maxLength: 10 }).map((s) => ({ text: s, raw: false })),
    fc.constantFrom("{", "[1,", "nul").map((s) => ({ text: s, raw: true })),
  );

  it("only throws SB_ERR_PARAM_DEST; a valid raw value set by a plain path reads back", () => {
    fc.assert(
      fc.property(jsonText, destPath, value, (json, path, v) => {
        const out = timed(`sjsonSet(${JSON.stringify(path)})`, () =>
          sjsonSet(json, path, v.text, v.raw),
        );
        if (!out.ok) {
          expect(out.error).toBeInstanceOf(EventsError);
          expect((out.error as EventsError).code).toBe("SB_ERR_PARAM_DEST");
          return;
        }
        expect(typeof out.value).toBe("string");
        const simple = /^[a-z]+(\.[a-z]+)*$/.test(path);
        const validValue = !v.raw || gjsonValid(v.text);
        const objectDoc = (() => {
          try {
            const d = JSON.parse(json) as unknown;
            return typeof d === "object" && d !== null && !Array.isArray(d);
          } catch {
            return false;
          }
        })();
        if (simple && validValue && objectDoc) {
          const back = gjsonGet(out.value, path);
          if (back.exists) {
            const expected = v.raw ? JSON.parse(v.text) : v.text;
            expect(JSON.parse(back.raw)).toEqual(expected);
          }
        }
      }),
      { numRuns: runs(1500) },
    );
  });
});
