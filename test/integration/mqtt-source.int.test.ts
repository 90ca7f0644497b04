import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/app/runtime.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import type { LoadResult } from "../../src/config/load.js";
import type { EventSourceManifest, SensorManifest, Trigger } from "../../src/config/types.js";
import { EventBusError } from "../../src/errors.js";
import { MemoryBus } from "../../src/eventbus/memory.js";
import { mqttAdapter } from "../../src/eventsources/mqtt/runtime.js";
import type { MqttEventSpec } from "../../src/eventsources/mqtt/schema.js";
import {
  type AdapterContext,
  type EmitInput,
  type EmitResult,
  type EventSourceAdapter,
  type RunningAdapter,
  systemClock,
} from "../../src/eventsources/types.js";
import { silentLogger } from "../../src/observability/logger.js";
import { HttpSink } from "../support/http-sink.js";
import { logSink } from "../support/log-sink.js";
import {
  dropSession,
  leftInSession,
  MOSQUITTO,
  producer,
  publish,
  unique,
} from "../support/mqtt.js";
import { waitUntil } from "../support/nats-server.js";
import { runSourceWithReadyz } from "../support/source-readyz.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

/**
 * The mqtt EventSource against the real Mosquitto on 127.0.0.1:1883 (unique topics and client
 * ids per test; every persistent session is deleted at the end).
 */

const BROKER = `tcp://${MOSQUITTO.host}:${MOSQUITTO.port}`;
const sessions: string[] = [];

interface Harness {
  emitted: Array<{ eventName: string; input: EmitInput }>;
  ctx: AdapterContext;
  abort: AbortController;
  lines: Array<Record<string, unknown>>;
}

/** An adapter context whose emit records and then runs `behaviour` (throw = not stored). */
function harness(behaviour?: (input: EmitInput, n: number) => Promise<void>): Harness {
  const emitted: Harness["emitted"] = [];
  const l = logSink();
  const abort = new AbortController();
  return {
    emitted,
    abort,
    lines: l.lines,
    ctx: {
      eventSourceName: "mqtt-es",
      namespace: "default",
      emit: async (eventName: string, input: EmitInput): Promise<EmitResult> => {
        emitted.push({ eventName, input });
        if (behaviour) await behaviour(input, emitted.length);
        return { id: input.id ?? "x", status: "published" };
      },
      log: l.log,
      values: {} as never,
      clock: systemClock,
      signal: abort.signal,
    },
  };
}

function entry(over: Partial<MqttEventSpec> = {}): MqttEventSpec {
  const clientId = unique("sb-test-es");
  sessions.push(clientId);
  return { url: BROKER, topic: unique("sb-test/t"), clientId, ...over };
}

async function started(
  h: Harness,
  entries: Array<{ eventName: string; spec: MqttEventSpec }>,
): Promise<RunningAdapter> {
  const running = await mqttAdapter.start(entries, h.ctx);
  await waitUntil(() => running.disconnected?.().length === 0, "the MQTT connection");
  // Subscribed once the SUBACK came: a retained probe would be simpler but leaves state behind.
  await waitUntil(
    () => h.lines.some((l) => l.msg === "connected to the MQTT broker"),
    "the connected log line",
  );
  return running;
}

let prod: MqttClient;
beforeAll(async () => {
  prod = await producer();
});
afterAll(async () => {
  await prod?.endAsync();
  for (const id of sessions) await dropSession(id).catch(() => {});
});

/**
 * Publishes probes until one is emitted (the SUBSCRIBE is in place), then an end marker; once that
 * arrived every probe did (one topic keeps its order), and the record is cleared.
 */
async function subscribed(h: Harness, topic: string): Promise<void> {
  await waitUntil(async () => {
    await publish(prod, topic, '"probe"');
    return h.emitted.length > 0;
  }, "the subscription");
  await publish(prod, topic, '"probe-end"');
  const marker = Buffer.from('"probe-end"').toString("base64");
  await waitUntil(
    () =>
      h.emitted.some((e) => e.input.data.includes(marker) || e.input.data.includes('"probe-end"')),
    "the end marker",
  );
  h.emitted.length = 0;
}

