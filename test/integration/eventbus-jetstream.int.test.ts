import { randomBytes } from "node:crypto";
import { connect as connectTcp } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { nowRfc3339Nano } from "../../src/cloudevents/event.js";
import { EventBusError } from "../../src/errors.js";
import { createBus, parseNatsServers, resolveBusUrl } from "../../src/eventbus/index.js";
import { JetStreamBus } from "../../src/eventbus/jetstream/index.js";
import { subjectFor } from "../../src/eventbus/subjects.js";
import type { EventBus } from "../../src/eventbus/types.js";
import { silentLogger } from "../../src/observability/logger.js";
import { logSink } from "../support/log-sink.js";
import {
  freeze,
  type NatsServer,
  startNatsCluster,
  startNatsServer,
} from "../support/nats-server.js";
import { makeEvent, runEventBusContract } from "./eventbus.contract.js";

const WAIT = { timeout: 15_000, interval: 20 };
const servers: NatsServer[] = [];
let shared: NatsServer;

beforeAll(async () => {
  shared = await startNatsServer();
  servers.push(shared);
});

afterAll(async () => {
  await Promise.allSettled(servers.map((s) => s.stop()));
});

async function dedicatedServer(): Promise<NatsServer> {
  const s = await startNatsServer();
  servers.push(s);
  return s;
}

runEventBusContract("jetstream", async ({ maxMsgs }) => {
  // The stream is shared by every bus on a server, so a small stream needs a server of its own.
  const server = maxMsgs === undefined ? shared : await dedicatedServer();
  return JetStreamBus.connect({ servers: [server.url], maxMsgs, log: silentLogger() });
});

const event = (source: string, subject: string): CloudEvent =>
  makeEvent(source, subject, { data: `{"at":"${nowRfc3339Nano()}"}` });

/** Publishes, retrying while the bus reports itself unavailable (as an EventSource would). */
async function publishRetrying(bus: EventBus, e: CloudEvent): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await bus.publish(e);
      return;
    } catch (err) {
      if (
        !(err instanceof EventBusError) ||
        err.code !== "SB_ERR_BUS_UNAVAILABLE" ||
        Date.now() > deadline
      ) {
        throw err;
      }
      await vi.waitFor(() => expect(bus.connected).toBe(true), WAIT);
    }
  }
}

/** A bare TCP connection to a nats-server URL, to speak the protocol by hand. */
function connectRaw(url: string) {
  const u = new URL(url);
  return connectTcp({ host: u.hostname, port: Number(u.port) });
}

