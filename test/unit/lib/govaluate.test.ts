import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventsError } from "../../../src/errors.js";
import { compileGovaluate, compileRe2, goFormatFloat } from "../../../src/lib/govaluate.js";
import evaluation from "../../fixtures/govaluate/evaluation.json" with { type: "json" };
import failures from "../../fixtures/govaluate/failures.json" with { type: "json" };

function evalExpr(expr: string, params: Record<string, unknown> = {}): unknown {
  return compileGovaluate(expr).evaluate(params);
}

function errorOf(fn: () => unknown): EventsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EventsError) return err;
    throw err;
  }
  throw new Error("expected an EventsError");
}

describe("govaluate evaluation vectors (evaluation_test.go)", () => {
  it.each(evaluation.map((v) => [v.name, v] as const))("%s", (_name, v) => {
    expect(evalExpr(v.expr, v.params as Record<string, unknown>)).toEqual(v.expected);
  });
});

describe("govaluate parse failures (parsingFailure_test.go)", () => {
  it.each(failures.parse)("%j -> %s", (expr, fragment) => {
    const err = errorOf(() => compileGovaluate(expr));
    expect(err.code).toBe("SB_ERR_EXPR_PARSE");
    expect(err.message).toContain(fragment);
  });
});

describe("govaluate evaluation failures (evaluationFailure_test.go)", () => {
  it.each(failures.eval)("%j -> %s", (expr, fragment) => {
    const program = compileGovaluate(expr);
    const err = errorOf(() => program.evaluate(failures.params));
    expect(err.code).toBe("SB_ERR_EXPR_EVAL");
    expect(err.message).toContain(fragment);
  });
});

describe("govaluate semantics Argo relies on", () => {
  it("uses deep equality without coercion", () => {
    expect(evalExpr("a == 1", { a: "1" })).toBe(false);
    expect(evalExpr("a == b", { a: { x: [1, "y"] }, b: { x: [1, "y"] } })).toBe(true);
    expect(evalExpr("a != b", { a: [1, 2], b: [2, 1] })).toBe(true);
    expect(evalExpr("a == (1, 2)", { a: [1, 2] })).toBe(true);
  });

  it("prints the exact govaluate type error texts", () => {
    expect(errorOf(() => evalExpr("a - 1", { a: "x" })).message).toBe(
      "Value 'x' cannot be used with the modifier '-', it is not a number",
    );
    expect(errorOf(() => evalExpr("a > 1", { a: null })).message).toBe(
      "Value '<nil>' cannot be used with the comparator '>', it is not a number",
    );
    expect(errorOf(() => evalExpr("-a", { a: true })).message).toBe(
      "Value 'true' cannot be used with the prefix '-'",
    );
    expect(errorOf(() => compileGovaluate("1 (")).message).toBe("Unbalanced parenthesis");
    expect(errorOf(() => compileGovaluate("1 (2)")).message).toBe(
      "Cannot transition token types from NUMERIC [1] to CLAUSE [40]",
    );
  });

  it("short-circuits && and || before type checks of the right side", () => {
    expect(evalExpr("false && missing")).toBe(false);
    expect(evalExpr("true || missing")).toBe(true);
    expect(errorOf(() => evalExpr("true && missing")).message).toBe(
      "No parameter 'missing' found.",
    );
  });

  it("matches =~ anywhere in the string (unanchored RE2)", () => {
    expect(evalExpr("a =~ 'ell'", { a: "hello" })).toBe(true);
    expect(evalExpr("a =~ '^ell'", { a: "hello" })).toBe(false);
    expect(evalExpr("a !~ '(?i)HELLO'", { a: "hello" })).toBe(false);
    expect(evalExpr("a =~ b", { a: "x-1", b: "\\d$" })).toBe(true);
  });

  it("turns date-like literals into Unix seconds (UTC)", () => {
    expect(evalExpr("'2014-01-02'")).toBe(Date.UTC(2014, 0, 2) / 1000);
    expect(evalExpr("'2014-01-02T14:12:22+01:00'")).toBe(Date.UTC(2014, 0, 2, 13, 12, 22) / 1000);
    expect(evalExpr("'Mon Jan  2 15:04:05 2006'")).toBe(Date.UTC(2006, 0, 2, 15, 4, 5) / 1000);
    // so a date-like string field never equals the literal
    expect(evalExpr("d == '2014-01-02'", { d: "2014-01-02" })).toBe(false);
    expect(evalExpr("'2014-02-30'")).toBe("2014-02-30");
  });

  it("concatenates with + using Go's %v formatting", () => {
    expect(evalExpr("'n=' + a", { a: 1000000 })).toBe("n=1e+06");
    expect(evalExpr("'n=' + a", { a: 2.5 })).toBe("n=2.5");
    expect(evalExpr("a + 'x'", { a: null })).toBe("<nil>x");
    expect(evalExpr("a + ''", { a: { b: 1, a: [true] } })).toBe("map[a:[true] b:1]");
  });

  it("supports escaped parameter names, IN, ??, ?: and bitwise operators", () => {
    expect(evalExpr("[my-field.x] IN ('a', 'b')", { "my-field.x": "b" })).toBe(true);
    expect(evalExpr("a ?? 'dflt'", { a: null })).toBe("dflt");
    expect(evalExpr("a > 1 ? 'big' : 'small'", { a: 0 })).toBe("small");
    expect(evalExpr("~0 & 7 | 8 ^ 1 << 2")).toBe(11);
    expect(evalExpr("2 ** 3 ** 2")).toBe(64);
  });

  it("reports Go's runtime panic instead of crashing when IN compares slices", () => {
    expect(errorOf(() => evalExpr("a IN (1, b)", { a: [1], b: [1] })).message).toContain(
      "comparing uncomparable type []interface {}",
    );
  });

  it("formats floats like Go's %v", () => {
    expect([1, 0.5, 123456, 1234567, 1e21, 0.0001, 0.00001, -0].map(goFormatFloat)).toEqual([
      "1",
      "0.5",
      "123456",
      "1.234567e+06",
      "1e+21",
      "0.0001",
      "1e-05",
      "-0",
    ]);
  });
});

