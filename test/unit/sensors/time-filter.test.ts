import { describe, expect, it } from "vitest";
import { evaluateTimeFilter } from "../../../src/sensors/filters/time.js";

const at = (iso: string) => Date.parse(iso);

// Cases from Argo Events' filter_time_test.go semantics: [start, stop) on the event's date,
// overnight windows when stop <= start, event time not the sensor's clock.
describe("time filter", () => {
  it.each([
    ["09:00:00", "17:00:00", undefined, "2024-05-15T09:00:00Z", true],
    ["09:00:00", "17:00:00", undefined, "2024-05-15T16:59:59Z", true],
    ["09:00:00", "17:00:00", undefined, "2024-05-15T17:00:00Z", false],
    ["09:00:00", "17:00:00", undefined, "2024-05-15T08:59:59Z", false],
    ["22:00:00", "02:00:00", undefined, "2024-05-15T23:30:00Z", true],
    ["22:00:00", "02:00:00", undefined, "2024-05-15T01:59:59Z", true],
    ["22:00:00", "02:00:00", undefined, "2024-05-15T02:00:00Z", false],
    ["22:00:00", "02:00:00", undefined, "2024-05-15T12:00:00Z", false],
    ["9:00:00", "17:00:00", undefined, "2024-05-15T10:00:00Z", true],
    // 09:00-17:00 in Zurich (UTC+2 in May) is 07:00-15:00 UTC.
    ["09:00:00", "17:00:00", "Europe/Zurich", "2024-05-15T07:30:00Z", true],
    ["09:00:00", "17:00:00", "Europe/Zurich", "2024-05-15T15:30:00Z", false],
    // Asia/Tokyo: 23:30 UTC on the 14th is 08:30 on the 15th local.
    ["08:00:00", "09:00:00", "Asia/Tokyo", "2024-05-14T23:30:00Z", true],
  ])("%s-%s %s at %s => %s", (start, stop, timezone, time, pass) => {
    const r = evaluateTimeFilter({ start, stop, ...(timezone ? { timezone } : {}) }, at(time));
    expect(r.error).toBeUndefined();
    expect(r.pass).toBe(pass);
    if (!pass) expect(r.reason).toMatch(/outside/);
  });

  it.each([
    ["10:10", /cannot parse "" as ":"/],
    ["09:09:0", /cannot parse "0" as "05"/],
    ["25:00:00", /hour out of range/],
    ["10:61:00", /minute out of range/],
    ["10:00:00x", /extra text/],
  ])("bad start %s is an error", (start, message) => {
    const r = evaluateTimeFilter({ start, stop: "11:00:00" }, at("2024-05-15T10:30:00Z"));
    expect(r.pass).toBe(false);
    expect(r.error).toMatch(/^time filter error \(/);
    expect(r.error).toMatch(message);
  });

  it("reports an unknown timezone", () => {
    const r = evaluateTimeFilter(
      { start: "01:00:00", stop: "02:00:00", timezone: "Mars/Olympus" },
      0,
    );
    expect(r.error).toBe(
      "time filter error (invalid timezone 'Mars/Olympus': unknown time zone Mars/Olympus)",
    );
  });

  it("absent filter passes", () => {
    expect(evaluateTimeFilter(undefined, 0).pass).toBe(true);
  });
});
