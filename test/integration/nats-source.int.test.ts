import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createUser } from "@nats-io/nkeys";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dirResolver } from "../../src/config/secrets.js";
import { EventBusError } from "../../src/errors.js";
import { natsAdapter } from "../../src/eventsources/nats/runtime.js";
import type { NatsEventSpec } from "../../src/eventsources/nats/schema.js";
import type {
  AdapterContext,
  Clock,
  EmitInput,
  EmitResult,
  RunningAdapter,
} from "../../src/eventsources/types.js";
import { silentLogger } from "../../src/observability/logger.js";
import { natsTrigger } from "../../src/triggers/nats/runtime.js";
import type { FiringContext } from "../../src/triggers/types.js";
import { operatorSetup } from "../support/nats-jwt.js";
import { type NatsServer, startNatsServer, waitUntil } from "../support/nats-server.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { makeCa } from "../support/tls-cert.js";

/**
 * The `nats` EventSource against real nats-server processes of the test's own: Argo's payload
 * (base64 body, jsonBody, header, metadata), wildcard subjects, queue groups, every
 * authentication mode, a bus that refuses events, and the connection cut mid-stream (counted:
 * sent / lost while disconnected / fired / duplicates). End to end through a Sensor whose `nats`
 * trigger publishes what it fired to a subject the test reads.
 */

const dir = mkdtempSync(join(tmpdir(), "sb-nats-source-"));
const secretsDir = join(dir, "secrets");
const run = randomBytes(3).toString("hex");
const subj = (name: string) => `sbtest.${run}.${name}`;

function secretFile(name: string, key: string, value: string): { name: string; key: string } {
  mkdirSync(join(secretsDir, name), { recursive: true });
  writeFileSync(join(secretsDir, name, key), value);
  return { name, key };
}
const values = () => dirResolver({ secretsDir });

/** Backoffs take 5 ms (tests assert order and counts, not time), yielding to the event loop. */
const instantClock: Clock = {
  now: () => Date.now(),
  sleep: (_ms, s) => new Promise((r) => setTimeout(() => r(!s?.aborted), 5)),
};

