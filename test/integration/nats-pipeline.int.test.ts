import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/app/runtime.js";
import type { LoadResult } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { type NatsServer, startNatsServer, waitUntil } from "../support/nats-server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

/**
 * A `nats` EventSource and a Sensor whose `nats` trigger publishes what it fired, in one Runtime on
 * a JetStream bus (all on a nats-server of the test's own): a message published to the source's
 * subject fires the Sensor with a parameter from `body`, and the test reads the trigger's message.
 * Fault: the source's connection runs through a TCP proxy that is cut and refuses for a while:
 * counted sent / lost while disconnected / fired / duplicates; /readyz and the once-per-outage log.
 */

const run = randomBytes(3).toString("hex");
const IN = `sbpipe.${run}.orders`;
const OUT = `sbpipe.${run}.accepted`;

function logSink(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: "info" }, sink), lines };
}
const count = (lines: Array<Record<string, unknown>>, text: string) =>
  lines.filter((l) => String(l.msg).includes(text)).length;

let nats: NatsServer;
let proxy: TcpProxy;
let pub: NatsConnection;
let runtime: Runtime;
let out: Subscription;
const received: Array<{ id: string; seq: number; subject: string }> = [];
const logs = logSink();

function manifests(sourceUrl: string, triggerUrl: string): LoadResult {
  const es: EventSourceManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "orders-nats" },
    spec: { nats: { orders: { url: sourceUrl, subject: `${IN}.*`, jsonBody: true } } },
  } as unknown as EventSourceManifest;
  const sensor: SensorManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "orders-handoff" },
    spec: {
      dependencies: [
        {
          name: "order",
          eventSourceName: "orders-nats",
          eventName: "orders",
          filters: { data: [{ path: "body.kind", type: "string", value: ["order"] }] },
        },
      ],
      triggers: [
        {
          template: {
            name: "hand-off",
            nats: {
              url: triggerUrl,
              subject: OUT,
              payload: [
                { src: { dependencyName: "order", dataKey: "body.id" }, dest: "id" },
                { src: { dependencyName: "order", dataKey: "body.seq" }, dest: "seq" },
                { src: { dependencyName: "order", dataKey: "subject" }, dest: "subject" },
              ],
            },
          },
          retryStrategy: { steps: 3, duration: "100ms" },
        },
      ],
    },
  } as unknown as SensorManifest;
  return {
    eventSources: [{ manifest: es, file: "es.yaml", doc: 0 }],
    sensors: [{ manifest: sensor, file: "sensor.yaml", doc: 0 }],
    problems: [],
  };
}

beforeAll(async () => {
  nats = await startNatsServer();
  proxy = await startTcpProxy({ port: nats.port });
  pub = await connect({ servers: nats.url });
  out = pub.subscribe(OUT, {
    callback: (_err, msg) => {
      received.push(JSON.parse(new TextDecoder().decode(msg.data)));
    },
  });
  await pub.flush();
  runtime = await Runtime.start({
    loaded: manifests(`nats://127.0.0.1:${proxy.port}`, nats.url),
    busUrl: nats.url,
    dryRun: true,
    values: dirResolver({}),
    log: logs.log,
  } as Parameters<typeof Runtime.start>[0]);
  await waitUntil(() => count(logs.lines, "subscribed to NATS") === 1, "the source's subscription");
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  out?.unsubscribe();
  await pub?.close();
  await proxy?.close();
  await nats?.stop();
});

const publish = (seq: number, id = `o-${seq}`, kind = "order") =>
  pub.publish(`${IN}.created`, JSON.stringify({ id, seq, kind }));

describe("nats EventSource -> Sensor -> nats trigger", () => {
  it("a message fires the Sensor; the trigger publishes the parameters from body (filters apply)", async () => {
    publish(0, "A-0");
    publish(-1, "skip", "ping"); // filtered out by the data filter
    pub.publish(`${IN}.created.eu`, JSON.stringify({ id: "deep", seq: -2, kind: "order" })); // not matched by *
    await pub.flush();
    await waitUntil(() => received.length >= 1, "the trigger's message");
    // Give the other two every chance to (wrongly) arrive: the next message overtakes them.
    publish(1, "A-1");
    await pub.flush();
    await waitUntil(() => received.length >= 2, "the second message");
    expect(received).toEqual([
      { id: "A-0", seq: "0", subject: `${IN}.created` },
      { id: "A-1", seq: "1", subject: `${IN}.created` },
    ]);
    received.length = 0;
  });

  it("fault: the source's connection cut mid-stream; what core NATS loses is counted, nothing else", async () => {
    const before = 50;
    const during = 30;
    const after = 50;
    let seq = 100;
    const sent = { before: 0, during: 0, after: 0, probes: 0 };
    for (let i = 0; i < before; i++, sent.before++) publish(seq++);
    await pub.flush();
    await waitUntil(() => received.length >= before, "the messages before the cut", 30_000);

    proxy.refuse(); // cuts the open connection and refuses reconnects
    await waitUntil(
      () => runtime.disconnectedSources().includes("orders-nats/orders"),
      "/readyz to name the entry",
    );
    const duringFrom = seq;
    for (let i = 0; i < during; i++, sent.during++) publish(seq++);
    await pub.flush();
    const readyzWhileDown = runtime.disconnectedSources();
    proxy.accept();
    await waitUntil(() => runtime.disconnectedSources().length === 0, "reconnected", 30_000);
    // The subscription is renewed by the client after the reconnect: probe until one fires.
    const probeFrom = 10_000;
    await waitUntil(
      () => {
        publish(probeFrom + sent.probes++, "probe");
        return received.some((r) => r.id === "probe");
      },
      "a probe after the reconnect",
      30_000,
    );
    const afterFrom = seq;
    for (let i = 0; i < after; i++, sent.after++) publish(seq++);
    await pub.flush();
    await waitUntil(
      () =>
        received.filter((r) => Number(r.seq) >= afterFrom && Number(r.seq) < probeFrom).length >=
        after,
      "the messages after the reconnect",
      30_000,
    );
    const seqs = received.filter((r) => r.id !== "probe").map((r) => Number(r.seq));
    const lostDuring = Array.from({ length: during }, (_, i) => duringFrom + i).filter(
      (s) => !seqs.includes(s),
    ).length;
    const duplicates = seqs.length - new Set(seqs).size;
    console.info(
      `nats source fault (connection cut): sent ${sent.before + sent.during + sent.after} (+${sent.probes} probes), ` +
        `before ${sent.before} fired ${seqs.filter((s) => s < duringFrom).length}, ` +
        `while disconnected ${sent.during} lost ${lostDuring}, after ${sent.after} fired ${seqs.filter((s) => s >= afterFrom).length}, duplicates ${duplicates}`,
    );
    expect(readyzWhileDown).toEqual(["orders-nats/orders"]);
    expect(seqs.filter((s) => s < duringFrom).sort((a, b) => a - b)).toEqual(
      Array.from({ length: before }, (_, i) => 100 + i),
    );
    expect(lostDuring).toBe(during); // core NATS: no subscriber, no delivery, no redelivery
    expect(seqs.filter((s) => s >= afterFrom).sort((a, b) => a - b)).toEqual(
      Array.from({ length: after }, (_, i) => afterFrom + i),
    );
    expect(duplicates).toBe(0);
    expect(count(logs.lines, "NATS connection lost")).toBe(1);
    expect(count(logs.lines, "NATS connection restored")).toBe(1);
  }, 120_000);
});