describe("JetStreamBus on nats-server", () => {
  it("declares KV, the journal stream, dead letters and consumers durable (bus capabilities)", async () => {
    const bus = await JetStreamBus.connect({ servers: [shared.url], log: silentLogger() });
    try {
      expect(bus.capabilities).toEqual({
        durableKv: true,
        journalStream: true,
        durableDeadLetters: true,
        durableConsumers: true,
      });
    } finally {
      await bus.close();
    }
  });

  it("creates the stream with sensorbus's layout and one replica on a single server", async () => {
    const server = await dedicatedServer();
    const bus = await JetStreamBus.connect({ servers: [server.url], log: silentLogger() });
    try {
      expect(bus.replicas).toBe(1);
      const info = await bus.jsm.streams.info("default");
      expect(info.config).toMatchObject({
        name: "default",
        subjects: ["default.*.*"],
        storage: "file",
        retention: "limits",
        discard: "new",
        max_msgs: 50_000,
        max_bytes: -1,
        max_age: 168 * 3600 * 1e9,
        duplicate_window: 300 * 1e9,
        num_replicas: 1,
      });
      const n = randomBytes(3).toString("hex");
      await bus.subscribe(
        { durable: `group-${n}`, eventSourceName: "es", eventName: n },
        async () => {},
      );
      const ci = await bus.jsm.consumers.info("default", `group-${n}`);
      expect(ci.config).toMatchObject({
        durable_name: `group-${n}`,
        ack_policy: "explicit",
        deliver_policy: "new",
        filter_subject: `default.es.${n}`,
      });
      expect(ci.config.ack_wait).toBe(30 * 1e9);
    } finally {
      await bus.close();
    }
  });

  it("purges only events every consumer acknowledged: an unacknowledged one survives and is delivered", async () => {
    const server = await dedicatedServer();
    const bus = await JetStreamBus.connect({
      servers: [server.url],
      reclaimIntervalMs: 0,
      log: silentLogger(),
    });
    try {
      const n = randomBytes(3).toString("hex");
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      const slow: string[] = [];
      const fast: string[] = [];
      await bus.subscribe(
        { durable: `slow-${n}`, eventSourceName: "es", eventName: `slow${n}` },
        async (m) => {
          await held;
          slow.push(m.event.id);
        },
      );
      await bus.subscribe(
        { durable: `fast-${n}`, eventSourceName: "es", eventName: `fast${n}` },
        async (m) => {
          fast.push(m.event.id);
        },
      );
      const fastBefore = event("es", `fast${n}`);
      await bus.publish(fastBefore);
      await vi.waitFor(() => expect(fast).toEqual([fastBefore.id]), WAIT);
      const waiting = event("es", `slow${n}`);
      await bus.publish(waiting);
      const after = [event("es", `fast${n}`), event("es", `fast${n}`)];
      for (const e of after) await bus.publish(e);
      await vi.waitFor(() => expect(fast).toHaveLength(3), WAIT);
      // The slow consumer's unacknowledged event (seq 2) stays; the fast subject's three go.
      await vi.waitFor(async () => {
        const ci = await bus.jsm.consumers.info("default", `fast-${n}`);
        expect(ci.num_pending + ci.num_ack_pending).toBe(0);
      }, WAIT);
      expect(await bus.reclaim()).toBe(3);
      const state = (await bus.jsm.streams.info("default")).state;
      expect(state.messages).toBe(1);
      expect(state.first_seq).toBe(2);
      release();
      await vi.waitFor(() => expect(slow).toEqual([waiting.id]), WAIT);
      // Everything acknowledged now: the rest goes.
      await vi.waitFor(async () => {
        await bus.reclaim();
        expect((await bus.jsm.streams.info("default")).state.messages).toBe(0);
      }, WAIT);
    } finally {
      await bus.close();
    }
  });

  it("uses an existing stream as it is and warns about the differences", async () => {
    const server = await dedicatedServer();
    const first = await JetStreamBus.connect({
      servers: [server.url],
      maxMsgs: 10,
      log: silentLogger(),
    });
    await first.close();
    const { log, lines } = logSink();
    const bus = await JetStreamBus.connect({ servers: [server.url], log });
    try {
      const info = await bus.jsm.streams.info("default");
      expect(info.config.max_msgs).toBe(10);
      const warning = lines.find((l) => l.level === 40 && Array.isArray(l.differs));
      expect(warning?.differs).toEqual([{ field: "max_msgs", have: 10, want: 50_000 }]);
    } finally {
      await bus.close();
    }
  });

  it("keeps a long-running handler's message with in-progress acks; without them it is redelivered", async () => {
    const server = await dedicatedServer();
    const opts = { servers: [server.url], ackWaitMs: 400, log: silentLogger() };
    const beating = await JetStreamBus.connect({ ...opts, inProgressIntervalMs: 100 });
    const silent = await JetStreamBus.connect({ ...opts, inProgressIntervalMs: 60_000 });
    let releaseAll!: () => void;
    const released = new Promise<void>((r) => {
      releaseAll = r;
    });
    try {
      const deliveries = { beating: [] as number[], silent: [] as number[] };
      for (const [name, bus] of [
        ["beating", beating],
        ["silent", silent],
      ] as const) {
        await bus.subscribe(
          { durable: `group-${name}`, eventSourceName: "es", eventName: name, maxInFlight: 3 },
          async (m) => {
            deliveries[name].push(m.deliveryCount);
            // Holds the message for several ack-wait periods.
            await released;
          },
        );
        await bus.publish(event("es", name));
      }
      // Ack wait 400 ms: the silent consumer's message comes back while its handler still runs. Two
      // redeliveries there mean two ack-wait periods passed for the beating consumer's message too.
      await vi.waitFor(() => expect(deliveries.silent).toEqual([1, 2, 3]), WAIT);
      expect(deliveries.beating).toEqual([1]);
    } finally {
      releaseAll();
      await Promise.all([beating.close(), silent.close()]);
    }
  });

  it("loses nothing a publish resolved across a graceful nats-server restart, each event once", async () => {
    const server = await dedicatedServer();
    const bus = await JetStreamBus.connect({ servers: [server.url], log: silentLogger() });
    try {
      const seen = new Map<string, number>();
      const sub = await bus.subscribe(
        { durable: "group-restart", eventSourceName: "es", eventName: "restart", maxInFlight: 4 },
        async (m) => {
          seen.set(m.event.id, (seen.get(m.event.id) ?? 0) + 1);
        },
      );
      const before = Array.from({ length: 20 }, () => event("es", "restart"));
      for (const e of before) await bus.publish(e);
      await vi.waitFor(async () => expect(await sub.pending()).toBe(0), WAIT);

      await server.restart();
      await vi.waitFor(() => expect(bus.connected).toBe(true), WAIT);
      const after = Array.from({ length: 20 }, () => event("es", "restart"));
      for (const e of after) await publishRetrying(bus, e);

      await vi.waitFor(() => expect(seen.size).toBe(40), WAIT);
      await vi.waitFor(async () => expect(await sub.pending()).toBe(0), WAIT);
      expect([...seen.keys()].sort()).toEqual([...before, ...after].map((e) => e.id).sort());
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
    } finally {
      await bus.close();
    }
  });

  it("delivers every resolved publish after nats-server is killed mid-stream; fails fast while down", async () => {
    const server = await dedicatedServer();
    const bus = await JetStreamBus.connect({ servers: [server.url], log: silentLogger() });
    try {
      const seen = new Set<string>();
      await bus.subscribe(
        { durable: "group-kill", eventSourceName: "es", eventName: "kill" },
        async (m) => {
          seen.add(m.event.id);
        },
      );
      const resolved: string[] = [];
      for (let i = 0; i < 10; i++) {
        const e = event("es", "kill");
        await bus.publish(e);
        resolved.push(e.id);
      }
      await server.kill("SIGKILL");
      await vi.waitFor(() => expect(bus.connected).toBe(false), WAIT);
      const started = Date.now();
      const err = await bus.publish(event("es", "kill")).catch((e: unknown) => e);
      expect((err as EventBusError).code).toBe("SB_ERR_BUS_UNAVAILABLE");
      expect(Date.now() - started).toBeLessThan(1_000);

      await server.restart();
      for (let i = 0; i < 10; i++) {
        const e = event("es", "kill");
        await publishRetrying(bus, e);
        resolved.push(e.id);
      }
      await vi.waitFor(() => expect(resolved.filter((id) => !seen.has(id))).toEqual([]), WAIT);
    } finally {
      await bus.close();
    }
  });

  it("fails a publish nobody acknowledges after publishTimeoutMs, and one no stream takes at once", async () => {
    const server = await dedicatedServer();
    const bus = await JetStreamBus.connect({
      servers: [server.url],
      publishTimeoutMs: 300,
      log: silentLogger(),
    });
    // A plain NATS subscriber on a subject no stream takes: the server hands it the publish, so
    // there is no "no responders" answer, and nothing acknowledges it.
    const silent = connectRaw(server.url);
    try {
      await new Promise<void>((resolve) => silent.once("connect", resolve));
      silent.write("CONNECT {}\r\nSUB silent.subject 1\r\nPING\r\n");
      await new Promise<void>((resolve) => {
        let seen = "";
        silent.on("data", (d: Buffer) => {
          seen += d.toString();
          if (seen.includes("PONG")) resolve();
        });
      });
      const started = performance.now();
      await expect(bus.publishAcked("silent.subject", "x")).rejects.toThrow(
        "no acknowledgement from JetStream within 300 ms for 'silent.subject'",
      );
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      await expect(bus.publishAcked("nobody.listens", "x")).rejects.toThrow(
        "no responders: no JetStream stream takes subject 'nobody.listens'",
      );
      // Answers still find their publishes afterwards, a duplicate id included.
      const e = event("es", "after");
      const first = await bus.publish(e);
      expect(first.duplicate).toBe(false);
      expect(await bus.publish(e)).toEqual({ seq: first.seq, duplicate: true });
    } finally {
      silent.destroy();
      await bus.close();
    }
  });

  it("marks a publish left unacknowledged as maybe stored: it is, and a retry with its id is a duplicate", async () => {
    const server = await dedicatedServer();
    const bus = await JetStreamBus.connect({
      servers: [server.url],
      publishTimeoutMs: 300,
      log: silentLogger(),
    });
    const seen: string[] = [];
    const sub = await bus.subscribe(
      {
        durable: `d-${randomBytes(3).toString("hex")}`,
        eventSourceName: "es",
        eventName: "paused",
      },
      async (m) => {
        seen.push(m.event.id);
      },
    );
    let stopped = false;
    try {
      const e = event("es", "paused");
      // The server is frozen: the publish reaches its socket, nothing answers it.
      stopped = true;
      await freeze(server.pid);
      const err = await bus.publish(e).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(err).toBeInstanceOf(EventBusError);
      expect((err as EventBusError).code).toBe("SB_ERR_BUS_UNAVAILABLE");
      expect((err as EventBusError).maybeStored).toBe(true);
      expect((err as EventBusError).message).toContain(
        "no acknowledgement from JetStream within 300 ms",
      );
      process.kill(server.pid, "SIGCONT");
      stopped = false;
      // Stored all the same once the server runs again; the producer's retry is dropped.
      await vi.waitFor(() => expect(seen).toEqual([e.id]), WAIT);
      expect((await bus.publish(e)).duplicate).toBe(true);
      // A refusal the bus did answer is not "maybe stored".
      await bus.close();
      const closed = await bus.publish(event("es", "paused")).catch((x: unknown) => x);
      expect((closed as EventBusError).maybeStored).toBe(false);
    } finally {
      if (stopped) process.kill(server.pid, "SIGCONT");
      await sub.stop();
      await bus.close();
    }
  });

  it("purges the KV delete markers of a prefix older than asked, and only those", async () => {
    const bus = await JetStreamBus.connect({ servers: [shared.url], log: silentLogger() });
    try {
      const bucket = `purge-${randomBytes(3).toString("hex")}`;
      const kv = await bus.kv(bucket);
      for (const k of ["t/k/a", "t/k/b", "t/k/c", "u/k/d"]) await kv.create(k, "{}");
      for (const k of ["t/k/a", "t/k/b", "u/k/d"]) await kv.delete(k);
      const messages = async () => (await bus.jsm.streams.info(`KV_${bucket}`)).state.messages;
      expect(await messages()).toBe(4); // one live value, three delete markers
      // Markers younger than an hour are kept.
      expect(await kv.purgeDeleted("t/", Date.now() - 3_600_000)).toBe(0);
      expect(await messages()).toBe(4);
      expect(await kv.purgeDeleted("t/", Date.now() + 1)).toBe(2);
      expect(await messages()).toBe(2); // t/k/c and u/k/d's marker
      expect(await kv.keys()).toEqual(["t/k/c"]);
    } finally {
      await bus.close();
    }
  });

  it("reads a record-log partition of thousands of records in order, skipping other partitions", async () => {
    const bus = await JetStreamBus.connect({ servers: [shared.url], log: silentLogger() });
    try {
      const log = await bus.recordLog(`many-${randomBytes(3).toString("hex")}`, {
        maxAgeMs: 3_600_000,
        maxBytes: 64 * 1024 * 1024,
      });
      const want: string[] = [];
      const appends: Promise<void>[] = [];
      for (let i = 0; i < 5000; i++) {
        const partition = i % 3 === 0 ? "x" : "y";
        if (partition === "x") want.push(`r${i}`);
        appends.push(log.append(partition, `r${i}`));
      }
      await Promise.all(appends);
      const got = await log.read("x");
      expect(got).toEqual(want); // one connection: stored in the order sent
      expect(await log.read("empty")).toEqual([]);
    } finally {
      await bus.close();
    }
  });

  it("creates R3 streams and KV buckets on a 3-node cluster", async () => {
    const cluster = await startNatsCluster(3);
    try {
      const bus = await JetStreamBus.connect({ servers: cluster.servers, log: silentLogger() });
      try {
        expect(bus.replicas).toBe(3);
        const info = await bus.jsm.streams.info("default");
        expect(info.config.num_replicas).toBe(3);
        expect(info.cluster?.replicas?.length).toBe(2);
        const kv = await bus.kv("cluster-sensor");
        const rev = await kv.put("Triggers", "[]");
        expect((await kv.get("Triggers"))?.revision).toBe(rev);
        expect((await bus.jsm.streams.info("KV_cluster-sensor")).config.num_replicas).toBe(3);
        const seen: string[] = [];
        await bus.subscribe(
          { durable: "group-c", eventSourceName: "es", eventName: "c" },
          async (m) => {
            seen.push(m.event.id);
          },
        );
        const e = event("es", "c");
        await bus.publish(e);
        await vi.waitFor(() => expect(seen).toEqual([e.id]), WAIT);
      } finally {
        await bus.close();
      }
    } finally {
      await cluster.stop();
    }
  });

  it("keeps delivering when the consumer leader's node dies while the client stays connected elsewhere", async () => {
    // The outstanding pull request lives on the consumer leader only: when that node dies, the
    // client sees no disconnect and must notice the missing idle heartbeats itself.
    const cluster = await startNatsCluster(3);
    try {
      const admin = await JetStreamBus.connect({ servers: cluster.servers, log: silentLogger() });
      let leader: number;
      try {
        await admin.ensureConsumer("group-l", subjectFor("es", "l"));
        const ci = await admin.jsm.consumers.info("default", "group-l");
        leader = Number(String(ci.cluster?.leader).replace(/^n/, "")) - 1;
        expect(cluster.nodes[leader]).toBeDefined();
      } finally {
        await admin.close();
      }
      const other = (leader + 1) % 3;
      const bus = await JetStreamBus.connect({
        servers: [cluster.servers[other]!],
        log: silentLogger(),
      });
      try {
        const seen: string[] = [];
        await bus.subscribe(
          { durable: "group-l", eventSourceName: "es", eventName: "l" },
          async (m) => {
            seen.push(m.event.id);
          },
        );
        const before = event("es", "l");
        await bus.publish(before);
        await vi.waitFor(() => expect(seen).toEqual([before.id]), WAIT);

        // The ack of `before` is on the consumer's replicas before its leader dies.
        await vi.waitFor(async () => {
          const ci = await bus.jsm.consumers.info("default", "group-l");
          expect(ci.ack_floor.stream_seq).toBe(1);
        }, WAIT);

        const t0 = performance.now();
        await cluster.nodes[leader]!.kill("SIGKILL");
        // Publish once a new consumer leader answers: nats-server 2.9.10 can skip an event
        // published while the consumer's leader is being re-elected (docs/operations.md, "Delivery on a JetStream cluster").
        await vi.waitFor(
          async () => {
            const ci = await bus.jsm.consumers.info("default", "group-l");
            expect(ci.cluster?.leader).toMatch(/^n\d$/);
            expect(ci.cluster?.leader).not.toBe(`n${leader + 1}`);
          },
          { timeout: 30_000, interval: 250 },
        );
        const elected = performance.now();
        const after = event("es", "l");
        await vi.waitFor(() => bus.publish(after), { timeout: 20_000, interval: 100 });
        // The client's pull request died with the old leader and no disconnect tells it so: two
        // missed 1 s heartbeats end it (with only the 30 s fetch expiry, this took 25 s and more).
        await vi.waitFor(() => expect(seen).toEqual([before.id, after.id]), {
          timeout: 15_000,
          interval: 20,
        });
        console.info(
          `consumer leader lost: new leader after ${Math.round(elected - t0)} ms, delivered ${Math.round(performance.now() - t0)} ms after the kill`,
        );
      } finally {
        await bus.close();
      }
    } finally {
      await cluster.stop();
    }
  }, 60_000);
});

