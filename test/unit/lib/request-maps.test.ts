import { describe, expect, it } from "vitest";
import { decodeStructured } from "../../../src/cloudevents/event.js";
import { quoteBounded } from "../../../src/lib/bounded-text.js";
import { gjsonValid, validValueEnd } from "../../../src/lib/gjson.js";
import { goHeaderMap, goQueryMap } from "../../../src/lib/goheader.js";
import { goCompact, goMarshal } from "../../../src/lib/gojson.js";
import { evaluateFilters } from "../../../src/sensors/filters/index.js";

/** Issue 19 items 7 and 8 below the webhook: request-derived maps, JSON depth, bounded reasons. */

const NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];

describe("goQueryMap / goHeaderMap build maps without a prototype", () => {
  it.each(NAMES)("query key %s repeated is one list", (name) => {
    const m = goQueryMap(`${name}=1&${name}=2&x=3`);
    expect(Object.keys(m)).toEqual([name, "x"]);
    expect(m[name]).toEqual(["1", "2"]);
    expect(goMarshal(m)).toBe(
      `{"${name}":["1","2"],"x":["3"]}`.replace(/^\{(.*)\}$/, (_, b) => `{${b}}`),
    );
  });

  it("a query key absent is absent (nothing inherited)", () => {
    const m = goQueryMap("a=1");
    expect(m.constructor).toBeUndefined();
    expect(m.toString).toBeUndefined();
  });

  it.each([
    ["__proto__", "__proto__"],
    ["constructor", "Constructor"],
    ["toString", "Tostring"],
  ])("header %s repeated is one list under %s", (raw, canonical) => {
    const m = goHeaderMap([raw, "a", raw, "b", "X-Other", "c"]);
    expect(m[canonical]).toEqual(["a", "b"]);
    expect(Object.keys(m)).toEqual([canonical, "X-Other"]);
  });

  it("a structured CloudEvent keeps an extension named __proto__ as an attribute", () => {
    const ev = decodeStructured(
      '{"specversion":"1.0","id":"1","source":"s","type":"t","__proto__":"x","ext":"y"}',
    );
    expect(Object.keys(ev.extensions ?? {})).toEqual(["__proto__", "ext"]);
    const proto = "__proto__";
    expect(ev.extensions?.[proto]).toBe("x");
  });
});

describe("JSON nesting (Go's 10,000 levels)", () => {
  const objects = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
  const arrays = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

  it.each([5_000, 10_000])("accepts %i levels without exhausting the stack", (n) => {
    for (const text of [objects(n), arrays(n)]) {
      expect(gjsonValid(text)).toBe(true);
      expect(validValueEnd(text, 0)).toBe(text.length);
      expect(goCompact(text)).toBe(text);
    }
  });

  it("says 'nested too deeply' past 10,000 levels, and still rejects broken deep JSON as invalid", () => {
    expect(() => goCompact(objects(10_001))).toThrow("nested too deeply (more than 10000 levels)");
    expect(() => goCompact(arrays(1_000_000))).toThrow("nested too deeply");
    // Brackets inside strings do not count.
    expect(goCompact(`["${"[".repeat(20_000)}"]`)).toBe(`["${"[".repeat(20_000)}"]`);
    const broken = `${objects(6_000).slice(0, -1)}]`;
    expect(gjsonValid(broken)).toBe(false);
    expect(() => goCompact(broken)).toThrow(SyntaxError);
  });
});

describe("rejection reasons are bounded", () => {
  it("quoteBounded keeps short values and cuts long ones with their size", () => {
    expect(quoteBounded("ab")).toBe('"ab"');
    expect(quoteBounded("é".repeat(300))).toBe(`"${"é".repeat(256)}"…(600 bytes)`);
  });

  it("a data filter rejecting a 50 kB value says so in under 1 kB", async () => {
    const data = JSON.stringify({ name: "a".repeat(51_200) });
    const r = await evaluateFilters(
      { data: [{ path: "name", type: "string", value: ["^ok$"] }] },
      undefined,
      {
        context: {
          id: "1",
          source: "s",
          specversion: "1.0",
          type: "webhook",
          datacontenttype: "application/json",
          subject: "e",
          time: "2024-01-01T00:00:00Z",
        },
        data,
        timeMs: 0,
      },
    );
    expect(r.pass).toBe(false);
    expect(r.reason!.length).toBeLessThan(1_000);
    expect(r.reason).toContain("…(51200 bytes)");
  });
});
