import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisConnection } from "../../src/eventsources/redis-shared/client.js";
import { DEFAULT_CONSUMER_GROUP } from "../../src/eventsources/redis-stream/runtime.js";
import { silentLogger } from "../../src/observability/logger.js";
import { HttpSink } from "../support/http-sink.js";
import { type NatsServer, startNatsServer, waitUntil } from "../support/nats-server.js";
import {
  type SensorbusProcess,
  startSensorbus,
  waitWhileRunning,
} from "../support/sensorbus-process.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

/**
 * kill -9 of sensorbus between receive and store, for the redisStream EventSource: `sensorbus run`
 * on JetStream reaches its nats-server through a proxy. Mid-stream the proxy holds the bus
 * connection, so entries are read from Redis (pending in the group) but never stored; the process
 * is SIGKILLed there and started again. Every entry must reach the trigger, and the group must end
 * with nothing pending. Figures are printed as `fault redisStream kill -9: ...`.
 */

const N_BEFORE = 10;
const N_HELD = 10;
const N_AFTER = 10;
const stream = `sb-kill-${randomUUID()}`;
let nats: NatsServer;
let proxy: TcpProxy;
let sink: HttpSink;
let redis: RedisConnection;
let dir: string;
let child: SensorbusProcess | undefined;

beforeAll(async () => {
  nats = await startNatsServer();
  proxy = await startTcpProxy({ port: nats.port });
  sink = await new HttpSink().start();
  redis = await connectRedis({ hostAddress: "127.0.0.1:6379", log: silentLogger(), at: "test" });
  dir = await mkdtemp(join(tmpdir(), "sb-redis-kill-"));
  await writeFile(
    join(dir, "eventsource.json"),
    JSON.stringify({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventSource",
      metadata: { name: "kill-es" },
      spec: { redisStream: { ev: { hostAddress: "127.0.0.1:6379", streams: [stream] } } },
    }),
  );
  await writeFile(
    join(dir, "sensor.json"),
    JSON.stringify({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "kill-sensor" },
      spec: {
        dependencies: [{ name: "d", eventSourceName: "kill-es", eventName: "ev" }],
        triggers: [
          {
            template: {
              name: "sink",
              http: {
                url: sink.url,
                method: "POST",
                payload: [{ src: { dependencyName: "d", dataKey: "values.n" }, dest: "n" }],
              },
            },
            retryStrategy: { steps: 5, duration: "200ms" },
          },
        ],
      },
    }),
  );
});

afterAll(async () => {
  await child?.kill9();
  await redis?.command(["DEL", stream]).catch(() => undefined);
  redis?.destroy();
  await sink?.stop();
  await proxy?.close();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const delivered = () => sink.requests.map((r) => JSON.parse(r.body).n as string);
const distinct = () => new Set(delivered()).size;

async function pending(): Promise<number> {
  const reply = (await redis.command(["XPENDING", stream, DEFAULT_CONSUMER_GROUP])) as unknown[];
  return Number(reply[0]);
}

async function add(from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++)
    await redis.command(["XADD", stream, "*", "n", String(i)]);
}

describe("redisStream: kill -9 of sensorbus between receive and store", () => {
  it("delivers every entry read before the kill after the restart, and leaves nothing pending", async () => {
    const busUrl = `nats://127.0.0.1:${proxy.port}`;
    child = startSensorbus(dir, busUrl);
    await waitWhileRunning(
      child,
      async () => ((await redis.command(["EXISTS", stream])) as number) === 1,
      "the consumer group (created with the stream)",
      30_000,
    );
    await add(0, N_BEFORE);
    await waitUntil(() => distinct() >= N_BEFORE, "the first entries fired", 30_000);

    // Hold the bus connection: what is read now cannot be stored.
    proxy.hold();
    await add(N_BEFORE, N_HELD);
    await waitUntil(async () => (await pending()) > 0, "entries read but not stored", 30_000);
    const pendingAtKill = await pending();
    const firedAtKill = distinct();
    await child.kill9();
    proxy.cut();
    proxy.release();

    child = startSensorbus(dir, busUrl);
    await add(N_BEFORE + N_HELD, N_AFTER);
    const total = N_BEFORE + N_HELD + N_AFTER;
    await waitUntil(() => distinct() >= total, `all ${total} entries fired`, 60_000);
    await waitUntil(async () => (await pending()) === 0, "nothing pending in the group", 30_000);
    const all = delivered();
    console.info(
      `fault redisStream kill -9: sent=${total} pending at kill=${pendingAtKill} fired before kill=${firedAtKill} ` +
        `acknowledged=${total - (await pending())} delivered=${distinct()} duplicates=${all.length - distinct()}`,
    );
    expect(pendingAtKill).toBeGreaterThan(0);
    expect(firedAtKill).toBeLessThan(N_BEFORE + N_HELD);
    expect([...new Set(all)].sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: total }, (_, i) => String(i)),
    );
  }, 180_000);
});
