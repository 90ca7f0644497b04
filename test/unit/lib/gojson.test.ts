import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareGoStrings,
  goCompact,
  goMarshal,
  goQuote,
  RawJson,
} from "../../../src/lib/gojson.js";

describe("goMarshal (Go encoding/json)", () => {
  it.each([
    [{ b: 1, a: "x" }, '{"a":"x","b":1}'],
    [{ header: { "X-B": ["2"], "X-A": ["1"] } }, '{"header":{"X-A":["1"],"X-B":["2"]}}'],
    ["a<b>&c", '"a\\u003cb\\u003e\\u0026c"'],
    ["line\u2028sep", '"line\\u2028sep"'],
    ["tab\tnl\n\u0001", '"tab\\tnl\\n\\u0001"'],
    [null, "null"],
    [[1, "two", true], '[1,"two",true]'],
    [{ skip: undefined, keep: 0 }, '{"keep":0}'],
  ])("%j -> %s", (input, expected) => {
    expect(goMarshal(input)).toBe(expected);
  });

  it("sorts keys by UTF-8 bytes, not UTF-16 code units", () => {
    // UTF-16 puts U+10000 (surrogate D800) first; UTF-8 puts U+FF61 (EF BD A1) before it (F0 90 80 80).
    expect(goMarshal({ "\u{10000}": 1, "\uff61": 2 })).toBe('{"\uff61":2,"\u{10000}":1}');
    expect(goMarshal({ a: 1, B: 2, _: 3 })).toBe('{"B":2,"_":3,"a":1}');
  });

  it("embeds raw JSON compacted, keeping key order and escaping <>&", () => {
    const raw = new RawJson('{ "z": 1,\n  "a": "<b>" , "n": [1, 2 ] }');
    expect(goMarshal({ body: raw, header: {} })).toBe(
      '{"body":{"z":1,"a":"\\u003cb\\u003e","n":[1,2]},"header":{}}',
    );
  });
});

describe("goCompact", () => {
  it("keeps escapes and whitespace inside strings", () => {
    expect(goCompact('{"a" : "x \\" y", "b":"  "}')).toBe('{"a":"x \\" y","b":"  "}');
  });
  it("rejects invalid JSON", () => {
    expect(() => goCompact("{oops")).toThrow(SyntaxError);
    expect(() => goCompact('{"a":1,}')).toThrow(SyntaxError); // nothing to compact, still checked
  });
  it("returns JSON with nothing to elide or escape as it is, and escapes HTML without whitespace", () => {
    const compact = '{"id":"e-1","n":[1,2.50,-3e2],"ok":true,"s":"\\u00e9\\n"}';
    expect(goCompact(compact)).toBe(compact);
    expect(goCompact('{"h":"<b>&</b>","l":"\u2028"}')).toBe(
      '{"h":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e","l":"\\u2028"}',
    );
  });
  it("quotes plain strings without copying", () => {
    expect(goQuote("plain")).toBe('"plain"');
  });
});

describe("map key order", () => {
  it("orders strings as their UTF-8 bytes do (Go's sort of map keys)", () => {
    const bytes = (a: string, b: string) =>
      Math.sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
    // U+FF61 sorts before U+1F600 in UTF-8 (EF.. < F0..) but after it in UTF-16 (FF61 > D83D).
    expect(compareGoStrings("a\uff61", "a\u{1f600}")).toBeLessThan(0);
    expect(compareGoStrings("Content-Type", "Content-Length")).toBeGreaterThan(0);
    expect(compareGoStrings("ab", "abc")).toBeLessThan(0);
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 6 }),
        fc.string({ unit: "grapheme", maxLength: 6 }),
        fc.string({ maxLength: 3 }),
        (a, b, prefix) => {
          expect(Math.sign(compareGoStrings(prefix + a, prefix + b))).toBe(
            bytes(prefix + a, prefix + b),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe("goCompact validity", () => {
  it("refuses exactly what JSON.parse refuses", () => {
    const mutated = fc
      .tuple(
        fc.json().map((j) => JSON.stringify(JSON.parse(j), null, 1)),
        fc.nat(),
        fc.constantFrom("{", "}", "[", "]", '"', ",", ":", "\\", "\\u12", "-", "1e", "0", "\t", ""),
      )
      .map(([t, n, piece]) => {
        const at = n % (t.length + 1);
        return t.slice(0, at) + piece + t.slice(at + 1);
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.json(), fc.string({ maxLength: 12 })), (text) => {
        let parsed = true;
        try {
          JSON.parse(text);
        } catch {
          parsed = false;
        }
        if (parsed) expect(() => goCompact(text)).not.toThrow();
        else expect(() => goCompact(text)).toThrow(SyntaxError);
      }),
      { numRuns: 4000 },
    );
  });
});
