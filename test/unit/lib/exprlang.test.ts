import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventsError } from "../../../src/errors.js";
import { compileExpr } from "../../../src/lib/exprlang.js";
import table from "../../fixtures/exprlang/language.json" with { type: "json" };

const env = table.env as Record<string, unknown>;

function errorOf(fn: () => unknown): EventsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EventsError) return err;
    throw err;
  }
  throw new Error("expected an EventsError");
}

describe("expr-lang language vectors", () => {
  it.each(table.cases as [string, unknown][])("%s", (expr, expected) => {
    expect(compileExpr(expr).run(env)).toEqual(expected);
  });
});

describe("expr-lang errors", () => {
  it.each(table.errors)("%s -> %s %s", (expr, code, fragment) => {
    const err = errorOf(() => compileExpr(expr).run(env));
    expect(err.code).toBe(code);
    expect(err.message).toContain(fragment);
  });
});

describe("expr-lang details", () => {
  it("short-circuits and/or and does not evaluate the untaken ternary branch", () => {
    expect(compileExpr("false and body.missing.x").run(env)).toBe(false);
    expect(compileExpr("true or body.missing.x").run(env)).toBe(true);
    expect(compileExpr("true ? 1 : body.missing.x").run(env)).toBe(1);
  });

  it("lets Argo helpers win over payload keys of the same name", () => {
    expect(compileExpr("asInt('3')").run({ asInt: 5 })).toBe(3);
  });

  it("does not treat a member named like a word operator as an operator", () => {
    expect(compileExpr("x.contains").run({ x: { contains: 1 } })).toBe(1);
  });

  it("is linear on hostile regexes and bounded on hostile nesting", () => {
    const started = Date.now();
    expect(compileExpr("s matches '(a+)+$'").run({ s: `${"a".repeat(5000)}!` })).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(errorOf(() => compileExpr(`${"[".repeat(3000)}${"]".repeat(3000)}`)).code).toBe(
      "SB_ERR_EXPR_PARSE",
    );
    expect(errorOf(() => compileExpr("1..100000000").run({})).code).toBe("SB_ERR_EXPR_EVAL");
  });

  it("only ever throws EventsError for arbitrary input", () => {
    const alphabet = fc.constantFrom(
      ..."ab1.,()[]{}'\"=!<>&|?:+-*/%^# ".split(""),
      " in ",
      " not ",
      "..",
      "?.",
      "??",
      "len(",
      "all(",
      "body",
      "matches",
    );
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 30 }), (parts) => {
        try {
          compileExpr(parts.join("")).run(env);
        } catch (err) {
          if (!(err instanceof EventsError)) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });
});
