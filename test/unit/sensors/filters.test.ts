import { describe, expect, it } from "vitest";
import type { EventDependencyFilter } from "../../../src/config/types.js";
import { evaluateFilters } from "../../../src/sensors/filters/index.js";
import { input } from "../../support/filter-input.js";

const data = '{"a":"x","n":5}';

// Argo §3.3: kinds are evaluated independently; or-mode errors still reject (§8 gotcha 3).
describe("filter kinds combined", () => {
  it.each<[string, EventDependencyFilter, string | undefined, boolean, RegExp | undefined]>([
    [
      "absent kinds pass in and-mode",
      { context: { source: "webhook" } },
      undefined,
      true,
      undefined,
    ],
    ["context mismatch fails", { context: { subject: "other" } }, undefined, false, undefined],
    [
      "or with one passing kind",
      { context: { subject: "other" }, data: [{ path: "a", type: "string", value: ["x"] }] },
      "or",
      true,
      undefined,
    ],
    [
      "or with an erroring kind rejects even when another passes",
      { context: { source: "webhook" }, data: [{ path: "nope", type: "string", value: ["x"] }] },
      "or",
      true,
      /path 'nope' does not exist/,
    ],
    [
      "and-mode error",
      { data: [{ path: "nope", type: "string", value: ["x"] }] },
      undefined,
      false,
      /^data filter error/,
    ],
    ["empty or-block rejects", {}, "or", false, undefined],
    [
      "exprs with fields",
      {
        exprs: [
          {
            expr: "n > 4 && a == 'x'",
            fields: [
              { name: "n", path: "n" },
              { name: "a", path: "a" },
            ],
          },
        ],
      },
      undefined,
      true,
      undefined,
    ],
    ["time window", { time: { start: "11:00:00", stop: "13:00:00" } }, undefined, true, undefined],
    ["script true", { script: "return event.n == 5" }, undefined, true, undefined],
    ["script error", { script: "return (" }, undefined, false, /^script filter error/],
  ])("%s", async (_name, filters, op, pass, error) => {
    const r = await evaluateFilters(filters, op, input(data));
    expect(r.pass).toBe(pass);
    if (error) expect(r.error).toMatch(error);
    else expect(r.error).toBeUndefined();
  });

  it("accepts everything without filters and passes data/expr/script kinds on an event without data", async () => {
    expect(await evaluateFilters(undefined, undefined, input(data))).toEqual({ pass: true });
    const r = await evaluateFilters(
      {
        data: [{ path: "a", type: "string", value: ["x"] }],
        exprs: [{ expr: "a == 1", fields: [{ name: "a", path: "a" }] }],
        script: "return false",
      },
      undefined,
      input(undefined),
    );
    expect(r).toEqual({ pass: true });
  });

  it("explains why an and-block failed", async () => {
    const r = await evaluateFilters(
      {
        data: [{ path: "a", type: "string", value: ["^y$"] }],
        time: { start: "01:00:00", stop: "02:00:00" },
      },
      undefined,
      input(data),
    );
    expect(r.pass).toBe(false);
    expect(r.reason).toContain(`data filter: 'a' is "x", matched none of ["^y$"]`);
    expect(r.reason).toContain(
      "time filter: event time 12:00:00 (UTC) outside [01:00:00, 02:00:00)",
    );
  });
});
