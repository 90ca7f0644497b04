import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { type CronSchedule, cronNext, parseCron } from "../../../src/lib/cron.js";

const FIXTURES = new URL("../../fixtures/cron/", import.meta.url);
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")) as T;

interface ValidCase {
  spec: string;
  minutes?: number[] | "all";
  hours?: number[] | "all";
  daysOfMonth?: number[];
  months?: number[];
  daysOfWeek?: number[];
  domStar?: boolean;
  dowStar?: boolean;
  zone?: string;
}
interface NextCase {
  spec: string;
  zone: string;
  after: string;
  expected: string[];
  note?: string;
}

const parseTable = load<{ valid: ValidCase[]; invalid: Array<{ spec: string; error: string }> }>(
  "parse.json",
);
const nextTable = load<{ cases: NextCase[] }>("next.json");

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const sorted = (s: ReadonlySet<number>) => [...s].sort((a, b) => a - b);

describe("parseCron accepts robfig/cron 5-field syntax", () => {
  it.each(parseTable.valid)("$spec", (c) => {
    const s: CronSchedule = parseCron(c.spec);
    expect(s.source).toBe(c.spec);
    if (c.minutes) expect(s.minutes).toEqual(c.minutes === "all" ? range(0, 59) : c.minutes);
    if (c.hours) expect(s.hours).toEqual(c.hours === "all" ? range(0, 23) : c.hours);
    if (c.daysOfMonth) expect(sorted(s.daysOfMonth)).toEqual(c.daysOfMonth);
    if (c.months) expect(sorted(s.months)).toEqual(c.months);
    if (c.daysOfWeek) expect(sorted(s.daysOfWeek)).toEqual(c.daysOfWeek);
    if (c.domStar !== undefined) expect(s.domStar).toBe(c.domStar);
    if (c.dowStar !== undefined) expect(s.dowStar).toBe(c.dowStar);
    expect(s.zone).toBe(c.zone);
  });
});

describe("parseCron rejects what robfig/cron rejects, with its message", () => {
  it.each(parseTable.invalid)("$spec", ({ spec, error }) => {
    let caught: unknown;
    try {
      parseCron(spec);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toBe(error);
  });
});

describe("cronNext", () => {
  it.each(nextTable.cases)("$spec in $zone after $after", (c) => {
    const schedule = parseCron(c.spec);
    const got: string[] = [];
    let after = Date.parse(c.after);
    for (let i = 0; i < Math.max(c.expected.length, 1); i++) {
      const t = cronNext(schedule, after, c.zone);
      if (t === undefined) break;
      got.push(new Date(t).toISOString());
      after = t;
    }
    expect(got).toEqual(c.expected.map((e) => new Date(Date.parse(e)).toISOString()));
  });

  it("fires `30 2 * * *` in Europe/Zurich exactly once per calendar day across both DST changes", () => {
    const s = parseCron("30 2 * * *");
    const zurichDate = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Zurich" });
    const days = new Map<string, number>();
    let t = Date.parse("2024-01-01T00:00:00Z");
    for (;;) {
      const next = cronNext(s, t, "Europe/Zurich");
      if (next === undefined || next >= Date.parse("2025-01-01T00:00:00Z")) break;
      const day = zurichDate.format(next);
      days.set(day, (days.get(day) ?? 0) + 1);
      t = next;
    }
    expect(days.size).toBe(366);
    expect([...days.values()].every((n) => n === 1)).toBe(true);
  });

  it("returns whole seconds and is strictly increasing for a minutely schedule over a DST night", () => {
    const s = parseCron("* * * * *");
    // 00:00Z-02:00Z is 02:00-02:59 CEST and then 02:00-02:59 CET.
    let t = Date.parse("2024-10-26T23:59:00Z");
    const seen: number[] = [];
    while (t < Date.parse("2024-10-27T01:59:00Z")) {
      const next = cronNext(s, t, "Europe/Zurich");
      expect(next).toBeDefined();
      seen.push(next as number);
      t = next as number;
    }
    // Every real minute fires once, both passes of the repeated hour included.
    expect(seen.length).toBe(120);
    expect(
      seen.every((x, i) => x % 60_000 === 0 && (i === 0 || x - (seen[i - 1] as number) === 60_000)),
    ).toBe(true);
  });

  it("is strictly after a mid-second instant", () => {
    const s = parseCron("0 12 * * *");
    const t = Date.parse("2024-05-15T12:00:00.500Z");
    expect(new Date(cronNext(s, t) as number).toISOString()).toBe("2024-05-16T12:00:00.000Z");
    expect(new Date(cronNext(s, t - 1000) as number).toISOString()).toBe(
      "2024-05-15T12:00:00.000Z",
    );
  });
});
