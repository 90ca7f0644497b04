import { describe, expect, it } from "vitest";
import type { DataFilter } from "../../../src/config/types.js";
import { evaluateDataFilters } from "../../../src/sensors/filters/data.js";

const data = JSON.stringify({
  k: "hello",
  n: 42,
  s: "12.5",
  word: "abc",
  t: true,
  f: false,
  nil: null,
  obj: { a: 1 },
  ver: "1x0",
  yes: "TRUE",
});

const f = (filter: Partial<DataFilter> & { path: string }): DataFilter => ({
  type: "string",
  value: [],
  ...filter,
});

// Argo §3.4 and §8 gotchas, written from the semantics reference and Argo's filter_data_test.go.
describe("data filters", () => {
  it.each([
    ["unanchored regex", f({ path: "k", value: ["ell"] }), true],
    ["anchored regex", f({ path: "k", value: ["^ell$"] }), false],
    ["values are OR'ed", f({ path: "k", value: ["nope", "^hel"] }), true],
    ["dot is a regex", f({ path: "ver", value: ["1.0"] }), true],
    [
      "!= passes if any value fails",
      f({ path: "k", comparator: "!=", value: ["hello", "other"] }),
      true,
    ],
    [
      "!= with the only value matching",
      f({ path: "k", comparator: "!=", value: ["hello"] }),
      false,
    ],
    [
      "other comparators never pass for strings",
      f({ path: "k", comparator: ">", value: ["a"] }),
      false,
    ],
    ["number equal", f({ path: "n", type: "number", value: ["42"] }), true],
    ["number >", f({ path: "n", type: "number", comparator: ">", value: ["41.5"] }), true],
    ["number <=", f({ path: "n", type: "number", comparator: "<=", value: ["41"] }), false],
    ["numeric string parsed", f({ path: "s", type: "number", value: ["12.5"] }), true],
    ["non-numeric string is 0", f({ path: "word", type: "number", value: ["0"] }), true],
    ["true is 1", f({ path: "t", type: "number", value: ["1"] }), true],
    ["null number is 0", f({ path: "nil", type: "number", value: ["0"] }), true],
    ["bool true", f({ path: "t", type: "bool", value: ["true"] }), true],
    [
      "bool ignores comparator",
      f({ path: "t", type: "bool", comparator: "!=", value: ["true"] }),
      true,
    ],
    ["bool from string", f({ path: "yes", type: "bool", value: ["T"] }), true],
    ["bool non-zero number", f({ path: "n", type: "bool", value: ["1"] }), true],
    ["bool object is false", f({ path: "obj", type: "bool", value: ["false"] }), true],
    ["null string is empty", f({ path: "nil", value: ["^$"] }), true],
    ["object compared as raw text", f({ path: "obj", value: ['^\\{"a":1\\}$'] }), true],
    [
      "template output compared",
      f({ path: "k", value: ["^HELLO$"], template: "{{ .Input | upper }}" }),
      true,
    ],
  ])("%s", (_name, filter, pass) => {
    const r = evaluateDataFilters([filter], undefined, data);
    expect(r.error).toBeUndefined();
    expect(r.pass).toBe(pass);
    if (!pass) expect(r.reason).toMatch(/^data filter: /);
  });

  it.each([
    [
      "missing path",
      f({ path: "nope", value: ["x"] }),
      "data filter error (path 'nope' does not exist)",
    ],
    ["no values", f({ path: "k" }), "data filter error (no values specified)"],
    [
      "bad bool",
      f({ path: "t", type: "bool", value: ["yes"] }),
      'data filter error (strconv.ParseBool: parsing "yes": invalid syntax)',
    ],
    [
      "bad number",
      f({ path: "n", type: "number", value: ["x1"] }),
      'data filter error (strconv.ParseFloat: parsing "x1": invalid syntax)',
    ],
    [
      "unknown type",
      f({ path: "k", type: "date", value: ["x"] }),
      "data filter error (unsupported JSON type 'date')",
    ],
    [
      "empty template output",
      f({ path: "k", value: ["x"], template: "{{ .Nope }}" }),
      "data filter error (template '{{ .Nope }}' evaluated to empty string or no value)",
    ],
  ])("%s is an error", (_name, filter, error) => {
    const r = evaluateDataFilters([filter], undefined, data);
    expect(r.pass).toBe(false);
    expect(r.error).toBe(error);
  });

  it("passes when the event has no data, errors when it is not JSON", () => {
    expect(evaluateDataFilters([f({ path: "a", value: ["x"] })], undefined, undefined)).toEqual({
      pass: true,
    });
    expect(evaluateDataFilters([f({ path: "a", value: ["x"] })], undefined, "{oops").error).toBe(
      "data filter error (event data not valid JSON)",
    );
  });

  it("and: first failure wins; or: first pass wins and earlier errors are dropped", () => {
    const missing = f({ path: "nope", value: ["x"] });
    const passing = f({ path: "k", value: ["hello"] });
    const failing = f({ path: "k", value: ["bye"] });
    expect(evaluateDataFilters([failing, missing], "and", data).error).toBeUndefined();
    expect(evaluateDataFilters([passing, missing], "and", data).error).toBe(
      "data filter error (path 'nope' does not exist)",
    );
    expect(evaluateDataFilters([missing, passing], "or", data)).toEqual({ pass: true });
    expect(evaluateDataFilters([missing, failing], "or", data)).toEqual({
      pass: false,
      error: "data filter errors [path 'nope' does not exist]",
    });
    expect(evaluateDataFilters([], "or", data).pass).toBe(true);
  });
});
