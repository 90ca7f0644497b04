import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CalendarEventSpec } from "../../../src/config/types.js";
import { ConfigError, EventBusError, EventsError } from "../../../src/errors.js";
import {
  buildCalendarPayload,
  calendarAdapter,
  compileCalendarSpec,
  createCalendarAdapter,
  defaultStateDir,
  FileTickStore,
  formatMonotonicSuffix,
  nextOccurrence,
  parseStoredEventTime,
  type TickStore,
} from "../../../src/eventsources/calendar.js";
import type { AdapterContext, RunningAdapter } from "../../../src/eventsources/types.js";
import { FakeClock } from "../../support/fake-clock.js";

class MemoryTickStore implements TickStore {
  readonly values = new Map<string, string>();
  readonly puts: Array<[string, string]> = [];
  async get(key: string) {
    return this.values.get(key);
  }
  async put(key: string, value: string) {
    this.puts.push([key, value]);
    this.values.set(key, value);
  }
}

interface Emitted {
  eventName: string;
  data: string;
  id: string | undefined;
  at: number;
}

interface Harness {
  clock: FakeClock;
  ctx: AdapterContext;
  emitted: Emitted[];
  attempts: Emitted[];
  logs: Array<Record<string, unknown>>;
  abort: AbortController;
  /** Make the next `n` emits reject. */
  failNext(n: number): void;
}

const PROCESS_START_OFFSET_MS = 5000;

