import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/app/runtime.js";
import type { LoadResult } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { EventBusError } from "../../src/errors.js";
import { amqpEventId } from "../../src/eventsources/amqp/payload.js";
import { amqpAdapter } from "../../src/eventsources/amqp/runtime.js";
import type { AMQPEventSpec } from "../../src/eventsources/amqp/schema.js";
import { type RunningAdapter, systemClock } from "../../src/eventsources/types.js";
import { silentLogger } from "../../src/observability/logger.js";
import { adapterHarness, deferred, type Harness } from "../support/adapter-harness.js";
import { HttpSink } from "../support/http-sink.js";
import { type NatsServer, startNatsServer, waitUntil } from "../support/nats-server.js";
import { RABBIT_HOST, RABBIT_PORT, RABBIT_URL, RabbitSide } from "../support/rabbitmq.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { selfSignedCert } from "../support/tls-cert.js";

/**
 * The amqp EventSource against the RabbitMQ on this machine (127.0.0.1:5672, guest/guest). Every
 * test declares its own uniquely named exchanges and queues and deletes them afterwards.
 */

let side: RabbitSide;
beforeAll(async () => {
  side = await RabbitSide.open();
});
afterAll(async () => {
  await side?.close();
});

const ES = "amqp-es";

function start(h: Harness, entries: Record<string, AMQPEventSpec>): Promise<RunningAdapter> {
  return amqpAdapter.start(
    Object.entries(entries).map(([eventName, spec]) => ({ eventName, spec })),
    { ...h.ctx, eventSourceName: ES },
  );
}

async function consumers(queue: string, n = 1): Promise<void> {
  await waitUntil(
    async () => ((await side.queueState(queue))?.consumerCount ?? 0) >= n,
    `${n} consumer(s) on ${queue}`,
    20_000,
  );
}

const data = (h: Harness) => h.emitted.map((e) => JSON.parse(e.data) as Record<string, unknown>);