function logs(): { lines: Array<Record<string, unknown>>; log: Logger; text: () => string } {
  const lines: Array<Record<string, unknown>> = [];
  let raw = "";
  const sink = new Writable({
    write(chunk, _enc, cb) {
      raw += String(chunk);
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, log: pino({ level: "debug" }, sink), text: () => raw };
}
const said = (l: ReturnType<typeof logs>, text: string) =>
  l.lines.filter((x) => String(x.msg).includes(text)).length;

interface Harness {
  emitted: EmitInput[];
  logs: ReturnType<typeof logs>;
  ctx: AdapterContext;
  abort: AbortController;
}
function harness(fail?: (n: number) => boolean): Harness {
  const emitted: EmitInput[] = [];
  const l = logs();
  const abort = new AbortController();
  let calls = 0;
  const emit = async (_e: string, input: EmitInput): Promise<EmitResult> => {
    calls++;
    if (fail?.(calls))
      throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down (injected)", { retryable: true });
    emitted.push(input);
    return { id: input.id ?? "x", status: "published" };
  };
  return {
    emitted,
    logs: l,
    abort,
    ctx: {
      eventSourceName: "nats-es",
      namespace: "default",
      emit,
      log: l.log,
      values: values(),
      clock: instantClock,
      signal: abort.signal,
    },
  };
}

const servers: NatsServer[] = [];
const clients: NatsConnection[] = [];
let nats: NatsServer;
let pub: NatsConnection;

async function client(url: string, opts: Record<string, unknown> = {}): Promise<NatsConnection> {
  const c = await connect({ servers: url, ...opts });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  nats = await startNatsServer();
  servers.push(nats);
  pub = await client(nats.url);
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.allSettled(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function start(h: Harness, entries: Record<string, NatsEventSpec>): Promise<RunningAdapter> {
  const running = await natsAdapter.start(
    Object.entries(entries).map(([eventName, spec]) => ({ eventName, spec })),
    h.ctx,
  );
  const n = Object.keys(entries).length;
  await waitUntil(() => said(h.logs, "subscribed to NATS") >= n, "the subscriptions", 15_000);
  return running;
}

const enc = (s: string) => new TextEncoder().encode(s);

describe("nats EventSource against nats-server", () => {
  it("emits Argo's payload: base64 body without jsonBody, the JSON itself with it, header, metadata", async () => {
    const h = harness();
    const running = await start(h, {
      raw: { url: nats.url, subject: subj("raw"), metadata: { team: "a<b" } },
      json: { url: nats.url, subject: subj("json"), jsonBody: true },
    });
    const h1 = headers();
    h1.append("X-Trace", "t1");
    h1.append("X-Trace", "t2");
    pub.publish(subj("raw"), enc("not json \u00e9"), { headers: h1 });
    pub.publish(subj("json"), enc('{ "id": "A-1", "html": "<b>" }'));
    await pub.flush();
    await waitUntil(() => h.emitted.length >= 2, "two events");
    await running.stop();
    const byBody = h.emitted.map((e) => e.data).sort();
    expect(byBody).toEqual(
      [
        `{"subject":"${subj("json")}","body":{"id":"A-1","html":"\\u003cb\\u003e"}}`,
        `{"subject":"${subj("raw")}","body":"${Buffer.from("not json \u00e9").toString("base64")}","header":{"X-Trace":["t1","t2"]},"metadata":{"team":"a\\u003cb"}}`,
      ].sort(),
    );
    expect(new Set(h.emitted.map((e) => e.id)).size).toBe(2);
  });

  it("jsonBody: a message that is not JSON is dropped with an error line (as Argo); the next one is emitted", async () => {
    const h = harness();
    const running = await start(h, {
      e: { url: nats.url, subject: subj("nonjson"), jsonBody: true },
    });
    pub.publish(subj("nonjson"), enc("plain text"));
    pub.publish(subj("nonjson"), enc("[1,2]"));
    await pub.flush();
    await waitUntil(() => h.emitted.length >= 1, "the JSON message");
    await running.stop();
    expect(h.emitted.map((e) => JSON.parse(e.data).body)).toEqual([[1, 2]]);
    const dropped = h.logs.lines.filter((l) => String(l.msg).includes("not JSON; message dropped"));
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.level).toBe(50);
  });

  it("wildcard subjects: * one token, > the rest; the payload names the subject the message was sent to", async () => {
    const h = harness();
    const running = await start(h, {
      star: { url: nats.url, subject: `${subj("wild")}.*` },
      tail: { url: nats.url, subject: `${subj("wild")}.>` },
    });
    for (const s of ["a", "a.b", "c"]) pub.publish(`${subj("wild")}.${s}`, enc(s));
    pub.publish(subj("wild"), enc("none"));
    await pub.flush();
    await waitUntil(() => h.emitted.length >= 5, "five events (2 for *, 3 for >)");
    await running.stop();
    const subjects = h.emitted.map((e) => JSON.parse(e.data).subject as string).sort();
    expect(subjects).toEqual(
      [
        `${subj("wild")}.a`,
        `${subj("wild")}.a`,
        `${subj("wild")}.a.b`,
        `${subj("wild")}.c`,
        `${subj("wild")}.c`,
      ].sort(),
    );
  });

  it("queue: two members of one queue group share the messages, each delivered once; without queue both get all", async () => {
    const N = 40;
    const a = harness();
    const b = harness();
    const c = harness();
    const spec = { url: nats.url, subject: subj("queue"), queue: "workers", jsonBody: true };
    const ra = await start(a, { e: spec });
    const rb = await start(b, { e: spec });
    const rc = await start(c, { e: { url: nats.url, subject: subj("queue"), jsonBody: true } });
    for (let i = 0; i < N; i++) pub.publish(subj("queue"), enc(String(i)));
    await pub.flush();
    await waitUntil(
      () => a.emitted.length + b.emitted.length >= N && c.emitted.length >= N,
      "every message at the group and at the plain subscriber",
    );
    await Promise.all([ra.stop(), rb.stop(), rc.stop()]);
    const shared = [...a.emitted, ...b.emitted].map((e) => JSON.parse(e.data).body as number);
    console.info(
      `nats queue group: sent ${N}, member a ${a.emitted.length}, member b ${b.emitted.length}, plain subscriber ${c.emitted.length}`,
    );
    expect(shared.sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(a.emitted.length).toBeGreaterThan(0);
    expect(b.emitted.length).toBeGreaterThan(0);
    expect(c.emitted).toHaveLength(N);
  });

  it("a refused emit is retried with the same event id until the bus stores it; logged once per streak", async () => {
    const h = harness((n) => n <= 3);
    const running = await start(h, {
      e: { url: nats.url, subject: subj("refused"), jsonBody: true },
    });
    pub.publish(subj("refused"), enc('{"n":1}'));
    pub.publish(subj("refused"), enc('{"n":2}'));
    await pub.flush();
    await waitUntil(() => h.emitted.length >= 2, "both events stored");
    await running.stop();
    expect(h.emitted.map((e) => JSON.parse(e.data).body.n)).toEqual([1, 2]);
    expect(said(h.logs, "event not accepted by the bus")).toBe(1);
    expect(said(h.logs, "the bus accepts events again")).toBe(1);
  });

  it("stop while the bus refuses: the lost messages are counted in an error line, not dropped silently", async () => {
    const h = harness(() => true);
    const running = await start(h, { e: { url: nats.url, subject: subj("stop") } });
    for (let i = 0; i < 3; i++) pub.publish(subj("stop"), enc(String(i)));
    await pub.flush();
    await waitUntil(() => said(h.logs, "event not accepted by the bus") === 1, "the first refusal");
    await running.stop();
    const lost = h.logs.lines.find((l) =>
      String(l.msg).includes("received NATS messages not stored"),
    );
    expect(lost?.level).toBe(50);
    expect(lost?.lost).toBeGreaterThanOrEqual(1);
  });

  it("an unreachable server does not hold up start: /readyz names the entry, the failure is logged once", async () => {
    const proxy = await startTcpProxy({ port: nats.port });
    proxy.refuse();
    const h = harness();
    const running = await natsAdapter.start(
      [
        {
          eventName: "late",
          spec: { url: `nats://127.0.0.1:${proxy.port}`, subject: subj("late") },
        },
      ],
      h.ctx,
    );
    expect(running.disconnected?.()).toEqual(["late"]);
    await waitUntil(() => said(h.logs, "cannot connect to NATS") === 1, "the connect error");
    await new Promise((r) => setTimeout(r, 200)); // several attempts happen meanwhile
    proxy.accept();
    await waitUntil(() => running.disconnected?.().length === 0, "connected");
    pub.publish(subj("late"), enc("x"));
    await pub.flush();
    await waitUntil(() => h.emitted.length === 1, "the event");
    await running.stop();
    await proxy.close();
    expect(said(h.logs, "cannot connect to NATS")).toBe(1);
    expect(said(h.logs, "connected to NATS after retrying")).toBe(1);
  });
});

describe("nats EventSource: the server restarted mid-stream", () => {
  it("reconnects and subscribes again by itself; /readyz and the log show the outage once", async () => {
    const server = await startNatsServer();
    servers.push(server);
    const h = harness();
    const subject = subj("restart");
    const running = await start(h, { e: { url: server.url, subject, jsonBody: true } });
    const sender = await client(server.url, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const before = 20;
    for (let i = 0; i < before; i++) sender.publish(subject, enc(String(i)));
    await sender.flush();
    await waitUntil(() => h.emitted.length >= before, "the messages before the restart");
    await server.kill("SIGKILL");
    await waitUntil(() => running.disconnected?.().length === 1, "/readyz to name the entry");
    await server.restart();
    await waitUntil(() => running.disconnected?.().length === 0, "reconnected", 30_000);
    let probes = 0;
    await waitUntil(
      async () => {
        sender.publish(subject, enc(String(1000 + probes++)));
        await sender.flush().catch(() => {});
        return h.emitted.some((e) => JSON.parse(e.data).body >= 1000);
      },
      "a probe after the restart",
      30_000,
    );
    const after = 20;
    for (let i = 0; i < after; i++) sender.publish(subject, enc(String(2000 + i)));
    await sender.flush();
    await waitUntil(
      () => h.emitted.filter((e) => JSON.parse(e.data).body >= 2000).length >= after,
      "the messages after the restart",
    );
    await running.stop();
    const bodies = h.emitted.map((e) => JSON.parse(e.data).body as number);
    console.info(
      `nats source fault (server restarted): before ${before} emitted ${bodies.filter((b) => b < 1000).length}, ` +
        `probes ${probes} emitted ${bodies.filter((b) => b >= 1000 && b < 2000).length}, after ${after} emitted ${bodies.filter((b) => b >= 2000).length}, ` +
        `duplicates ${bodies.length - new Set(bodies).size}`,
    );
    expect(bodies.filter((b) => b < 1000)).toEqual(Array.from({ length: before }, (_, i) => i));
    expect(bodies.filter((b) => b >= 2000)).toEqual(
      Array.from({ length: after }, (_, i) => 2000 + i),
    );
    expect(bodies.length).toBe(new Set(bodies).size);
    expect(said(h.logs, "NATS connection lost")).toBe(1);
    expect(said(h.logs, "NATS connection restored")).toBe(1);
  }, 60_000);
});

describe("nats EventSource authentication (Secrets through the values resolver)", () => {
  const USER = "sb-user";
  const PASSWORD = `pw-${randomBytes(8).toString("hex")}`;
  const TOKEN = `tok-${randomBytes(8).toString("hex")}`;
  const nkeyUser = createUser();
  const NKEY_SEED = new TextDecoder().decode(nkeyUser.getSeed());
  const operator = operatorSetup();

  const modes: Array<{
    mode: string;
    config: string;
    auth: NonNullable<NatsEventSpec["auth"]>;
    secret: string;
    publisher: Record<string, unknown>;
  }> = [
    {
      mode: "basic",
      config: `authorization { users: [ { user: "${USER}", password: "${PASSWORD}" } ] }\n`,
      auth: {
        basic: {
          username: secretFile("nats-basic", "username", USER),
          password: secretFile("nats-basic", "password", PASSWORD),
        },
      },
      secret: PASSWORD,
      publisher: { user: USER, pass: PASSWORD },
    },
    {
      mode: "token",
      config: `authorization { token: "${TOKEN}" }\n`,
      auth: { token: secretFile("nats-token", "token", TOKEN) },
      secret: TOKEN,
      publisher: { token: TOKEN },
    },
    {
      mode: "nkey",
      config: `authorization { users: [ { nkey: "${nkeyUser.getPublicKey()}" } ] }\n`,
      auth: { nkey: secretFile("nats-nkey", "seed", `${NKEY_SEED}\n`) },
      secret: NKEY_SEED,
      publisher: { nkey: nkeyUser.getPublicKey(), nkeySeed: nkeyUser.getSeed() },
    },
    {
      mode: "credential",
      config: operator.config,
      auth: { credential: secretFile("nats-creds", "creds", operator.creds) },
      secret: operator.userSeed,
      publisher: { creds: true },
    },
  ];

  it.each(modes)(
    "$mode: connects with the Secret, emits, never logs the secret; a wrong one is refused and logged once",
    async (m) => {
      const server = await startNatsServer({ config: m.config });
      servers.push(server);
      const { credsAuthenticator, nkeyAuthenticator } = await import("@nats-io/transport-node");
      const opts =
        m.mode === "credential"
          ? { authenticator: credsAuthenticator(enc(operator.creds)) }
          : m.mode === "nkey"
            ? { authenticator: nkeyAuthenticator(nkeyUser.getSeed()) }
            : m.publisher;
      const p = await client(server.url, opts);
      const h = harness();
      const running = await start(h, {
        e: { url: server.url, subject: subj(`auth.${m.mode}`), auth: m.auth },
      });
      p.publish(subj(`auth.${m.mode}`), enc("hello"));
      await p.flush();
      await waitUntil(() => h.emitted.length === 1, "the event");
      await running.stop();
      expect(h.logs.text()).not.toContain(m.secret);

      // Refused: no auth at all (the server requires it).
      const bad = harness();
      const refused = await natsAdapter.start(
        [{ eventName: "e", spec: { url: server.url, subject: subj("auth.refused") } }],
        bad.ctx,
      );
      await waitUntil(() => said(bad.logs, "cannot connect to NATS") === 1, "the refusal");
      await new Promise((r) => setTimeout(r, 300));
      expect(refused.disconnected?.()).toEqual(["e"]);
      await refused.stop();
      expect(said(bad.logs, "cannot connect to NATS")).toBe(1);
      const line = bad.logs.lines.find((l) => String(l.msg).includes("cannot connect to NATS"));
      expect(String(line?.reason)).toMatch(/Authorization Violation|authentication/i);
    },
  );
});

describe("nats EventSource and trigger over TLS (a generated CA)", () => {
  const tlsDir = mkdtempSync(join(dir, "tls-"));
  const p = (name: string) => join(tlsDir, name);
  let server: NatsServer;

  beforeAll(async () => {
    makeCa(tlsDir, { cn: "sb-nats-ca" }).sign(
      "server",
      "127.0.0.1",
      "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    );
    server = await startNatsServer({
      config: `tls {\n  cert_file: "${p("server.pem")}"\n  key_file: "${p("server.key")}"\n  timeout: 5\n}\n`,
    });
    servers.push(server);
  });

  it("connects with caCertSecret or insecureSkipVerify; an unknown CA is refused and logged once", async () => {
    const { readFileSync } = await import("node:fs");
    const ca = secretFile("nats-tls", "ca", readFileSync(p("ca.pem"), "utf8"));
    // The test's own client: Node checks the certificate against "localhost" for an IP (see
    // eventbus/jetstream/connection.ts); this sender skips the name check, not the CA.
    const sender = await client(server.url, {
      tls: { ca: readFileSync(p("ca.pem"), "utf8"), checkServerIdentity: () => undefined },
    });
    const h = harness();
    const running = await start(h, {
      ca: { url: server.url, subject: subj("tls.ca"), tls: { caCertSecret: ca } },
      skip: { url: server.url, subject: subj("tls.skip"), tls: { insecureSkipVerify: true } },
    });
    sender.publish(subj("tls.ca"), enc("a"));
    sender.publish(subj("tls.skip"), enc("b"));
    await sender.flush();
    await waitUntil(() => h.emitted.length === 2, "both events");
    await running.stop();

    // The trigger over TLS with the CA.
    const got: string[] = [];
    sender.subscribe(subj("tls.out"), {
      callback: (_e, m) => {
        got.push(new TextDecoder().decode(m.data));
      },
    });
    await sender.flush();
    const kind = natsTrigger();
    const ctx = {
      sensorName: "s",
      namespace: "default",
      triggerName: "t",
      events: new Map(),
      applyParameters: (doc: string) => doc,
      values: values(),
      log: silentLogger(),
      now: () => 0,
    } as unknown as FiringContext;
    await kind.execute(
      await kind.render(
        { url: server.url, subject: subj("tls.out"), payload: [], tls: { caCertSecret: ca } },
        ctx,
      ),
      { log: silentLogger(), signal: new AbortController().signal },
    );
    await waitUntil(() => got.length === 1, "the trigger's message");
    await kind.close?.();

    // No CA given: the server's certificate is not trusted.
    const bad = harness();
    const refused = await natsAdapter.start(
      [
        {
          eventName: "e",
          spec: { url: server.url, subject: subj("tls.bad"), tls: { enabled: true } },
        },
      ],
      bad.ctx,
    );
    await waitUntil(() => said(bad.logs, "cannot connect to NATS") === 1, "the refusal");
    await new Promise((r) => setTimeout(r, 200));
    expect(refused.disconnected?.()).toEqual(["e"]);
    await refused.stop();
    expect(said(bad.logs, "cannot connect to NATS")).toBe(1);
  });
});