function harness(startIso: string): Harness {
  const clock = new FakeClock(Date.parse(startIso));
  const emitted: Emitted[] = [];
  const attempts: Emitted[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: "debug", base: undefined },
    { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  let failures = 0;
  const abort = new AbortController();
  const ctx: AdapterContext = {
    eventSourceName: "cal",
    namespace: "ns",
    log,
    clock,
    signal: abort.signal,
    values: { secret: async () => "", configMap: async () => "" },
    emit: async (eventName, input) => {
      const rec = { eventName, data: input.data, id: input.id, at: clock.now() };
      attempts.push(rec);
      if (failures > 0) {
        failures--;
        throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down");
      }
      emitted.push(rec);
      return { id: input.id ?? "x", status: "published" };
    },
  };
  return {
    clock,
    ctx,
    emitted,
    attempts,
    logs,
    abort,
    failNext: (n) => {
      failures = n;
    },
  };
}

/** The adapter with a monotonic clock that started 5 s before the fake clock's start. */
function adapterFor(h: Harness, store: TickStore, processStart?: number) {
  const origin = processStart ?? h.clock.now() - PROCESS_START_OFFSET_MS;
  return createCalendarAdapter({ tickStore: store, monotonicMs: () => h.clock.now() - origin });
}

const eventTimeOf = (e: Emitted) => (JSON.parse(e.data) as { eventTime: string }).eventTime;
const iso = (ms: number) => new Date(ms).toISOString();

/** Go time text (with or without the ` m=` suffix) -> ISO instant, independent of the adapter. */
function goTextToIso(text: string): string {
  const m = /^(\S+) (\S+) ([+-]\d{2})(\d{2}) \S+/.exec(text);
  if (!m) throw new Error(`not Go time text: ${text}`);
  return new Date(`${m[1]}T${m[2]}${m[3]}:${m[4]}`).toISOString();
}

let running: RunningAdapter[] = [];
afterEach(async () => {
  await Promise.all(running.map((r) => r.stop()));
  running = [];
});

async function start(
  h: Harness,
  specs: Record<string, CalendarEventSpec>,
  store: TickStore = new MemoryTickStore(),
  processStart?: number,
): Promise<RunningAdapter> {
  const r = await adapterFor(h, store, processStart).start(
    Object.entries(specs).map(([eventName, spec]) => ({ eventName, spec })),
    h.ctx,
  );
  running.push(r);
  return r;
}

/** Drives the clock until `n` events were emitted. */
async function runUntil(h: Harness, n: number): Promise<void> {
  while (h.emitted.length < n) await h.clock.step();
}

describe("calendar adapter: timer events", () => {
  it("has Argo's key and CloudEvent type", () => {
    expect(calendarAdapter.key).toBe("calendar");
    expect(calendarAdapter.ceType).toBe("calendar");
  });

  it("fires at the schedule in UTC Go time text with the monotonic suffix", async () => {
    const h = harness("2024-05-15T11:59:00Z");
    await start(h, { daily: { schedule: "0 12 * * *", metadata: { b: "2", a: "<1>" } } });
    await runUntil(h, 2);
    const first = h.emitted[0] as Emitted;
    expect(first.eventName).toBe("daily");
    // Fired at 12:00, 65 s after a process start 5 s before the test began.
    expect(first.data).toBe(
      '{"eventTime":"2024-05-15 12:00:00 +0000 UTC m=+65.000000000","metadata":{"a":"\\u003c1\\u003e","b":"2"}}',
    );
    expect(goTextToIso(eventTimeOf(h.emitted[1] as Emitted))).toBe("2024-05-16T12:00:00.000Z");
    expect(first.id).toMatch(/^[0-9a-f]{32}$/);
    expect(first.id).not.toBe(h.emitted[1]?.id);
  });

  it("Europe/Zurich spring forward: 02:30 does not exist on 2024-03-31 and fires once at 03:00 CEST", async () => {
    const h = harness("2024-03-29T12:00:00Z");
    await start(h, { nightly: { schedule: "30 2 * * *", timezone: "Europe/Zurich" } });
    await runUntil(h, 3);
    expect(h.emitted.map((e) => goTextToIso(eventTimeOf(e)))).toEqual([
      "2024-03-30T01:30:00.000Z", // 02:30 CET
      "2024-03-31T01:00:00.000Z", // 03:00 CEST, the first instant after the gap
      "2024-04-01T00:30:00.000Z", // 02:30 CEST
    ]);
    // Timer events are printed in UTC whatever the schedule zone.
    expect(eventTimeOf(h.emitted[1] as Emitted)).toMatch(/^2024-03-31 01:00:00 \+0000 UTC m=\+/);
  });

  it("Europe/Zurich fall back: 02:30 occurs twice on 2024-10-27 and fires once", async () => {
    const h = harness("2024-10-26T12:00:00Z");
    await start(h, { nightly: { schedule: "30 2 * * *", timezone: "Europe/Zurich" } });
    await runUntil(h, 3);
    expect(h.emitted.map((e) => goTextToIso(eventTimeOf(e)))).toEqual([
      "2024-10-27T00:30:00.000Z", // 02:30 CEST (first pass)
      "2024-10-28T01:30:00.000Z", // 02:30 CET the next day; the 01:30Z second pass is skipped
      "2024-10-29T01:30:00.000Z",
    ]);
  });

  it("every 4 hours in Europe/Zurich keeps wall-clock hours across both DST changes", async () => {
    const h = harness("2024-03-30T21:00:00Z");
    await start(h, { fourHourly: { schedule: "0 */4 * * *", timezone: "Europe/Zurich" } });
    await runUntil(h, 3);
    const spring = h.emitted.map((e) => Date.parse(goTextToIso(eventTimeOf(e))));
    // 00:00 CET, 04:00 CEST, 08:00 CEST: 3 h then 4 h of real time.
    expect(spring.map(iso)).toEqual([
      "2024-03-30T23:00:00.000Z",
      "2024-03-31T02:00:00.000Z",
      "2024-03-31T06:00:00.000Z",
    ]);

    const f = harness("2024-10-26T21:00:00Z");
    await start(f, { fourHourly: { schedule: "0 */4 * * *", timezone: "Europe/Zurich" } });
    await runUntil(f, 3);
    expect(f.emitted.map((e) => goTextToIso(eventTimeOf(e)))).toEqual([
      "2024-10-26T22:00:00.000Z", // 00:00 CEST
      "2024-10-27T03:00:00.000Z", // 04:00 CET, 5 h later
      "2024-10-27T07:00:00.000Z",
    ]);
  });

  it("interval: the next time is the previous fire time truncated to the second plus the interval", async () => {
    const h = harness("2024-05-15T12:00:00.250Z");
    await start(h, { tick: { interval: "90s" } });
    await runUntil(h, 2);
    expect(h.emitted.map((e) => iso(e.at))).toEqual([
      "2024-05-15T12:01:30.000Z",
      "2024-05-15T12:03:00.000Z",
    ]);
  });

  it("exclusionDates skip whole calendar days in the schedule zone; other entries are ignored", async () => {
    const h = harness("2024-03-31T12:00:00Z");
    await start(h, {
      morning: {
        schedule: "0 9 * * *",
        timezone: "Europe/Zurich",
        exclusionDates: ["EXDATE:20240402T000000Z,20240404T235959Z", "RRULE:FREQ=DAILY"],
      },
    });
    await runUntil(h, 3);
    expect(h.emitted.map((e) => goTextToIso(eventTimeOf(e)))).toEqual([
      "2024-04-01T07:00:00.000Z",
      "2024-04-03T07:00:00.000Z",
      "2024-04-05T07:00:00.000Z",
    ]);
  });

  it("stop() and the context signal end the loop without further events", async () => {
    const h = harness("2024-05-15T11:59:00Z");
    const r = await start(h, { a: { schedule: "* * * * *" } });
    await runUntil(h, 1);
    await h.clock.idle();
    await r.stop();
    h.clock.advanceTo(h.clock.now() + 3_600_000);
    expect(h.emitted).toHaveLength(1);

    const g = harness("2024-05-15T11:59:00Z");
    await start(g, { a: { schedule: "* * * * *" } });
    await g.clock.idle();
    g.abort.abort();
    g.clock.advanceTo(g.clock.now() + 3_600_000);
    expect(g.emitted).toHaveLength(0);
  });
});

describe("calendar adapter: persistence and catch-up", () => {
  const hourly = (catchup: CalendarEventSpec["persistence"]): CalendarEventSpec => ({
    schedule: "0 * * * *",
    persistence: catchup,
  });
  const storedAt = (goTime: string) => buildCalendarPayload(goTime);

  it("catches up missed ticks within maxDuration at once, in the schedule zone and without m=", async () => {
    const store = new MemoryTickStore();
    store.values.set(
      "ns.cal.hourly",
      storedAt("2024-05-15 12:00:00.000412 +0000 UTC m=+3600.000519000"),
    );
    const h = harness("2024-05-15T15:30:00Z");
    await start(
      h,
      {
        hourly: {
          ...hourly({ catchup: { enabled: true, maxDuration: "24h" }, configMap: { name: "cm" } }),
          timezone: "Europe/Zurich",
        },
      },
      store,
    );
    await h.clock.idle();
    // Emitted before any time passed.
    expect(h.clock.now()).toBe(Date.parse("2024-05-15T15:30:00Z"));
    expect(h.emitted.map(eventTimeOf)).toEqual([
      "2024-05-15 15:00:00 +0200 CEST",
      "2024-05-15 16:00:00 +0200 CEST",
      "2024-05-15 17:00:00 +0200 CEST",
    ]);
    expect(store.values.get("ns.cal.hourly")).toBe(h.emitted[2]?.data);
    expect(store.puts).toHaveLength(3);
    // Then the timer takes over.
    await runUntil(h, 4);
    expect(eventTimeOf(h.emitted[3] as Emitted)).toMatch(/^2024-05-15 16:00:00 \+0000 UTC m=\+/);
  });

  it("catches up only the ticks no older than maxDuration", async () => {
    const store = new MemoryTickStore();
    store.values.set("ns.cal.hourly", storedAt("2024-05-15 02:00:00 +0000 UTC m=+1.000000000"));
    const h = harness("2024-05-15T15:30:30Z");
    await start(h, { hourly: hourly({ catchup: { enabled: true, maxDuration: "90m" } }) }, store);
    await h.clock.idle();
    expect(h.emitted.map(eventTimeOf)).toEqual(["2024-05-15 15:00:00 +0000 UTC"]);
  });

  it("skips missed ticks when catch-up is off but still records each tick", async () => {
    const store = new MemoryTickStore();
    store.values.set("ns.cal.hourly", storedAt("2024-05-15 02:00:00 +0000 UTC"));
    const h = harness("2024-05-15T15:30:00Z");
    await start(
      h,
      { hourly: hourly({ configMap: { name: "cm", createIfNotExist: true } }) },
      store,
    );
    await runUntil(h, 1);
    expect(goTextToIso(eventTimeOf(h.emitted[0] as Emitted))).toBe("2024-05-15T16:00:00.000Z");
    expect(store.values.get("ns.cal.hourly")).toBe(h.emitted[0]?.data);
  });

  it("never fires a tick twice across restarts (file store)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sensorbus-calendar-"));
    try {
      const spec = { hourly: hourly({ catchup: { enabled: true } }) };
      const processStart = Date.parse("2024-05-15T10:00:00Z");
      const h1 = harness("2024-05-15T11:59:00Z");
      const r1 = await start(h1, spec, new FileTickStore(dir), processStart);
      await runUntil(h1, 2); // 12:00, 13:00
      await h1.clock.idle();
      await r1.stop();

      // Restart right away: nothing is due, nothing is repeated.
      const h2 = harness("2024-05-15T13:00:05Z");
      const r2 = await start(h2, spec, new FileTickStore(dir), processStart);
      await h2.clock.idle();
      expect(h2.emitted).toHaveLength(0);
      expect(iso(h2.clock.nextWake())).toBe("2024-05-15T14:00:00.000Z");
      await r2.stop();

      // Down from 13:00:05 to 16:10: 14:00, 15:00 and 16:00 are caught up, 13:00 is not repeated.
      const h3 = harness("2024-05-15T16:10:00Z");
      await start(h3, spec, new FileTickStore(dir), processStart);
      await h3.clock.idle();
      expect(h3.emitted.map(eventTimeOf)).toEqual([
        "2024-05-15 14:00:00 +0000 UTC",
        "2024-05-15 15:00:00 +0000 UTC",
        "2024-05-15 16:00:00 +0000 UTC",
      ]);
      const ids = [...h1.emitted, ...h3.emitted].map((e) => e.id);
      expect(new Set(ids).size).toBe(5);
      expect(await readdir(dir)).toEqual(["ns.cal.hourly.json"]);
      expect(await readFile(join(dir, "ns.cal.hourly.json"), "utf8")).toBe(h3.emitted[2]?.data);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("retries a rejected emit every 100 ms while persistence is on; records the tick only after success", async () => {
    const store = new MemoryTickStore();
    const h = harness("2024-05-15T11:59:00Z");
    await start(h, { hourly: hourly({ catchup: { enabled: true } }) }, store);
    h.failNext(2);
    await h.clock.step(); // 12:00: first attempt fails
    await h.clock.idle();
    expect(h.attempts).toHaveLength(1);
    expect(store.puts).toHaveLength(0);
    expect(iso(h.clock.nextWake())).toBe("2024-05-15T12:00:00.100Z");
    await h.clock.step(); // 12:00:00.100: second attempt fails
    await h.clock.step(); // 12:00:00.200: third attempt succeeds
    await h.clock.idle();
    expect(h.attempts.map((a) => iso(a.at))).toEqual([
      "2024-05-15T12:00:00.000Z",
      "2024-05-15T12:00:00.100Z",
      "2024-05-15T12:00:00.200Z",
    ]);
    expect(new Set(h.attempts.map((a) => a.id)).size).toBe(1);
    expect(h.emitted.map(eventTimeOf)).toEqual(["2024-05-15 12:00:00 +0000 UTC"]);
    expect(store.puts).toHaveLength(1);
    expect(iso(h.clock.nextWake())).toBe("2024-05-15T13:00:00.000Z");
    const warns = h.logs.filter((l) => l.level === 40);
    expect(warns).toHaveLength(2);
    expect(warns[0]).toMatchObject({
      eventName: "hourly",
      msg: expect.stringContaining("retrying"),
    });
  });

  it("drops the occurrence (and logs it) when emit rejects and persistence is off", async () => {
    const h = harness("2024-05-15T11:59:00Z");
    await start(h, { hourly: { schedule: "0 * * * *" } });
    h.failNext(1);
    await h.clock.step();
    await runUntil(h, 1);
    expect(h.attempts).toHaveLength(2);
    expect(goTextToIso(eventTimeOf(h.emitted[0] as Emitted))).toBe("2024-05-15T13:00:00.000Z");
    const errors = h.logs.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      eventName: "hourly",
      scheduled: "2024-05-15T12:00:00.000Z",
      err: { message: "bus down" },
    });
  });

  it("refuses to start on an unreadable stored tick, naming the key", async () => {
    const store = new MemoryTickStore();
    store.values.set("ns.cal.hourly", "{not json");
    const h = harness("2024-05-15T11:59:00Z");
    const p = start(h, { hourly: hourly({ catchup: { enabled: true } }) }, store);
    await expect(p).rejects.toBeInstanceOf(EventsError);
    await expect(p).rejects.toMatchObject({
      code: "SB_ERR_EVENTSOURCE_START",
      message: expect.stringContaining("ns.cal.hourly"),
    });
  });
});

