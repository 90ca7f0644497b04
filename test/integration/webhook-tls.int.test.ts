import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dirResolver } from "../../src/config/secrets.js";
import { ConfigError } from "../../src/errors.js";
import type { AdapterContext, EmitInput, RunningAdapter } from "../../src/eventsources/types.js";
import { systemClock } from "../../src/eventsources/types.js";
import type { WebhookEventSpec } from "../../src/eventsources/webhook/index.js";
import { REQUEST_TIMEOUT_ENV, webhookAdapter } from "../../src/eventsources/webhook/runtime.js";
import { logSink } from "../support/log-sink.js";
import { hasOpenssl, selfSignedCert } from "../support/tls-cert.js";

const OPENSSL = hasOpenssl();
if (!OPENSSL) {
  // Loud on purpose: a skipped TLS test must not look like a passing one.
  process.stderr.write(
    "\n*** webhook-tls.int.test.ts: `openssl` is not on PATH: the HTTPS webhook tests are SKIPPED ***\n\n",
  );
}

interface Started {
  running: RunningAdapter;
  port: number;
  emitted: EmitInput[];
}

const dir = mkdtempSync(join(tmpdir(), "sensorbus-webhook-tls-"));
const secretsDir = join(dir, "secrets");
let ca = "";
const savedHost = process.env.SENSORBUS_WEBHOOK_HOST;
// Loopback only.
process.env.SENSORBUS_WEBHOOK_HOST = "127.0.0.1";
afterAll(() => {
  if (savedHost === undefined) delete process.env.SENSORBUS_WEBHOOK_HOST;
  else process.env.SENSORBUS_WEBHOOK_HOST = savedHost;
  rmSync(dir, { recursive: true, force: true });
});

function selfSigned(name: string): void {
  selfSignedCert(join(secretsDir, name), { altNames: "IP:127.0.0.1,DNS:localhost" });
}

async function start(
  entries: Array<{ eventName: string; spec: WebhookEventSpec }>,
): Promise<Started> {
  const { log, withMsg } = logSink({ level: "info" });

  const emitted: EmitInput[] = [];
  const ctx: AdapterContext = {
    eventSourceName: "tls",
    namespace: "default",
    log,
    clock: systemClock,
    signal: new AbortController().signal,
    values: dirResolver({ secretsDir }),
    emit: async (_name, input) => {
      emitted.push(input);
      return { id: `id-${emitted.length}`, status: "published" };
    },
  };
  const running = await webhookAdapter.start(entries, ctx);
  const listening = withMsg("webhook server listening")[0] as { port: number } | undefined;
  if (!listening) throw new Error("no 'webhook server listening' log line");
  return { running, port: listening.port, emitted };
}

const tlsSpec = (endpoint: string, secret = "server"): WebhookEventSpec => ({
  port: "0",
  endpoint,
  method: "POST",
  serverCertSecret: { name: secret, key: "tls.crt" },
  serverKeySecret: { name: secret, key: "tls.key" },
});

