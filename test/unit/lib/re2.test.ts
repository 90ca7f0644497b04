// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go replacement templates use ${name}
import { describe, expect, it } from "vitest";
import { BudgetExceededError, withBudget } from "../../../src/lib/budget.js";
import {
  compileGoRegexp,
  GoRegexpError,
  goMatchString,
  goQuoteMeta,
  goRegexpError,
} from "../../../src/lib/re2.js";

// Vectors from the examples in Go's regexp package documentation (pkg.go.dev/regexp), plus RE2
// syntax Go accepts and JavaScript's RegExp does not.

describe("Go regexp semantics (lib/re2.ts)", () => {
  it.each([
    ["p([a-z]+)ch", "peach", true],
    ["foo.*", "seafood", true],
    ["bar.*", "seafood", false],
    ["^[a-z]+\\[[0-9]+\\]$", "adam[23]", true],
    ["^[a-z]+\\[[0-9]+\\]$", "Job[48]", false],
    // Go syntax JavaScript lacks or reads differently
    ["^\\pL+$", "héllo", true],
    ["^\\p{Greek}+$", "αβγ", true],
    ["^\\PL+$", "123", true],
    ["^\\x{61}\\x62$", "ab", true],
    ["(?i)HELLO", "say hello", true],
    ["(?i:H)ELLO", "hELLO", true],
    ["a.b", "a\nb", false],
    ["(?s)a.b", "a\nb", true],
    ["a$", "a\n", false], // without (?m), $ is the end of the text only (not Perl's)
    ["(?m)a$", "a\nb", true],
    ["a\\z", "xa", true],
    ["a\\z", "a\n", false],
    ["^[[:alpha:]]+$", "abc", true],
    ["^[[:^digit:]]+$", "abc", true],
    ["\\Qa.b\\E", "axb", false],
    ["\\Qa.b\\E", "a.b", true],
    ["^.$", "😀", true], // one code point, not two UTF-16 units
    ["(?P<first>\\w+) (?<last>\\w+)", "Ada Lovelace", true],
    ["(?U)a+", "aaa", true],
  ])("MatchString(%j, %j) = %s (unanchored)", (pattern, s, want) => {
    expect(goMatchString(pattern, s)).toBe(want);
  });

  it("FindString / FindStringIndex / FindStringSubmatch", () => {
    expect(compileGoRegexp("foo.?").findString("seafood fool")).toBe("food");
    expect(compileGoRegexp("foo.?").findString("meat")).toBe("");
    expect(compileGoRegexp("ab?").findStringIndex("tablett")).toEqual([1, 3]);
    expect(compileGoRegexp("ab?").findStringIndex("foo")).toBeNull();
    const re = compileGoRegexp("a(x*)b(y|z)c");
    expect(re.findStringSubmatch("-axxxbyc-")).toEqual(["axxxbyc", "xxx", "y"]);
    expect(re.findStringSubmatch("-abzc-")).toEqual(["abzc", "", "z"]);
  });

  it("leftmost-first alternation, as Go's (Perl) semantics", () => {
    expect(compileGoRegexp("a|ab").findString("ab")).toBe("a");
    expect(compileGoRegexp("(a+)(a*)").findStringSubmatch("aaa")).toEqual(["aaa", "aaa", ""]);
  });

  it("FindAllString(s, n), FindAllStringSubmatch", () => {
    const re = compileGoRegexp("a.");
    expect(re.findAllString("paranormal", -1)).toEqual(["ar", "an", "al"]);
    expect(re.findAllString("paranormal", 2)).toEqual(["ar", "an"]);
    expect(re.findAllString("graal", -1)).toEqual(["aa"]);
    expect(re.findAllString("none", -1)).toEqual([]);
    expect(re.findAllString("paranormal", 0)).toEqual([]);
    const sub = compileGoRegexp("a(x*)b");
    expect(sub.findAllStringSubmatch("-ab-", -1)).toEqual([["ab", ""]]);
    expect(sub.findAllStringSubmatch("-axxb-", -1)).toEqual([["axxb", "xx"]]);
    expect(sub.findAllStringSubmatch("-ab-axb-", -1)).toEqual([
      ["ab", ""],
      ["axb", "x"],
    ]);
    expect(sub.findAllStringSubmatch("-axxb-ab-", -1)).toEqual([
      ["axxb", "xx"],
      ["ab", ""],
    ]);
    // Empty matches: not right after a previous match, one per position.
    expect(compileGoRegexp("a*").findAllString("baaab", -1)).toEqual(["", "aaa", ""]);
    expect(compileGoRegexp("x*").findAllString("😀a", -1)).toEqual(["", "", ""]);
  });

  it("ReplaceAllString expands $1, ${1}, $name, ${name} and $$ as Go does", () => {
    const re = compileGoRegexp("a(x*)b");
    expect(re.replaceAllString("-ab-axxb-", "T")).toBe("-T-T-");
    expect(re.replaceAllString("-ab-axxb-", "$1")).toBe("--xx-");
    expect(re.replaceAllString("-ab-axxb-", "$1W")).toBe("---"); // $1W names group "1W"
    expect(re.replaceAllString("-ab-axxb-", "${1}W")).toBe("-W-xxW-");
    expect(re.replaceAllString("-ab-axxb-", "$$1")).toBe("-$1-$1-");
    expect(re.replaceAllString("-ab-axxb-", "$")).toBe("-$-$-");
    const named = compileGoRegexp("a(?P<1W>x*)b");
    expect(named.replaceAllString("-ab-axxb-", "$1W")).toBe("--xx-");
    expect(named.replaceAllString("-ab-axxb-", "${1}W")).toBe("-W-xxW-");
    const kv = compileGoRegexp("(?P<key>\\w+):\\s+(?P<value>\\w+)");
    expect(kv.replaceAllString("option1: value1", "$value=$key")).toBe("value1=option1");
    expect(kv.replaceAllString("option1: value1", "${value}=${key}")).toBe("value1=option1");
    expect(kv.replaceAllString("option1: value1", "$nope|$01|$9")).toBe("||");
  });

  it("ReplaceAllLiteralString inserts the text as is; ReplaceAllStringFunc", () => {
    const re = compileGoRegexp("a(x*)b");
    expect(re.replaceAllLiteralString("-ab-axxb-", "T")).toBe("-T-T-");
    expect(re.replaceAllLiteralString("-ab-axxb-", "$1")).toBe("-$1-$1-");
    expect(re.replaceAllLiteralString("-ab-axxb-", "${1}")).toBe("-${1}-${1}-");
    expect(
      compileGoRegexp("[^aeiou\\s]+").replaceAllStringFunc("seafood fool", (m) => m.toUpperCase()),
    ).toBe("SeaFooD FooL");
  });

  it("Split(s, n)", () => {
    const a = compileGoRegexp("a");
    expect(a.split("banana", -1)).toEqual(["b", "n", "n", ""]);
    expect(a.split("banana", 0)).toEqual([]);
    expect(a.split("banana", 1)).toEqual(["banana"]);
    expect(a.split("banana", 2)).toEqual(["b", "nana"]);
    const z = compileGoRegexp("z+");
    expect(z.split("pizza", -1)).toEqual(["pi", "a"]);
    expect(z.split("pizza", 2)).toEqual(["pi", "a"]);
    expect(compileGoRegexp("a*").split("abaabaccadaaae", 5)).toEqual([
      "",
      "b",
      "b",
      "c",
      "cadaaae",
    ]);
    expect(compileGoRegexp("x").split("", -1)).toEqual([""]);
    expect(compileGoRegexp("").split("abc", -1)).toEqual(["a", "b", "c"]);
  });

  it("QuoteMeta, SubexpNames, NumSubexp", () => {
    expect(goQuoteMeta("Escaping symbols like: .+*?()|[]{}^$")).toBe(
      "Escaping symbols like: \\.\\+\\*\\?\\(\\)\\|\\[\\]\\{\\}\\^\\$",
    );
    expect(goMatchString(`^${goQuoteMeta("1.5+2")}$`, "1.5+2")).toBe(true);
    const re = compileGoRegexp("(?P<first>[a-zA-Z]+) ([a-zA-Z]+)");
    expect(re.numSubexp()).toBe(2);
    expect(re.subexpNames()).toEqual(["", "first", ""]);
  });

  it.each([
    ["(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`"],
    ["(?=a)b", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"],
    ["(?!a)b", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`"],
    ["a++", "error parsing regexp: invalid nested repetition operator: `++`"],
    ["a{1001}", "error parsing regexp: invalid repeat count: `{1001}`"],
    ["a(b", "error parsing regexp: missing closing ): `a(b`"],
    ["\\C", "error parsing regexp: invalid escape sequence: `\\C`"],
    ["[z-a]", "error parsing regexp: invalid character class range: `z-a`"],
  ])("refuses %j with Go's error text", (pattern, message) => {
    expect(goRegexpError(pattern)).toBe(message);
    expect(() => compileGoRegexp(pattern)).toThrow(GoRegexpError);
  });

  it.each(["(?<=a)b", "(?<!a)b"])("refuses lookbehind %j", (pattern) => {
    expect(goRegexpError(pattern)).toMatch(/^error parsing regexp: /);
  });

  it("matches the issue's catastrophic patterns to the end (linear time, no backtracking)", () => {
    const a40 = `${"a".repeat(40)}!`;
    expect(goMatchString("^(\\p{L}|[a-z])*$", a40)).toBe(false);
    expect(goMatchString("^(\\x{61}|a)*$", a40)).toBe(false);
    const big = "a".repeat(50_000);
    expect(goMatchString("^(a|aa){1,1000}$", big)).toBe(false);
    expect(goMatchString("^\\pL*.*.*.*.*=.*$", big)).toBe(false);
    expect(goMatchString("^\\pL*.*.*.*.*=.*$", `${big}=`)).toBe(true);
    expect(goMatchString("^(\\p{L}|[a-z])*$", big)).toBe(true);
  });

  it("under a budget, a search too large to run inline runs on the worker and answers", () => {
    const re = compileGoRegexp("(a|aa){1,1000}"); // 7,000 instructions
    const big = "a".repeat(50_000);
    expect(withBudget("data filter", 10_000, () => re.findStringIndex(big))).toEqual([0, 1000]);
    expect(withBudget("data filter", 10_000, () => re.findAllString(`${big}b`, 2))).toEqual([
      "a".repeat(1000),
      "a".repeat(1000),
    ]);
  });

  it("under a budget, a search that would outlast it is stopped (BudgetExceededError)", () => {
    // About 2 s of NFA work on one thread: linear, but far past a 50 ms budget.
    const re = compileGoRegexp("^(a*|a*a*a*a{1,1000})*$");
    const hostile = `${"a".repeat(20_000)}!`;
    expect(() => withBudget("data filter", 50, () => re.matchString(hostile))).toThrow(
      BudgetExceededError,
    );
    expect(() => withBudget("data filter", 50, () => re.matchString(hostile))).toThrow(
      "data filter: evaluation exceeded its 50 ms budget",
    );
    // The worker was replaced: the next search answers.
    expect(withBudget("data filter", 10_000, () => re.matchString("a".repeat(5_000)))).toBe(true);
  });
});
