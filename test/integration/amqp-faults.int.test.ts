import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventSourceRunner } from "../../src/app/eventsource-runner.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import type { EventSourceManifest, Loaded, SensorManifest } from "../../src/config/types.js";
import { JetStreamBus } from "../../src/eventbus/jetstream/index.js";
import { MemoryBus } from "../../src/eventbus/memory.js";
import { durableName } from "../../src/eventbus/subjects.js";
import { amqpAdapter } from "../../src/eventsources/amqp/runtime.js";
import { type EventSourceAdapter, systemClock } from "../../src/eventsources/types.js";
import { silentLogger } from "../../src/observability/logger.js";
import { secretsFrom } from "../support/adapter-harness.js";
import { HttpSink } from "../support/http-sink.js";
import { logSink } from "../support/log-sink.js";
import { startNatsServer, waitUntil } from "../support/nats-server.js";
import { RABBIT_HOST, RABBIT_PORT, RabbitSide } from "../support/rabbitmq.js";
import {
  type SensorbusProcess,
  spawnSensorbus,
  waitWhileRunning,
} from "../support/sensorbus-process.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

/**
 * Fault tests of the amqp EventSource with the real RabbitMQ: (1) the AMQP connection cut and
 * refused mid-stream while a producer publishes persistent messages; (2) `kill -9` of a
 * `sensorbus run` process holding messages it received but could not store yet. Each prints
 * `amqp fault <name>: sent=… acknowledged=… delivered=… duplicates=…`.
 */

let side: RabbitSide;
beforeAll(async () => {
  side = await RabbitSide.open();
});
afterAll(async () => {
  await side?.close();
});

