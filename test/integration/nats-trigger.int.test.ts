import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listDeadLetters } from "../../src/app/deadletters.js";
import { Runtime } from "../../src/app/runtime.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import type { LoadResult } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { TriggerError } from "../../src/errors.js";
import { silentLogger } from "../../src/observability/logger.js";
import type { NatsTrigger } from "../../src/triggers/nats/index.js";
import { natsTrigger } from "../../src/triggers/nats/runtime.js";
import { applyParameters } from "../../src/triggers/params.js";
import type { FiringContext } from "../../src/triggers/types.js";
import { type NatsServer, startNatsServer, waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

/**
 * The `nats` trigger against real nats-server processes: the exact payload a subscriber receives,
 * a server that is down and then up (a retryable failure, then a fresh connection), a publish the
 * server refuses (permissions: final), and through a Runtime: retryStrategy across an outage, the
 * dlqTrigger, and the dead-letter stream.
 */

const run = randomBytes(3).toString("hex");
const subj = (name: string) => `sbtrig.${run}.${name}`;
const PASSWORD = `pw-${randomBytes(6).toString("hex")}`;

const event: CloudEvent = {
  specversion: "1.0",
  id: "e-1",
  source: "es",
  subject: "ev",
  type: "nats",
  time: "2026-11-24T10:00:00Z",
  datacontenttype: "application/json",
  data: JSON.stringify({ subject: "in", body: { order: { id: "A-1", n: 3 }, note: "a<b" } }),
};

function firing(secrets: Record<string, string> = {}): FiringContext {
  const events = new Map([["d", event]]);
  return {
    sensorName: "s",
    namespace: "default",
    triggerName: "t",
    events,
    applyParameters: (doc, params) => applyParameters(doc, params, events),
    values: {
      secret: async (ref: { name: string; key: string }) => secrets[`${ref.name}/${ref.key}`] ?? "",
      configMap: async () => "",
    } as unknown as FiringContext["values"],
    log: silentLogger(),
    now: () => 0,
  };
}
const exec = () => ({ log: silentLogger(), signal: new AbortController().signal });

let nats: NatsServer;
let limited: NatsServer;
let sub: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  limited = await startNatsServer({
    config: `authorization { users: [ { user: "limited", password: "${PASSWORD}", permissions: { publish: { deny: ["forbidden.>"] } } } ] }\n`,
  });
  sub = await connect({ servers: nats.url });
});
afterAll(async () => {
  await sub?.close();
  await nats?.stop();
  await limited?.stop();
});

/** Collects the data of messages on `subject` as text. */
async function collect(subject: string, conn = sub): Promise<string[]> {
  const got: string[] = [];
  conn.subscribe(subject, {
    callback: (_e, m) => {
      got.push(new TextDecoder().decode(m.data));
    },
  });
  await conn.flush();
  return got;
}

const spec = (url: string, subject: string): NatsTrigger => ({
  url,
  subject,
  payload: [
    { src: { dependencyName: "d", dataKey: "body.order.id" }, dest: "order.id" },
    { src: { dependencyName: "d", dataKey: "body.order", useRawData: true }, dest: "raw" },
    { src: { dependencyName: "d", dataKey: "body.note" }, dest: "note" },
  ],
});

describe("nats trigger kind against nats-server", () => {
  it("publishes the rendered payload: the subscriber receives exactly it", async () => {
    const got = await collect(subj("exact"));
    const kind = natsTrigger();
    const r = await kind.execute(
      await kind.render(spec(nats.url, subj("exact")), firing()),
      exec(),
    );
    await waitUntil(() => got.length === 1, "the message");
    await kind.close?.();
    expect(got).toEqual(['{"order":{"id":"A-1"},"raw":{"id":"A-1","n":3},"note":"a<b"}']);
    expect(r.summary).toMatch(
      new RegExp(`^published \\d+ bytes to ${subj("exact")} at nats://127\\.0\\.0\\.1:\\d+$`),
    );
  });

  it("a server that is down is a retryable failure; once it is up the next attempt publishes", async () => {
    const proxy = await startTcpProxy({ port: nats.port });
    const got = await collect(subj("downup"));
    const kind = natsTrigger();
    const rendered = await kind.render(
      spec(`nats://127.0.0.1:${proxy.port}`, subj("downup")),
      firing(),
    );
    // Up, published, then the server goes away (connection cut): the kept connection is closed.
    await kind.execute(rendered, exec());
    proxy.refuse();
    const down = await kind.execute(rendered, exec()).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(TriggerError);
    expect((down as TriggerError).code).toBe("SB_ERR_TRIGGER_PUBLISH");
    expect((down as TriggerError).retryable).toBe(true);
    proxy.accept();
    await kind.execute(rendered, exec());
    await waitUntil(() => got.length === 2, "two messages");
    await kind.close?.();
    await proxy.close();
  });

  it("a publish the server refuses (permissions) is a final failure, not silently lost", async () => {
    const kind = natsTrigger();
    const secrets = { "lim/user": "limited", "lim/pw": PASSWORD };
    const auth = {
      basic: { username: { name: "lim", key: "user" }, password: { name: "lim", key: "pw" } },
    };
    const denied = await kind
      .execute(
        await kind.render({ ...spec(limited.url, "forbidden.x"), auth }, firing(secrets)),
        exec(),
      )
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(TriggerError);
    expect((denied as TriggerError).retryable).toBe(false);
    expect((denied as TriggerError).message).toMatch(/Permissions Violation/i);
    expect((denied as TriggerError).message).not.toContain(PASSWORD);
    // The same connection still publishes where it may.
    const ok = await kind.execute(
      await kind.render({ ...spec(limited.url, "allowed.x"), auth }, firing(secrets)),
      exec(),
    );
    expect(ok.summary).toMatch(/^published/);
    // Wrong credentials: final, the password not in the message.
    const wrong = await kind
      .execute(
        await kind.render(
          { ...spec(limited.url, "allowed.x"), auth },
          firing({ "lim/user": "limited", "lim/pw": "nope-123" }),
        ),
        exec(),
      )
      .catch((e: unknown) => e);
    expect((wrong as TriggerError).retryable).toBe(false);
    expect((wrong as TriggerError).message).toMatch(/Authorization Violation/i);
    await kind.close?.();
  });
});

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

