import { setTimeout as delay } from "node:timers/promises";
import { PubSub } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SecretKeySelector } from "../../src/config/types.js";
import { ConfigError, EventBusError, EventsError } from "../../src/errors.js";
import type { PubSubEventSpec } from "../../src/eventsources/pubsub/index.js";
import {
  defaultSubscriptionId,
  pubSubAdapter,
  pubSubEventId,
} from "../../src/eventsources/pubsub/runtime.js";
import type {
  AdapterContext,
  EmitInput,
  EmitResult,
  RunningAdapter,
} from "../../src/eventsources/types.js";
import { systemClock } from "../../src/eventsources/types.js";
import { deferred } from "../support/adapter-harness.js";
import { logSink } from "../support/log-sink.js";
import { waitUntil as waitFor } from "../support/nats-server.js";
import {
  type PubSubEmulator,
  pubSubEmulatorOrWarn,
  startPubSubEmulator,
  useEmulatorEnv,
} from "../support/pubsub-emulator.js";

const available = pubSubEmulatorOrWarn(
  "test/integration/pubsub-source.int.test.ts",
  "the Pub/Sub adapter",
);

const PROJECT = "sb-int-test";
const GO_TIME_UTC = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d*[1-9])? \+0000 UTC$/;

interface Recorded {
  eventName: string;
  input: EmitInput;
}

interface Harness {
  ctx: AdapterContext;
  emitted: Recorded[];
  logs: Array<Record<string, unknown>>;
  secretsAsked: string[];
}

type EmitFn = (eventName: string, input: EmitInput) => Promise<EmitResult>;

/** A context whose emit records every call; `behaviour` may reject to simulate a bus failure. */
function harness(
  behaviour?: (call: Recorded, n: number) => Promise<void>,
  secrets: Record<string, string> = {},
): Harness {
  const emitted: Recorded[] = [];
  const sink = logSink();
  const secretsAsked: string[] = [];
  const emit: EmitFn = async (eventName, input) => {
    const call = { eventName, input };
    emitted.push(call);
    if (behaviour) await behaviour(call, emitted.length);
    return { id: input.id ?? "random", status: "published" };
  };
  const ctx: AdapterContext = {
    eventSourceName: "gcp-es",
    namespace: "default",
    emit,
    log: sink.log,
    values: {
      secret: async (ref: SecretKeySelector, field: string) => {
        secretsAsked.push(field);
        const v = secrets[`${ref.name}/${ref.key}`];
        if (v === undefined) throw new ConfigError(`${field}: no such secret`);
        return v;
      },
      configMap: async (_ref, field) => {
        throw new ConfigError(`${field}: no config maps here`);
      },
    },
    clock: systemClock,
    signal: new AbortController().signal,
  };
  return { ctx, emitted, logs: sink.lines, secretsAsked };
}

/** nats-server.ts's waitUntil with this file's deadline (20_000 ms unless given). */
const waitUntil = (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) =>
  waitFor(cond, what, timeoutMs);