describe("calendar config validation", () => {
  it.each([
    [{}, "spec.calendar.bad: calendar event must contain either a schedule or interval"],
    [
      { schedule: "0 * * *" },
      "spec.calendar.bad.schedule: failed to parse schedule 0 * * * from calendar event",
    ],
    [{ schedule: "@hourly" }, "parser does not accept descriptors"],
    [
      { interval: "1d" },
      'spec.calendar.bad.interval: failed to parse interval 1d from calendar event. Cause: time: unknown unit "d"',
    ],
    [{ interval: "500ms" }, "shorter than 1s"],
    [{ interval: "1ns" }, "spec.calendar.bad.interval: interval 1ns is shorter than 1s"],
    [{ interval: "-5s" }, "spec.calendar.bad.interval: interval -5s is shorter than 1s"],
    [{ schedule: "* * * * *", timezone: "Mars/Olympus" }, "spec.calendar.bad.timezone"],
    [
      { schedule: "* * * * *", exclusionDates: ["EXDATE:20240230T000000Z"] },
      "spec.calendar.bad.exclusionDates[0]",
    ],
    [
      { schedule: "* * * * *", persistence: { catchup: { enabled: true, maxDuration: "soon" } } },
      'spec.calendar.bad.persistence.catchup.maxDuration: time: invalid duration "soon"',
    ],
  ] as Array<[CalendarEventSpec, string]>)("%j", async (spec, message) => {
    // The entry is refused with a clear error; the EventSource's other entries keep running.
    expect(() => compileCalendarSpec(spec, "spec.calendar.bad")).toThrow(ConfigError);
    expect(() => compileCalendarSpec(spec, "spec.calendar.bad")).toThrow(message);
    const h = harness("2024-05-15T11:59:00Z");
    const running = await start(h, { bad: spec, good: { interval: "10s" } });
    const error = h.logs.find((l) => l.level === 50);
    expect(error?.msg).toContain("calendar entry bad not started");
    expect(error?.msg).toContain(message);
    await runUntil(h, 1);
    expect(h.emitted.map((e) => e.eventName)).toEqual(["good"]);
    await running.stop();
  });
});

