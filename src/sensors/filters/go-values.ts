/** Go's strconv and regexp behaviour where it leaks into filter results. */

const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** strconv.ParseBool: a boolean, or Go's error text. */
export function goParseBool(s: string): boolean | string {
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  return `strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`;
}

const DECIMAL_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
// Go requires the p exponent on hexadecimal floats; underscores only with a base prefix.
const HEX_RE = /^([+-]?)0[xX]((?:_?[\da-fA-F])*)(?:\.((?:[\da-fA-F]_?)*))?[pP]([+-]?\d+)$/;
const SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

/** strconv.ParseFloat(s, 64): a number, or Go's error text. */
export function goParseFloat(s: string): number | string {
  if (SPECIAL.test(s)) {
    if (/nan/i.test(s)) return Number.NaN;
    return s.startsWith("-") ? -Infinity : Infinity;
  }
  let n = Number.NaN;
  if (DECIMAL_RE.test(s)) n = Number(s);
  else {
    const m = HEX_RE.exec(s);
    if (m && (m[2] !== "" || (m[3] ?? "") !== "")) {
      const int = (m[2] ?? "").replaceAll("_", "") || "0";
      const frac = (m[3] ?? "").replaceAll("_", "");
      let v = Number.parseInt(int, 16);
      for (let i = 0; i < frac.length; i++) v += Number.parseInt(frac[i]!, 16) / 16 ** (i + 1);
      n = v * 2 ** Number(m[4]);
      if (m[1] === "-") n = -n;
    }
  }
  if (Number.isNaN(n)) return `strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`;
  if (!Number.isFinite(n))
    return `strconv.ParseFloat: parsing ${JSON.stringify(s)}: value out of range`;
  return n;
}

/** Moved to lib/ (the resource EventSource uses it too); re-exported for the filters. */
export { goRegexp } from "../../lib/go-regexp.js";
