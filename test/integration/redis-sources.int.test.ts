import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventSourceRunner } from "../../src/app/eventsource-runner.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import type { EventSourceManifest, Loaded } from "../../src/config/types.js";
import { EventBusError } from "../../src/errors.js";
import { MemoryBus } from "../../src/eventbus/memory.js";
import { redisAdapter } from "../../src/eventsources/redis/runtime.js";
import type { RedisEventSpec } from "../../src/eventsources/redis/schema.js";
import { connectRedis, type RedisConnection } from "../../src/eventsources/redis-shared/client.js";
import {
  CLAIM_MIN_IDLE_MS,
  CONSUMER_NAME,
  DEFAULT_CONSUMER_GROUP,
  redisStreamAdapter,
  redisStreamEventId,
} from "../../src/eventsources/redis-stream/runtime.js";
import type { RedisStreamEventSpec } from "../../src/eventsources/redis-stream/schema.js";
import type {
  EmitInput,
  EventSourceAdapter,
  RunningAdapter,
} from "../../src/eventsources/types.js";
import {
  adapterHarness,
  deferred,
  type Harness,
  instantClock,
} from "../support/adapter-harness.js";
import { logSink } from "../support/log-sink.js";
import { waitUntil as waitFor } from "../support/nats-server.js";

/** Real Redis on 127.0.0.1:6379; every test uses its own keys and deletes them. */
const HOST = "127.0.0.1:6379";

const harness = (behaviour?: (input: EmitInput, n: number) => Promise<void>): Harness =>
  adapterHarness({ ...(behaviour ? { behaviour } : {}), eventSourceName: "redis-es" });

/** nats-server.ts's waitUntil with this file's deadline (20_000 ms unless given). */
const waitUntil = (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) =>
  waitFor(cond, what, timeoutMs);

let side: RedisConnection;
const keys: string[] = [];
function key(prefix: string): string {
  const k = `sb-test-${prefix}-${randomUUID()}`;
  keys.push(k);
  return k;
}
async function pendingCount(stream: string, group = DEFAULT_CONSUMER_GROUP): Promise<number> {
  const reply = (await side.command(["XPENDING", stream, group])) as [number, ...unknown[]];
  return Number(reply[0]);
}
/** Waits until the adapter created its group on the stream (it does so after start() returned). */
async function groupReady(stream: string, group = DEFAULT_CONSUMER_GROUP): Promise<void> {
  await waitUntil(async () => {
    const groups = (await side.command(["XINFO", "GROUPS", stream]).catch(() => [])) as unknown[][];
    return groups.some((g) => g[1] === group);
  }, `group ${group} on ${stream}`);
}
/** Waits until `n` subscribers listen on the channel. */
async function subscribed(channel: string, n = 1): Promise<void> {
  await waitUntil(async () => {
    const reply = (await side.command(["PUBSUB", "NUMSUB", channel])) as [string, number];
    return Number(reply[1]) >= n;
  }, `a subscriber on ${channel}`);
}
async function xadd(stream: string, ...fields: string[]): Promise<string> {
  return String(await side.command(["XADD", stream, "*", ...fields]));
}

beforeAll(async () => {
  side = await connectRedis({ hostAddress: HOST, log: logSink().log, at: "test" });
});
afterAll(async () => {
  if (keys.length > 0) await side.command(["DEL", ...keys]);
  side.destroy();
});

function startStream(
  h: Harness,
  spec: RedisStreamEventSpec,
  eventName = "ev",
): Promise<RunningAdapter> {
  return redisStreamAdapter.start([{ eventName, spec }], h.ctx);
}

