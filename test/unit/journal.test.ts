import { describe, expect, it } from "vitest";
import { formatExplanation } from "../../src/app/explain.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { createBus } from "../../src/eventbus/index.js";
import type { KeyValueStore } from "../../src/eventbus/types.js";
import {
  Journal,
  journalKey,
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

  it("mirrors every event into a KV store, appending entries, readable by id", async () => {
    const bus = await createBus(undefined, { log: silentLogger() });
    try {
      const store = await bus.kv("journal-test");
      const j = new Journal({ store });
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
      const other = new Journal({ store });
      other.observer().rejected?.({
        sensor: "s2",
        trigger: "t",
        dependency: "d",
        event: ev(odd),
        reason: "also nope",
      });
      await other.flush();
      const stored = await readJournal(store, odd);
      expect(stored?.entries.map((e) => e.kind)).toEqual(["published", "rejected", "rejected"]);
      expect(stored?.source).toBe("w");
      expect(await readJournal(store, "unknown")).toBeUndefined();
      expect(journalKey(odd)).toMatch(/^b64\.[A-Za-z0-9_-]+$/);
      expect(journalKey("0f3a-b_c")).toBe("0f3a-b_c");
    } finally {
      await bus.close();
    }
  });
  it("writes an event's entries to the KV in one create, read-modify-write only for later batches", async () => {
    const bus = await createBus(undefined, { log: silentLogger() });
    try {
      const inner = await bus.kv("journal-batch");
      const calls: string[] = [];
      const counted =
        <A extends unknown[], R>(name: string, fn: (...a: A) => R) =>
        (...a: A): R => {
          calls.push(name);
          return fn(...a);
        };
      const store: KeyValueStore = {
        get: counted("get", (k: string) => inner.get(k)),
        put: counted("put", (k: string, v: string) => inner.put(k, v)),
        create: counted("create", (k: string, v: string) => inner.create(k, v)),
        update: counted("update", (k: string, v: string, r: number) => inner.update(k, v, r)),
        delete: (k, r) => inner.delete(k, r),
        keys: (p) => inner.keys(p),
      };
      const j = new Journal({ store, writeDelayMs: 60_000 });
      j.onEmit({ eventSource: "w", eventName: "x", id: "e1", outcome: "published", ms: 0 });
      j.observer().fired?.({
        sensor: "s",
        trigger: "t",
        events: new Map([["d", ev("e1")]]),
        ms: 1,
        summary: "ok",
      });
      expect(calls).toEqual([]); // waiting for the write delay
      await j.flush();
      expect(calls).toEqual(["create"]);
      j.observer().rejected?.({
        sensor: "s",
        trigger: "u",
        dependency: "d",
        event: ev("e1"),
        reason: "no",
      });
      await j.flush();
      expect(calls).toEqual(["create", "get", "update"]);
      const stored = await readJournal(inner, "e1");
      expect(stored?.entries.map((e) => e.kind)).toEqual(["published", "fired", "rejected"]);
    } finally {
      await bus.close();
    }
  });
});
