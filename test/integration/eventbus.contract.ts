import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { newEventId, nowRfc3339Nano } from "../../src/cloudevents/event.js";
import { EventBusError } from "../../src/errors.js";
import type { BusMessage, EventBus, Subscription } from "../../src/eventbus/types.js";
import { deferred } from "../support/adapter-harness.js";

/**
 * The conformance suite every EventBus implementation passes (BullMQ's adapter-conformance idea).
 * Each test uses its own event source / event / durable names, so implementations backed by one
 * shared server need no cleanup between tests.
 */

export interface ContractBusOptions {
  /** Messages the bus may hold before publishing fails with SB_ERR_BUS_FULL. */
  maxMsgs?: number;
}

export type BusFactory = (options: ContractBusOptions) => Promise<EventBus>;

const WAIT = { timeout: 10_000, interval: 10 };

function uid(): string {
  return randomBytes(4).toString("hex");
}

function names() {
  const id = uid();
  return { eventSourceName: `es-${id}`, eventName: `ev-${id}`, durable: `group-${id}` };
}

/** A webhook CloudEvent with a fresh id (random `data` unless `over` sets it). */
export function makeEvent(
  source: string,
  subject: string,
  over: Partial<CloudEvent> = {},
): CloudEvent {
  return {
    specversion: "1.0",
    id: newEventId(),
    source,
    subject,
    type: "webhook",
    time: nowRfc3339Nano(),
    datacontenttype: "application/json",
    data: `{"n":${Math.floor(Math.random() * 1e6)}}`,
    ...over,
  };
}