describe("redisStream EventSource against Redis", () => {
  it("creates the missing group (stream too) and emits Argo's payload, acked after the emit", async () => {
    const stream = key("payload");
    expect(await side.command(["EXISTS", stream])).toBe(0);
    const h = harness();
    const running = await startStream(h, {
      hostAddress: HOST,
      streams: [stream],
      metadata: { team: "pay<" },
    });
    await groupReady(stream);
    const groups = (await side.command(["XINFO", "GROUPS", stream])) as unknown[][];
    expect(groups).toHaveLength(1);
    expect(groups[0]?.[1]).toBe(DEFAULT_CONSUMER_GROUP);
    const id = await xadd(stream, "state", "paid", "amount", "42");
    await waitUntil(() => h.emitted.length >= 1, "the event");
    await running.stop();
    expect(h.emitted[0]?.data).toBe(
      `{"stream":"${stream}","message_id":"${id}","values":{"amount":"42","state":"paid"},"metadata":{"team":"pay\\u003c"}}`,
    );
    expect(h.emitted[0]?.id).toBe(redisStreamEventId(DEFAULT_CONSUMER_GROUP, stream, id));
    expect(await pendingCount(stream)).toBe(0);
  });

  it("uses the given consumerGroup and keeps a group that exists", async () => {
    const stream = key("group");
    await side.command(["XGROUP", "CREATE", stream, "mine", "$", "MKSTREAM"]);
    const before = await xadd(stream, "k", "before-start");
    const h = harness();
    const running = await startStream(h, {
      hostAddress: HOST,
      streams: [stream],
      consumerGroup: "mine",
    });
    const id = await xadd(stream, "k", "v");
    await waitUntil(
      () => h.emitted.length >= 2,
      "both entries (the group existed before the first)",
    );
    await running.stop();
    expect(h.emitted.map((e) => JSON.parse(e.data).message_id)).toEqual([before, id]);
    expect(await pendingCount(stream, "mine")).toBe(0);
  });

  it("leaves an entry pending while the emit runs, and redelivers it when the bus refused it", async () => {
    const stream = key("ack");
    const pendingDuringEmit: number[] = [];
    const h = harness(async (input, n) => {
      pendingDuringEmit.push(await pendingCount(stream));
      if (n === 1)
        throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down (injected)", {
          retryable: true,
        });
      void input;
    });
    const running = await startStream(h, { hostAddress: HOST, streams: [stream] });
    await groupReady(stream);
    const id = await xadd(stream, "k", "v");
    await waitUntil(() => h.emitted.length >= 2, "the redelivery");
    await running.stop();
    expect(pendingDuringEmit).toEqual([1, 1]);
    expect(h.emitted.map((e) => e.id)).toEqual([
      redisStreamEventId(DEFAULT_CONSUMER_GROUP, stream, id),
      redisStreamEventId(DEFAULT_CONSUMER_GROUP, stream, id),
    ]);
    expect(await pendingCount(stream)).toBe(0);
    expect(h.logs.lines.some((l) => String(l.msg).includes("entry left pending"))).toBe(true);
  });

  it("claims entries another consumer read and left unacknowledged (XAUTOCLAIM), once idle long enough", async () => {
    const stream = key("claim");
    await side.command(["XGROUP", "CREATE", stream, DEFAULT_CONSUMER_GROUP, "$", "MKSTREAM"]);
    const old = await xadd(stream, "k", "abandoned");
    const fresh = await xadd(stream, "k", "recent");
    // Another consumer (a crashed replica) read both and never acknowledged them.
    await side.command([
      "XREADGROUP",
      "GROUP",
      DEFAULT_CONSUMER_GROUP,
      "crashed-replica",
      "STREAMS",
      stream,
      ">",
    ]);
    // One has been idle past the claim threshold, the other was read just now.
    await side.command([
      "XCLAIM",
      stream,
      DEFAULT_CONSUMER_GROUP,
      "crashed-replica",
      "0",
      old,
      "IDLE",
      String(CLAIM_MIN_IDLE_MS + 1_000),
    ]);
    await side.command([
      "XCLAIM",
      stream,
      DEFAULT_CONSUMER_GROUP,
      "crashed-replica",
      "0",
      fresh,
      "IDLE",
      "0",
    ]);
    const h = harness();
    const running = await startStream(h, { hostAddress: HOST, streams: [stream] });
    await waitUntil(() => h.emitted.length >= 1, "the abandoned entry");
    const next = await xadd(stream, "k", "new");
    await waitUntil(() => h.emitted.length >= 2, "a new entry after the claim");
    await running.stop();
    expect(h.emitted.map((e) => JSON.parse(e.data).message_id)).toEqual([old, next]);
    // The recently read entry still belongs to the other consumer, pending.
    const pending = (await side.command([
      "XPENDING",
      stream,
      DEFAULT_CONSUMER_GROUP,
      "-",
      "+",
      "10",
    ])) as unknown[][];
    expect(pending.map((p) => [p[0], p[1]])).toEqual([[fresh, "crashed-replica"]]);
    expect(
      h.logs.lines.some((l) => String(l.msg).includes("claimed entries another consumer left")),
    ).toBe(true);
  });

  it("fault: a consumer stopped mid-stream without acking; the next start reads the rest, none lost", async () => {
    const stream = key("fault");
    const N = 25;
    const gate = deferred();
    const hanging = deferred();
    // First consumer: stores 7 events, then the 8th never completes (the process "dies" there).
    const first = harness(async (_input, n) => {
      if (n === 8) {
        hanging.resolve();
        await gate.promise;
      }
    });
    // The group exists and holds all N before the consumer starts, so its first read takes 10.
    await side.command(["XGROUP", "CREATE", stream, DEFAULT_CONSUMER_GROUP, "$", "MKSTREAM"]);
    const sent: string[] = [];
    for (let i = 0; i < N; i++) sent.push(await xadd(stream, "n", String(i)));
    const one = await startStream(first, {
      hostAddress: HOST,
      streams: [stream],
      maxMsgCountPerRead: 10,
    });
    await hanging.promise;
    // Kill: the stop signal, then the in-flight publish fails (it never reached the bus).
    first.abort.abort();
    gate.reject(
      new EventBusError("SB_ERR_BUS_UNAVAILABLE", "process killed (injected)", { retryable: true }),
    );
    await one.stop();
    const storedByFirst = first.emitted
      .slice(0, 7)
      .map((e) => JSON.parse(e.data).message_id as string);
    const pendingAfterKill = await pendingCount(stream);

    const second = harness();
    const two = await startStream(second, {
      hostAddress: HOST,
      streams: [stream],
      maxMsgCountPerRead: 10,
    });
    await waitUntil(() => second.emitted.length >= N - 7, "the rest at the second consumer");
    await two.stop();
    const storedBySecond = second.emitted.map((e) => JSON.parse(e.data).message_id as string);
    const delivered = [...storedByFirst, ...storedBySecond];
    const duplicates = delivered.length - new Set(delivered).size;
    console.info(
      `redisStream fault: sent ${N}, acked by the first consumer ${storedByFirst.length}, pending after kill ${pendingAfterKill}, ` +
        `delivered ${new Set(delivered).size}, duplicates ${duplicates}`,
    );
    expect(pendingAfterKill).toBe(3); // entries 8-10 of the first read were handed over, never acked
    expect(new Set(delivered)).toEqual(new Set(sent));
    expect(duplicates).toBe(0);
    expect(storedBySecond.slice(0, 3)).toEqual(sent.slice(7, 10)); // its own pending entries first
    expect(await pendingCount(stream)).toBe(0);
    const info = (await side.command([
      "XINFO",
      "CONSUMERS",
      stream,
      DEFAULT_CONSUMER_GROUP,
    ])) as unknown[][];
    expect(info.map((c) => c[1])).toEqual([CONSUMER_NAME]);
  });
});