describe("RE2 translation", () => {
  it("rejects what RE2 rejects", () => {
    for (const p of ["(?=a)", "(?<!a)b", "(a)\\1", "a**", "*a", "[z-a]", "(a", "a)"]) {
      expect(() => compileRe2(p), p).toThrow(/error parsing regexp/);
    }
  });
  it("accepts RE2-only syntax", () => {
    expect(compileRe2("(?P<x>a+)\\z").matchString("caa")).toBe(true);
    expect(compileRe2("[[:digit:]]+").matchString("x1")).toBe(true);
    expect(compileRe2("\\Qa.b\\E").matchString("axb")).toBe(false);
    expect(compileRe2("(?i)[a-c]x").matchString("BX")).toBe(true);
    expect(compileRe2("a.c").matchString("a\nc")).toBe(false);
    expect(compileRe2("(?s)a.c").matchString("a\nc")).toBe(true);
  });
});

describe("govaluate on hostile input", () => {
  it("bounds nesting and size", () => {
    expect(errorOf(() => compileGovaluate(`${"(".repeat(5000)}1${")".repeat(5000)}`)).code).toBe(
      "SB_ERR_EXPR_PARSE",
    );
    expect(errorOf(() => compileGovaluate(`${"1 + ".repeat(10_000)}1`)).code).toBe(
      "SB_ERR_EXPR_PARSE",
    );
  });

  it("does not backtrack catastrophically", () => {
    const started = Date.now();
    const program = compileGovaluate("a =~ '(a+)+$' || a =~ '(x+x+)+y'");
    expect(program.evaluate({ a: `${"a".repeat(5000)}b` })).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("only ever throws EventsError for arbitrary input", () => {
    const alphabet = fc.constantFrom(
      ..."ab1.,()[]'\"=!<>&|?:+-*/%^~ \\IN".split(""),
      "in",
      "**",
      "=~",
      "??",
    );
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 30 }), (parts) => {
        const src = parts.join("");
        try {
          compileGovaluate(src).evaluate({ a: "x", b: 2 });
        } catch (err) {
          if (!(err instanceof EventsError)) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });
});
