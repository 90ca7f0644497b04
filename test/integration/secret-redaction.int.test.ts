import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatExplanation, loadExplanation } from "../../src/app/explain.js";
import { buildGraph } from "../../src/app/graph.js";
import { replay } from "../../src/app/replay.js";
import { Runtime } from "../../src/app/runtime.js";
import type { LoadResult } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import type { RecordLog } from "../../src/eventbus/types.js";
import { clearSecrets } from "../../src/lib/redact.js";
import { consoleRoutes } from "../../src/observability/console.js";
import { Journal } from "../../src/observability/journal.js";
import { silentLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import { startObservabilityServer } from "../../src/observability/server.js";
import { triggerRegistry } from "../../src/triggers/registry.js";
import { HttpSink } from "../support/http-sink.js";
import { logSink } from "../support/log-sink.js";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { selfSignedCert } from "../support/tls-cert.js";

/*
 * One distinct secret per secret-bearing field of every kind sensorbus reads, events run through
 * a real Runtime (webhook with authSecret, hmac and TLS; an http trigger with secureHeaders from a
 * Secret and a ConfigMap, basicAuth and TLS secrets against a local server; a firing that fails
 * for good and is dead-lettered), then every output channel searched for the values: the journal
 * (console API and its JetStream records), explain, replay, dead letters, /metrics and the log.
 */

const dir = mkdtempSync(join(tmpdir(), "sensorbus-redaction-"));
const secretsDir = join(dir, "secrets");
const configMapsDir = join(dir, "configmaps");
const savedHost = process.env.SENSORBUS_WEBHOOK_HOST;
process.env.SENSORBUS_WEBHOOK_HOST = "127.0.0.1";

const secret = (field: string) => `sb-${field}-${randomBytes(8).toString("hex")}`;
/** Every secret value, by the field that reads it. */
const SECRETS: Record<string, string> = {};

function put(base: string, name: string, key: string, value: string): void {
  mkdirSync(join(base, name), { recursive: true });
  // A trailing newline, as `kubectl create secret --from-file` often leaves; Argo trims one.
  writeFileSync(join(base, name, key), `${value}\n`);
}

function keyPair(name: string): { cert: string; key: string } {
  const { cert, key } = selfSignedCert(join(dir, "pki", name), { cn: name });
  return { cert: cert.trimEnd(), key: key.trimEnd() };
}

function manifests(port: number, tlsPort: number, sinkUrl: string, deadPort: number): LoadResult {
  const hooks: EventSourceManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "hooks" },
    spec: {
      webhook: {
        secure: {
          port: String(port),
          endpoint: "/secure",
          method: "POST",
          authSecret: { name: "webhook-auth", key: "token" },
        },
        signed: {
          port: String(port),
          endpoint: "/signed",
          method: "POST",
          hmac: { secret: { name: "webhook-hmac", key: "secret" } },
        },
      },
    },
  } as EventSourceManifest;
  const tlsHooks: EventSourceManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "tlshooks" },
    spec: {
      webhook: {
        tls: {
          port: String(tlsPort),
          endpoint: "/tls",
          method: "POST",
          serverCertSecret: { name: "webhook-tls", key: "tls.crt" },
          serverKeySecret: { name: "webhook-tls", key: "tls.key" },
        },
      },
    },
  };
  const sensor: SensorManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "caller" },
    spec: {
      dependencies: [
        { name: "secure", eventSourceName: "hooks", eventName: "secure" },
        { name: "signed", eventSourceName: "hooks", eventName: "signed" },
        { name: "tls", eventSourceName: "tlshooks", eventName: "tls" },
      ],
      triggers: [
        {
          template: {
            name: "call",
            conditions: "secure",
            http: {
              url: `${sinkUrl}/hello`,
              method: "POST",
              payload: [{ src: { dependencyName: "secure", dataKey: "body.n" }, dest: "n" }],
              secureHeaders: [
                {
                  name: "X-Service-Token",
                  valueFrom: { secretKeyRef: { name: "http-header", key: "token" } },
                },
                {
                  name: "X-Config-Token",
                  valueFrom: { configMapKeyRef: { name: "http-config", key: "header" } },
                },
              ],
              basicAuth: {
                username: { name: "http-basic", key: "username" },
                password: { name: "http-basic", key: "password" },
              },
              tls: {
                caCertSecret: { name: "http-tls", key: "ca.crt" },
                clientCertSecret: { name: "http-tls", key: "tls.crt" },
                clientKeySecret: { name: "http-tls", key: "tls.key" },
              },
            },
          },
        },
        {
          template: {
            name: "broken",
            conditions: "signed",
            http: {
              url: `http://127.0.0.1:${deadPort}/nobody`,
              method: "POST",
              secureHeaders: [
                {
                  name: "X-Broken-Token",
                  valueFrom: { secretKeyRef: { name: "http-broken", key: "token" } },
                },
              ],
            },
          },
        },
        { template: { name: "tls-seen", conditions: "tls", log: {} } },
      ],
    },
  } as SensorManifest;
  return {
    eventSources: [
      { manifest: hooks, file: "hooks.yaml", doc: 0 },
      { manifest: tlsHooks, file: "tlshooks.yaml", doc: 0 },
    ],
    sensors: [{ manifest: sensor, file: "caller.yaml", doc: 0 }],
    problems: [],
  };
}