/** An EventSourceRunner on a memory bus whose publish can be made to fail. */
async function runnerWith(
  kind: string,
  adapter: EventSourceAdapter<never>,
  entries: Record<string, unknown>,
  failPublish: (n: number) => boolean,
) {
  const bus = new MemoryBus();
  const published: CloudEvent[] = [];
  let calls = 0;
  const original = bus.publish.bind(bus);
  bus.publish = async (event, options) => {
    calls++;
    if (failPublish(calls))
      throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "publish failed (injected)", {
        retryable: true,
      });
    const r = await original(event, options);
    published.push(event);
    return r;
  };
  const l = logSink();
  const loaded: Loaded<EventSourceManifest> = {
    manifest: {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventSource",
      metadata: { name: "redis-es", namespace: "default" },
      spec: { [kind]: entries },
    } as unknown as EventSourceManifest,
    file: "redis-es.yaml",
    doc: 0,
  };
  const runner = new EventSourceRunner(loaded, {
    bus,
    adapters: new Map([[kind, adapter as EventSourceAdapter<unknown>]]),
    values: {} as never,
    clock: instantClock,
    log: l.log,
  });
  await runner.start();
  return { runner, bus, published, logs: l, calls: () => calls };
}

describe("redisStream through the runner and the memory bus", () => {
  it("applies filter.expression, and a failed bus publish leaves the entry pending until stored", async () => {
    const stream = key("runner");
    const r = await runnerWith(
      "redisStream",
      redisStreamAdapter as EventSourceAdapter<never>,
      {
        orders: {
          hostAddress: HOST,
          streams: [stream],
          filter: { expression: 'values.kind == "keep"' },
        },
      },
      (n) => n === 1,
    );
    await groupReady(stream);
    const keep = await xadd(stream, "kind", "keep");
    const drop = await xadd(stream, "kind", "drop");
    const keep2 = await xadd(stream, "kind", "keep");
    await waitUntil(() => r.published.length >= 2, "two kept events");
    await waitUntil(async () => (await pendingCount(stream)) === 0, "every entry acked");
    await r.runner.stop();
    await r.bus.close();
    expect(r.calls()).toBe(3); // keep (refused), keep (stored), keep2; drop never published
    expect(r.published.map((e) => JSON.parse(String(e.data)).message_id)).toEqual([keep, keep2]);
    expect(r.published[0]?.type).toBe("redisStream");
    void drop;
  });
});

