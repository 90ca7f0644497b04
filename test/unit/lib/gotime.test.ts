import { describe, expect, it } from "vitest";
import { compileTemplate } from "../../../src/lib/gotemplate/index.js";
import { formatGoTime, GoTime } from "../../../src/lib/gotime.js";
import { isValidZone, loadLocation, zoneAt } from "../../../src/lib/tz.js";

// Moved from test/unit/eventsources/pubsub-payload.test.ts with lib/gotime.ts's formatGoTime.
describe("formatGoTime", () => {
  it("prints Go's time.Time.String layout in UTC", () => {
    // The Go playground's fixed clock: time.Date(2009, 11, 10, 23, 0, 0, 0, time.UTC).String()
    expect(formatGoTime(new Date("2009-11-10T23:00:00Z"))).toBe("2009-11-10 23:00:00 +0000 UTC");
    expect(formatGoTime(new Date("2024-05-15T12:00:00.5Z"))).toBe(
      "2024-05-15 12:00:00.5 +0000 UTC",
    );
    expect(formatGoTime(new Date("0099-01-02T03:04:05Z"))).toBe("0099-01-02 03:04:05 +0000 UTC");
  });

  it("takes an explicit nanosecond-of-second", () => {
    expect(formatGoTime(new Date("2024-05-15T12:00:00Z"), 123_456_789)).toBe(
      "2024-05-15 12:00:00.123456789 +0000 UTC",
    );
    expect(formatGoTime(new Date("2024-05-15T12:00:00Z"), 412_000)).toBe(
      "2024-05-15 12:00:00.000412 +0000 UTC",
    );
    expect(() => formatGoTime(new Date(0), 1e9)).toThrow(RangeError);
  });

  it("prints other zones with their offset and tzdata abbreviation", () => {
    const t = new Date("2009-11-10T23:00:00Z");
    expect(formatGoTime(t, undefined, "America/New_York")).toBe("2009-11-10 18:00:00 -0500 EST");
    expect(formatGoTime(new Date("2024-07-01T12:00:00Z"), undefined, "Europe/Berlin")).toBe(
      "2024-07-01 14:00:00 +0200 CEST",
    );
    expect(formatGoTime(t, undefined, "Asia/Kolkata")).toBe("2009-11-11 04:30:00 +0530 IST");
    // tzdata has no letter abbreviation for Dubai; Go prints the numeric one it stores.
    expect(formatGoTime(t, undefined, "Asia/Dubai")).toBe("2009-11-11 03:00:00 +0400 +04");
  });
});

describe("Time.String in templates: one Go time, zone abbreviations from tzdata", () => {
  // lib/gotemplate/gotime.ts took abbreviations from Intl's short names, which are not Go's:
  // it printed "+02" for CEST, "+0530" for IST, "+01" for BST. Go reads tzdata, as formatGoTime.
  const cases: Array<[string, string, string]> = [
    ["2024-07-01T12:00:00Z", "Europe/Berlin", "2024-07-01 14:00:00 +0200 CEST"],
    ["2024-01-15T12:00:00Z", "Europe/Berlin", "2024-01-15 13:00:00 +0100 CET"],
    ["2009-11-10T23:00:00Z", "Asia/Kolkata", "2009-11-11 04:30:00 +0530 IST"],
    ["2020-06-08T00:24:55Z", "Europe/London", "2020-06-08 01:24:55 +0100 BST"],
    ["2009-11-10T23:00:00Z", "America/New_York", "2009-11-10 18:00:00 -0500 EST"],
    ["2009-11-10T23:00:00Z", "Asia/Dubai", "2009-11-11 03:00:00 +0400 +04"],
  ];

  it.each(cases)("%s in %s", (iso, zone, want) => {
    expect(GoTime.fromDate(new Date(iso)).in(zone).toString()).toBe(want);
    expect(formatGoTime(new Date(iso), undefined, zone)).toBe(want);
  });

  it("sprig's dateInZone prints Go's abbreviation", () => {
    const t = compileTemplate(
      '{{ dateInZone "2006-01-02 15:04 MST" (toDate "2006-01-02" "2024-07-01") "Europe/Berlin" }}',
    );
    expect(t.execute({})).toBe("2024-07-01 02:00 CEST");
    const ist = compileTemplate(
      '{{ dateInZone "15:04 MST -0700" (toDate "2006-01-02" "2024-07-01") "Asia/Kolkata" }}',
    );
    expect(ist.execute({})).toBe("05:30 IST +0530");
  });
});

describe("zone names: one check (Go's LoadLocation)", () => {
  it('"", "UTC" and "Local" are UTC', () => {
    for (const z of ["", "UTC", "Local"]) expect(loadLocation(z)).toBe("UTC");
    expect(zoneAt("Local", 0)).toEqual({ offsetSeconds: 0, abbreviation: "UTC" });
  });

  it("IANA names are valid; unknown names and names Go refuses are not", () => {
    expect(loadLocation("America/New_York")).toBe("America/New_York");
    expect(isValidZone("Europe/Berlin")).toBe(true);
    for (const z of ["Mars/Olympus", "/UTC", "../UTC", "\\UTC", "Europe/../UTC", "+05:00"]) {
      expect(loadLocation(z)).toBeUndefined();
      expect(isValidZone(z)).toBe(false);
    }
  });

  it("zoneAt gives the offset in seconds and the tzdata abbreviation", () => {
    expect(zoneAt("Asia/Kolkata", Date.parse("2024-01-01T00:00:00Z"))).toEqual({
      offsetSeconds: 19_800,
      abbreviation: "IST",
    });
    expect(zoneAt("America/St_Johns", Date.parse("2024-07-01T00:00:00Z"))).toEqual({
      offsetSeconds: -9_000,
      abbreviation: "NDT",
    });
  });
});