export function runEventBusContract(name: string, factory: BusFactory): void {
  describe(`EventBus contract: ${name}`, () => {
    const opened: EventBus[] = [];
    const subs: Subscription[] = [];

    async function bus(options: ContractBusOptions = {}): Promise<EventBus> {
      const b = await factory(options);
      opened.push(b);
      return b;
    }

    async function collect(
      b: EventBus,
      opts: { eventSourceName: string; eventName: string; durable: string; maxInFlight?: number },
    ): Promise<{ got: BusMessage[]; sub: Subscription }> {
      const got: BusMessage[] = [];
      const sub = await b.subscribe(opts, async (m) => {
        got.push(m);
      });
      subs.push(sub);
      return { got, sub };
    }

    afterEach(async () => {
      await Promise.allSettled(subs.splice(0).map((s) => s.stop()));
      await Promise.allSettled(opened.splice(0).map((b) => b.close()));
    });

    it("states what it keeps beyond the process (capabilities), each a boolean", async () => {
      const b = await bus();
      const caps = b.capabilities;
      expect(Object.keys(caps).sort()).toEqual([
        "durableConsumers",
        "durableDeadLetters",
        "durableKv",
        "journalStream",
      ]);
      for (const v of Object.values(caps)) expect(typeof v).toBe("boolean");
    });

    it("round-trips events keeping attributes and the data bytes", async () => {
      const b = await bus();
      const n = names();
      const { got } = await collect(b, n);
      const json = makeEvent(n.eventSourceName, n.eventName, {
        data: '{ "b" : [1,  2.50, "x"],\n  "a":{"k":"é\\u00e9"} }',
        extensions: {
          correlationid: "corr-1",
          traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        },
      });
      const text = makeEvent(n.eventSourceName, n.eventName, {
        datacontenttype: "text/plain",
        data: "line one\nline two ✓",
      });
      const noData = makeEvent(n.eventSourceName, n.eventName, { data: undefined });
      const results = [];
      for (const e of [json, text, noData]) results.push(await b.publish(e));
      expect(results.map((r) => r.duplicate)).toEqual([false, false, false]);
      expect(results[1]!.seq).toBeGreaterThan(results[0]!.seq);

      await vi.waitFor(() => expect(got).toHaveLength(3), WAIT);
      expect(got.map((m) => m.event)).toEqual([json, text, noData]);
      expect(got.map((m) => m.seq)).toEqual(results.map((r) => r.seq));
      expect(got.map((m) => m.deliveryCount)).toEqual([1, 1, 1]);
      for (const m of got)
        expect(m.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    });

    it("drops a repeated event id (Nats-Msg-Id) and reports it as duplicate", async () => {
      const b = await bus();
      const n = names();
      const { got } = await collect(b, n);
      const e = makeEvent(n.eventSourceName, n.eventName);
      const first = await b.publish(e);
      const again = await b.publish({ ...e, data: '{"other":true}' });
      expect(first.duplicate).toBe(false);
      expect(again).toEqual({ seq: first.seq, duplicate: true });
      const marker = makeEvent(n.eventSourceName, n.eventName);
      await b.publish(marker);
      await vi.waitFor(() => expect(got.map((m) => m.event.id)).toContain(marker.id), WAIT);
      expect(got.map((m) => m.event.id)).toEqual([e.id, marker.id]);
      expect(got[0]!.event.data).toBe(e.data);
    });

    it("scopes the dedupe key to the EventSource and event name (issue 19)", async () => {
      const b = await bus();
      const open = names();
      const authed = names();
      const { got } = await collect(b, authed);
      const shared = `shared-${uid()}`;
      // The same id first on another endpoint (say an unauthenticated one)...
      const elsewhere = await b.publish(
        makeEvent(open.eventSourceName, open.eventName, { id: shared }),
      );
      const otherEvent = await b.publish(
        makeEvent(authed.eventSourceName, open.eventName, { id: shared }),
      );
      // ...does not suppress it here.
      const here = await b.publish(
        makeEvent(authed.eventSourceName, authed.eventName, { id: shared }),
      );
      expect([elsewhere.duplicate, otherEvent.duplicate, here.duplicate]).toEqual([
        false,
        false,
        false,
      ]);
      await vi.waitFor(() => expect(got.map((m) => m.event.id)).toEqual([shared]), WAIT);
      const again = await b.publish(
        makeEvent(authed.eventSourceName, authed.eventName, { id: shared }),
      );
      expect(again).toEqual({ seq: here.seq, duplicate: true });
    });

    it("carries a replay target to the subscriber, outside the CloudEvent; none on plain events", async () => {
      const b = await bus();
      const n = names();
      const { got } = await collect(b, n);
      const plain = makeEvent(n.eventSourceName, n.eventName);
      const replayed = makeEvent(n.eventSourceName, n.eventName);
      await b.publish(plain);
      await b.publish(replayed, { replayFor: { sensor: "s-1", trigger: "wf" } });
      await vi.waitFor(() => expect(got).toHaveLength(2), WAIT);
      expect(got[0]!.replayFor).toBeUndefined();
      expect(got[1]!.replayFor).toEqual({ sensor: "s-1", trigger: "wf" });
      expect(got.map((m) => m.event)).toEqual([plain, replayed]);
    });

    it("only delivers events of the subscribed subject", async () => {
      const b = await bus();
      const n = names();
      const { got } = await collect(b, n);
      const other = makeEvent(n.eventSourceName, `${n.eventName}-other`);
      const mine = makeEvent(n.eventSourceName, n.eventName);
      await b.publish(other);
      await b.publish(mine);
      await vi.waitFor(() => expect(got).toHaveLength(1), WAIT);
      expect(got[0]!.event.id).toBe(mine.id);
    });

    it("resumes a stopped durable with the events published while it was stopped", async () => {
      const b = await bus();
      const n = names();
      const first = await collect(b, n);
      const a = makeEvent(n.eventSourceName, n.eventName);
      await b.publish(a);
      await vi.waitFor(() => expect(first.got).toHaveLength(1), WAIT);
      await first.sub.stop();

      const later = [
        makeEvent(n.eventSourceName, n.eventName),
        makeEvent(n.eventSourceName, n.eventName),
      ];
      for (const e of later) await b.publish(e);
      await vi.waitFor(async () => expect(await first.sub.pending()).toBe(2), WAIT);

      const second = await collect(b, n);
      await vi.waitFor(() => expect(second.got).toHaveLength(2), WAIT);
      expect(second.got.map((m) => m.event.id)).toEqual(later.map((e) => e.id));
      expect(first.got.map((m) => m.event.id)).toEqual([a.id]);
      await vi.waitFor(async () => expect(await second.sub.pending()).toBe(0), WAIT);
    });

    it("starts a new durable at new events only", async () => {
      const b = await bus();
      const n = names();
      const old = makeEvent(n.eventSourceName, n.eventName);
      await b.publish(old);
      const { got } = await collect(b, n);
      const fresh = makeEvent(n.eventSourceName, n.eventName);
      await b.publish(fresh);
      await vi.waitFor(() => expect(got).toHaveLength(1), WAIT);
      expect(got[0]!.event.id).toBe(fresh.id);
    });

    it("forgets a deleted durable; deleting a missing durable is not an error", async () => {
      const b = await bus();
      const n = names();
      const first = await collect(b, n);
      await first.sub.stop();
      await b.deleteDurable(n.durable);
      await b.deleteDurable(n.durable);
      await b.deleteDurable(`never-${uid()}`);
      const whileDeleted = makeEvent(n.eventSourceName, n.eventName);
      await b.publish(whileDeleted);
      const second = await collect(b, n);
      const after = makeEvent(n.eventSourceName, n.eventName);
      await b.publish(after);
      await vi.waitFor(() => expect(second.got).toHaveLength(1), WAIT);
      expect(second.got[0]!.event.id).toBe(after.id);
    });

    it("redelivers a message whose handler threw, with deliveryCount 2", async () => {
      const b = await bus();
      const n = names();
      const seen: Array<[string, number]> = [];
      const sub = await b.subscribe({ ...n, nakDelayMs: 50 }, async (m) => {
        seen.push([m.event.id, m.deliveryCount]);
        if (m.deliveryCount === 1) throw new Error("handler failed");
      });
      subs.push(sub);
      const e = makeEvent(n.eventSourceName, n.eventName);
      const { seq } = await b.publish(e);
      await vi.waitFor(() => expect(seen).toHaveLength(2), WAIT);
      expect(seen).toEqual([
        [e.id, 1],
        [e.id, 2],
      ]);
      await vi.waitFor(async () => expect(await sub.pending()).toBe(0), WAIT);
      expect(seq).toBeGreaterThan(0);
    });

    it("keeps publish order with maxInFlight 1, one handler at a time", async () => {
      const b = await bus();
      const n = names();
      const order: string[] = [];
      let active = 0;
      let maxActive = 0;
      const sub = await b.subscribe({ ...n, maxInFlight: 1 }, async (m) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setImmediate(r));
        order.push(m.event.id);
        active--;
      });
      subs.push(sub);
      const events = Array.from({ length: 8 }, () => makeEvent(n.eventSourceName, n.eventName));
      for (const e of events) await b.publish(e);
      await vi.waitFor(() => expect(order).toHaveLength(events.length), WAIT);
      expect(order).toEqual(events.map((e) => e.id));
      expect(maxActive).toBe(1);
    });

    it("runs up to maxInFlight handlers concurrently", async () => {
      const b = await bus();
      const n = names();
      const release = deferred();
      let active = 0;
      let maxActive = 0;
      const done: string[] = [];
      const sub = await b.subscribe({ ...n, maxInFlight: 3 }, async (m) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await release.promise;
        active--;
        done.push(m.event.id);
      });
      subs.push(sub);
      const events = Array.from({ length: 4 }, () => makeEvent(n.eventSourceName, n.eventName));
      for (const e of events) await b.publish(e);
      await vi.waitFor(() => expect(active).toBe(3), WAIT);
      release.resolve();
      await vi.waitFor(() => expect(done).toHaveLength(4), WAIT);
      expect(maxActive).toBe(3);
      expect([...done].sort()).toEqual(events.map((e) => e.id).sort());
    });

    it("stores key-value entries with revisions and compare-and-set", async () => {
      const b = await bus();
      const kv = await b.kv(`sensor-${uid()}`);
      expect(await kv.get("Triggers")).toBeUndefined();
      const r1 = await kv.put("Triggers", '["t1"]');
      expect(await kv.get("Triggers")).toEqual({ key: "Triggers", value: '["t1"]', revision: r1 });

      const conflict = await kv.create("Triggers", "[]").catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(EventBusError);
      expect((conflict as EventBusError).code).toBe("SB_ERR_KV_CONFLICT");

      const r2 = await kv.update("Triggers", '["t1","t2"]', r1);
      expect(r2).toBeGreaterThan(r1);
      const stale = await kv.update("Triggers", "[]", r1).catch((e: unknown) => e);
      expect((stale as EventBusError).code).toBe("SB_ERR_KV_CONFLICT");
      expect((await kv.get("Triggers"))?.value).toBe('["t1","t2"]');

      const r3 = await kv.create("t1/dep-a", '{"StreamSeq":1}');
      expect(r3).toBeGreaterThan(r2);
      await kv.put("t1/Expression", "dep-a && dep-b");
      expect((await kv.keys("t1/")).sort()).toEqual(["t1/Expression", "t1/dep-a"]);
      expect((await kv.keys()).sort()).toEqual(["Triggers", "t1/Expression", "t1/dep-a"]);

      await kv.delete("t1/dep-a");
      expect(await kv.get("t1/dep-a")).toBeUndefined();
      expect(await kv.keys("t1/")).toEqual(["t1/Expression"]);
      const recreated = await kv.create("t1/dep-a", '{"StreamSeq":2}');
      expect((await kv.get("t1/dep-a"))?.revision).toBe(recreated);

      const other = await b.kv(`sensor-${uid()}`);
      expect(await other.keys()).toEqual([]);
    });

    it("purges what deleted keys left behind, by prefix, keeping live and re-created keys usable", async () => {
      const b = await bus();
      const kv = await b.kv(`sensor-${uid()}`);
      const ra = await kv.create("t/k/a", "a");
      await kv.create("t/k/b", "b");
      await kv.create("t/k/c", "c");
      await kv.create("u/k/d", "d");
      await kv.delete("t/k/a", ra);
      await kv.delete("t/k/b");
      await kv.delete("u/k/d");
      await kv.create("t/k/b", "b again");
      await kv.purgeDeleted("t/", Date.now() + 1);
      expect((await kv.keys()).sort()).toEqual(["t/k/b", "t/k/c"]);
      expect((await kv.get("t/k/b"))?.value).toBe("b again");
      // A purged key reads as absent and can be created again; compare-and-set still holds.
      expect(await kv.get("t/k/a")).toBeUndefined();
      const again = await kv.create("t/k/a", "a2");
      const stale = await kv.update("t/k/a", "x", ra).catch((e: unknown) => e);
      expect((stale as EventBusError).code).toBe("SB_ERR_KV_CONFLICT");
      expect((await kv.get("t/k/a"))?.revision).toBe(again);
    });

    it("deletes a key only at the expected revision when one is given; then it can be created again", async () => {
      const b = await bus();
      const kv = await b.kv(`sensor-${uid()}`);
      const r1 = await kv.create("t/a", "1");
      const r2 = await kv.update("t/a", "2", r1);
      const stale = await kv.delete("t/a", r1).catch((e: unknown) => e);
      expect((stale as EventBusError).code).toBe("SB_ERR_KV_CONFLICT");
      expect((await kv.get("t/a"))?.value).toBe("2");
      await kv.delete("t/a", r2);
      expect(await kv.get("t/a")).toBeUndefined();
      expect(await kv.keys("t/")).toEqual([]);
      const again = await kv.delete("t/a", r2).catch((e: unknown) => e);
      expect((again as EventBusError).code).toBe("SB_ERR_KV_CONFLICT");
      const r3 = await kv.create("t/a", "3");
      expect((await kv.get("t/a"))?.revision).toBe(r3);
    });

    it("appends records per partition, reads one partition in order, drops the oldest past maxBytes", async () => {
      const b = await bus();
      const name = `records-${uid()}`;
      const log = await b.recordLog(name, { maxAgeMs: 3_600_000, maxBytes: 8 * 1024 });
      expect(await log.read("a")).toEqual([]);
      await log.append("a", "a1");
      await log.append("b", "b1");
      await log.append("a", '{"x":"a2"}');
      expect(await log.read("a")).toEqual(["a1", '{"x":"a2"}']);
      expect(await log.read("b")).toEqual(["b1"]);
      // The same log opened again sees the same records.
      expect(
        await (await b.recordLog(name, { maxAgeMs: 3_600_000, maxBytes: 8 * 1024 })).read("b"),
      ).toEqual(["b1"]);
      const big = Array.from(
        { length: 40 },
        (_, i) => `${String(i).padStart(2, "0")}${"x".repeat(500)}`,
      );
      for (const r of big) await log.append("c", r);
      const kept = await log.read("c");
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(20);
      expect(kept).toEqual(big.slice(big.length - kept.length));
      expect(await log.read("a")).toEqual([]); // older than every "c" record: dropped first
      const bad = await log.append("a.b", "x").catch((e: unknown) => e);
      expect(String(bad)).toMatch(/record log partition 'a.b' may only contain/);
      const badName = await b
        .recordLog("no.dots", { maxAgeMs: 1, maxBytes: 1 })
        .catch((e: unknown) => e);
      expect(String(badName)).toMatch(/record log name 'no.dots'/);
    });

    it("stores, lists and removes dead letters with their events as structured CloudEvents", async () => {
      const b = await bus();
      const sensor = `sensor.${uid()}`; // a '.' must not break the dead-letter subject
      const a = makeEvent("es", "ev", { data: '{ "spaced" :  [1, 2.50] }' });
      const c = makeEvent("es", "other", { datacontenttype: "text/plain", data: "plain text" });
      const first = {
        sensor,
        trigger: "start wf",
        error: "HTTP 503 from http://x",
        events: { "dep-a": a, "dep-c": c },
        failedAt: "2026-01-02T03:04:05.000Z",
        attempts: 3,
      };
      const s1 = await b.deadLetter(first);
      const s2 = await b.deadLetter({ ...first, trigger: "other", events: { "dep-a": a } });
      expect(s2).toBeGreaterThan(s1);

      const mine = (await b.listDeadLetters()).filter((d) => d.sensor === sensor);
      expect(mine.map((d) => [d.seq, d.trigger])).toEqual([
        [s1, "start wf"],
        [s2, "other"],
      ]);
      expect(mine[0]).toEqual({ ...first, seq: s1 });
      expect(mine[0]!.events["dep-a"]!.data).toBe('{ "spaced" :  [1, 2.50] }');

      expect(await b.removeDeadLetter(s1)).toBe(true);
      expect(await b.removeDeadLetter(s1)).toBe(false);
      const left = (await b.listDeadLetters()).filter((d) => d.sensor === sensor);
      expect(left.map((d) => d.seq)).toEqual([s2]);
      expect(await b.removeDeadLetter(s2)).toBe(true);
    });

    it("rejects publishing with SB_ERR_BUS_FULL when the bus holds maxMsgs undelivered events", async () => {
      const b = await bus({ maxMsgs: 3 });
      const n = names();
      const release = deferred();
      const sub = await b.subscribe(n, () => release.promise);
      subs.push(sub);
      for (let i = 0; i < 3; i++) await b.publish(makeEvent(n.eventSourceName, n.eventName));
      const started = Date.now();
      const err = await b
        .publish(makeEvent(n.eventSourceName, n.eventName))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EventBusError);
      expect((err as EventBusError).code).toBe("SB_ERR_BUS_FULL");
      expect((err as EventBusError).retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
      release.resolve();
    });

    it("counts only unprocessed events against maxMsgs: it keeps accepting after many more were acknowledged", async () => {
      const b = await bus({ maxMsgs: 3 });
      const n = names();
      const got: string[] = [];
      const sub = await b.subscribe(n, async (m) => {
        got.push(m.event.id);
      });
      subs.push(sub);
      for (let i = 0; i < 10; i++) {
        const e = makeEvent(n.eventSourceName, n.eventName);
        await b.publish(e);
        await vi.waitFor(() => expect(got).toContain(e.id), WAIT);
        // Acknowledged: the bus holds nothing for this subscription any more.
        await vi.waitFor(async () => expect(await sub.pending()).toBe(0), WAIT);
      }
      expect(got).toHaveLength(10);
    });

    it("rejects publish and subscribe on a closed bus", async () => {
      const b = await bus();
      const n = names();
      expect(b.connected).toBe(true);
      await b.close();
      expect(b.connected).toBe(false);
      const err = await b
        .publish(makeEvent(n.eventSourceName, n.eventName))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EventBusError);
      expect((err as EventBusError).code).toBe("SB_ERR_BUS_CLOSED");
      const subErr = await b.subscribe(n, async () => {}).catch((e: unknown) => e);
      expect((subErr as EventBusError).code).toBe("SB_ERR_BUS_CLOSED");
      await b.close();
    });

    it("refuses event names that are not single subject tokens", async () => {
      const b = await bus();
      const err = await b.publish(makeEvent("bad.source", "ev")).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe("SB_ERR_CONFIG_INVALID");
      expect(String((err as Error).message)).toContain("bad.source");
    });
  });
}
