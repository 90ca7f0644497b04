import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventsError } from "../../../src/errors.js";
import { compileExpr } from "../../../src/lib/exprlang.js";
import { compileGovaluate } from "../../../src/lib/govaluate.js";
import { evaluateCondition, parseCondition } from "../../../src/sensors/conditions.js";
import { realisticObject, runs, timed } from "./support.js";

function expectEventsError(err: unknown, codes: readonly string[]): void {
  if (!(err instanceof EventsError)) throw err;
  expect(codes).toContain(err.code);
}

/** Builds expressions from operands, unary and binary operators, grouping and extra forms. */
function expressionGrammar(spec: {
  operand: fc.Arbitrary<string>;
  unary: readonly string[];
  binary: readonly string[];
  extra: (e: fc.Arbitrary<string>) => fc.Arbitrary<string>[];
}): fc.Arbitrary<string> {
  return fc.letrec<{ e: string }>((tie) => ({
    e: fc.oneof(
      { depthSize: "small", maxDepth: 4 },
      { weight: 4, arbitrary: spec.operand },
      fc.tuple(fc.constantFrom(...spec.unary), tie("e")).map(([op, e]) => `${op}${e}`),
      fc
        .tuple(tie("e"), fc.constantFrom(...spec.binary), tie("e"), fc.boolean())
        .map(([l, op, r, paren]) => (paren ? `(${l} ${op} ${r})` : `${l} ${op} ${r}`)),
      fc.tuple(tie("e"), tie("e"), tie("e")).map(([c, a, b]) => `${c} ? ${a} : ${b}`),
      ...spec.extra(tie("e")),
    ),
  })).e;
}

describe("fuzz: govaluate (Sensor expr filters)", () => {
  const operand = fc.constantFrom(
    "a",
    "b",
    "name",
    "age",
    "[a-b]",
    "[x.y]",
    "body.name",
    "missing",
    "1",
    "0",
    "-1",
    "2.5",
    "1e3",
    "'str'",
    "'fb'",
    "''",
    "'2024-03-01T12:00:00Z'",
    "'^f.*'",
    "'(a+)+$'",
    "'['",
    "true",
    "false",
  );
  const expr = expressionGrammar({
    operand,
    unary: ["!", "-", "~", "!!"],
    binary: [
      "+",
      "-",
      "*",
      "/",
      "%",
      "**",
      "&",
      "|",
      "^",
      "<<",
      ">>",
      "==",
      "!=",
      ">",
      ">=",
      "<",
      "<=",
      "=~",
      "!~",
      "&&",
      "||",
      "??",
    ],
    extra: (e) => [
      fc
        .tuple(e, fc.array(e, { minLength: 1, maxLength: 3 }))
        .map(([l, r]) => `${l} IN (${r.join(", ")})`),
    ],
  });

  it("grammar-built expressions: only EventsError (parse/eval), and terminate", () => {
    let evaluated = 0;
    fc.assert(
      fc.property(expr, realisticObject, fc.integer(), (src, doc, b) => {
        const params = { a: "fb", b, ...doc, "a-b": 3, "x.y": "z" };
        const out = timed(`govaluate ${JSON.stringify(src)}`, () =>
          compileGovaluate(src).evaluate(params),
        );
        if (out.ok) evaluated++;
        else expectEventsError(out.error, ["SB_ERR_EXPR_PARSE", "SB_ERR_EXPR_EVAL"]);
      }),
      { numRuns: runs(1500) },
    );
    expect(evaluated).toBeGreaterThan(150);
  });

  it("deeply nested input is refused or evaluated, never a stack overflow", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom("(", "!", "-", "(-"),
        (n, op) => {
          const src = `${op.repeat(n)}1${op.includes("(") ? ")".repeat(n) : ""}`;
          const out = timed("nested govaluate", () => compileGovaluate(src).evaluate({}));
          if (!out.ok) expectEventsError(out.error, ["SB_ERR_EXPR_PARSE", "SB_ERR_EXPR_EVAL"]);
        },
      ),
      { numRuns: runs(60) },
    );
  });
});

