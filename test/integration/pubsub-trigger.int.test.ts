import { type Message, PubSub } from "@google-cloud/pubsub";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Trigger } from "../../src/config/types.js";
import { pubSubAdapter } from "../../src/eventsources/pubsub/runtime.js";
import type { AdapterContext, EmitInput } from "../../src/eventsources/types.js";
import { systemClock } from "../../src/eventsources/types.js";
import type { PubSubTrigger } from "../../src/triggers/pubsub/index.js";
import { pubSubTrigger } from "../../src/triggers/pubsub/runtime.js";
import type { TriggerKind } from "../../src/triggers/types.js";
import { TRACEPARENT, triggerEvent } from "../support/firing.js";
import { waitUntil } from "../support/nats-server.js";
import {
  type PubSubEmulator,
  pubSubEmulatorOrWarn,
  startPubSubEmulator,
  useEmulatorEnv,
} from "../support/pubsub-emulator.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { fireThroughSensor } from "../support/trigger-harness.js";

const available = pubSubEmulatorOrWarn(
  "test/integration/pubsub-trigger.int.test.ts",
  "the pubSub trigger",
);

const PROJECT = "sb-trigger-test";

const trigger = (pubSub: PubSubTrigger, extra: Partial<Trigger> = {}): Trigger =>
  ({ template: { name: "hand-off", pubSub }, ...extra }) as Trigger;

const payload = [
  { src: { dependencyName: "d", dataKey: "body.run" }, dest: "run" },
  { src: { dependencyName: "d", dataKey: "body.size" }, dest: "size" },
];