function post(
  kind: "https" | "http",
  port: number,
  path: string,
  body: string,
  caCert?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (kind === "https" ? httpsRequest : httpRequest)(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        ...(kind === "https" ? { ca: caCert, servername: "localhost" } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe.skipIf(!OPENSSL)("webhook over HTTPS from serverCertSecret/serverKeySecret", () => {
  let server: Started;

  beforeAll(async () => {
    selfSigned("server");
    selfSigned("other");
    ca = readFileSync(join(secretsDir, "server", "tls.crt"), "utf8");
    server = await start([
      { eventName: "a", spec: tlsSpec("/a") },
      { eventName: "b", spec: tlsSpec("/b") },
    ]);
  });

  afterAll(async () => {
    await server?.running.stop();
  });

  it("serves both entries of the port over HTTPS to a client trusting the certificate", async () => {
    const a = await post("https", server.port, "/a", '{"n":1}', ca);
    const b = await post("https", server.port, "/b", '{"n":2}', ca);
    expect([a, b]).toEqual([
      { status: 200, text: "success" },
      { status: 200, text: "success" },
    ]);
    expect(server.emitted.map((e) => JSON.parse(e.data).body)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("is verified: a client without the CA refuses the self-signed certificate", async () => {
    const before = server.emitted.length;
    await expect(post("https", server.port, "/a", "{}")).rejects.toThrow(/self.signed/i);
    expect(server.emitted).toHaveLength(before);
  });

  it("plain HTTP to the HTTPS port fails and records nothing", async () => {
    const before = server.emitted.length;
    const outcome = await post("http", server.port, "/a", "{}").then(
      (r) => `status ${r.status}`,
      (err: NodeJS.ErrnoException) => `error ${err.code ?? err.message}`,
    );
    expect(outcome).not.toBe("status 200");
    expect(outcome).toMatch(/^error |^status 4/);
    expect(server.emitted).toHaveLength(before);
  });

  it("entries sharing a port must agree on TLS: a ConfigError names the fields", async () => {
    const mixed = start([
      { eventName: "secure", spec: tlsSpec("/s") },
      { eventName: "plain", spec: { port: "0", endpoint: "/p", method: "POST" } },
    ]);
    await expect(mixed).rejects.toThrow(ConfigError);
    await expect(mixed).rejects.toThrow(
      /\/spec\/webhook\/plain\/serverCertSecret, serverKeySecret: port 0 serves HTTPS for 'secure'/,
    );
    const different = start([
      { eventName: "one", spec: tlsSpec("/1", "server") },
      { eventName: "two", spec: tlsSpec("/2", "other") },
    ]);
    await expect(different).rejects.toThrow(
      /\/spec\/webhook\/two\/serverCertSecret, serverKeySecret: port 0 is shared with 'one'/,
    );
  });

  it("an unreadable certificate Secret is a ConfigError naming the field", async () => {
    const missing = start([{ eventName: "gone", spec: tlsSpec("/g", "absent") }]);
    await expect(missing).rejects.toThrow(/\/spec\/webhook\/gone\/serverCertSecret/);
  });
});

describe("webhook request timeout (slow-loris)", () => {
  it("closes a connection that dribbles its body past SENSORBUS_WEBHOOK_REQUEST_TIMEOUT_MS", async () => {
    const saved = process.env[REQUEST_TIMEOUT_ENV];
    process.env[REQUEST_TIMEOUT_ENV] = "600";
    let server: Started | undefined;
    try {
      server = await start([
        { eventName: "slow", spec: { port: "0", endpoint: "/slow", method: "POST" } },
      ]);
      const port = server.port;
      const startedAt = Date.now();
      const { received, elapsed } = await new Promise<{ received: string; elapsed: number }>(
        (resolve, reject) => {
          const socket = connect(port, "127.0.0.1");
          let received = "";
          let drip: NodeJS.Timeout | undefined;
          socket.on("connect", () => {
            socket.write(
              "POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[",
            );
            // One byte every 100 ms: never idle long enough for an idle timeout, never finished.
            drip = setInterval(() => {
              if (!socket.destroyed) socket.write("1,");
            }, 100);
          });
          socket.on("data", (d: Buffer) => {
            received += d.toString();
          });
          socket.on("error", () => {
            // A reset is also a cut-off; 'close' follows.
          });
          socket.on("close", () => {
            clearInterval(drip);
            resolve({ received, elapsed: Date.now() - startedAt });
          });
          setTimeout(() => {
            clearInterval(drip);
            socket.destroy();
            reject(new Error("the server kept the slow request open for 10 s"));
          }, 10_000).unref();
        },
      );
      expect(elapsed).toBeGreaterThanOrEqual(500);
      expect(elapsed).toBeLessThan(5_000);
      if (received !== "") expect(received).toMatch(/^HTTP\/1\.1 408/);
      expect(server.emitted).toHaveLength(0);
      // The server is still healthy for well-behaved clients.
      const ok = await post("http", port, "/slow", "[1]");
      expect(ok.status).toBe(200);
    } finally {
      await server?.running.stop();
      if (saved === undefined) delete process.env[REQUEST_TIMEOUT_ENV];
      else process.env[REQUEST_TIMEOUT_ENV] = saved;
    }
  });
});