function report(name: string, figures: Record<string, number>): void {
  console.info(
    `amqp fault ${name}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  );
}

describe("amqp faults", () => {
  it("(1) connection cut, then refused, mid-stream: nothing the broker handed over is lost; duplicates dropped by id", async () => {
    const N = 500;
    const proxy = await startTcpProxy({ host: RABBIT_HOST, port: RABBIT_PORT });
    const x = side.exchange("cut");
    const q = side.queue("cut");
    const bus = new MemoryBus();
    const stored = new Map<string, number>();
    let publishCalls = 0;
    let duplicates = 0;
    const original = bus.publish.bind(bus);
    bus.publish = async (event: CloudEvent, options) => {
      publishCalls++;
      const r = await original(event, options);
      if (r.duplicate) duplicates++;
      const n = JSON.parse(String(event.data)).body.n as number;
      stored.set(String(n), (stored.get(String(n)) ?? 0) + 1);
      // Stored, and the connection dies before the ack leaves: a redelivery the bus must drop.
      if (publishCalls === 100) proxy.cut();
      return r;
    };
    const logs = logSink();
    const loaded: Loaded<EventSourceManifest> = {
      manifest: {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "EventSource",
        metadata: { name: "amqp-cut", namespace: "default" },
        spec: {
          amqp: {
            jobs: {
              url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
              exchangeName: x,
              exchangeType: "direct",
              routingKey: "jobs",
              jsonBody: true,
              queueDeclare: { name: q, durable: true },
              connectionBackoff: { duration: "50ms", factor: 2, steps: 4, jitter: 0.2 },
            },
          },
        },
      } as unknown as EventSourceManifest,
      file: "amqp-cut.yaml",
      doc: 0,
    };
    const runner = new EventSourceRunner(loaded, {
      bus,
      adapters: new Map([["amqp", amqpAdapter as EventSourceAdapter<unknown>]]),
      values: secretsFrom({}),
      clock: systemClock,
      log: logs.log,
    });
    await runner.start();
    let sent = 0;
    try {
      await waitUntil(
        async () => (await side.queueState(q))?.consumerCount === 1,
        "the consumer",
        20_000,
      );
      for (let i = 0; i < N; i++) {
        await side.publish(x, "jobs", JSON.stringify({ n: i }), {
          messageId: `cut-${i}`,
          persistent: true,
        });
        sent++;
        if (i === 200) {
          proxy.cut(); // a plain cut: reconnected at once
          await waitUntil(
            () => logs.withMsg("AMQP connection restored").length === 1,
            "the first outage to end",
            20_000,
          );
        }
        if (i === 300) {
          proxy.refuse(); // down for a while: the queue keeps what is published meanwhile
          await waitUntil(() => runner.disconnected().length === 1, "the outage in /readyz");
        }
        if (i === 400) proxy.accept();
      }
      await waitUntil(() => stored.size === N, `all ${N} stored`, 60_000);
    } finally {
      await runner.stop();
      await proxy.close();
    }
    const left = (await side.queueState(q))?.messageCount ?? -1;
    const figures = {
      sent,
      acknowledged: sent - left,
      delivered: stored.size,
      emitted: publishCalls,
      duplicates,
    };
    report("(1) connection cut/refused", figures);
    expect(figures.delivered).toBe(N);
    expect(left).toBe(0);
    // Redelivered messages whose ack a cut swallowed are each dropped by the bus: none fired twice.
    expect(publishCalls - duplicates).toBe(N);
    // Once per outage (two outages here), never per reconnect attempt.
    expect(logs.withMsg("AMQP connection lost; reconnecting with backoff")).toHaveLength(2);
    expect(logs.withMsg("AMQP connection restored")).toHaveLength(2);
    expect(logs.lines.filter((l) => l.level === 50)).toEqual([]);
  }, 120_000);

  it("(2) kill -9 of sensorbus holding received, unstored messages; restarted, every message reaches the trigger once", async () => {
    const K = 10;
    const M = 15;
    const nats = await startNatsServer();
    const natsProxy = await startTcpProxy({ port: nats.port });
    const sink = await new HttpSink().start();
    const workdir = await mkdtemp(join(tmpdir(), "sb-amqp-kill-"));
    const x = side.exchange("kill");
    const q = side.queue("kill");
    const es: EventSourceManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventSource",
      metadata: { name: "amqp-kill" },
      spec: {
        amqp: {
          jobs: {
            url: `amqp://guest:guest@${RABBIT_HOST}:${RABBIT_PORT}`,
            exchangeName: x,
            exchangeType: "fanout",
            routingKey: "all",
            jsonBody: true,
            queueDeclare: { name: q, durable: true },
          },
        },
      },
    } as EventSourceManifest;
    const sensor: SensorManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "amqp-kill-sensor" },
      spec: {
        dependencies: [{ name: "job", eventSourceName: "amqp-kill", eventName: "jobs" }],
        triggers: [
          {
            template: {
              name: "count",
              http: {
                url: `${sink.url}/jobs`,
                method: "POST",
                payload: [{ src: { dependencyName: "job", dataKey: "body.n" }, dest: "n" }],
              },
            },
          },
        ],
      },
    } as SensorManifest;
    const dir = join(workdir, "manifests");
    await mkdir(dir);
    await writeFile(join(dir, "eventsource.json"), JSON.stringify(es));
    await writeFile(join(dir, "sensor.json"), JSON.stringify(sensor));
    const run = () =>
      spawnSensorbus([
        "run",
        dir,
        "--bus",
        `nats://127.0.0.1:${natsProxy.port}`,
        "--log-level",
        "warn",
      ]);
    const jsm = await JetStreamBus.connect({ servers: [nats.url], log: silentLogger() });
    const pending = () =>
      jsm.consumerPending(durableName("amqp-kill-sensor", "count", "job")).catch(() => -1);
    // Argo parameters resolve to strings: `{"n":"3"}`.
    const delivered = () =>
      sink.requests.map((r) => Number((JSON.parse(r.body) as { n: string }).n));
    const consuming = (child: SensorbusProcess) =>
      waitWhileRunning(
        child,
        async () => (await side.queueState(q))?.consumerCount === 1,
        "sensorbus to consume",
        30_000,
      );
    let child = run();
    let sent = 0;
    try {
      await consuming(child);
      for (let i = 0; i < K; i++) {
        await side.publish(x, "", JSON.stringify({ n: i }), {
          messageId: `k-${i}`,
          persistent: true,
        });
        sent++;
      }
      await waitUntil(() => sink.requests.length >= K, "the first batch fired", 30_000);
      await waitUntil(async () => (await pending()) === 0, "the first batch acked on the bus");

      // The bus stops answering: what arrives now is received from RabbitMQ but never stored.
      natsProxy.hold();
      for (let i = K; i < K + M; i++) {
        await side.publish(x, "", JSON.stringify({ n: i }), {
          messageId: `k-${i}`,
          persistent: true,
        });
        sent++;
      }
      await waitUntil(
        async () => (await side.queueState(q))?.messageCount === 0,
        "every message handed to sensorbus (unacknowledged)",
      );
      child.proc.kill("SIGKILL");
      await child.exited;
      natsProxy.release();
      const requeued = (await side.queueState(q))?.messageCount ?? -1;
      const firedBeforeRestart = sink.requests.length;

      child = run();
      await consuming(child);
      await waitUntil(() => new Set(delivered()).size === K + M, "every message fired", 60_000);
      child.proc.kill("SIGTERM");
      await child.exited;
      const left = (await side.queueState(q))?.messageCount ?? -1;
      const all = delivered();
      const figures = {
        sent,
        acknowledgedBeforeKill: sent - requeued,
        requeuedByTheKill: requeued,
        acknowledged: sent - left,
        delivered: new Set(all).size,
        duplicates: all.length - new Set(all).size,
      };
      report("(2) kill -9 between receive and store", figures);
      expect(firedBeforeRestart).toBe(K);
      expect(requeued).toBe(M);
      expect(left).toBe(0);
      expect([...new Set(all)].sort((a, b) => a - b)).toEqual(
        Array.from({ length: K + M }, (_, i) => i),
      );
      expect(figures.duplicates).toBe(0);
    } finally {
      child.proc.kill("SIGKILL");
      await child.exited;
      await jsm.close();
      await natsProxy.close();
      await sink.stop();
      await nats.stop();
      await rm(workdir, { recursive: true, force: true });
    }
  }, 180_000);
});
