import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import {
  formatGoDuration,
  formatGoDurationNanos,
  parseGoDuration,
  parseGoDurationNanos,
} from "../../../src/lib/duration.js";

// Vectors from Go's time package tests (parseDurationTests, durationTests) and its docs.
const NS = 1n;
const US = 1000n;
const MS = 1_000_000n;
const S = 1_000_000_000n;
const M = 60n * S;
const H = 60n * M;

const VALID: Array<[string, bigint]> = [
  ["0", 0n],
  ["5s", 5n * S],
  ["30s", 30n * S],
  ["1478s", 1478n * S],
  ["-5s", -5n * S],
  ["+5s", 5n * S],
  ["-0", 0n],
  ["+0", 0n],
  ["5.0s", 5n * S],
  ["5.6s", 5n * S + 600n * MS],
  ["5.s", 5n * S],
  [".5s", 500n * MS],
  ["1.004s", S + 4n * MS],
  ["100.00100s", 100n * S + MS],
  ["10ns", 10n * NS],
  ["11us", 11n * US],
  ["12\u00b5s", 12n * US],
  ["12\u03bcs", 12n * US],
  ["13ms", 13n * MS],
  ["15m", 15n * M],
  ["16h", 16n * H],
  ["1h30m", H + 30n * M],
  ["90s", 90n * S],
  ["1.5h", H + 30n * M],
  ["300ms", 300n * MS],
  ["2h45m30.5s", 2n * H + 45n * M + 30n * S + 500n * MS],
  ["10.5s4m", 4n * M + 10n * S + 500n * MS],
  ["-2m3.4s", -(2n * M + 3n * S + 400n * MS)],
  ["1h2m3s4ms5us6ns", H + 2n * M + 3n * S + 4n * MS + 5n * US + 6n * NS],
  ["39h9m14.425s", 39n * H + 9n * M + 14n * S + 425n * MS],
  ["52763797000ns", 52763797000n],
  ["0.3333333333333333333h", 20n * M],
  ["9007199254740993ns", (1n << 53n) + 1n],
  ["9223372036854775807ns", (1n << 63n) - 1n],
  ["9223372036854775.807us", (1n << 63n) - 1n],
  ["9223372036s854ms775us807ns", (1n << 63n) - 1n],
  ["-9223372036854775808ns", -(1n << 63n)],
  ["-2562047h47m16.854775808s", -(1n << 63n)],
  ["0.100000000000000000000h", 6n * M],
  ["0.830103483285477580700h", 49n * M + 48n * S + 372539827n],
];

const INVALID: Array<[string, string]> = [
  ["", 'time: invalid duration ""'],
  ["3", 'time: missing unit in duration "3"'],
  ["-", 'time: invalid duration "-"'],
  ["s", 'time: invalid duration "s"'],
  [".", 'time: invalid duration "."'],
  ["-.", 'time: invalid duration "-."'],
  [".s", 'time: invalid duration ".s"'],
  ["+.s", 'time: invalid duration "+.s"'],
  ["1d", 'time: unknown unit "d" in duration "1d"'],
  ["1.5 h", 'time: unknown unit " h" in duration "1.5 h"'],
  ["x", 'time: invalid duration "x"'],
  ["\u0085\u0085", 'time: invalid duration "\\xc2\\x85\\xc2\\x85"'],
  ['1"s', 'time: unknown unit "\\"s" in duration "1\\"s"'],
  ["9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'],
  ["9223372036854775.808us", 'time: invalid duration "9223372036854775.808us"'],
  ["9223372036854ms775us808ns", 'time: invalid duration "9223372036854ms775us808ns"'],
  ["-9223372036854775809ns", 'time: invalid duration "-9223372036854775809ns"'],
];

const FORMAT: Array<[bigint, string]> = [
  [0n, "0s"],
  [1n, "1ns"],
  [1100n, "1.1\u00b5s"],
  [2200n * US, "2.2ms"],
  [3300n * MS, "3.3s"],
  [4n * M + 5n * S, "4m5s"],
  [4n * M + 5001n * MS, "4m5.001s"],
  [5n * H + 6n * M + 7001n * MS, "5h6m7.001s"],
  [8n * M + 1n, "8m0.000000001s"],
  [H, "1h0m0s"],
  [90n * S, "1m30s"],
  [-(90n * S), "-1m30s"],
  [(1n << 63n) - 1n, "2562047h47m16.854775807s"],
  [-(1n << 63n), "-2562047h47m16.854775808s"],
];

describe("parseGoDurationNanos", () => {
  it.each(VALID)("%s", (text, nanos) => {
    expect(parseGoDurationNanos(text)).toBe(nanos);
  });

  it.each(INVALID)("rejects %j", (text, message) => {
    let caught: unknown;
    try {
      parseGoDurationNanos(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toBe(message);
  });
});

describe("parseGoDuration (milliseconds)", () => {
  it.each([
    ["1h30m", 5_400_000],
    ["90s", 90_000],
    ["1.5h", 5_400_000],
    ["300ms", 300],
    ["-1m", -60_000],
    ["1500us", 1.5],
  ])("%s = %d ms", (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });
});

describe("formatGoDuration", () => {
  it.each(FORMAT)("%s ns -> %s", (nanos, text) => {
    expect(formatGoDurationNanos(nanos)).toBe(text);
  });

  it("formats milliseconds and round-trips through the parser", () => {
    expect(formatGoDuration(5_400_000)).toBe("1h30m0s");
    expect(formatGoDuration(0.0015)).toBe("1.5\u00b5s");
    for (const [, nanos] of VALID) {
      expect(parseGoDurationNanos(formatGoDurationNanos(nanos))).toBe(nanos);
    }
  });
});