/** The forms a value could take in an output: itself, JSON-escaped, and each line of a PEM body. */
function forms(value: string): string[] {
  const lines = value.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
  return [value, JSON.stringify(value).slice(1, -1), ...lines];
}

function leaks(channel: string, text: string): string[] {
  const found: string[] = [];
  for (const [field, value] of Object.entries(SECRETS))
    if (forms(value).some((f) => text.includes(f))) found.push(`${channel}: ${field}`);
  return found;
}

describe("values read from Secrets never reach an output channel", () => {
  let sink: HttpSink;
  let runtime: Runtime;
  let server: FastifyInstance;
  let journal: Journal;
  let base: string;
  const logs = logSink({ level: "trace", app: true });
  const records: string[] = [];
  const ids: Record<string, string> = {};
  let deadPort: number;
  let tlsAgent: Agent;

  beforeAll(async () => {
    clearSecrets();
    for (const field of [
      "webhook.authSecret",
      "webhook.hmac.secret",
      "http.secureHeaders.secretKeyRef",
      "http.secureHeaders.configMapKeyRef",
      "http.basicAuth.username",
      "http.basicAuth.password",
      "http.dlq.secureHeaders",
      "pubSub.credentialSecret",
    ])
      SECRETS[field] = secret(field.replaceAll(".", "-"));
    const serverTls = keyPair("webhook");
    const ca = keyPair("http-ca");
    const client = keyPair("http-client");
    SECRETS["webhook.serverCertSecret"] = serverTls.cert;
    SECRETS["webhook.serverKeySecret"] = serverTls.key;
    SECRETS["http.tls.caCertSecret"] = ca.cert;
    SECRETS["http.tls.clientCertSecret"] = client.cert;
    SECRETS["http.tls.clientKeySecret"] = client.key;
    put(secretsDir, "webhook-auth", "token", SECRETS["webhook.authSecret"]!);
    put(secretsDir, "webhook-hmac", "secret", SECRETS["webhook.hmac.secret"]!);
    put(secretsDir, "webhook-tls", "tls.crt", serverTls.cert);
    put(secretsDir, "webhook-tls", "tls.key", serverTls.key);
    put(secretsDir, "http-header", "token", SECRETS["http.secureHeaders.secretKeyRef"]!);
    put(configMapsDir, "http-config", "header", SECRETS["http.secureHeaders.configMapKeyRef"]!);
    put(secretsDir, "http-basic", "username", SECRETS["http.basicAuth.username"]!);
    put(secretsDir, "http-basic", "password", SECRETS["http.basicAuth.password"]!);
    put(secretsDir, "http-tls", "ca.crt", ca.cert);
    put(secretsDir, "http-tls", "tls.crt", client.cert);
    put(secretsDir, "http-tls", "tls.key", client.key);
    put(secretsDir, "http-broken", "token", SECRETS["http.dlq.secureHeaders"]!);
    put(
      secretsDir,
      "pubsub-sa",
      "key.json",
      JSON.stringify({ type: "service_account", private_key: SECRETS["pubSub.credentialSecret"] }),
    );

    sink = await new HttpSink().start();
    const port = await freePort();
    const tlsPort = await freePort();
    deadPort = await freePort();
    const loaded = manifests(port, tlsPort, sink.url, deadPort);
    const log = logs.log;
    const recordLog: RecordLog = {
      append: async (_partition, record) => {
        records.push(record);
      },
      read: async () => records,
    };
    journal = new Journal({ records: recordLog, writeDelayMs: 1 });
    const metrics = new Metrics();
    const values = dirResolver({ secretsDir, configMapsDir });
    runtime = await Runtime.start({
      loaded,
      busUrl: undefined,
      kube: undefined,
      dryRun: true,
      values,
      log,
      metrics,
      observer: journal.observer(),
      onEmit: journal.onEmit,
    });
    server = await startObservabilityServer({
      metrics,
      port: 0,
      host: "127.0.0.1",
      health: { busConnected: () => runtime.bus.connected, stuckTriggers: () => [] },
      plugins: [consoleRoutes({ journal, graph: () => buildGraph(loaded) })],
    });
    const addr = server.server.address();
    base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;

    // Pub/Sub: the credential read through the same resolver, then logged as an SDK error would.
    const credential = await values.secret({ name: "pubsub-sa", key: "key.json" }, "cred");
    log.error({ err: new Error(`could not load the default credentials: ${credential}`) }, "x");

    const post = async (
      url: string,
      body: string,
      headers: Record<string, string>,
      dispatcher?: Agent,
    ) => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
        ...(dispatcher ? { dispatcher } : {}),
      } as RequestInit);
      await res.text();
      return { status: res.status, id: res.headers.get("x-event-id") ?? "" };
    };
    const unauthorized = await post(`http://127.0.0.1:${port}/secure`, "{}", {
      authorization: "Bearer wrong",
    });
    expect(unauthorized.status).toBe(401);
    const secure = await post(`http://127.0.0.1:${port}/secure`, '{"n":7}', {
      authorization: `Bearer ${SECRETS["webhook.authSecret"]}`,
    });
    expect(secure.status).toBe(200);
    ids.secure = secure.id;
    const body = '{"n":8}';
    const signature = createHmac("sha256", SECRETS["webhook.hmac.secret"]!)
      .update(body)
      .digest("hex");
    const signed = await post(`http://127.0.0.1:${port}/signed`, body, {
      "x-hub-signature-256": `sha256=${signature}`,
    });
    expect(signed.status).toBe(200);
    ids.signed = signed.id;
    tlsAgent = new Agent({ connect: { ca: serverTls.cert } });
    const tls = await post(`https://127.0.0.1:${tlsPort}/tls`, '{"n":9}', {}, tlsAgent);
    expect(tls.status).toBe(200);
    ids.tls = tls.id;
    await waitUntil(async () => {
      const dead = await runtime.bus.listDeadLetters();
      return (
        sink.requests.length === 1 &&
        dead.length === 1 &&
        journal.get(ids.tls!)?.entries.some((e) => e.kind === "fired") === true
      );
    }, "the http firing, the dead letter and the TLS event's firing");
    await journal.flush();
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.stop(5_000);
    await sink?.stop();
    await tlsAgent?.close();
    clearSecrets();
    if (savedHost === undefined) delete process.env.SENSORBUS_WEBHOOK_HOST;
    else process.env.SENSORBUS_WEBHOOK_HOST = savedHost;
    rmSync(dir, { recursive: true, force: true });
  });

  it("the http trigger still sent the secret headers to the server", () => {
    const req = sink.requests[0]!;
    expect(req.headers["x-service-token"]).toBe(SECRETS["http.secureHeaders.secretKeyRef"]);
    expect(req.headers["x-config-token"]).toBe(SECRETS["http.secureHeaders.configMapKeyRef"]);
    const basic = Buffer.from(
      `${SECRETS["http.basicAuth.username"]}:${SECRETS["http.basicAuth.password"]}`,
    ).toString("base64");
    expect(req.headers.authorization).toBe(`Basic ${basic}`);
    expect(JSON.parse(req.body)).toEqual({ n: "7" });
  });

  it("the journal (console API, JetStream records) and explain show [redacted]", async () => {
    const found: string[] = [];
    for (const path of ["/api/events?limit=100", "/api/triggers", "/api/graph"])
      found.push(...leaks(path, await (await fetch(`${base}${path}`)).text()));
    for (const id of Object.values(ids)) {
      found.push(
        ...leaks(`/api/events/${id}`, await (await fetch(`${base}/api/events/${id}`)).text()),
      );
      const explained = await loadExplanation({ id, url: base, log: silentLogger() });
      found.push(...leaks(`explain ${id}`, formatExplanation(explained!)));
      found.push(...leaks(`explain --json ${id}`, JSON.stringify(explained)));
    }
    found.push(...leaks("journal records", records.join("\n")));
    expect(found).toEqual([]);
    // The firing is still explained: the header is there, its value masked.
    const ev = (await (await fetch(`${base}/api/events/${ids.secure}`)).json()) as {
      entries: Array<{
        kind: string;
        rendered?: { request?: { headers: Record<string, string> } };
      }>;
    };
    const fired = ev.entries.find((e) => e.kind === "fired");
    expect(fired?.rendered?.request?.headers).toMatchObject({
      "X-Service-Token": "[redacted]",
      "X-Config-Token": "[redacted]",
      Authorization: "[redacted]",
    });
    expect(records.length).toBeGreaterThan(0);
  });

  it("dead letters, /metrics and every log line hold none of the values", async () => {
    const dead = await runtime.bus.listDeadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.trigger).toBe("broken");
    const metricsText = await (await fetch(`${base}/metrics`)).text();
    expect(metricsText).toContain("caller");
    const found = [
      ...leaks("dead letters", JSON.stringify(dead)),
      ...leaks("/metrics", metricsText),
      ...leaks("log", logs.text()),
    ];
    expect(found).toEqual([]);
    // The log did see the credential-bearing error, redacted.
    expect(logs.text()).toContain("could not load the default credentials: [redacted]");
  });

  it("replay prints the rendered firing with the secret headers masked", async () => {
    const event = {
      specversion: "1.0",
      id: "r1",
      source: "hooks",
      subject: "secure",
      type: "webhook",
      time: "2026-01-01T00:00:00Z",
      datacontenttype: "application/json",
      data: { header: {}, body: { n: 1 } },
    };
    async function* input() {
      yield JSON.stringify(event);
    }
    const log = silentLogger();
    const lines = [];
    for await (const line of replay(input(), {
      sensor: manifests(1, 2, sink.url, deadPort).sensors[0]!.manifest,
      kinds: triggerRegistry({ kube: undefined, dryRun: true, log }),
      values: dirResolver({ secretsDir, configMapsDir }),
      log,
    }))
      lines.push(line);
    const fired = lines.find((l) => l.kind === "fired");
    expect(fired).toMatchObject({
      trigger: "call",
      request: { headers: { "X-Service-Token": "[redacted]", Authorization: "[redacted]" } },
    });
    expect(leaks("replay", JSON.stringify(lines))).toEqual([]);
  });
});
