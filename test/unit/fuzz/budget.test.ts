import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { CloudEvent } from "../../../src/cloudevents/event.js";
import { isBudgetExceeded, setBudgetClock, setEvaluationBudget } from "../../../src/lib/budget.js";
import { evaluateFilters } from "../../../src/sensors/filters/index.js";
import { resolveParamValue } from "../../../src/triggers/params.js";
import { context } from "../../support/filter-input.js";
import { runs, timedAsync } from "./support.js";

// Issue 19: no filter / template evaluation may exceed its budget, whatever the manifest's
// patterns and templates and the event's data. Patterns are drawn from the shapes that make a
// backtracking engine explode (nested and alternated repetition over overlapping classes);
// templates and expressions from the loops and builders the interpreters offer.

const atom = fc.constantFrom("a", "\\pL", "\\p{L}", "[a-z]", "\\x{61}", ".", "(?:a|aa)", "\\w");
const quant = fc.constantFrom("*", "+", "?", "{1,1000}", "{2,}", "*?", "");
const pattern: fc.Arbitrary<string> = fc
  .letrec<{ re: string }>((tie) => ({
    re: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.tuple(atom, quant).map(([a, q]) => `${a}${q}`),
      fc.tuple(tie("re"), tie("re"), quant).map(([a, b, q]) => `(${a}|${b})${q}`),
      fc.tuple(tie("re"), tie("re")).map(([a, b]) => `${a}${b}`),
    ),
  }))
  .re.map((body) => `^${body}$`);

const hostileText = fc
  .tuple(
    fc.constantFrom("a", "ab", "é", "="),
    fc.integer({ min: 1, max: 20_000 }),
    fc.constantFrom("!", "", "=x"),
  )
  .map(([unit, n, tail]) => unit.repeat(n) + tail);

const template = fc.constantFrom(
  "{{ range until 100000 }}{{ regexMatch $.Input.pattern $.Input.name }}{{ end }}",
  "{{ range $i := until 3000 }}{{ range until 3000 }}x{{ end }}{{ end }}",
  '{{ regexReplaceAll .Input.pattern .Input.name "${1}$1" }}',
  "{{ regexSplit .Input.pattern .Input.name -1 }}",
  '{{ repeat 1000000 "ab" | regexFindAll "(a|b)*" | len }}',
  "{{ range until 200000 }}{{ $.Input.name | upper | lower | trim }}{{ end }}",
);

const expr = fc.constantFrom(
  "name =~ pattern",
  "name !~ pattern",
  "(name =~ pattern) || (name + name =~ pattern)",
);

const BUDGET_MS = 50;

afterEach(() => setEvaluationBudget(100));

describe("no evaluation exceeds its budget", () => {
  it("data filters, expr filters and their templates end within the budget (ticking clock)", async () => {
    // Deterministic form: the budget clock advances 1 ms per reading, so an evaluation that keeps
    // working keeps reading it and is stopped; one that never checks would hang the property.
    let t = 0;
    const restore = setBudgetClock(() => t++);
    setEvaluationBudget(BUDGET_MS);
    try {
      await fc.assert(
        fc.asyncProperty(pattern, hostileText, expr, async (re, name, ex) => {
          const data = JSON.stringify({ name, pattern: re });
          const out = await evaluateFilters(
            {
              data: [{ path: "name", type: "string", value: [re] }],
              exprs: [
                {
                  expr: ex,
                  fields: [
                    { name: "name", path: "name" },
                    { name: "pattern", path: "pattern" },
                  ],
                },
              ],
            },
            "or",
            { context, data, timeMs: 0 },
          );
          expect(typeof out.pass).toBe("boolean");
          if (out.budget) {
            expect(out.error).toMatch(/filter: evaluation exceeded its 50 ms budget$/);
          }
        }),
        { numRuns: runs(60) },
      );
    } finally {
      restore();
    }
  });

  it("hostile patterns and templates answer within the budget on the real clock (hang detector)", async () => {
    setEvaluationBudget(BUDGET_MS);
    await fc.assert(
      fc.asyncProperty(pattern, hostileText, template, async (re, name, tpl) => {
        const data = JSON.stringify({ name, pattern: re });
        await timedAsync(`data filter ${re} over ${name.length} chars`, () =>
          evaluateFilters({ data: [{ path: "name", type: "string", value: [re] }] }, undefined, {
            context,
            data,
            timeMs: 0,
          }),
        );
        const events = new Map([["dep", { ...context, data } as CloudEvent]]);
        const r = await timedAsync(`template ${tpl}`, async () =>
          resolveParamValue({ dependencyName: "dep", dataTemplate: tpl, value: "v" }, events),
        );
        if (!r.ok && !isBudgetExceeded(r.error)) {
          expect((r.error as Error).message).toMatch(/budget|result too large|unable to resolve/);
        }
      }),
      { numRuns: runs(25) },
    );
  });
});
