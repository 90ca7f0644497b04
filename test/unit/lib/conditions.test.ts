import { describe, expect, it } from "vitest";
import { evaluateCondition, parseCondition } from "../../../src/lib/conditions.js";

const deps = ["dep-a", "dep_b", "c"];

describe("parseCondition", () => {
  it("defaults to all dependencies joined by && in spec order", () => {
    const c = parseCondition(undefined, deps);
    expect(c.source).toBe("dep-a && dep_b && c");
    expect(c.dependencies).toEqual(["dep-a", "dep_b", "c"]);
    expect(c.needsState).toBe(true);
  });

  it("treats - and _ as the same character and ignores whitespace", () => {
    const c = parseCondition("dep_a||dep-b", deps);
    expect(c.dependencies).toEqual(["dep-a", "dep_b"]);
    expect(c.needsState).toBe(false);
  });

  it.each([
    ["dep-a && (dep_b || c)", { "dep-a": true, dep_b: false, c: true }, true],
    ["dep-a && (dep_b || c)", { "dep-a": true, dep_b: false, c: false }, false],
    ["dep-a && dep_b || c", { "dep-a": false, dep_b: false, c: true }, true],
    ["(dep-a || dep_b) && c", { "dep-a": false, dep_b: true, c: false }, false],
    ["((c))", { c: true }, true],
  ])("%s with %j is %s", (expr, present, expected) => {
    const c = parseCondition(expr, deps);
    expect(evaluateCondition(c.ast, (d) => (present as Record<string, boolean>)[d] === true)).toBe(
      expected,
    );
  });

  it("single dependency needs no state", () => {
    expect(parseCondition("c", deps).needsState).toBe(false);
  });

  it.each([
    ["dep-a && nope", /unknown dependency 'nope'/],
    ["dep-a &&", /unexpected end/],
    ["(dep-a", /missing '\)'/],
    ["dep-a ! c", /unexpected '!'/],
    ["dep-a & c", /unexpected '&'/],
    ["dep-a c", /unexpected 'c'/],
  ])("rejects %s", (expr, message) => {
    expect(() => parseCondition(expr, deps)).toThrow(message);
  });
});
