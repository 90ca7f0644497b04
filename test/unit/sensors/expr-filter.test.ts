import { describe, expect, it } from "vitest";
import type { ExprFilter } from "../../../src/config/types.js";
import { evaluateExprFilters } from "../../../src/sensors/filters/expr.js";

const data = JSON.stringify({ a: { b: "x", n: 2, nil: null, d: "2014-01-02" }, list: [1, 2] });
const f = (expr: string, ...fields: [string, string][]): ExprFilter => ({
  expr,
  fields: fields.map(([name, path]) => ({ name, path })),
});

describe("expr filters (Argo §3.5, filter.go filterExpr)", () => {
  it("passes when filters are absent or the event has no data", () => {
    expect(evaluateExprFilters(undefined, undefined, data)).toEqual({ pass: true });
    expect(evaluateExprFilters([f("a == 1", ["a", "nope"])], undefined, undefined)).toEqual({
      pass: true,
    });
  });

  it("errors on invalid JSON data", () => {
    expect(evaluateExprFilters([f("a", ["a", "a"])], undefined, "{bad")).toEqual({
      pass: false,
      error: "expr filter error (event data not valid JSON)",
    });
  });

  it("binds decoded values at gjson paths", () => {
    const r = evaluateExprFilters(
      [
        f(
          "b == 'x' && n >= 2 && z == nothing",
          ["b", "a.b"],
          ["n", "a.n"],
          ["z", "a.nil"],
          ["nothing", "a.nil"],
        ),
      ],
      "and",
      data,
    );
    expect(r).toEqual({ pass: true });
    expect(evaluateExprFilters([f("l == (1, 2)", ["l", "list"])], "", data).pass).toBe(true);
    expect(evaluateExprFilters([f("count == 2", ["count", "list.#"])], "", data).pass).toBe(true);
  });

  it("and: a missing path is an error; a false expression fails without error", () => {
    expect(evaluateExprFilters([f("b == 'x'", ["b", "a.zz"])], "and", data)).toEqual({
      pass: false,
      error: "expr filter error (path 'a.zz' does not exist)",
    });
    const r = evaluateExprFilters(
      [f("b == 'y'", ["b", "a.b"]), f("b ==", ["b", "a.b"])],
      "and",
      data,
    );
    expect(r.pass).toBe(false);
    expect(r.error).toBeUndefined();
  });

  it("and: the first parse or evaluation error wins", () => {
    expect(evaluateExprFilters([f("b ==", ["b", "a.b"])], undefined, data)).toEqual({
      pass: false,
      error: "expr filter error (Unexpected end of expression)",
    });
    expect(evaluateExprFilters([f("c == 1", ["b", "a.b"])], undefined, data)).toEqual({
      pass: false,
      error: "expr filter error (No parameter 'c' found.)",
    });
  });

  it("compares a date-like field with a date literal as govaluate does (never equal)", () => {
    expect(evaluateExprFilters([f("d == '2014-01-02'", ["d", "a.d"])], undefined, data).pass).toBe(
      false,
    );
  });

  it("skips expressions without fields and only accepts boolean true", () => {
    expect(evaluateExprFilters([f("false")], "and", data)).toEqual({ pass: true });
    expect(evaluateExprFilters([f("b", ["b", "a.b"])], "and", data).pass).toBe(false);
    expect(evaluateExprFilters([f("n", ["n", "a.n"])], "or", data).pass).toBe(false);
  });

  it("or: the first pass wins and drops earlier errors", () => {
    expect(
      evaluateExprFilters(
        [f("b == 1", ["b", "a.zz"]), f("b ==", ["b", "a.b"]), f("b == 'x'", ["b", "a.b"])],
        "or",
        data,
      ),
    ).toEqual({ pass: true });
  });

  it("or: errors are collected and joined when nothing passes", () => {
    expect(
      evaluateExprFilters(
        [f("b == 1", ["b", "a.zz"]), f("b - 1", ["b", "a.b"]), f("n > 5", ["n", "a.n"])],
        "or",
        data,
      ),
    ).toEqual({
      pass: false,
      error:
        "expr filter errors [path 'a.zz' does not exist / Value 'x' cannot be used with the modifier '-', it is not a number]",
    });
    expect(evaluateExprFilters([], "or", data).pass).toBe(false);
    expect(evaluateExprFilters([], "and", data).pass).toBe(true);
  });
});
