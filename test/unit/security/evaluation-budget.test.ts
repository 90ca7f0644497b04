import { afterEach, describe, expect, it } from "vitest";
import type { CloudEvent } from "../../../src/cloudevents/event.js";
import type { EventDependencyFilter, SensorManifest } from "../../../src/config/types.js";
import { EventsError } from "../../../src/errors.js";
import { evaluateEntryFilter } from "../../../src/eventsources/filter-expression.js";
import type { BudgetExceededReport } from "../../../src/lib/budget.js";
import {
  BudgetExceededError,
  onBudgetExceeded,
  setBudgetClock,
  setEvaluationBudget,
  withBudget,
} from "../../../src/lib/budget.js";
import { compileExpr } from "../../../src/lib/exprlang.js";
import { compileTemplate } from "../../../src/lib/gotemplate/index.js";
import { compileGovaluate } from "../../../src/lib/govaluate.js";
import { SensorEngine } from "../../../src/sensors/engine.js";
import { evaluateFilters } from "../../../src/sensors/filters/index.js";
import { MemoryConditionState } from "../../../src/sensors/state.js";
import { resolveParamValue } from "../../../src/triggers/params.js";
import { context, input } from "../../support/filter-input.js";

// Issue 19 item 1: a hostile event must not hold the event loop. Every regex a manifest supplies
// is Go's RE2 (linear time), and every evaluation runs within a budget. Budget tests use a clock
// that advances 1 ms per reading, so "exceeded" depends on the work done, not on the machine.

const A40 = JSON.stringify({ name: `${"a".repeat(40)}!` });
const BIG = "a".repeat(50_000);

let restoreClock: (() => void) | undefined;
function tickingClock(): void {
  let t = 0;
  restoreClock = setBudgetClock(() => t++);
}
afterEach(() => {
  restoreClock?.();
  restoreClock = undefined;
  setEvaluationBudget(100);
  onBudgetExceeded(undefined);
});

describe("the issue's ReDoS patterns answer (RE2, linear time)", () => {
  it.each([
    ["^(\\p{L}|[a-z])*$", A40],
    ["^(\\x{61}|a)*$", A40],
    ["^(a|aa){1,1000}$", JSON.stringify({ name: BIG })],
    ["^\\pL*.*.*.*.*=.*$", JSON.stringify({ name: BIG })],
  ])("data filter %j rejects the event (no match) and answers", async (pattern, data) => {
    setEvaluationBudget(0); // the answer comes from linear matching, not from the budget
    const filters: EventDependencyFilter = {
      data: [{ path: "name", type: "string", value: [pattern] }],
    };
    const out = await evaluateFilters(filters, undefined, input(data));
    expect(out.pass).toBe(false);
    expect(out.error).toBeUndefined();
  });

  it("number filters parse a hostile numeric string in linear time (strconv.ParseFloat)", async () => {
    // 200,000 digits then "x": the old decimal and hexadecimal regexes backtracked quadratically
    // (about 3 minutes); parsing now fails at once with Go's error.
    setEvaluationBudget(0);
    const n = `${"1".repeat(200_000)}x`;
    const filters: EventDependencyFilter = { data: [{ path: "n", type: "number", value: ["1"] }] };
    const out = await evaluateFilters(filters, undefined, input(JSON.stringify({ n })));
    expect(out.pass).toBe(false);
    const hex = `0x${"1".repeat(200_000)}.1x`;
    expect(
      (await evaluateFilters(filters, undefined, input(JSON.stringify({ n: hex })))).pass,
    ).toBe(false);
    expect(() => compileExpr("float(n)").run({ n })).toThrow(/invalid syntax/);
  });

  it("sprig trim and the {{- trim marker are linear on long runs of spaces", () => {
    // A run of spaces inside the text: the old `[space]+$` regex rescanned it from every position
    // (50,000 spaces: seconds; 200,000: minutes).
    const s = `x${" ".repeat(200_000)}x`;
    expect(compileTemplate("{{ trim .s }}").execute({ s })).toBe(s);
    expect(compileTemplate(`a${" ".repeat(200_000)}b {{- "c" }}`).execute({})).toBe(
      `a${" ".repeat(200_000)}bc`,
    );
    expect(compileTemplate('{{ trim "  a b \\n" }}').execute({})).toBe("a b");
  });

  it("govaluate =~ and !~ use RE2 (\\p{L} and nested repetition)", () => {
    const name = `${"a".repeat(40)}!`;
    expect(compileGovaluate("name =~ '^(\\\\p{L}|[a-z])*$'").evaluate({ name })).toBe(false);
    expect(compileGovaluate("name !~ '^(\\\\x{61}|a)*$'").evaluate({ name })).toBe(true);
    expect(
      compileGovaluate("name =~ pattern").evaluate({ name, pattern: "^(a|aa){1,1000}$" }),
    ).toBe(false);
  });

  it("expr-lang matches uses RE2", () => {
    const name = `${"a".repeat(40)}!`;
    expect(compileExpr('name matches "^(\\\\pL|[a-z])*$"').run({ name })).toBe(false);
    expect(() => compileExpr('name matches "(a)\\\\1"').run({ name })).toThrow(
      /error parsing regexp: invalid escape sequence/,
    );
  });

  it("sprig regex functions use RE2 with Go's semantics", () => {
    const t = (src: string, data: unknown = {}) => compileTemplate(src).execute(data);
    expect(t('{{ regexMatch "^(\\\\p{L}|[a-z])*$" .s }}', { s: `${"a".repeat(40)}!` })).toBe(
      "false",
    );
    expect(t('{{ regexMatch "^\\\\pL+$" "héllo" }}')).toBe("true");
    expect(t('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}')).toBe("-W-xxW-");
    expect(t('{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}')).toBe("-${1}-${1}-");
    expect(t('{{ regexFindAll "a." "paranormal" 2 }}')).toBe("[ar an]");
    expect(t('{{ regexSplit "a*" "abaabaccadaaae" 5 }}')).toBe("[ b b c cadaaae]");
    expect(t('{{ regexQuoteMeta "1.5+2" }}')).toBe("1\\.5\\+2");
    expect(t('{{ regexMatch "(?=a)" "a" }}')).toBe("false");
    expect(() => t('{{ mustRegexMatch "(?=a)" "a" }}')).toThrow(
      /invalid or unsupported Perl syntax/,
    );
  });
});