describe("nextOccurrence (pure)", () => {
  it("schedule wins over interval, CRON_TZ is honoured", () => {
    const after = new Date("2024-05-15T10:00:00Z");
    expect(nextOccurrence({ schedule: "0 12 * * *", interval: "1m" }, after)?.toISOString()).toBe(
      "2024-05-15T12:00:00.000Z",
    );
    expect(
      nextOccurrence({ schedule: "CRON_TZ=Asia/Tokyo 0 21 * * *" }, after)?.toISOString(),
    ).toBe("2024-05-15T12:00:00.000Z");
  });

  it("interval steps over an excluded day", () => {
    const next = nextOccurrence(
      { interval: "7h", timezone: "Europe/Zurich", exclusionDates: ["EXDATE:20240516T000000Z"] },
      new Date("2024-05-15T20:00:00.900Z"),
    );
    // 20:00:00 + 7 h = 03:00Z on 16 May (05:00 CEST, excluded); 10:00Z and 17:00Z are 16 May
    // too; 00:00Z on 17 May (02:00 CEST) is the first step on another day.
    expect(next?.toISOString()).toBe("2024-05-17T00:00:00.000Z");
  });

  it("returns undefined for a schedule that never matches", () => {
    expect(
      nextOccurrence({ schedule: "0 0 30 2 *" }, new Date("2024-01-01T00:00:00Z")),
    ).toBeUndefined();
  });
});