describe("fuzz: expr-lang (EventSource filter.expression)", () => {
  const operand = fc.constantFrom(
    "body",
    "body.a",
    "body.name",
    "body?.missing?.x",
    "body.friends",
    "body.nets[0]",
    "body.friends[-1]",
    'header["Content-Type"]',
    'body["x.y"]',
    "1",
    "0",
    "-3",
    "2.5",
    '"str"',
    '"fb"',
    "'s'",
    "true",
    "false",
    "nil",
    "[1, 2, 3]",
    '{a: 1, "b": "c"}',
    "1..5",
    "#",
    "#.name",
  );
  const fn = fc.constantFrom(
    "len",
    "upper",
    "lower",
    "trim",
    "string",
    "int",
    "float",
    "abs",
    "toJSON",
    "fromJSON",
    "keys",
    "values",
    "first",
    "last",
    "type",
  );
  const expr = expressionGrammar({
    operand,
    unary: ["!", "not ", "-"],
    binary: [
      "+",
      "-",
      "*",
      "/",
      "%",
      "**",
      "^",
      "==",
      "!=",
      "<",
      ">",
      "<=",
      ">=",
      "and",
      "or",
      "&&",
      "||",
      "in",
      "not in",
      "matches",
      "contains",
      "startsWith",
      "endsWith",
      "??",
      "..",
    ],
    extra: (e) => [
      fc.tuple(fn, e).map(([f, a]) => `${f}(${a})`),
      fc
        .tuple(fc.constantFrom("all", "any", "none", "one", "filter", "map", "count"), e, e)
        .map(([f, a, p]) => `${f}(${a}, {${p}})`),
      fc.tuple(e, e).map(([a, i]) => `(${a})[${i}]`),
      fc.tuple(e, e).map(([a, b]) => `[${a}, ${b}]`),
    ],
  });

  it("grammar-built expressions: only EventsError (parse/eval), and terminate", () => {
    let evaluated = 0;
    fc.assert(
      fc.property(expr, realisticObject, (src, body) => {
        const env = { body, header: { "Content-Type": ["application/json"] } };
        const out = timed(`expr ${JSON.stringify(src)}`, () => compileExpr(src).run(env));
        if (out.ok) evaluated++;
        else expectEventsError(out.error, ["SB_ERR_EXPR_PARSE", "SB_ERR_EXPR_EVAL"]);
      }),
      { numRuns: runs(1500) },
    );
    expect(evaluated).toBeGreaterThan(150);
  });

  it("deeply nested input is refused or evaluated, never a stack overflow", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom("(", "!", "-", "[", "not "),
        (n, op) => {
          const closing = op === "(" ? ")" : op === "[" ? "]" : "";
          const src = `${op.repeat(n)}1${closing.repeat(n)}`;
          const out = timed("nested expr", () => compileExpr(src).run({}));
          if (!out.ok) expectEventsError(out.error, ["SB_ERR_EXPR_PARSE", "SB_ERR_EXPR_EVAL"]);
        },
      ),
      { numRuns: runs(60) },
    );
  });
});

