import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSink } from "../support/http-sink.js";
import { dropSession, leftInSession, producer, publish, unique } from "../support/mqtt.js";
import { startNatsServer, waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import {
  type SensorbusProcess,
  startSensorbus,
  waitForStatus200,
} from "../support/sensorbus-process.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

/**
 * kill -9 of a `sensorbus run` process between receiving MQTT messages and storing their events:
 * the built CLI with `--bus` pointing at a real nats-server through a TCP proxy in `hold` (the
 * publishes reach nobody, so nothing is stored and nothing is acknowledged to the broker), then
 * SIGKILL, a restart with the same client id, and every message reaches the HTTP trigger.
 * Requires `npm run build` (bin/sensorbus.js runs dist/).
 */

let dir: string;
const sink = new HttpSink();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sb-mqtt-kill-"));
  await sink.start();
});
afterAll(async () => {
  await sink.stop();
  await rm(dir, { recursive: true, force: true });
});

function startChild(busUrl: string, metricsPort: number): SensorbusProcess {
  return startSensorbus(dir, busUrl, [
    "--metrics-port",
    String(metricsPort),
    "--console-port",
    "0",
    "--log-level",
    "warn",
  ]);
}

/** /readyz answers 200 once the bus and the MQTT connection are up. */
const ready = (port: number, child: SensorbusProcess) =>
  waitForStatus200(`http://127.0.0.1:${port}/readyz`, child);

describe("mqtt EventSource: kill -9 of sensorbus between receive and store", () => {
  it("loses nothing: every message sent reaches the trigger after the restart", async () => {
    const nats = await startNatsServer();
    const proxy = await startTcpProxy({ port: nats.port });
    const topic = unique("sb-test/kill");
    const clientId = unique("sb-test-kill");
    const N = 20;
    await writeFile(
      join(dir, "eventsource.json"),
      JSON.stringify({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "EventSource",
        metadata: { name: "mqtt-kill" },
        spec: {
          mqtt: {
            m: { url: "tcp://127.0.0.1:1883", topic, clientId, jsonBody: true },
          },
        },
      }),
    );
    await writeFile(
      join(dir, "sensor.json"),
      JSON.stringify({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Sensor",
        metadata: { name: "mqtt-kill-sensor" },
        spec: {
          dependencies: [{ name: "d", eventSourceName: "mqtt-kill", eventName: "m" }],
          triggers: [
            {
              template: {
                name: "post",
                http: {
                  url: `${sink.url}/seq`,
                  method: "POST",
                  payload: [{ src: { dependencyName: "d", dataKey: "body.seq" }, dest: "seq" }],
                },
              },
            },
          ],
        },
      }),
    );
    const busUrl = `nats://127.0.0.1:${proxy.port}`;
    const metricsPort = await freePort();
    const prod = await producer();
    let child = startChild(busUrl, metricsPort);
    const seqs = () => sink.requests.map((r) => Number(JSON.parse(r.body).seq));
    try {
      await ready(metricsPort, child);
      // The subscription works end to end before the fault.
      await waitUntil(
        async () => {
          await publish(prod, topic, '{"seq":-1}');
          return seqs().includes(-1);
        },
        "a warm-up message at the trigger",
        30_000,
      );
      proxy.hold();
      let sent = 0;
      for (let i = 0; i < N; i++) {
        await publish(prod, topic, JSON.stringify({ seq: i }));
        sent++;
      }
      // The first message was received: its publish to the bus timed out (held), nothing stored.
      await waitUntil(
        () => child.output().includes("event not accepted by the bus"),
        "sensorbus to have received a message it cannot store",
        30_000,
      );
      const firedBeforeKill = seqs().filter((n) => n >= 0).length;
      child.proc.kill("SIGKILL");
      await child.exited;
      proxy.cut(); // what the dead process wrote is dropped, never stored
      proxy.release();
      child = startChild(busUrl, metricsPort);
      await ready(metricsPort, child);
      await waitUntil(
        () => new Set(seqs().filter((n) => n >= 0)).size >= N,
        `all ${N} messages at the trigger`,
        60_000,
      );
      child.proc.kill("SIGTERM");
      await child.exited;
      const left = await leftInSession(clientId, topic);
      const got = seqs().filter((n) => n >= 0);
      const delivered = new Set(got).size;
      console.info(
        `mqtt kill -9: sent=${sent} fired before the kill=${firedBeforeKill} acknowledged=${sent - left.length} delivered=${delivered} duplicates=${got.length - delivered}`,
      );
      expect(firedBeforeKill).toBe(0);
      expect(delivered).toBe(N);
      expect([...new Set(got)].sort((a, b) => a - b)).toEqual(
        Array.from({ length: N }, (_, i) => i),
      );
      expect(got.length - delivered).toBe(0);
      expect(left).toEqual([]);
    } finally {
      child.proc.kill("SIGKILL");
      await child.exited;
      await prod.endAsync();
      await proxy.close();
      await nats.stop();
      await dropSession(clientId).catch(() => {});
    }
  }, 120_000);
});