describe.skipIf(!available)("pubSub trigger against the Pub/Sub emulator", () => {
  let emulator: PubSubEmulator;
  let admin: PubSub;
  let kind: TriggerKind<PubSubTrigger>;
  let restoreEnv = () => {};

  /** A topic with one subscription; `received` fills as messages arrive (each acked). */
  async function topicWithSubscription(topic: string) {
    await admin.createTopic(topic);
    const [sub] = await admin.createSubscription(topic, `${topic}-sub`);
    const received: Message[] = [];
    sub.on("message", (m: Message) => {
      received.push(m);
      m.ack();
    });
    return { received, close: () => sub.close() };
  }

  beforeAll(async () => {
    emulator = await startPubSubEmulator();
    restoreEnv = useEmulatorEnv(emulator.host);
    admin = new PubSub({ projectId: PROJECT });
    kind = pubSubTrigger();
  });

  afterAll(async () => {
    await kind?.close?.();
    await admin?.close();
    await emulator?.stop();
    restoreEnv();
  });

  it("publishes the rendered payload with static and parameter attributes, the correlation ID and traceparent", async () => {
    const sub = await topicWithSubscription("sb-trigger-work");
    try {
      const out = await fireThroughSensor({
        triggers: [
          trigger({
            projectID: PROJECT,
            topic: "sb-trigger-work",
            attributes: { origin: "sensorbus" },
            parameters: [
              { src: { dependencyName: "d", dataKey: "body.run" }, dest: "attributes.run" },
            ],
            payload,
          }),
        ],
        kinds: new Map([["pubSub", kind as TriggerKind<unknown>]]),
        event: triggerEvent(),
      });
      expect(out.deadLetters).toEqual([]);
      await waitUntil(() => sub.received.length >= 1, "the published message", 20_000);
      const [m] = sub.received;
      expect(JSON.parse(m!.data.toString())).toEqual({ run: "r-7", size: "3" });
      expect(m!.attributes).toEqual({
        origin: "sensorbus",
        run: "r-7",
        correlation_id: "corr-7",
        traceparent: TRACEPARENT,
      });
      const topicName = `projects/${PROJECT}/topics/sb-trigger-work`;
      expect(out.fired.map((f) => f.summary)).toEqual([
        `published message ${m!.id} to ${topicName}`,
      ]);
      expect(out.fired[0]!.detail).toEqual({ topic: topicName, messageId: m!.id });
      expect(await out.counter("argo_events_action_triggered_total", "hand-off")).toBe(1);
      expect(out.explain).toContain(`result: published message ${m!.id} to ${topicName}`);
      expect(out.explain).toContain('pubSub payload: {"run":"r-7","size":"3"}');
    } finally {
      await sub.close();
    }
  });

  it("hands the correlation ID and traceparent to the pubSub EventSource of the next hop", async () => {
    await admin.createTopic("sb-trigger-hop");
    const emitted: EmitInput[] = [];
    const abort = new AbortController();
    const ctx: AdapterContext = {
      eventSourceName: "next-hop",
      namespace: "default",
      emit: async (_name, input) => {
        emitted.push(input);
        return { id: input.id ?? "x", status: "published" };
      },
      log: pino({ level: "silent" }),
      values: {
        secret: async () => "",
        configMap: async () => "",
      } as unknown as AdapterContext["values"],
      clock: systemClock,
      signal: abort.signal,
    };
    const source = await pubSubAdapter.start(
      [{ eventName: "work", spec: { projectID: PROJECT, topic: "sb-trigger-hop" } }],
      ctx,
    );
    try {
      const out = await fireThroughSensor({
        triggers: [trigger({ projectID: PROJECT, topic: "sb-trigger-hop", payload })],
        kinds: new Map([["pubSub", kind as TriggerKind<unknown>]]),
        event: triggerEvent(),
      });
      expect(out.fired).toHaveLength(1);
      await waitUntil(() => emitted.length >= 1, "the next hop's event", 20_000);
      expect(emitted[0]!.extensions).toEqual({
        traceparent: TRACEPARENT,
        correlationid: "corr-7",
      });
      const body = JSON.parse(emitted[0]!.data) as { body: string };
      expect(JSON.parse(Buffer.from(body.body, "base64").toString())).toEqual({
        run: "r-7",
        size: "3",
      });
    } finally {
      await source.stop();
    }
  });

  it("fails for good, without retrying, when the topic does not exist: the dead letter names it", async () => {
    const out = await fireThroughSensor({
      triggers: [
        trigger(
          { projectID: PROJECT, topic: "sb-trigger-missing", payload },
          { retryStrategy: { steps: 3, duration: "1s" } },
        ),
      ],
      kinds: new Map([["pubSub", kind as TriggerKind<unknown>]]),
      event: triggerEvent(),
    });
    expect(out.fired).toEqual([]);
    expect(out.failed.map((f) => f.final)).toEqual([true]);
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(1);
    expect(out.deadLetters[0]!.error).toBe(
      `cannot publish to projects/${PROJECT}/topics/sb-trigger-missing (emulator at ${emulator.host}): the topic does not exist`,
    );
    expect(await out.counter("argo_events_action_failed_total", "hand-off")).toBe(1);
  });

  it("retries while the service cannot be reached and publishes once when it can (one message, no duplicate)", async () => {
    const sub = await topicWithSubscription("sb-trigger-retry");
    const [host, port] = emulator.host.split(":");
    const proxy = await startTcpProxy({ host: host!, port: Number(port) });
    proxy.refuse();
    process.env.PUBSUB_EMULATOR_HOST = `127.0.0.1:${proxy.port}`;
    const viaProxy = pubSubTrigger(); // its client is made with the first publish: through the proxy
    try {
      const out = await fireThroughSensor({
        triggers: [
          trigger(
            { projectID: PROJECT, topic: "sb-trigger-retry", payload, timeout: 2 },
            { retryStrategy: { steps: 10, duration: "1s" } },
          ),
        ],
        kinds: new Map([["pubSub", viaProxy as TriggerKind<unknown>]]),
        event: triggerEvent(),
        // The first failed attempt brings the service back.
        sleep: async () => {
          proxy.accept();
          return true;
        },
        timeoutMs: 60_000,
      });
      expect(out.failed.length).toBeGreaterThanOrEqual(1);
      expect(out.failed.every((f) => !f.final)).toBe(true);
      expect(out.failed[0]!.error).toContain("cannot publish to projects/");
      expect(out.fired).toHaveLength(1);
      expect(out.deadLetters).toEqual([]);
      await waitUntil(() => sub.received.length >= 1, "the published message", 20_000);
      const id = String(out.fired[0]!.detail?.messageId);
      expect(sub.received.map((m) => m.id)).toEqual([id]);
    } finally {
      process.env.PUBSUB_EMULATOR_HOST = emulator.host;
      await viaProxy.close?.();
      await proxy.close();
      await sub.close();
    }
  });
});