describe("fuzz: trigger conditions", () => {
  const DEPS = ["dep-a", "dep_b", "c", "long-dependency-name", "x1"];
  const name = fc.constantFrom(
    "dep-a",
    "dep_a",
    "dep-b",
    "dep_b",
    "c",
    "long_dependency-name",
    "x1",
  );
  const condition = fc.letrec<{ e: string }>((tie) => ({
    e: fc.oneof(
      { depthSize: "small", maxDepth: 5 },
      { weight: 3, arbitrary: name },
      fc
        .tuple(tie("e"), fc.constantFrom("&&", "||", " && ", " || "), tie("e"))
        .map(([l, op, r]) => `${l}${op}${r}`),
      tie("e").map((e) => `(${e})`),
      tie("e").map((e) => ` ${e}\t`),
    ),
  })).e;

  /** Oracle: the same expression as JavaScript booleans. */
  function oracle(src: string, present: ReadonlySet<string>): boolean {
    const js = src.replace(/[A-Za-z0-9_-]+/g, (n) => String(present.has(n.replaceAll("-", "_"))));
    return Function(`"use strict"; return (${js});`)() as boolean;
  }

  it("well-formed conditions parse and evaluate like boolean algebra with -/_ folding", () => {
    fc.assert(
      fc.property(condition, fc.subarray(DEPS), (src, presentDeps) => {
        const out = timed("parseCondition", () => parseCondition(src, DEPS));
        if (!out.ok) throw out.error;
        const present = new Set(presentDeps.map((d) => d.replaceAll("-", "_")));
        const got = evaluateCondition(out.value.ast, (d) => present.has(d.replaceAll("-", "_")));
        expect(got).toBe(oracle(src, present));
        for (const d of out.value.dependencies) expect(DEPS).toContain(d);
      }),
      { numRuns: runs(800) },
    );
  });

  it("mutated conditions throw only SB_ERR_CONDITION_SYNTAX", () => {
    const junk = fc.constantFrom("&", "|", "(", ")", "&&&", "!", "unknown", "", " ", "\u0000", "é");
    fc.assert(
      fc.property(condition, fc.nat(), junk, fc.boolean(), (src, at, piece, drop) => {
        const i = at % (src.length + 1);
        const mutated = drop
          ? src.slice(0, i) + src.slice(i + 1)
          : src.slice(0, i) + piece + src.slice(i);
        const out = timed("parseCondition", () => parseCondition(mutated, DEPS));
        if (!out.ok) expectEventsError(out.error, ["SB_ERR_CONDITION_SYNTAX"]);
      }),
      { numRuns: runs(800) },
    );
  });

  it("deep nesting throws SB_ERR_CONDITION_SYNTAX or parses, never a stack overflow", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50_000 }), fc.boolean(), (n, balanced) => {
        const src = `${"(".repeat(n)}c${balanced ? ")".repeat(n) : ""}`;
        const out = timed("nested condition", () => parseCondition(src, DEPS));
        if (!out.ok) expectEventsError(out.error, ["SB_ERR_CONDITION_SYNTAX"]);
      }),
      { numRuns: runs(40) },
    );
  });
});

describe("regressions found by fuzzing", () => {
  it("conditions: deep parentheses were a RangeError (stack overflow), now SB_ERR_CONDITION_SYNTAX", () => {
    const deep = `${"(".repeat(1000)}c${")".repeat(1000)}`;
    let caught: unknown;
    try {
      parseCondition(deep, ["c"]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EventsError);
    expect((caught as EventsError).code).toBe("SB_ERR_CONDITION_SYNTAX");
    expect((caught as Error).message).toContain("parentheses nested deeper than 100");
    // Ordinary nesting still works.
    const ok = parseCondition(`${"(".repeat(100)}c${")".repeat(100)}`, ["c"]);
    expect(evaluateCondition(ok.ast, () => true)).toBe(true);
  });

  it("conditions: a long chain evaluates; an absurdly long one is refused, not overflowed", () => {
    const chain = (n: number) => Array.from({ length: n }, () => "c").join(" && ");
    const ok = parseCondition(chain(2000), ["c"]);
    expect(evaluateCondition(ok.ast, (d) => d === "c")).toBe(true);
    // Over the token limit, and (since the limits of docs/limits.md) the length limit first.
    const tokens = Array.from({ length: 2100 }, () => "c").join("||");
    expect(() => parseCondition(tokens, ["c"])).toThrow("more than 4096 tokens");
    expect(() => parseCondition(chain(30_000), ["c"])).toThrow(
      "characters long; sensorbus allows at most 10000",
    );
  });
});