describe("amqp EventSource against RabbitMQ", () => {
  it("emits Argo's payload for what the binding routes, and acknowledges each message after the emit", async () => {
    const x = side.exchange("topic");
    const q = side.queue("orders");
    const h = adapterHarness();
    const running = await start(h, {
      orders: {
        url: RABBIT_URL,
        exchangeName: x,
        exchangeType: "topic",
        routingKey: "orders.*",
        queueDeclare: { name: q, durable: true },
        metadata: { team: "pay<" },
      },
    });
    await consumers(q);
    await side.publish(x, "orders.created", "hello", {
      messageId: "m-1",
      contentType: "text/plain",
      contentEncoding: "identity",
      deliveryMode: 2,
      priority: 3,
      correlationId: "c-1",
      replyTo: "replies",
      expiration: "60000",
      timestamp: 1700000000,
      type: "order.created",
      appId: "shop",
      headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    });
    await side.publish(x, "invoices.created", "not routed to the queue");
    await side.publish(x, "orders.paid", "second");
    await waitUntil(() => h.emitted.length >= 2, "both routed messages");
    await running.stop();

    expect(h.emitted[0]?.data).toBe(
      `{"contentType":"text/plain","contentEncoding":"identity","deliveryMode":2,"priority":3,"correlationId":"c-1","replyTo":"replies","expiration":"60000","messageId":"m-1","timestamp":"2023-11-14 22:13:20 +0000 UTC","type":"order.created","appId":"shop","exchange":"${x}","routingKey":"orders.created","body":"aGVsbG8=","metadata":{"team":"pay\\u003c"}}`,
    );
    expect(h.emitted[0]?.id).toBe(amqpEventId(ES, "orders", "m-1"));
    // Argo's payload has no headers; the trace context travels as a CloudEvent extension.
    expect(h.emitted[0]?.extensions).toEqual({
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    });
    expect(data(h)[1]).toMatchObject({
      routingKey: "orders.paid",
      body: Buffer.from("second").toString("base64"),
      messageId: "",
      deliveryMode: 0,
    });
    expect(h.emitted[1]?.id).toBeUndefined();
    expect(h.emitted).toHaveLength(2);
    // Stopping closes the connection: anything unacknowledged would be back in the queue.
    expect(await side.queueState(q)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it("jsonBody: the JSON inline (compacted, HTML-escaped); a non-JSON body is rejected to the dead-letter exchange of `arguments`", async () => {
    const x = side.exchange("json");
    const dlx = side.exchange("dlx");
    const dlq = side.queue("dlq");
    const q = side.queue("json");
    await side.withChannel(async (ch) => {
      await ch.assertExchange(dlx, "fanout", { durable: false, autoDelete: false });
      await ch.assertQueue(dlq, { durable: false });
      await ch.bindQueue(dlq, dlx, "");
    });
    const h = adapterHarness();
    const running = await start(h, {
      json: {
        url: RABBIT_URL,
        exchangeName: x,
        exchangeType: "direct",
        routingKey: "k",
        jsonBody: true,
        queueDeclare: {
          name: q,
          autoDelete: true,
          arguments: `{"x-dead-letter-exchange": "${dlx}", "x-max-length": 1000}`,
        },
      },
    });
    await consumers(q);
    await side.publish(x, "k", '{ "a": [1, 2], "s": "<b>" }');
    await side.publish(x, "k", "not json");
    await side.publish(x, "k", '{"after": true}');
    await waitUntil(() => h.emitted.length >= 2, "the two JSON messages");
    await waitUntil(
      async () => (await side.queueState(dlq))?.messageCount === 1,
      "the non-JSON message in the dead-letter queue",
    );
    await running.stop();
    expect(data(h).map((d) => d.body)).toEqual([{ a: [1, 2], s: "<b>" }, { after: true }]);
    expect(h.emitted[0]?.data).toContain(`"body":{"a":[1,2],"s":"\\u003cb\\u003e"}}`);
    const refused = h.logs.lines.filter((l) => String(l.msg).startsWith("jsonBody is set"));
    expect(refused).toHaveLength(1);
    expect(refused[0]?.err).toMatchObject({ code: "SB_ERR_EVENTSOURCE_PAYLOAD" });
  });

  it("exchange types: direct matches the key, fanout ignores it, headers with no arguments takes all", async () => {
    const direct = side.exchange("direct");
    const fanout = side.exchange("fanout");
    const headers = side.exchange("headers");
    const h = adapterHarness();
    const entry = (exchangeName: string, exchangeType: string, routingKey: string) => ({
      url: RABBIT_URL,
      exchangeName,
      exchangeType,
      routingKey,
      exchangeDeclare: { autoDelete: true },
    });
    const running = await start(h, {
      d: entry(direct, "direct", "k1"),
      f: entry(fanout, "fanout", "unused"),
      h: entry(headers, "headers", "unused"),
    });
    await waitUntil(
      () => h.logs.withMsg("consuming from the AMQP queue").length === 3,
      "three consumers",
    );
    await side.publish(direct, "k2", "direct-k2");
    await side.publish(direct, "k1", "direct-k1");
    await side.publish(fanout, "anything", "fanout");
    await side.publish(headers, "", "headers", { headers: { a: 1 } });
    await waitUntil(() => h.emitted.length >= 3, "three deliveries");
    await running.stop();
    const bodies = data(h).map((d) => Buffer.from(String(d.body), "base64").toString());
    expect(bodies.sort()).toEqual(["direct-k1", "fanout", "headers"]);
    // Without queueDeclare: Argo's broker-named exclusive queue.
    for (const l of h.logs.withMsg("consuming from the AMQP queue"))
      expect(l.queue).toMatch(/^amq\.gen-/);
  });

  it("without exchangeDeclare the exchange is durable (Argo's default)", async () => {
    const x = side.exchange("default");
    const h = adapterHarness();
    const running = await start(h, {
      ev: { url: RABBIT_URL, exchangeName: x, exchangeType: "fanout", routingKey: "r" },
    });
    await waitUntil(() => h.logs.withMsg("consuming from the AMQP queue").length === 1, "consumer");
    await running.stop();
    await expect(
      side.withChannel((ch) => ch.assertExchange(x, "fanout", { durable: false })),
    ).rejects.toThrow(/PRECONDITION_FAILED - inequivalent arg 'durable'/);
    await side.withChannel((ch) => ch.assertExchange(x, "fanout", { durable: true }));
  });

  it("a refused emit: nacked with requeue after a backoff, redelivered with the same event id, acknowledged once stored", async () => {
    const x = side.exchange("nack");
    const q = side.queue("nack");
    const spec = {
      url: RABBIT_URL,
      exchangeName: x,
      exchangeType: "direct",
      routingKey: "k",
      queueDeclare: { name: q, durable: true },
    };
    // Queue and messages first, so all three are pushed together when the consumer starts.
    await side.withChannel(async (ch) => {
      await ch.assertExchange(x, "direct", { durable: true });
      await ch.assertQueue(q, { durable: true, exclusive: false, autoDelete: false });
      await ch.bindQueue(q, x, "k");
    });
    for (const id of ["m-1", "m-2", "m-3"])
      await side.publish(x, "k", id, { messageId: id, persistent: true });
    const h = adapterHarness({
      behaviour: async (_input, n) => {
        if (n === 1) {
          await waitUntil(async () => (await side.queueState(q))?.messageCount === 0, "all sent");
          throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down (injected)", {
            retryable: true,
          });
        }
      },
    });
    const running = await start(h, { ev: spec });
    await waitUntil(() => h.emitted.length >= 4, "the redeliveries");
    await running.stop();
    const ids = data(h).map((d) => d.messageId);
    expect(ids[0]).toBe("m-1");
    expect([...ids].sort()).toEqual(["m-1", "m-1", "m-2", "m-3"]);
    expect(ids.slice(1)).toEqual(["m-1", "m-2", "m-3"]); // requeued together, in their order
    expect(h.emitted[0]?.id).toBe(h.emitted[1]?.id);
    expect(
      h.logs.withMsg("event not accepted by the bus; message nacked with requeue after a backoff"),
    ).toHaveLength(1);
    expect(await side.queueState(q)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it("a message is held unacknowledged while its emit runs: a lost connection puts it back, it is delivered again", async () => {
    const proxy = await startTcpProxy({ host: RABBIT_HOST, port: RABBIT_PORT });
    const x = side.exchange("hold");
    const q = side.queue("hold");
    const first = deferred();
    const h = adapterHarness({
      behaviour: async (_input, n) => {
        if (n === 1) await first.promise;
      },
    });
    const running = await start(h, {
      ev: {
        url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        exchangeName: x,
        exchangeType: "direct",
        routingKey: "k",
        queueDeclare: { name: q, durable: true },
        connectionBackoff: { duration: "10ms", jitter: 0 },
      },
    });
    let backInQueue: number | undefined;
    try {
      await consumers(q);
      await side.publish(x, "k", "once", { messageId: "held-1", persistent: true });
      await waitUntil(() => h.emitted.length === 1, "the emit to start");
      expect((await side.queueState(q))?.messageCount).toBe(0); // delivered, not acknowledged
      proxy.refuse(); // the connection dies while the event is being stored
      await waitUntil(
        async () => (await side.queueState(q))?.messageCount === 1,
        "the unacknowledged message back in the queue",
      );
      backInQueue = 1;
      proxy.accept();
      await waitUntil(() => running.disconnected?.().length === 0, "the reconnect");
      first.resolve(); // the first emit finishes after its connection died: no ack is sent
      await waitUntil(() => h.emitted.length === 2, "the redelivery");
      await waitUntil(
        async () => (await side.queueState(q))?.messageCount === 0,
        "the queue to be drained",
      );
    } finally {
      first.resolve();
      await running.stop();
      await proxy.close();
    }
    expect(backInQueue).toBe(1);
    expect(h.emitted.map((e) => e.id)).toEqual([
      amqpEventId(ES, "ev", "held-1"),
      amqpEventId(ES, "ev", "held-1"),
    ]);
    expect(await side.queueState(q)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it("autoAck: the broker forgets on delivery; a refused emit is retried in place, not nacked", async () => {
    const x = side.exchange("autoack");
    const q = side.queue("autoack");
    const h = adapterHarness({
      behaviour: async (_input, n) => {
        if (n === 1)
          throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down (injected)", {
            retryable: true,
          });
      },
    });
    const running = await start(h, {
      ev: {
        url: RABBIT_URL,
        exchangeName: x,
        exchangeType: "fanout",
        routingKey: "r",
        queueDeclare: { name: q, autoDelete: true },
        consume: { autoAck: true, consumerTag: "sb-test-tag" },
      },
    });
    await consumers(q);
    await side.publish(x, "", "a", { messageId: "a-1" });
    await waitUntil(() => h.emitted.length >= 2, "the retry");
    await running.stop();
    expect(h.emitted.map((e) => e.id)).toEqual([
      amqpEventId(ES, "ev", "a-1"),
      amqpEventId(ES, "ev", "a-1"),
    ]);
    expect(h.logs.lines.filter((l) => String(l.msg).includes("nacked"))).toEqual([]);
    expect(h.logs.lines.filter((l) => String(l.msg).includes("retrying (autoAck")).length).toBe(1);
  });

  it("auth from Secrets replaces the URL's user info; urlSecret is read from its Secret", async () => {
    const x = side.exchange("auth");
    const h = adapterHarness({
      secrets: { "rabbit/user": "guest", "rabbit/pass": "guest", "rabbit/url": RABBIT_URL },
    });
    const running = await start(h, {
      byAuth: {
        url: `amqp://nobody:wrong@${RABBIT_HOST}:${RABBIT_PORT}/`,
        auth: {
          username: { name: "rabbit", key: "user" },
          password: { name: "rabbit", key: "pass" },
        },
        exchangeName: x,
        exchangeType: "fanout",
        routingKey: "r",
        exchangeDeclare: { autoDelete: true },
      },
      byUrlSecret: {
        urlSecret: { name: "rabbit", key: "url" },
        exchangeName: x,
        exchangeType: "fanout",
        routingKey: "r",
        exchangeDeclare: { autoDelete: true },
      },
    });
    await waitUntil(() => running.disconnected?.().length === 0, "both connected");
    await side.publish(x, "", "to both");
    await waitUntil(() => h.emitted.length >= 2, "one event per entry");
    await running.stop();
    expect(h.logs.lines.filter((l) => l.level === 50)).toEqual([]);
  });

  it("wrong credentials: start returns, the entry is disconnected, the failure is logged once", async () => {
    const h = adapterHarness({ clock: systemClock });
    const running = await start(h, {
      ev: {
        url: `amqp://guest:not-the-password@${RABBIT_HOST}:${RABBIT_PORT}`,
        exchangeName: side.exchange("denied"),
        exchangeType: "fanout",
        routingKey: "r",
        connectionBackoff: { duration: "20ms", jitter: 0, steps: 2 },
      },
    });
    await waitUntil(
      () => h.logs.withMsg("AMQP connection attempt failed").length >= 3,
      "several attempts",
    );
    expect(running.disconnected?.()).toEqual(["ev"]);
    await running.stop();
    const errors = h.logs.withMsg(
      "cannot connect to the AMQP broker and consume; retrying with backoff",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]?.err).toMatchObject({ message: expect.stringMatching(/ACCESS_REFUSED|403/) });
    expect(JSON.stringify(h.logs.lines)).not.toContain("not-the-password");
  });

  it("amqps:// with tls: the CA from a Secret verifies the broker; without it the connection is refused; insecureSkipVerify connects", async () => {
    // RabbitMQ here has no TLS listener: a TLS terminator of the test's own forwards to it.
    const dir = mkdtempSync(join(tmpdir(), "sb-amqp-tls-"));
    const { key, cert } = selfSignedCert(dir, { cn: "127.0.0.1" });
    const server = createTlsServer({ key, cert }, (client) => {
      const upstream = tcpConnect({ host: RABBIT_HOST, port: RABBIT_PORT });
      client.pipe(upstream).pipe(client);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const x = side.exchange("tls");
    const h = adapterHarness({ clock: systemClock, secrets: { "rabbit-tls/ca": cert } });
    const entry = (tls: AMQPEventSpec["tls"]): AMQPEventSpec => ({
      url: `amqps://guest:guest@127.0.0.1:${port}`,
      exchangeName: x,
      exchangeType: "fanout",
      routingKey: "r",
      exchangeDeclare: { autoDelete: true },
      connectionBackoff: { duration: "50ms", jitter: 0 },
      tls,
    });
    const running = await start(h, {
      withCa: entry({ caCertSecret: { name: "rabbit-tls", key: "ca" } }),
      systemCas: entry({ enabled: true }),
      skipVerify: entry({ insecureSkipVerify: true }),
    });
    try {
      await waitUntil(
        () => h.logs.withMsg("consuming from the AMQP queue").length === 2,
        "the two verifying connections",
      );
      await side.publish(x, "", "over tls");
      await waitUntil(() => h.emitted.length === 2, "one event per connected entry");
      expect(running.disconnected?.()).toEqual(["systemCas"]);
    } finally {
      await running.stop();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
    const refused = h.logs.withMsg(
      "cannot connect to the AMQP broker and consume; retrying with backoff",
    );
    expect(refused.map((l) => l.eventName)).toEqual(["systemCas"]);
    expect(refused[0]?.err).toMatchObject({ message: expect.stringMatching(/self[- ]signed/) });
  });

  it("an unreachable broker and a lost connection: /readyz state, logged once each, nothing lost", async () => {
    const proxy = await startTcpProxy({ host: RABBIT_HOST, port: RABBIT_PORT });
    proxy.refuse();
    const x = side.exchange("outage");
    const q = side.queue("outage");
    const h = adapterHarness({ clock: systemClock });
    const running = await start(h, {
      ev: {
        url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        exchangeName: x,
        exchangeType: "fanout",
        routingKey: "r",
        queueDeclare: { name: q, durable: true },
        connectionBackoff: { duration: "20ms", jitter: 0 },
      },
    });
    try {
      expect(running.disconnected?.()).toEqual(["ev"]);
      await waitUntil(
        () => h.logs.withMsg("AMQP connection attempt failed").length >= 3,
        "attempts while refused",
      );
      proxy.accept();
      await waitUntil(() => running.disconnected?.().length === 0, "connected");
      await side.publish(x, "", "1", { messageId: "o-1", persistent: true });
      await waitUntil(() => h.emitted.length === 1, "the first message");
      proxy.refuse();
      await waitUntil(() => running.disconnected?.().length === 1, "the outage seen");
      // Published while sensorbus is away: kept in the durable queue.
      await side.publish(x, "", "2", { messageId: "o-2", persistent: true });
      await waitUntil(
        () => h.logs.withMsg("AMQP connection attempt failed").length >= 6,
        "attempts during the outage",
      );
      proxy.accept();
      await waitUntil(
        () => data(h).some((d) => d.messageId === "o-2"),
        "the message published during the outage",
      );
    } finally {
      await running.stop();
      await proxy.close();
    }
    // o-1's ack can be cut off by the refusal that follows it: RabbitMQ then delivers it again,
    // under the same event id (the bus drops the second copy). Nothing is lost.
    const ids = data(h).map((d) => d.messageId);
    expect([...new Set(ids)]).toEqual(["o-1", "o-2"]);
    const eventIds = new Map<string, Set<string | undefined>>();
    for (const e of h.emitted) {
      const m = JSON.parse(e.data).messageId as string;
      eventIds.set(m, (eventIds.get(m) ?? new Set()).add(e.id));
    }
    expect([...eventIds.values()].every((s) => s.size === 1)).toBe(true);
    expect(
      h.logs.withMsg("cannot connect to the AMQP broker and consume; retrying with backoff"),
    ).toHaveLength(1);
    expect(h.logs.withMsg("AMQP connection lost; reconnecting with backoff")).toHaveLength(1);
    // Restored twice: after the start-up outage and after the cut. Never logged per attempt.
    expect(h.logs.withMsg("AMQP connection restored")).toHaveLength(2);
    expect(h.logs.lines.filter((l) => l.level === 50)).toHaveLength(1);
  });
});

describe("amqp EventSource end to end: RabbitMQ -> EventSource -> JetStream -> Sensor -> HTTP trigger", () => {
  let nats: NatsServer;
  let sink: HttpSink;
  let runtime: Runtime | undefined;
  let secretsDir: string;

  beforeAll(async () => {
    nats = await startNatsServer();
    sink = await new HttpSink().start();
    secretsDir = mkdtempSync(join(tmpdir(), "sb-amqp-secrets-"));
    mkdirSync(join(secretsDir, "rabbit"));
    writeFileSync(join(secretsDir, "rabbit", "url"), RABBIT_URL);
  });
  afterAll(async () => {
    await runtime?.stop(5_000);
    await sink?.stop();
    await nats?.stop();
    rmSync(secretsDir, { recursive: true, force: true });
  });

  it("fires the trigger with a parameter taken from the JSON body; filter.expression applies", async () => {
    const x = side.exchange("e2e");
    const q = side.queue("e2e");
    const es: EventSourceManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventSource",
      metadata: { name: "amqp-e2e" },
      spec: {
        amqp: {
          orders: {
            urlSecret: { name: "rabbit", key: "url" },
            exchangeName: x,
            exchangeType: "topic",
            routingKey: "orders.#",
            jsonBody: true,
            queueDeclare: { name: q, durable: true },
            filter: { expression: "body.order.total > 0" },
          },
        },
      },
    } as EventSourceManifest;
    const sensor: SensorManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "amqp-e2e-sensor" },
      spec: {
        dependencies: [{ name: "order", eventSourceName: "amqp-e2e", eventName: "orders" }],
        triggers: [
          {
            template: {
              name: "notify",
              http: {
                url: `${sink.url}/orders`,
                method: "POST",
                payload: [
                  { src: { dependencyName: "order", dataKey: "body.order.id" }, dest: "id" },
                  { src: { dependencyName: "order", dataKey: "routingKey" }, dest: "key" },
                ],
              },
            },
          },
        ],
      },
    } as SensorManifest;
    const loaded: LoadResult = {
      eventSources: [{ manifest: es, file: "es.yaml", doc: 0 }],
      sensors: [{ manifest: sensor, file: "sensor.yaml", doc: 0 }],
      problems: [],
    };
    runtime = await Runtime.start({
      loaded,
      busUrl: nats.url,
      values: dirResolver({ secretsDir }),
      log: silentLogger(),
      kube: undefined,
      dryRun: false,
    });
    await consumers(q);
    await side.publish(x, "orders.eu.created", JSON.stringify({ order: { id: "o-0", total: 0 } }), {
      messageId: "e2e-0",
      persistent: true,
    });
    await side.publish(
      x,
      "orders.eu.created",
      JSON.stringify({ order: { id: "o-42", total: 10 } }),
      {
        messageId: "e2e-42",
        persistent: true,
      },
    );
    await waitUntil(() => sink.requests.length >= 1, "the trigger to fire", 20_000);
    await waitUntil(
      async () => (await side.queueState(q))?.messageCount === 0,
      "both messages acknowledged",
    );
    expect(sink.requests.map((r) => JSON.parse(r.body))).toEqual([
      { id: "o-42", key: "orders.eu.created" },
    ]);
    expect(sink.requests[0]?.url).toBe("/orders");
  });
});