describe("nats trigger in a Sensor: retryStrategy, dlqTrigger, dead letters", () => {
  it("retries across an outage, hands a final failure to the dlqTrigger, or stores a dead letter", async () => {
    const proxy = await startTcpProxy({ port: nats.port });
    proxy.refuse();
    const deadPort = await freePort();
    const IN = subj("in");
    const fired = await collect(subj("fired"));
    const dlq = await collect(subj("dlq"));
    const trigger = (
      name: string,
      url: string,
      subject: string,
      extra: Record<string, unknown>,
    ) => ({
      template: {
        name,
        nats: {
          url,
          subject,
          payload: [{ src: { dependencyName: "d", dataKey: "body.id" }, dest: "id" }],
        },
      },
      ...extra,
    });
    const sensor = (name: string, t: unknown): SensorManifest =>
      ({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Sensor",
        metadata: { name },
        spec: {
          dependencies: [{ name: "d", eventSourceName: "in", eventName: "ev" }],
          triggers: [t],
        },
      }) as unknown as SensorManifest;
    const es = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventSource",
      metadata: { name: "in" },
      spec: { nats: { ev: { url: nats.url, subject: IN, jsonBody: true } } },
    } as unknown as EventSourceManifest;
    const loaded: LoadResult = {
      eventSources: [{ manifest: es, file: "es.yaml", doc: 0 }],
      sensors: [
        sensor(
          "s-retry",
          trigger("t", `nats://127.0.0.1:${proxy.port}`, subj("fired"), {
            retryStrategy: { steps: 50, duration: "100ms", factor: 1 },
          }),
        ),
        sensor(
          "s-dlq",
          trigger("t", `nats://127.0.0.1:${deadPort}`, subj("never"), {
            retryStrategy: { steps: 2, duration: "50ms" },
            atLeastOnce: true,
            dlqTrigger: {
              ...trigger("dlq", nats.url, subj("dlq"), {}),
              atLeastOnce: true,
            },
          }),
        ),
        sensor(
          "s-dead",
          trigger("t", `nats://127.0.0.1:${deadPort}`, subj("never"), {
            retryStrategy: { steps: 2, duration: "50ms" },
          }),
        ),
      ].map((manifest) => ({ manifest, file: "s.yaml", doc: 0 })),
      problems: [],
    };
    const logs = logSink();
    const runtime = await Runtime.start({
      loaded,
      busUrl: nats.url,
      dryRun: true,
      values: dirResolver({}),
      log: logs.log,
    } as Parameters<typeof Runtime.start>[0]);
    try {
      await waitUntil(
        () => logs.lines.some((l) => String(l.msg).includes("subscribed to NATS")),
        "the source",
      );
      sub.publish(IN, JSON.stringify({ id: `order-${run}` }));
      await sub.flush();
      await waitUntil(
        () => logs.lines.some((l) => String(l.msg).includes("failed; retrying")),
        "a failed attempt",
      );
      await waitUntil(() => dlq.length === 1, "the dlqTrigger's message");
      proxy.accept();
      await waitUntil(() => fired.length === 1, "the retried publish", 20_000);
      await waitUntil(
        async () => (await listDeadLetters(nats.url)).some((d) => d.sensor === "s-dead"),
        "the dead letter",
        20_000,
      );
      const dead = (await listDeadLetters(nats.url)).filter((d) => d.sensor === "s-dead");
      expect(fired).toEqual([`{"id":"order-${run}"}`]);
      expect(dlq).toEqual([`{"id":"order-${run}"}`]);
      expect(dead).toHaveLength(1);
      expect(dead[0]?.attempts).toBe(2);
      expect(dead[0]?.error).toMatch(
        /nats trigger: cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/,
      );
      expect((await listDeadLetters(nats.url)).filter((d) => d.sensor !== "s-dead")).toEqual([]);
    } finally {
      await runtime.stop();
      await proxy.close();
    }
  }, 60_000);
});
