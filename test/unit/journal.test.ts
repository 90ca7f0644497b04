import { describe, expect, it } from "vitest";
import { formatExplanation } from "../../src/app/explain.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { createBus } from "../../src/eventbus/index.js";
import type { RecordLog } from "../../src/eventbus/types.js";
import {
  JOURNAL_LIMITS,
  JOURNAL_STREAM,
  Journal,
  journalPartition,
  outcomeOf,
  readJournal,
  summarizeRendered,
} from "../../src/observability/journal.js";
import { silentLogger } from "../../src/observability/logger.js";

const ev = (id: string, extra: Partial<CloudEvent> = {}): CloudEvent => ({
  specversion: "1.0",
  id,
  source: "webhook",
  subject: "example",
  type: "webhook",
  time: "2026-01-02T03:04:05Z",
  datacontenttype: "application/json",
  data: '{"body":{}}',
  ...extra,
});

function clock(start = Date.parse("2026-01-02T03:04:05Z")) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("Journal", () => {
  it("records publish, rejection (with the reason) and firing (with the rendered payload) per event", () => {
    const c = clock();
    const j = new Journal({ now: c.now });
    const obs = j.observer();
    j.onEmit({
      eventSource: "webhook",
      eventName: "example",
      id: "e1",
      outcome: "published",
      ms: 1,
    });
    const e1 = ev("e1", { extensions: { traceparent: "00-aa-bb-01", correlationid: "run-1" } });
    obs.rejected?.({
      sensor: "s",
      trigger: "deploy",
      dependency: "build",
      event: e1,
      reason: "data filter: 'body.action' is \"started\"",
    });
    c.advance(5);
    obs.fired?.({
      sensor: "s",
      trigger: "notify",
      events: new Map([["build", e1]]),
      ms: 12.345,
      summary: "POST http://x/hook -> 200",
      rendered: {
        kind: "http",
        payload: { correlation_id: "run-1" },
        request: {
          method: "POST",
          url: "http://x/hook",
          headers: { Authorization: "Bearer s3cret", "Content-Type": "application/json" },
        },
      },
    });
    const got = j.get("e1")!;
    expect(got).toMatchObject({
      id: "e1",
      source: "webhook",
      subject: "example",
      time: "2026-01-02T03:04:05Z",
      traceparent: "00-aa-bb-01",
      correlationId: "run-1",
    });
    expect(got.entries.map((e) => e.kind)).toEqual(["published", "rejected", "fired"]);
    const fired = got.entries[2]!;
    expect(fired).toMatchObject({
      kind: "fired",
      at: "2026-01-02T03:04:05.005Z",
      dependencies: { build: "e1" },
      ms: 12.3,
      rendered: { kind: "http", payload: { correlation_id: "run-1" } },
    });
    if (fired.kind !== "fired") throw new Error("unreachable");
    expect(fired.rendered?.request?.headers).toEqual({
      Authorization: "[redacted]",
      "Content-Type": "application/json",
    });
    expect(outcomeOf(got)).toBe("fired");
    const text = formatExplanation(got);
    expect(text).toContain("event e1 (source webhook, event example)");
    expect(text).toContain("published by EventSource webhook/example");
    expect(text).toContain("reason: data filter: 'body.action' is \"started\"");
    expect(text).toContain("dependencies matched: build=e1");
    expect(text).toContain('http payload: {"correlation_id":"run-1"}');
    expect(text.trimEnd().split("\n").at(-1)).toBe("outcome: fired");
  });

  it("derives outcomes and summaries: rejected, failed, filtered, accepted", () => {
    const j = new Journal();
    const obs = j.observer();
    obs.rejected?.({ sensor: "s", trigger: "t", dependency: "d", event: ev("r"), reason: "no" });
    obs.failed?.({
      sensor: "s",
      trigger: "t",
      events: new Map([["d", ev("f")]]),
      ms: 3,
      error: "HTTP 500",
      final: false,
    });
    expect(outcomeOf(j.get("f")!)).toBe("accepted");
    obs.failed?.({
      sensor: "s",
      trigger: "t",
      events: new Map([["d", ev("f")]]),
      ms: 3,
      error: "HTTP 500",
      final: true,
    });
    j.onEmit({ eventSource: "w", eventName: "x", id: "x", outcome: "filtered", ms: 0 });
    const recent = j.recent();
    expect(recent.map((s) => [s.id, s.outcome, s.detail])).toEqual([
      ["x", "filtered", ""],
      ["f", "failed", "HTTP 500"],
      ["r", "rejected", "d: no"],
    ]);
    expect(j.recent(1)).toHaveLength(1);
  });

  it("records a stored dependency event replaced by a newer one, and explains it", () => {
    const j = new Journal({ now: clock().now });
    j.observer().stored?.({ sensor: "s", trigger: "t", dependency: "a", event: ev("old") });
    expect(outcomeOf(j.get("old")!)).toBe("accepted");
    j.observer().replaced?.({
      sensor: "s",
      trigger: "t",
      dependency: "a",
      event: ev("old"),
      by: ev("new"),
    });
    const old = j.get("old")!;
    expect(outcomeOf(old)).toBe("replaced");
    expect(j.recent().map((s) => [s.id, s.outcome, s.detail])).toEqual([
      ["old", "replaced", "a: replaced by new"],
    ]);
    expect(formatExplanation(old)).toContain(
      "stored    sensor s, trigger t, dependency a: waiting for the rest of the condition\n" +
        "  2026-01-02T03:04:05.000Z  replaced  sensor s, trigger t, dependency a: by newer event new before the condition held",
    );
    // Fired later after all (a redelivery, another trigger): fired wins.
    j.observer().fired?.({
      sensor: "s",
      trigger: "u",
      events: new Map([["a", ev("old")]]),
      ms: 1,
      summary: "ok",
    });
    expect(outcomeOf(j.get("old")!)).toBe("fired");
  });

  it("keeps a large rendered payload as its first 4 KiB of JSON", () => {
    const big = { data: "x".repeat(10_000) };
    const s = summarizeRendered({ kind: "k8s", payload: big });
    expect(s.payload).toBeUndefined();
    expect(s.payloadText).toBe(`${JSON.stringify(big).slice(0, 4096)}…`);
    expect(summarizeRendered({ kind: "log", payload: { a: 1 } })).toEqual({
      kind: "log",
      payload: { a: 1 },
    });
  });

  it("keeps at most `capacity` events, dropping the oldest", () => {
    const j = new Journal({ capacity: 3 });
    for (const id of ["a", "b", "c", "d"])
      j.onEmit({ eventSource: "w", eventName: "x", id, outcome: "published", ms: 0 });
    expect(j.size).toBe(3);
    expect(j.get("a")).toBeUndefined();
    expect(j.recent().map((s) => s.id)).toEqual(["d", "c", "b"]);
  });

  it("counts per trigger: rate over the last minute, failing after an error, idle before firing", () => {
    const c = clock();
    const j = new Journal({ now: c.now });
    const obs = j.observer();
    const events = new Map([["d", ev("1")]]);
    obs.rejected?.({ sensor: "s", trigger: "quiet", dependency: "d", event: ev("0"), reason: "x" });
    obs.fired?.({ sensor: "s", trigger: "t", events, ms: 1, summary: "ok" });
    c.advance(61_000);
    obs.fired?.({ sensor: "s", trigger: "t", events, ms: 1, summary: "ok" });
    obs.fired?.({ sensor: "s", trigger: "t", events, ms: 1, summary: "ok" });
    expect(j.triggers().find((t) => t.trigger === "t")).toMatchObject({
      fired: 3,
      perMinute: 2,
      status: "ok",
    });
    expect(j.triggers().find((t) => t.trigger === "quiet")).toMatchObject({
      rejected: 1,
      status: "idle",
    });
    c.advance(1);
    obs.failed?.({ sensor: "s", trigger: "t", events, ms: 1, error: "boom", final: true });
    expect(j.triggers().find((t) => t.trigger === "t")).toMatchObject({
      failed: 1,
      lastError: "boom",
      status: "failing",
    });
  });

  it("counts the per-minute rate over the latest 10,000 firings, across the trimming of older ones", () => {
    const c = clock();
    const j = new Journal({ now: c.now, capacity: 10 });
    const obs = j.observer();
    const events = new Map([["d", ev("1")]]);
    const rate = () => j.triggers().find((t) => t.trigger === "t")?.perMinute;
    for (let i = 0; i < 25_000; i++) {
      obs.fired?.({ sensor: "s", trigger: "t", events, ms: 1, summary: "ok" });
      if (i === 9_999 || i === 19_998 || i === 19_999) expect(rate()).toBe(10_000);
    }
    expect(rate()).toBe(10_000);
    c.advance(60_000);
    obs.fired?.({ sensor: "s", trigger: "t", events, ms: 1, summary: "ok" });
    expect(rate()).toBe(1);
    expect(j.triggers().find((t) => t.trigger === "t")?.fired).toBe(25_001);
  });

  it("mirrors every event into the record log; entries written by two journals merge by id", async () => {
    const bus = await createBus(undefined, { log: silentLogger() });
    try {
      const records = await bus.recordLog("journal-test", JOURNAL_LIMITS);
      const j = new Journal({ records });
      const odd = "ce/with spaces:1";
      j.onEmit({ eventSource: "w", eventName: "x", id: odd, outcome: "published", ms: 0 });
      j.observer().rejected?.({
        sensor: "s",
        trigger: "t",
        dependency: "d",
        event: ev(odd),
        reason: "nope",
      });
      await j.flush();
      const other = new Journal({ records });
      other.observer().rejected?.({
        sensor: "s2",
        trigger: "t",
        dependency: "d",
        event: ev(odd),
        reason: "also nope",
      });
      await other.flush();
      const stored = await readJournal(records, odd);
      expect(stored?.entries.map((e) => e.kind)).toEqual(["published", "rejected", "rejected"]);
      expect(stored?.entries.map((e) => (e.kind === "rejected" ? e.sensor : "-"))).toEqual([
        "-",
        "s",
        "s2",
      ]);
      expect(stored?.source).toBe("w");
      expect(stored?.time).toBe("2026-01-02T03:04:05Z");
      expect(await readJournal(records, "unknown")).toBeUndefined();
      expect(journalPartition(odd)).toMatch(/^[0-9a-f]$/);
      expect(journalPartition(odd)).toBe(journalPartition(odd));
    } finally {
      await bus.close();
    }
  });

  it("writes one record per partition per batch, not one write per event", async () => {
    const bus = await createBus(undefined, { log: silentLogger() });
    try {
      const inner = await bus.recordLog("journal-batch", JOURNAL_LIMITS);
      const appended: string[] = [];
      const records: RecordLog = {
        append: (partition, record) => {
          appended.push(partition);
          return inner.append(partition, record);
        },
        read: (partition) => inner.read(partition),
      };
      const j = new Journal({ records, writeDelayMs: 60_000 });
      const ids = Array.from({ length: 200 }, (_, i) => `e${i}`);
      for (const id of ids) {
        j.onEmit({ eventSource: "w", eventName: "x", id, outcome: "published", ms: 0 });
        j.observer().fired?.({
          sensor: "s",
          trigger: "t",
          events: new Map([["d", ev(id)]]),
          ms: 1,
          summary: `fired ${id}`,
        });
      }
      expect(appended).toEqual([]); // waiting for the write delay
      await j.flush();
      const partitions = new Set(ids.map(journalPartition));
      expect(partitions.size).toBeGreaterThan(8);
      expect(appended.sort()).toEqual([...partitions].sort());
      // A later batch appends; the reader merges both.
      j.observer().rejected?.({
        sensor: "s",
        trigger: "u",
        dependency: "d",
        event: ev("e7"),
        reason: "no",
      });
      await j.flush();
      expect(appended).toHaveLength(partitions.size + 1);
      const stored = await readJournal(inner, "e7");
      expect(stored?.entries.map((e) => e.kind)).toEqual(["published", "fired", "rejected"]);
      expect(stored?.entries[1]).toMatchObject({ summary: "fired e7" });
    } finally {
      await bus.close();
    }
  });

  it("splits a batch past 256 KiB into several records, all readable", async () => {
    const bus = await createBus(undefined, { log: silentLogger() });
    try {
      const records = await bus.recordLog("journal-big", JOURNAL_LIMITS);
      const j = new Journal({ records, writeDelayMs: 60_000 });
      const big = "x".repeat(4000);
      // Ids of one partition, each with a 4 KB rendered payload: about 400 KB in that partition.
      const ids = Array.from({ length: 2000 }, (_, i) => `big-${i}`)
        .filter((id) => journalPartition(id) === "3")
        .slice(0, 100);
      expect(ids).toHaveLength(100);
      for (const id of ids)
        j.observer().fired?.({
          sensor: "s",
          trigger: "t",
          events: new Map([["d", ev(id)]]),
          ms: 1,
          summary: "ok",
          rendered: { kind: "http", payload: { big } },
        });
      // One event whose own entries pass the limit is split too.
      for (let i = 0; i < 80; i++)
        j.observer().fired?.({
          sensor: "s",
          trigger: `t${i}`,
          events: new Map([["d", ev(ids[0]!)]]),
          ms: 1,
          summary: "ok",
          rendered: { kind: "http", payload: { big } },
        });
      await j.flush();
      const stored = await records.read("3");
      expect(stored.length).toBeGreaterThan(2);
      for (const r of stored) expect(r.length).toBeLessThanOrEqual(256 * 1024 + 8 * 1024);
      expect((await readJournal(records, ids[99]!))?.entries).toHaveLength(1);
      expect((await readJournal(records, ids[0]!))?.entries).toHaveLength(81);
    } finally {
      await bus.close();
    }
  });

  it("names the stream, partition and record of a record that is not a journal record", async () => {
    const bus = await createBus(undefined, { log: silentLogger() });
    try {
      const records = await bus.recordLog(JOURNAL_STREAM, JOURNAL_LIMITS);
      await records.append(journalPartition("e1"), "not json");
      await expect(readJournal(records, "e1")).rejects.toThrow(
        new RegExp(
          `stream 'sensorbus-journal', partition ${journalPartition("e1")}, record 1: not a journal record`,
        ),
      );
    } finally {
      await bus.close();
    }
  });
});