describe("bus selection", () => {
  it("prefers --bus over NATS_URL; memory or nothing selects the in-memory bus", () => {
    expect(resolveBusUrl("nats://a:4222", { NATS_URL: "nats://b:4222" })).toBe("nats://a:4222");
    expect(resolveBusUrl(undefined, { NATS_URL: "nats://b:4222" })).toBe("nats://b:4222");
    expect(resolveBusUrl("memory", { NATS_URL: "nats://b:4222" })).toBe("memory");
    expect(resolveBusUrl(undefined, {})).toBeUndefined();
    expect(resolveBusUrl(" ", { NATS_URL: "" })).toBeUndefined();
  });

  it("parses NATS URL lists and names a bad entry", () => {
    expect(parseNatsServers("nats://h:1, nats://h2:2")).toEqual(["nats://h:1", "nats://h2:2"]);
    expect(parseNatsServers("h3:4222")).toEqual(["nats://h3:4222"]);
    expect(() => parseNatsServers("http://x:1")).toThrow(/'http:\/\/x:1' is not a NATS URL/);
  });

  it("creates a memory bus or a connected JetStream bus", async () => {
    const mem = await createBus(undefined, { log: silentLogger() });
    expect(mem.kind).toBe("memory");
    await mem.close();
    const js = await createBus(shared.url, { log: silentLogger() });
    expect(js.kind).toBe("jetstream");
    expect(js.connected).toBe(true);
    await js.close();
  });

  it("fails with SB_ERR_BUS_UNAVAILABLE when no server answers", async () => {
    const server = await dedicatedServer();
    const url = server.url;
    await server.stop();
    const err = await createBus(url, { log: silentLogger() }).catch((e: unknown) => e);
    expect((err as EventBusError).code).toBe("SB_ERR_BUS_UNAVAILABLE");
    expect((err as Error).message).toContain(url);
  });
});