describe("evaluation budget", () => {
  it("withBudget throws BudgetExceededError from the interpreters' step checks", () => {
    tickingClock();
    const tpl = compileTemplate("{{ range until 100000 }}x{{ end }}");
    expect(() => withBudget("template", 10, () => tpl.execute({}))).toThrow(BudgetExceededError);
    expect(() => withBudget("template", 10, () => tpl.execute({}))).toThrow(
      "template: evaluation exceeded its 10 ms budget",
    );
    const expr = compileExpr("len(filter(1..100000, # % 2 == 0))");
    expect(() => withBudget("expr", 10, () => expr.run({}))).toThrow(BudgetExceededError);
  });

  it("a data filter over budget rejects the event with a clear reason, and is reported", async () => {
    tickingClock();
    setEvaluationBudget(20);
    const filters: EventDependencyFilter = {
      data: [
        {
          path: "name",
          type: "string",
          value: ["x"],
          template: "{{ range until 100000 }}{{ $.Input }}{{ end }}",
        },
      ],
    };
    const out = await evaluateFilters(filters, "or", input(A40));
    expect(out).toMatchObject({
      pass: false,
      error: "data filter: evaluation exceeded its 20 ms budget",
      budget: "data",
    });
  });

  it("the engine rejects the event for that dependency and reports it for the metric", async () => {
    tickingClock();
    setEvaluationBudget(20);
    const reports: BudgetExceededReport[] = [];
    onBudgetExceeded((r) => reports.push(r));
    const sensor = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "hostile", namespace: "default" },
      spec: {
        dependencies: [
          {
            name: "dep",
            eventSourceName: "webhook",
            eventName: "example",
            filters: {
              exprs: [
                {
                  expr: "x != ''",
                  fields: [{ name: "x", path: "name" }],
                },
              ],
              data: [
                {
                  path: "name",
                  type: "string",
                  value: ["a"],
                  template: '{{ range until 100000 }}{{ regexMatch "a" $.Input }}{{ end }}',
                },
              ],
            },
          },
        ],
        triggers: [],
      },
    } as unknown as SensorManifest;
    const engine = new SensorEngine(sensor, { state: new MemoryConditionState(), now: Date.now });
    const event = { ...context, data: A40 } as CloudEvent;
    const result = await engine.evaluateDependency(sensor.spec.dependencies![0]!, event);
    expect(result).toMatchObject({
      accepted: false,
      reason: "data filter: evaluation exceeded its 20 ms budget",
      budget: "data",
    });
    expect(reports).toEqual([{ kind: "data", scope: "hostile", budgetMs: 20 }]);
  });

  it("a jq transform past its limit (2 s, on a worker thread) is rejected and counted the same way", async () => {
    const reports: BudgetExceededReport[] = [];
    onBudgetExceeded((r) => reports.push(r));
    const sensor = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "jq-loop", namespace: "default" },
      spec: {
        dependencies: [
          {
            name: "dep",
            eventSourceName: "webhook",
            eventName: "example",
            transform: { jq: "last(range(1e12)) | {a: .}" },
          },
        ],
        triggers: [],
      },
    } as unknown as SensorManifest;
    const engine = new SensorEngine(sensor, { state: new MemoryConditionState(), now: Date.now });
    const result = await engine.evaluateDependency(sensor.spec.dependencies![0]!, {
      ...context,
      data: '{"a":1}',
    } as CloudEvent);
    expect(result).toMatchObject({
      accepted: false,
      reason: "jq transform: evaluation exceeded its 2000 ms limit",
      budget: "transform",
    });
    expect(reports).toEqual([{ kind: "transform", scope: "jq-loop", budgetMs: 2000 }]);
  });

  it("a trigger template over budget fails the firing, not retryable (SB_ERR_EVAL_BUDGET)", () => {
    tickingClock();
    setEvaluationBudget(20);
    const events = new Map([["dep", { ...context, data: A40 } as CloudEvent]]);
    let err: unknown;
    try {
      resolveParamValue(
        {
          dependencyName: "dep",
          dataTemplate: "{{ range until 1000000 }}{{ $.Input.name }}{{ end }}",
          value: "fallback",
        },
        events,
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EventsError);
    expect((err as EventsError).code).toBe("SB_ERR_EVAL_BUDGET");
    expect((err as EventsError).retryable).toBe(false);
    expect((err as Error).message).toBe(
      "'dep' parameter dataTemplate: template: evaluation exceeded its 20 ms budget",
    );
  });

  it("an EventSource filter.expression over budget drops the event with the reason", () => {
    tickingClock();
    setEvaluationBudget(20);
    const reports: BudgetExceededReport[] = [];
    onBudgetExceeded((r) => reports.push(r));
    const out = evaluateEntryFilter(
      "len(filter(1..1000000, # > 0)) > 0",
      JSON.stringify({ body: {} }),
      "webhook",
    );
    expect(out).toEqual({ drop: "filter.expression: evaluation exceeded its 20 ms budget" });
    expect(reports).toEqual([{ kind: "filter.expression", scope: "webhook", budgetMs: 20 }]);
  });

  it("a Lua script filter is time-limited by the budget", async () => {
    setEvaluationBudget(30);
    const out = await evaluateFilters({ script: "while true do end" }, undefined, input('{"a":1}'));
    expect(out).toMatchObject({
      pass: false,
      error: "script filter: evaluation exceeded its 30 ms budget",
      budget: "script",
    });
  });

  it("indent/nindent refuse a result past the build cap before building it", () => {
    for (const fn of ["indent", "nindent"]) {
      expect(() => compileTemplate(`{{ ${fn} 4000000 (repeat 1000 "\\n") }}`).execute({})).toThrow(
        /result too large/,
      );
    }
    expect(compileTemplate('{{ indent 2 "a\\nb" }}').execute({})).toBe("  a\n  b");
  });

  it("an evaluation within its budget is unchanged", async () => {
    setEvaluationBudget(100);
    const filters: EventDependencyFilter = {
      data: [{ path: "name", type: "string", value: ["^a+!$"] }],
    };
    expect(await evaluateFilters(filters, undefined, input(A40))).toEqual({ pass: true });
  });
});