describe("mqtt EventSource (real Mosquitto)", () => {
  it("emits Argo's payload: topic, messageId, body base64 without jsonBody, metadata", async () => {
    const h = harness();
    const spec = entry({ metadata: { team: "iot" } });
    const running = await started(h, [{ eventName: "raw", spec }]);
    try {
      await subscribed(h, spec.topic!);
      await publish(prod, spec.topic!, "hello <mqtt>");
      await waitUntil(() => h.emitted.length === 1, "one event");
      const data = JSON.parse(h.emitted[0]!.input.data);
      expect(data.topic).toBe(spec.topic);
      expect(data.messageId).toBeGreaterThan(0);
      expect(Buffer.from(data.body, "base64").toString("utf8")).toBe("hello <mqtt>");
      expect(data.metadata).toEqual({ team: "iot" });
      expect(Object.keys(data)).toEqual(["topic", "messageId", "body", "metadata"]);
      // QoS 0 messages are delivered at QoS 0: Argo's messageId 0.
      await publish(prod, spec.topic!, "q0", 0);
      await waitUntil(() => h.emitted.length === 2, "the QoS 0 event");
      expect(JSON.parse(h.emitted[1]!.input.data).messageId).toBe(0);
    } finally {
      await running.stop();
    }
  });

  it("jsonBody inserts the JSON compacted; a non-JSON message is dropped with an error log", async () => {
    const h = harness();
    const spec = entry({ jsonBody: true });
    const running = await started(h, [{ eventName: "json", spec }]);
    try {
      await subscribed(h, spec.topic!);
      await publish(prod, spec.topic!, '{ "a": 1, "b": [true, null] }');
      await publish(prod, spec.topic!, "not json");
      await publish(prod, spec.topic!, '{"after":"bad"}');
      await waitUntil(() => h.emitted.length === 2, "two events");
      expect(h.emitted.map((e) => JSON.parse(e.input.data).body)).toEqual([
        { a: 1, b: [true, null] },
        { after: "bad" },
      ]);
      expect(h.emitted[0]!.input.data).toContain('"body":{"a":1,"b":[true,null]}');
      const dropped = h.lines.filter(
        (l) => l.msg === "jsonBody is set but the message is not JSON; message dropped",
      );
      expect(dropped).toHaveLength(1);
    } finally {
      await running.stop();
    }
  });

  it("wildcard topics: + matches one level, # the rest; other topics are not delivered", async () => {
    const h = harness();
    const base = unique("sb-test/w");
    const plus = entry({ topic: `${base}/+/temp` });
    const hash = entry({ topic: `${base}/room1/#` });
    const running = await started(h, [
      { eventName: "plus", spec: plus },
      { eventName: "hash", spec: hash },
    ]);
    try {
      await waitUntil(async () => {
        await publish(prod, `${base}/probe/temp`, "p");
        await publish(prod, `${base}/room1/probe`, "p");
        const names = new Set(h.emitted.map((e) => e.eventName));
        return names.has("plus") && names.has("hash");
      }, "both subscriptions");
      h.emitted.length = 0;
      for (const t of [
        `${base}/room1/temp`, // both
        `${base}/room2/temp`, // plus
        `${base}/room1/a/b`, // hash
        `${base}/room2/a/temp`, // neither
        `${base}/temp`, // neither
        `${base}/room1`, // hash (# also matches the parent level)
        `${base}/end/temp`, // plus: the last one
      ])
        await publish(prod, t, t);
      await waitUntil(
        () => h.emitted.some((e) => JSON.parse(e.input.data).topic === `${base}/end/temp`),
        "the last message",
      );
      await waitUntil(
        () => h.emitted.some((e) => JSON.parse(e.input.data).topic === `${base}/room1`),
        "the # parent",
      );
      const got = (name: string) =>
        h.emitted
          .filter((e) => e.eventName === name)
          .map((e) => JSON.parse(e.input.data).topic)
          .filter((t) => !t.includes("/probe")) // late probes of the warm-up
          .sort();
      expect(got("plus")).toEqual(
        [`${base}/end/temp`, `${base}/room1/temp`, `${base}/room2/temp`].sort(),
      );
      expect(got("hash")).toEqual(
        [`${base}/room1`, `${base}/room1/a/b`, `${base}/room1/temp`].sort(),
      );
    } finally {
      await running.stop();
    }
  });

  it("a refused emit is not acknowledged: retried until stored, and the session holds nothing after", async () => {
    let refuse = 0;
    const h = harness(async () => {
      if (refuse-- > 0)
        throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down", { retryable: true });
    });
    const spec = entry();
    const running = await started(h, [{ eventName: "r", spec }]);
    try {
      await subscribed(h, spec.topic!);
      refuse = 3;
      await publish(prod, spec.topic!, "m1");
      await publish(prod, spec.topic!, "m2");
      await waitUntil(() => h.emitted.length === 5, "three refusals, then two stored");
      const bodies = h.emitted.map((e) =>
        Buffer.from(JSON.parse(e.input.data).body, "base64").toString(),
      );
      expect(bodies).toEqual(["m1", "m1", "m1", "m1", "m2"]);
      // The retries of one message carry one event id (the bus drops a copy it already stored).
      expect(new Set(h.emitted.slice(0, 4).map((e) => e.input.id)).size).toBe(1);
      expect(
        h.lines.filter((l) => String(l.msg).startsWith("event not accepted by the bus")),
      ).toHaveLength(1);
    } finally {
      await running.stop();
    }
    expect(await leftInSession(spec.clientId!, spec.topic!)).toEqual([]);
  });

  it("a message whose emit never resolved before stop stays in the session and comes again on the next start", async () => {
    const gate: { open?: () => void } = {};
    const h = harness(
      (input) =>
        new Promise<void>((resolve, reject) => {
          if (input.data.includes(Buffer.from("held").toString("base64"))) {
            gate.open = () =>
              reject(new EventBusError("SB_ERR_BUS_UNAVAILABLE", "stopping", { retryable: true }));
          } else resolve();
        }),
    );
    const spec = entry();
    const running = await started(h, [{ eventName: "s", spec }]);
    await subscribed(h, spec.topic!);
    await publish(prod, spec.topic!, "held");
    await publish(prod, spec.topic!, "queued");
    await waitUntil(() => gate.open !== undefined, "the held emit");
    const stopping = running.stop();
    gate.open!();
    await stopping;
    // Restarted with the same client id: both arrive (the held one again, with DUP).
    const h2 = harness();
    const again = await started(h2, [{ eventName: "s", spec }]);
    try {
      await waitUntil(() => h2.emitted.length >= 2, "both messages after the restart");
      const bodies = h2.emitted.map((e) =>
        Buffer.from(JSON.parse(e.input.data).body, "base64").toString(),
      );
      expect(bodies.slice(0, 2)).toEqual(["held", "queued"]);
    } finally {
      await again.stop();
    }
  });

  it("end to end: a publish fires the Sensor's HTTP trigger with a parameter from the JSON body", async () => {
    const sink = await new HttpSink().start();
    const spec = entry({ jsonBody: true });
    const es: EventSourceManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventSource",
      metadata: { name: "mqtt-e2e" },
      spec: { mqtt: { sensor: spec } },
    } as unknown as EventSourceManifest;
    const sensor: SensorManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "mqtt-e2e-sensor" },
      spec: {
        dependencies: [{ name: "d", eventSourceName: "mqtt-e2e", eventName: "sensor" }],
        triggers: [
          {
            template: {
              name: "post",
              http: {
                url: `${sink.url}/reading`,
                method: "POST",
                payload: [
                  { src: { dependencyName: "d", dataKey: "body.celsius" }, dest: "temperature" },
                  { src: { dependencyName: "d", dataKey: "topic" }, dest: "from" },
                ],
              },
            },
          } as Trigger,
        ],
      },
    } as unknown as SensorManifest;
    const load: LoadResult = {
      eventSources: [{ manifest: es, file: "es.yaml", doc: 0 }],
      sensors: [{ manifest: sensor, file: "s.yaml", doc: 0 }],
      problems: [],
    };
    const runtime = await Runtime.start({
      loaded: load,
      busUrl: undefined,
      kube: undefined,
      dryRun: false,
      values: {} as never,
      log: silentLogger(),
    });
    try {
      await waitUntil(async () => {
        await publish(prod, spec.topic!, '{"celsius": 21.5}');
        return sink.requests.length > 0;
      }, "the trigger request");
      const body = JSON.parse(sink.requests[0]!.body);
      // Argo's payload parameters are strings (the gjson result's text).
      expect(body).toEqual({ temperature: "21.5", from: spec.topic });
    } finally {
      await runtime.stop(5_000);
      await sink.stop();
    }
  });
});