describe.skipIf(!available)("pubSub adapter against the Pub/Sub emulator", () => {
  let emulator: PubSubEmulator;
  let admin: PubSub;
  const running: RunningAdapter[] = [];
  let restoreEnv = () => {};

  const start = async (
    h: Harness,
    entries: Array<{ eventName: string; spec: PubSubEventSpec }>,
  ) => {
    const r = await pubSubAdapter.start(entries, h.ctx);
    running.push(r);
    return r;
  };
  const subscriptionExists = async (name: string) => (await admin.subscription(name).exists())[0];

  beforeAll(async () => {
    emulator = await startPubSubEmulator();
    restoreEnv = useEmulatorEnv(emulator.host);
    admin = new PubSub({ projectId: PROJECT });
  });

  afterAll(async () => {
    await Promise.allSettled(running.map((r) => r.stop()));
    await admin?.close();
    await emulator?.stop();
    restoreEnv();
  });

  it("creates the topic and a default-named subscription, then emits the exact Go payload", async () => {
    const h = harness();
    const spec: PubSubEventSpec = { projectID: PROJECT, topic: "orders-a" };
    const adapter = await start(h, [{ eventName: "order-created", spec }]);

    const subId = defaultSubscriptionId("order-created", { ...spec, topicProjectID: PROJECT });
    const subName = `projects/${PROJECT}/subscriptions/${subId}`;
    const [meta] = await admin.subscription(subName).getMetadata();
    expect(meta.topic).toBe(`projects/${PROJECT}/topics/orders-a`);

    const body = '{"orderId":42,"note":"a<b"}';
    const msgId = await admin.topic("orders-a").publishMessage({
      data: Buffer.from(body),
      attributes: {
        origin: "billing",
        googclient_traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      },
    });
    await waitUntil(() => h.emitted.length >= 1, "the first event");
    const [call] = h.emitted;
    expect(call?.eventName).toBe("order-created");
    const text = call!.input.data;
    const publishTime = (JSON.parse(text) as { publishTime: string }).publishTime;
    expect(publishTime).toMatch(GO_TIME_UTC);
    const published = Date.parse(`${publishTime.slice(0, 10)}T${publishTime.slice(11, 19)}Z`);
    expect(Math.abs(published - Date.now())).toBeLessThan(60_000);
    expect(text).toBe(
      `{"id":"${msgId}","body":"${Buffer.from(body).toString("base64")}",` +
        '"attributes":{"googclient_traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",' +
        `"origin":"billing"},"publishTime":"${publishTime}"}`,
    );
    expect(call!.input.id).toBe(pubSubEventId(subName, msgId));
    expect(call!.input.extensions).toEqual({
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    });

    await adapter.stop();
    expect(await subscriptionExists(subName)).toBe(true); // deleteSubscriptionOnFinish not set
  });

  it("embeds a JSON body with metadata and null attributes; nacks a non-JSON body and deletes on finish", async () => {
    const h = harness();
    const spec: PubSubEventSpec = {
      projectID: PROJECT,
      topic: "orders-b",
      subscriptionID: "orders-b-json",
      jsonBody: true,
      deleteSubscriptionOnFinish: true,
      metadata: { team: "pay&ops" },
    };
    const adapter = await start(h, [{ eventName: "json-ev", spec }]);
    const subName = `projects/${PROJECT}/subscriptions/orders-b-json`;
    expect(await subscriptionExists(subName)).toBe(true);

    const badId = await admin.topic("orders-b").publishMessage({ data: Buffer.from("not json {") });
    const goodId = await admin
      .topic("orders-b")
      .publishMessage({ data: Buffer.from('{ "a" : [1, 2],\n "b": ">" }') });
    await waitUntil(() => h.emitted.length >= 1, "the JSON event");
    const text = h.emitted[0]!.input.data;
    const publishTime = (JSON.parse(text) as { publishTime: string }).publishTime;
    expect(text).toBe(
      `{"id":"${goodId}","body":{"a":[1,2],"b":"\\u003e"},"attributes":null,` +
        `"publishTime":"${publishTime}","metadata":{"team":"pay\\u0026ops"}}`,
    );

    // The invalid one is nacked (so redelivered), logged with its id each time, never emitted.
    const badLogs = () => h.logs.filter((l) => l.level === 50 && l.messageId === badId);
    await waitUntil(
      () => badLogs().length >= 2,
      "the non-JSON message to be redelivered after a nack",
    );
    expect(h.emitted.every((c) => !c.input.data.includes(`"id":"${badId}"`))).toBe(true);
    expect(String((badLogs()[0]!.err as { message: string }).message)).toContain("not valid JSON");

    await adapter.stop();
    expect(await subscriptionExists(subName)).toBe(false);
  });

  it("acks only after emit resolved: a rejected emit is redelivered with the same event id", async () => {
    const failures = 2;
    const h = harness(async (_call, n) => {
      if (n <= failures) throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down");
    });
    const spec: PubSubEventSpec = {
      projectID: PROJECT,
      topic: "orders-c",
      subscriptionID: "orders-c-sub",
    };
    const adapter = await start(h, [{ eventName: "retry-ev", spec }]);
    const msgId = await admin.topic("orders-c").publishMessage({ data: Buffer.from("payload") });
    await waitUntil(() => h.emitted.length >= failures + 1, "redeliveries until emit succeeds");
    const ids = new Set(h.emitted.map((c) => c.input.id));
    expect(ids).toEqual(
      new Set([pubSubEventId(`projects/${PROJECT}/subscriptions/orders-c-sub`, msgId)]),
    );
    expect(h.logs.filter((l) => l.level === 40 && l.messageId === msgId)).toHaveLength(failures);

    // Once acked it stays acked: a later marker arrives and the first message did not come back.
    const markerId = await admin.topic("orders-c").publishMessage({ data: Buffer.from("marker") });
    await waitUntil(
      () => h.emitted.some((c) => c.input.data.includes(`"id":"${markerId}"`)),
      "the marker",
    );
    expect(h.emitted.filter((c) => c.input.data.includes(`"id":"${msgId}"`))).toHaveLength(
      failures + 1,
    );
    await adapter.stop();
  });

  it("holds a failed message before its nack: 250 ms doubling per failure in a row, reset by an ack", async () => {
    let failing = 3;
    const h = harness(async () => {
      if (failing-- > 0) throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down");
    });
    const holds: number[] = [];
    h.ctx = { ...h.ctx, clock: { now: Date.now, sleep: async (ms) => holds.push(ms) > 0 } };
    const spec: PubSubEventSpec = {
      projectID: PROJECT,
      topic: "orders-g",
      subscriptionID: "orders-g-sub",
    };
    const adapter = await start(h, [{ eventName: "held-ev", spec }]);
    await admin.topic("orders-g").publishMessage({ data: Buffer.from("first") });
    await waitUntil(() => h.emitted.length >= 4, "three failures, then the event");
    expect(holds).toEqual([250, 500, 1000]);
    failing = 1;
    const secondId = await admin.topic("orders-g").publishMessage({ data: Buffer.from("second") });
    await waitUntil(
      () => h.emitted.filter((c) => c.input.data.includes(`"id":"${secondId}"`)).length >= 2,
      "one failure, then the second event",
    );
    expect(holds).toEqual([250, 500, 1000, 250]);
    await adapter.stop();
  });

  it("nacks a held message at once when the source stops; the next subscriber gets it", async () => {
    const h = harness(async () => {
      throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down");
    });
    const abort = new AbortController();
    const holds: number[] = [];
    // Holds last until the source stops.
    const sleep = (ms: number, signal?: AbortSignal) =>
      new Promise<boolean>((resolve) => {
        holds.push(ms);
        signal?.addEventListener("abort", () => resolve(false), { once: true });
      });
    h.ctx = { ...h.ctx, clock: { now: Date.now, sleep }, signal: abort.signal };
    const spec: PubSubEventSpec = {
      projectID: PROJECT,
      topic: "orders-h",
      subscriptionID: "orders-h-sub",
    };
    const adapter = await start(h, [{ eventName: "held-ev", spec }]);
    const msgId = await admin.topic("orders-h").publishMessage({ data: Buffer.from("held") });
    await waitUntil(() => holds.length === 1, "the message to be held");
    // As EventSourceRunner.stop(): abort, then stop the adapter. Were the hold not cut short,
    // stop() would wait the subscriber's close timeout (30 s) for the held message.
    abort.abort();
    const outcome = await Promise.race([
      adapter.stop().then(() => "stopped"),
      delay(10_000).then(() => "still waiting for the held message"),
    ]);
    expect(outcome).toBe("stopped");
    expect(h.emitted).toHaveLength(1);

    const next = harness();
    const again = await start(next, [{ eventName: "held-ev", spec }]);
    await waitUntil(
      () => next.emitted.some((c) => c.input.data.includes(`"id":"${msgId}"`)),
      "the nacked message at the next subscriber",
    );
    await again.stop();
  });

  it("stop() waits for an in-flight emit, and the message it resolved is not redelivered", async () => {
    const gate = deferred();
    const entered = deferred();
    const first = harness(async (_c, n) => {
      if (n === 1) {
        entered.resolve();
        await gate.promise;
      }
    });
    const spec: PubSubEventSpec = {
      projectID: PROJECT,
      topic: "orders-d",
      subscriptionID: "orders-d-sub",
    };
    const adapter = await start(first, [{ eventName: "slow-ev", spec }]);
    const msgId = await admin.topic("orders-d").publishMessage({ data: Buffer.from("slow") });
    await entered.promise;

    let stopped = false;
    const stopping = adapter.stop().then(() => {
      stopped = true;
    });
    // A bounded negative check: with the emit still pending, stop() must not finish.
    await Promise.race([stopping, delay(500)]);
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(stopped).toBe(true);

    // A new adapter on the same subscription sees only what was published later.
    const second = harness();
    const again = await start(second, [{ eventName: "slow-ev", spec }]);
    const markerId = await admin.topic("orders-d").publishMessage({ data: Buffer.from("marker") });
    await waitUntil(
      () => second.emitted.some((c) => c.input.data.includes(`"id":"${markerId}"`)),
      "the marker",
    );
    expect(second.emitted.some((c) => c.input.data.includes(`"id":"${msgId}"`))).toBe(false);
    await again.stop();
  });

  it("delivers a message published before start to an existing subscription given without topic", async () => {
    const [topic] = await admin.createTopic("orders-e");
    await topic.createSubscription("orders-e-existing");
    const msgId = await topic.publishMessage({
      data: Buffer.from("early"),
      attributes: { correlation_id: "c-9" },
    });

    const h = harness();
    const adapter = await start(h, [
      { eventName: "early-ev", spec: { projectID: PROJECT, subscriptionID: "orders-e-existing" } },
    ]);
    await waitUntil(() => h.emitted.length >= 1, "the early message");
    expect(JSON.parse(h.emitted[0]!.input.data)).toMatchObject({
      id: msgId,
      body: Buffer.from("early").toString("base64"),
    });
    expect(h.emitted[0]!.input.extensions).toEqual({ correlationid: "c-9" });
    await adapter.stop();
  });

  it("fails start-up clearly when the subscription belongs to another topic or cannot be created", async () => {
    const [other] = await admin.createTopic("orders-f-other");
    await other.createSubscription("orders-f-sub");
    const h = harness();
    const wrongTopic = pubSubAdapter.start(
      [
        {
          eventName: "wrong-topic",
          spec: { projectID: PROJECT, topic: "orders-f", subscriptionID: "orders-f-sub" },
        },
      ],
      h.ctx,
    );
    await expect(wrongTopic).rejects.toBeInstanceOf(EventsError);
    await expect(wrongTopic).rejects.toMatchObject({
      code: "SB_ERR_EVENTSOURCE_START",
      message: expect.stringMatching(
        /^spec\.pubSub\.wrong-topic: topic: subscription .*orders-f-sub belongs to topic projects\/sb-int-test\/topics\/orders-f-other, not projects\/sb-int-test\/topics\/orders-f$/,
      ),
    });

    const missing = pubSubAdapter.start(
      [{ eventName: "no-topic", spec: { projectID: PROJECT, subscriptionID: "does-not-exist" } }],
      h.ctx,
    );
    await expect(missing).rejects.toThrow(
      /spec\.pubSub\.no-topic: subscription .*does-not-exist does not exist; set topic/,
    );

    await expect(
      pubSubAdapter.start([{ eventName: "empty", spec: { projectID: PROJECT } }], h.ctx),
    ).rejects.toMatchObject({
      name: "ConfigError",
      problems: ["spec.pubSub.empty: must specify topic or subscriptionID"],
    });
  });

  it("reads credentialSecret through ctx.values and reports a malformed one by field", async () => {
    const fakeServiceAccount = JSON.stringify({
      type: "service_account",
      project_id: PROJECT,
      client_email: "sb@sb-int-test.iam.gserviceaccount.com",
      private_key: "unused-by-the-emulator",
    });
    const h = harness(undefined, {
      "gcp/sa.json": fakeServiceAccount,
      "gcp/bad.json": "{not json",
    });
    const spec: PubSubEventSpec = {
      projectID: PROJECT,
      topic: "orders-g",
      subscriptionID: "orders-g-sub",
      credentialSecret: { name: "gcp", key: "sa.json" },
    };
    const adapter = await start(h, [{ eventName: "cred-ev", spec }]);
    expect(h.secretsAsked).toEqual(["spec.pubSub.cred-ev.credentialSecret"]);
    const msgId = await admin.topic("orders-g").publishMessage({ data: Buffer.from("x") });
    await waitUntil(() => h.emitted.length >= 1, "an event with explicit credentials");
    expect(JSON.parse(h.emitted[0]!.input.data).id).toBe(msgId);
    await adapter.stop();

    const bad = pubSubAdapter.start(
      [
        {
          eventName: "cred-bad",
          spec: { ...spec, credentialSecret: { name: "gcp", key: "bad.json" } },
        },
      ],
      h.ctx,
    );
    await expect(bad).rejects.toThrow(
      /^spec\.pubSub\.cred-bad\.credentialSecret: the secret is not service-account JSON$/,
    );
  });
});
