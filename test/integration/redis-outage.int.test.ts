import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { MemoryBus } from "../../src/eventbus/memory.js";
import { redisAdapter } from "../../src/eventsources/redis/runtime.js";
import { connectRedis } from "../../src/eventsources/redis-shared/client.js";
import { redisStreamAdapter } from "../../src/eventsources/redis-stream/runtime.js";
import type { EventSourceAdapter } from "../../src/eventsources/types.js";
import { silentLogger } from "../../src/observability/logger.js";
import { logSink } from "../support/log-sink.js";
import { waitUntil as waitFor } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { runSourceWithReadyz } from "../support/source-readyz.js";

/**
 * Redis going away: a redis-server of the test's own (append-only file, fsync always), SIGKILLed
 * mid-stream and started again on the same port and directory. /readyz names the entries while
 * the connection is down, the outage is logged once, and no stream entry is lost.
 */

const dir = mkdtempSync(join(tmpdir(), "sb-redis-outage-"));
let server: ChildProcess | undefined;
let port = 0;

function startServer(): ChildProcess {
  const p = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--dir",
      dir,
    ],
    { stdio: "ignore" },
  );
  return p;
}

/** The server answers PING (redis-cli, outside the code under test). */
function serverUp(): boolean {
  const r = spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" });
  return r.stdout.trim() === "PONG";
}

/** nats-server.ts's waitUntil with this file's deadline (30_000 ms unless given). */
const waitUntil = (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) =>
  waitFor(cond, what, timeoutMs);

afterAll(() => {
  server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("Redis restarted mid-stream", () => {
  it("redisStream: /readyz shows the outage, it is logged once, nothing is lost or duplicated", async () => {
    port = await freePort();
    // No server yet: start() must return, and /readyz name the entries until it answers.
    const host = `127.0.0.1:${port}`;
    const side = await connectRedis({
      hostAddress: host,
      log: silentLogger(),
      at: "side",
      clientName: "test-side",
    });
    const bus = new MemoryBus();
    const published: CloudEvent[] = [];
    const original = bus.publish.bind(bus);
    bus.publish = async (event, options) => {
      const r = await original(event, options);
      // A redelivery the bus dropped as a duplicate (stored, then the XACK lost in the kill) is
      // not a second event.
      if (!r.duplicate) published.push(event);
      return r;
    };
    const l = logSink();
    const source = await runSourceWithReadyz({
      name: "redis-es",
      spec: {
        redisStream: { orders: { hostAddress: host, streams: ["orders"] } },
        redis: { pings: { hostAddress: host, channels: ["pings"] } },
      },
      adapters: {
        redisStream: redisStreamAdapter as EventSourceAdapter<unknown>,
        redis: redisAdapter as EventSourceAdapter<unknown>,
      },
      bus,
      log: l.log,
    });
    const readyz = source.readyz;
    try {
      await waitUntil(async () => {
        const r = await readyz();
        return (
          r.code === 503 &&
          r.body.problems?.[0] === "event sources disconnected: redis-es/orders, redis-es/pings"
        );
      }, "/readyz to report that Redis is unreachable");
      server = startServer();
      await waitUntil(serverUp, "redis-server to start");
      await waitUntil(async () => (await readyz()).code === 200, "/readyz ready once connected");
      await waitUntil(async () => {
        const g = (await side.command(["XINFO", "GROUPS", "orders"]).catch(() => [])) as unknown[];
        return g.length === 1;
      }, "the consumer group");
      const sent: string[] = [];
      for (let i = 0; i < 5; i++)
        sent.push(String(await side.command(["XADD", "orders", "*", "n", String(i)])));
      await waitUntil(() => published.length >= 5, "the first five");

      const running = server;
      running.kill("SIGKILL");
      await new Promise((r) => running.once("exit", r));
      // Each connection notices on its own; wait until /readyz names both.
      await waitUntil(async () => {
        const r = await readyz();
        return (
          r.code === 503 &&
          r.body.problems?.[0] === "event sources disconnected: redis-es/orders, redis-es/pings"
        );
      }, "/readyz to report the outage of both entries");

      server = startServer();
      // Queued by the side client until the server is back; the reader reads them after it.
      for (let i = 5; i < 10; i++)
        sent.push(String(await side.command(["XADD", "orders", "*", "n", String(i)])));
      await waitUntil(() => published.length >= 10, "the five added after the restart");
      await waitUntil(async () => (await readyz()).code === 200, "/readyz ready again");
      // pub/sub subscribed again after the reconnect
      await waitUntil(async () => {
        await side.command(["PUBLISH", "pings", "hello"]);
        return published.some((e) => String(e.data).includes('"channel":"pings"'));
      }, "a pub/sub message after the restart");
      // The XACK follows the publish: wait for it rather than race it.
      await waitUntil(async () => {
        const p = (await side.command(["XPENDING", "orders", "argo-events-cg"])) as [number];
        return Number(p[0]) === 0;
      }, "every entry acknowledged");
      const pending = (await side.command(["XPENDING", "orders", "argo-events-cg"])) as [number];
      const ids = published
        .filter((e) => e.subject === "orders")
        .map((e) => JSON.parse(String(e.data)).message_id);
      const duplicates = ids.length - new Set(ids).size;
      console.info(
        `redisStream outage: sent ${sent.length}, delivered ${new Set(ids).size}, duplicates ${duplicates}, pending ${pending[0]}`,
      );
      expect(ids).toEqual(sent);
      expect(Number(pending[0])).toBe(0);
      const lost = l.lines.filter(
        (x) => x.msg === "Redis connection lost; reconnecting with backoff",
      );
      const restored = l.lines.filter((x) => x.msg === "Redis connection restored");
      // Once per outage and connection (the stream reader's and the subscriber's), not per attempt.
      expect(lost.map((x) => x.eventName).sort()).toEqual(["orders", "pings"]);
      // Two outages per connection (unreachable at start, then killed), each ended once.
      expect(restored.map((x) => x.eventName).sort()).toEqual([
        "orders",
        "orders",
        "pings",
        "pings",
      ]);
      expect(l.lines.filter((x) => String(x.msg).includes("XREADGROUP failed"))).toEqual([]);
      const unreachable = l.lines.filter(
        (x) => x.msg === "cannot connect to Redis; retrying with backoff",
      );
      expect(unreachable.map((x) => x.eventName).sort()).toEqual(["orders", "pings"]);
    } finally {
      await source.stop();
      await bus.close();
      side.destroy();
    }
  });
});