describe("mqtt EventSource faults", () => {
  it("connection cut, refused and accepted again mid-stream: nothing lost, duplicates counted, outage logged once", async () => {
    const proxy = await startTcpProxy(MOSQUITTO);
    const spec = entry({
      url: `tcp://127.0.0.1:${proxy.port}`,
      connectionBackoff: { duration: "50ms", factor: 2, steps: 4, jitter: 0.1 },
    });
    const bus = new MemoryBus();
    const stored: CloudEvent[] = [];
    let duplicates = 0;
    const original = bus.publish.bind(bus);
    bus.publish = async (event, options) => {
      const r = await original(event, options);
      if (r.duplicate) duplicates++;
      else stored.push(event);
      return r;
    };
    const l = logSink();
    const source = await runSourceWithReadyz({
      name: "mqtt-cut",
      spec: { mqtt: { m: spec } },
      adapters: { mqtt: mqttAdapter as EventSourceAdapter<unknown> },
      bus,
      log: l.log,
    });
    const readyz = async () => (await source.readyz()).code;
    const N = 300;
    const seqs = () =>
      stored.map((e) => Number(Buffer.from(JSON.parse(String(e.data)).body, "base64").toString()));
    try {
      await waitUntil(async () => (await readyz()) === 200, "connected");
      // The subscription is in place once a probe arrives.
      await waitUntil(async () => {
        await publish(prod, spec.topic!, "-1");
        return stored.length > 0;
      }, "the subscription");
      const before = stored.length;
      let sent = 0;
      const producing = (async () => {
        for (let i = 0; i < N; i++) {
          await publish(prod, spec.topic!, String(i));
          sent++;
        }
      })();
      await waitUntil(() => stored.length - before >= 50, "50 messages through");
      proxy.cut();
      // The client notices the cut (logged once), reconnects, and the stream goes on.
      await waitUntil(
        () => l.lines.some((x) => x.msg === "MQTT connection restored"),
        "the reconnect after the cut",
      );
      await waitUntil(
        async () => stored.length - before >= 100 && (await readyz()) === 200,
        "reconnected after the cut, 100 messages through",
      );
      proxy.refuse();
      await waitUntil(async () => (await readyz()) === 503, "/readyz to show the outage");
      const atRefuse = sent;
      await waitUntil(
        () => sent >= Math.min(N, atRefuse + 100),
        "the producer to go on while sensorbus is disconnected",
      );
      proxy.accept();
      await producing;
      await waitUntil(() => new Set(seqs()).size >= N + 1, `all ${N} messages stored`, 60_000);
      await waitUntil(async () => (await readyz()) === 200, "/readyz ready again");
      const got = seqs().filter((n) => n >= 0);
      const distinct = new Set(got);
      console.info(
        `mqtt cut: sent=${sent} stored=${distinct.size} duplicates(bus dropped)=${duplicates} duplicates(stored twice)=${got.length - distinct.size}`,
      );
      expect(sent).toBe(N);
      expect(distinct.size).toBe(N);
      // In order within the session (MQTT keeps order per topic and QoS 1 for one subscriber).
      expect(got.length - distinct.size).toBe(0);
      const lost = l.lines.filter(
        (x) => x.msg === "MQTT connection lost; reconnecting with backoff",
      );
      const restored = l.lines.filter((x) => x.msg === "MQTT connection restored");
      expect(lost).toHaveLength(2); // the cut and the refusal: once each, not per attempt
      expect(restored).toHaveLength(2);
    } finally {
      await source.stop();
      await bus.close();
      await proxy.close();
    }
    const left = await leftInSession(spec.clientId!, spec.topic!);
    console.info(
      `mqtt cut: acknowledged=${N - left.length} left unacknowledged in the session=${left.length}`,
    );
    expect(left).toEqual([]);
  }, 120_000);
});