describe("helpers", () => {
  it("formats Go's monotonic suffix with nine decimals", () => {
    expect(formatMonotonicSuffix(683_567.066901)).toBe(" m=+683.567066901");
    expect(formatMonotonicSuffix(0)).toBe(" m=+0.000000000");
  });

  it("reads back stored event times, with or without m= and in any zone", () => {
    expect(
      iso(
        parseStoredEventTime(
          '{"eventTime":"2020-10-19 22:50:00.0003192 +0000 UTC m=+683.567066901"}',
        ),
      ),
    ).toBe("2020-10-19T22:50:00.000Z");
    expect(iso(parseStoredEventTime('{"eventTime":"2024-10-27 02:30:00 +0200 CEST"}'))).toBe(
      "2024-10-27T00:30:00.000Z",
    );
    expect(() => parseStoredEventTime('{"eventTime":"yesterday"}')).toThrow("not Go time text");
  });

  it("omits empty metadata like Go's omitempty", () => {
    expect(buildCalendarPayload("t", {})).toBe('{"eventTime":"t"}');
  });

  describe("FileTickStore", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "sensorbus-ticks-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("round-trips values, creates its directory and keeps file names safe", async () => {
      const store = new FileTickStore(join(dir, "state"));
      expect(await store.get("ns.es.a")).toBeUndefined();
      await store.put("ns.es.a/b ü", "one");
      await store.put("ns.es.a/b ü", "two");
      expect(await store.get("ns.es.a/b ü")).toBe("two");
      expect(await readdir(join(dir, "state"))).toEqual(["ns.es.a%2Fb%20%C3%BC.json"]);
      expect(store.pathFor("..")).toBe(join(dir, "state", "%2E..json"));
    });

    it("defaults to SENSORBUS_STATE_DIR, else .sensorbus-state in the working directory", () => {
      expect(defaultStateDir({ SENSORBUS_STATE_DIR: "/var/lib/sb" }, "/srv")).toBe("/var/lib/sb");
      expect(defaultStateDir({ SENSORBUS_STATE_DIR: "rel" }, "/srv")).toBe("/srv/rel");
      expect(defaultStateDir({}, "/srv")).toBe("/srv/.sensorbus-state");
    });
  });
});