describe("redis (pub/sub) EventSource against Redis", () => {
  function startRedis(h: Harness, spec: RedisEventSpec): Promise<RunningAdapter> {
    return redisAdapter.start([{ eventName: "ev", spec }], h.ctx);
  }

  it("emits Argo's payload per message: channel, empty pattern, body string", async () => {
    const channel = key("chan");
    const h = harness();
    const running = await startRedis(h, {
      hostAddress: HOST,
      channels: [channel],
      metadata: { a: "b" },
    });
    await subscribed(channel);
    await side.command(["PUBLISH", channel, '{"x": 1}']);
    await side.command(["PUBLISH", `${channel}-other`, "not subscribed"]);
    await side.command(["PUBLISH", channel, "second"]);
    await waitUntil(() => h.emitted.length >= 2, "two messages");
    await running.stop();
    expect(h.emitted.map((e) => e.data)).toEqual([
      `{"channel":"${channel}","pattern":"","body":"{\\"x\\": 1}","metadata":{"a":"b"}}`,
      `{"channel":"${channel}","pattern":"","body":"second","metadata":{"a":"b"}}`,
    ]);
  });

  it("jsonBody inserts the JSON; a non-JSON message is dropped with an error log", async () => {
    const channel = key("json");
    const h = harness();
    const running = await startRedis(h, { hostAddress: HOST, channels: [channel], jsonBody: true });
    await subscribed(channel);
    await side.command(["PUBLISH", channel, "not json"]);
    await side.command(["PUBLISH", channel, '{"id": 42}']);
    await waitUntil(() => h.emitted.length >= 1, "the JSON message");
    await running.stop();
    expect(h.emitted.map((e) => e.data)).toEqual([
      `{"channel":"${channel}","pattern":"","body":{"id":42}}`,
    ]);
    expect(h.logs.lines.some((l) => l.level === 50 && String(l.msg).includes("not JSON"))).toBe(
      true,
    );
  });

  it("applies filter.expression through the runner", async () => {
    const channel = key("filter");
    const r = await runnerWith(
      "redis",
      redisAdapter as EventSourceAdapter<never>,
      {
        ev: {
          hostAddress: HOST,
          channels: [channel],
          jsonBody: true,
          filter: { expression: "body.n > 1" },
        },
      },
      () => false,
    );
    await subscribed(channel);
    for (const n of [1, 2, 3]) await side.command(["PUBLISH", channel, `{"n":${n}}`]);
    await waitUntil(() => r.published.length >= 2, "the two kept messages");
    await r.runner.stop();
    await r.bus.close();
    expect(r.published.map((e) => JSON.parse(String(e.data)).body.n)).toEqual([2, 3]);
  });
});
