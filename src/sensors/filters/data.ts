import type { DataFilter } from "../../config/types.js";
import { errorMessage } from "../../errors.js";
import { boundText, MAX_QUOTED_VALUE, quoteBounded } from "../../lib/bounded-text.js";
import { isBudgetExceeded } from "../../lib/budget.js";
import { gjsonGet, gjsonValid } from "../../lib/gjson.js";
import { compileTemplate } from "../../lib/gotemplate/index.js";
import { goParseBool, goParseFloat, goRegexp } from "./go-values.js";
import type { FilterOutcome, StepResult } from "./types.js";
import { combineList, filterError, PASS } from "./types.js";

/** Argo §3.4 data filters over the event data text (undefined = the event has no data => pass). */
export function evaluateDataFilters(
  filters: readonly DataFilter[] | undefined,
  logicalOperator: string | undefined,
  data: string | undefined,
  /** Known to be valid JSON already (the bus decode checked it): not scanned again. */
  dataIsJson = false,
): FilterOutcome {
  if (!filters || filters.length === 0) return PASS;
  if (data === undefined) return PASS;
  if (!dataIsJson && !gjsonValid(data)) return filterError("data", "event data not valid JSON");
  return combineList("data", filters, logicalOperator, (f) => evaluateOne(f, data));
}

/** Value side of a comparison, typed the way gjson's Result is. */
interface Operand {
  type: "String" | "Number" | "True" | "False" | "Null" | "JSON";
  text: string;
  num: number;
}

function evaluateOne(f: DataFilter, data: string): StepResult {
  const res = gjsonGet(data, f.path);
  if (!res.exists) return { error: `path '${f.path}' does not exist` };
  const values = f.value ?? [];
  if (values.length === 0) return { error: "no values specified" };
  let operand: Operand = {
    type: res.type,
    text: res.text,
    num: res.type === "Number" ? Number(res.text) : 0,
  };
  if (f.template) {
    let out: string;
    try {
      out = compileTemplate(f.template).execute({ Input: res.text });
    } catch (err) {
      if (isBudgetExceeded(err)) throw err;
      return { error: errorMessage(err) };
    }
    if (out === "" || out === "<no value>") {
      return { error: `template '${f.template}' evaluated to empty string or no value` };
    }
    operand = { type: "String", text: out, num: 0 };
  }
  switch (f.type) {
    case "bool": {
      const eventVal = gjsonBool(operand);
      for (const v of values) {
        const parsed = goParseBool(v);
        if (typeof parsed === "string") return { error: parsed };
        if (parsed === eventVal) return true;
      }
      return { fail: `'${f.path}' is ${eventVal}, want ${values.join(" or ")}` };
    }
    case "number": {
      const eventVal = gjsonFloat(operand);
      for (const v of values) {
        const parsed = goParseFloat(v);
        if (typeof parsed === "string") return { error: parsed };
        if (compareNumbers(f.comparator ?? "", eventVal, parsed)) return true;
      }
      return {
        fail: `'${f.path}' is ${eventVal}, want ${f.comparator || "="} ${values.join(" or ")}`,
      };
    }
    case "string": {
      const cmp = f.comparator ?? "";
      for (const v of values) {
        const re = goRegexp(v);
        if (typeof re === "string") return { error: re };
        const match = re.matchString(operand.text);
        if ((cmp === "=" || cmp === "") && match) return true;
        if (cmp === "!=" && !match) return true;
      }
      return {
        fail: `'${f.path}' is ${quoteBounded(operand.text)}, ${cmp === "!=" ? "matched every one of" : cmp === "=" || cmp === "" ? "matched none of" : `comparator '${cmp}' never passes for strings;`} ${boundText(JSON.stringify(values), MAX_QUOTED_VALUE)}`,
      };
    }
    default:
      return { error: `unsupported JSON type '${f.type}'` };
  }
}

function compareNumbers(comparator: string, a: number, b: number): boolean {
  switch (comparator) {
    case ">=":
      return a >= b;
    case ">":
      return a > b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case "!=":
      return a !== b;
    case "=":
    case "":
      return a === b;
    default:
      return false;
  }
}

/** gjson Result.Float(): numbers as is, strings parsed (bad => 0), true => 1, else 0. */
function gjsonFloat(o: Operand): number {
  switch (o.type) {
    case "Number":
      return o.num;
    case "True":
      return 1;
    case "String": {
      const n = goParseFloat(o.text);
      return typeof n === "number" ? n : 0;
    }
    default:
      return 0;
  }
}

/** gjson Result.Bool(): true; a string whose lower case parses true; a non-zero number. */
function gjsonBool(o: Operand): boolean {
  switch (o.type) {
    case "True":
      return true;
    case "String":
      return goParseBool(o.text.toLowerCase()) === true;
    case "Number":
      return o.num !== 0;
    default:
      return false;
  }
}
