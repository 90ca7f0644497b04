import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { SecretKeySelector } from "../../../../src/config/types.js";
import { ConfigError, EventBusError } from "../../../../src/errors.js";
import type { AdapterContext, EmitInput } from "../../../../src/eventsources/types.js";
import { systemClock } from "../../../../src/eventsources/types.js";
import type { WebhookEventSpec } from "../../../../src/eventsources/webhook/index.js";
import {
  buildServer,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type HmacCheck,
  REQUEST_TIMEOUT_ENV,
  requestTimeoutFromEnv,
  resolveHmac,
  webhookAdapter,
} from "../../../../src/eventsources/webhook/runtime.js";
import type { Logger } from "../../../../src/observability/logger.js";
import { silentLogger } from "../../../../src/observability/logger.js";
import { logSink } from "../../../support/log-sink.js";

const TOKEN = "bearer-token-Zq81xv";
const HMAC_SECRET = "hmac-secret-Jw42pk";
const SECRETS: Record<string, string> = { token: TOKEN, hmac: HMAC_SECRET };

function context(log: Logger = silentLogger(), fail?: Error) {
  const emitted: EmitInput[] = [];
  const ctx: AdapterContext = {
    eventSourceName: "secure",
    namespace: "default",
    log,
    clock: systemClock,
    signal: new AbortController().signal,
    values: {
      secret: async (ref: SecretKeySelector) => {
        const v = SECRETS[ref.key];
        if (v === undefined) throw new ConfigError(`no secret ${ref.key}`);
        return v;
      },
      configMap: async () => "",
    },
    emit: async (_eventName, input) => {
      if (fail) throw fail;
      emitted.push(input);
      return { id: "id-1", status: "published" };
    },
  };
  return { ctx, emitted };
}

function sign(body: string, algorithm = "sha256", key = HMAC_SECRET): string {
  return createHmac(algorithm, key).update(body).digest("hex");
}

async function hmacServer(hmac: NonNullable<WebhookEventSpec["hmac"]>, log?: Logger) {
  const { ctx, emitted } = context(log);
  const check: HmacCheck = await resolveHmac(hmac, "/spec/webhook/push/hmac", ctx);
  const spec: WebhookEventSpec = { port: "12000", endpoint: "/push", method: "POST", hmac };
  return { app: buildServer([{ eventName: "push", spec, hmac: check }], ctx), emitted };
}

const BODY = '{"ref":"refs/heads/main","after":"abc"}';
const json = { "content-type": "application/json" };

describe("webhook HMAC signatures (sensorbus extension)", () => {
  const github = { secret: { name: "gh", key: "hmac" } };

  it("accepts a valid GitHub-style X-Hub-Signature-256 over the raw body", async () => {
    const { app, emitted } = await hmacServer(github);
    const res = await app.inject({
      method: "POST",
      url: "/push",
      headers: { ...json, "x-hub-signature-256": `sha256=${sign(BODY)}` },
      payload: BODY,
    });
    expect(res.statusCode).toBe(200);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]!.data).toContain('"body":{"ref":"refs/heads/main","after":"abc"}');
  });

  it("accepts upper-case hex (the digest is compared as bytes)", async () => {
    const { app } = await hmacServer(github);
    const res = await app.inject({
      method: "POST",
      url: "/push",
      headers: { ...json, "X-Hub-Signature-256": `sha256=${sign(BODY).toUpperCase()}` },
      payload: BODY,
    });
    expect(res.statusCode).toBe(200);
  });

  it("accepts a custom header, algorithm and empty prefix", async () => {
    const { app, emitted } = await hmacServer({
      secret: { name: "gh", key: "hmac" },
      header: "X-Signature",
      algorithm: "sha512",
      prefix: "",
    });
    const res = await app.inject({
      method: "POST",
      url: "/push",
      headers: { ...json, "x-signature": sign(BODY, "sha512") },
      payload: BODY,
    });
    expect(res.statusCode).toBe(200);
    expect(emitted).toHaveLength(1);
    // The same digest under the default header name is not looked at.
    const other = await app.inject({
      method: "POST",
      url: "/push",
      headers: { ...json, "x-hub-signature-256": `sha256=${sign(BODY)}` },
      payload: BODY,
    });
    expect(other.statusCode).toBe(401);
    expect(other.body).toBe("Missing signature header X-Signature");
  });

  it("uses X-Hub-Signature and sha1= by default for sha1", async () => {
    const { app } = await hmacServer({ secret: { name: "gh", key: "hmac" }, algorithm: "sha1" });
    const res = await app.inject({
      method: "POST",
      url: "/push",
      headers: { ...json, "x-hub-signature": `sha1=${sign(BODY, "sha1")}` },
      payload: BODY,
    });
    expect(res.statusCode).toBe(200);
  });

  it("answers 401 without the signature header, without emitting", async () => {
    const { app, emitted } = await hmacServer(github);
    const res = await app.inject({ method: "POST", url: "/push", headers: json, payload: BODY });
    expect(res.statusCode).toBe(401);
    expect(res.body).toBe("Missing signature header X-Hub-Signature-256");
    expect(emitted).toHaveLength(0);
  });

  it("answers 401 for a wrong signature", async () => {
    const { app, emitted } = await hmacServer(github);
    const res = await app.inject({
      method: "POST",
      url: "/push",
      headers: { ...json, "x-hub-signature-256": `sha256=${sign(BODY, "sha256", "not-it")}` },
      payload: BODY,
    });
    expect(res.statusCode).toBe(401);
    expect(res.body).toBe("Invalid signature in X-Hub-Signature-256");
    expect(emitted).toHaveLength(0);
  });

  it("answers 401 for a signature made over a different body", async () => {
    const { app, emitted } = await hmacServer(github);
    const res = await app.inject({
      method: "POST",
      url: "/push",
      headers: { ...json, "x-hub-signature-256": `sha256=${sign('{"ref":"other"}')}` },
      payload: BODY,
    });
    expect(res.statusCode).toBe(401);
    expect(res.body).toBe("Invalid signature in X-Hub-Signature-256");
    // Re-serialising would hide this: the check is over the raw bytes, whitespace included.
    const spaced = await app.inject({
      method: "POST",
      url: "/push",
      headers: { ...json, "x-hub-signature-256": `sha256=${sign(BODY)}` },
      payload: BODY.replace(":", ": "),
    });
    expect(spaced.statusCode).toBe(401);
    expect(emitted).toHaveLength(0);
  });

  it("answers 401 when the prefix is missing or the digest is malformed", async () => {
    const { app, emitted } = await hmacServer(github);
    for (const value of [
      sign(BODY),
      `sha1=${sign(BODY)}`,
      "sha256=xyz",
      `sha256=${"a".repeat(63)}`,
    ]) {
      const res = await app.inject({
        method: "POST",
        url: "/push",
        headers: { ...json, "x-hub-signature-256": value },
        payload: BODY,
      });
      expect(res.statusCode, value).toBe(401);
      expect(res.body).toBe(
        "Invalid signature header X-Hub-Signature-256: expected sha256=<64 hex digits>",
      );
    }
    expect(emitted).toHaveLength(0);
  });

  it("checks the signature before parsing: an invalid JSON body with a bad signature is 401", async () => {
    const { app } = await hmacServer(github);
    const res = await app.inject({
      method: "POST",
      url: "/push",
      headers: { ...json, "x-hub-signature-256": `sha256=${"0".repeat(64)}` },
      payload: "{not json",
    });
    expect(res.statusCode).toBe(401);
    const signed = await app.inject({
      method: "POST",
      url: "/push",
      headers: { ...json, "x-hub-signature-256": `sha256=${sign("{not json")}` },
      payload: "{not json",
    });
    expect(signed.statusCode).toBe(400);
  });

  it("refuses a bad hmac configuration with a ConfigError naming the field", async () => {
    const { ctx } = context();
    const bad = [
      [{ secret: { name: "gh", key: "hmac" }, algorithm: "md5" }, "/hmac/algorithm"],
      [{ secret: { name: "gh", key: "hmac" }, header: "Bad Header" }, "/hmac/header"],
      [{ secret: { name: "gh", key: "missing" } }, "no secret missing"],
    ] as const;
    for (const [hmac, where] of bad) {
      await expect(resolveHmac(hmac as never, "/spec/webhook/push/hmac", ctx)).rejects.toThrow(
        ConfigError,
      );
      await expect(resolveHmac(hmac as never, "/spec/webhook/push/hmac", ctx)).rejects.toThrow(
        where,
      );
    }
  });
});

describe("webhook bearer authSecret (Argo)", () => {
  async function bearerServer() {
    const { ctx, emitted } = context();
    const spec: WebhookEventSpec = {
      port: "12000",
      endpoint: "/hook",
      method: "POST",
      authSecret: { name: "auth", key: "token" },
    };
    const { createHash } = await import("node:crypto");
    const authDigest = createHash("sha256").update(TOKEN).digest();
    return { app: buildServer([{ eventName: "hook", spec, authDigest }], ctx), emitted };
  }
  const cases: Array<[string, Record<string, string>, number, string]> = [
    ["missing header", {}, 401, "Invalid Authorization Header"],
    ["non-Bearer scheme", { authorization: `Basic ${TOKEN}` }, 401, "Invalid Authorization Header"],
    [
      "lower-case bearer",
      { authorization: `bearer ${TOKEN}` },
      401,
      "Invalid Authorization Header",
    ],
    ["wrong token", { authorization: "Bearer nope" }, 401, "Invalid Auth token"],
    ["token with a suffix", { authorization: `Bearer ${TOKEN}x` }, 401, "Invalid Auth token"],
    ["right token", { authorization: `Bearer ${TOKEN}` }, 200, "success"],
  ];
  it.each(cases)("%s", async (_name, headers, status, text) => {
    const { app, emitted } = await bearerServer();
    const res = await app.inject({
      method: "POST",
      url: "/hook",
      headers: { ...json, ...headers },
      payload: "{}",
    });
    expect(res.statusCode).toBe(status);
    expect(res.body).toBe(text);
    expect(emitted).toHaveLength(status === 200 ? 1 : 0);
    if (status === 200) {
      expect(emitted[0]!.data).toContain('"Authorization":["*** Masked Auth Secret ***"]');
      expect(emitted[0]!.data).not.toContain(TOKEN);
    }
  });
});

describe("webhook request timeout setting", () => {
  const saved = process.env[REQUEST_TIMEOUT_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[REQUEST_TIMEOUT_ENV];
    else process.env[REQUEST_TIMEOUT_ENV] = saved;
  });

  it("defaults to 30 s and reads SENSORBUS_WEBHOOK_REQUEST_TIMEOUT_MS", () => {
    expect(requestTimeoutFromEnv({})).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(requestTimeoutFromEnv({ [REQUEST_TIMEOUT_ENV]: "1500" })).toBe(1500);
    expect(() => requestTimeoutFromEnv({ [REQUEST_TIMEOUT_ENV]: "soon" })).toThrow(ConfigError);
    expect(() => requestTimeoutFromEnv({ [REQUEST_TIMEOUT_ENV]: "0" })).toThrow(
      REQUEST_TIMEOUT_ENV,
    );
  });

  it("sets the Node server's request and idle timeouts", () => {
    const { ctx } = context();
    const app = buildServer([], ctx, { requestTimeoutMs: 1234 });
    expect(app.server.requestTimeout).toBe(1234);
    expect(app.server.timeout).toBe(1234);
    expect(app.server.headersTimeout).toBeLessThanOrEqual(1234);
  });
});

describe("secrets never reach the log", () => {
  const savedHost = process.env.SENSORBUS_WEBHOOK_HOST;
  afterEach(() => {
    if (savedHost === undefined) delete process.env.SENSORBUS_WEBHOOK_HOST;
    else process.env.SENSORBUS_WEBHOOK_HOST = savedHost;
  });

  it("after start, every rejection path, success, 503 and 500, the sink holds no secret", async () => {
    process.env.SENSORBUS_WEBHOOK_HOST = "127.0.0.1";
    const sink = logSink({ level: "trace", redaction: true });
    let failWith: Error | undefined;
    const { ctx } = context(sink.log);
    ctx.emit = async (_name, input) => {
      if (failWith) throw failWith;
      sink.log.debug({ data: input.data }, "emitted");
      return { id: "id-2", status: "published" };
    };
    const spec = (endpoint: string, extra: Partial<WebhookEventSpec>): WebhookEventSpec => ({
      port: "0",
      endpoint,
      method: "POST",
      ...extra,
    });
    const running = await webhookAdapter.start(
      [
        { eventName: "bearer", spec: spec("/bearer", { authSecret: { name: "a", key: "token" } }) },
        {
          eventName: "signed",
          spec: spec("/signed", { hmac: { secret: { name: "h", key: "hmac" } } }),
        },
      ],
      ctx,
    );
    try {
      const started = JSON.parse(sink.text().trim().split("\n").at(-1)!) as { port: number };
      expect(started.port).toBeGreaterThan(0);
      const base = `http://127.0.0.1:${started.port}`;
      const post = (path: string, headers: Record<string, string>, body = BODY) =>
        fetch(`${base}${path}`, { method: "POST", headers: { ...json, ...headers }, body });
      const statuses: number[] = [];
      for (const headers of <Array<Record<string, string>>>[
        {},
        { authorization: `Basic ${TOKEN}` },
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: `Bearer ${TOKEN}` },
      ]) {
        statuses.push((await post("/bearer", headers)).status);
      }
      for (const headers of <Array<Record<string, string>>>[
        {},
        { "x-hub-signature-256": sign(BODY) },
        { "x-hub-signature-256": `sha256=${sign("{}")}` },
        { "x-hub-signature-256": `sha256=${sign(BODY)}`, authorization: `Bearer ${HMAC_SECRET}` },
      ]) {
        statuses.push((await post("/signed", headers)).status);
      }
      failWith = new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down", { retryable: true });
      statuses.push((await post("/bearer", { authorization: `Bearer ${TOKEN}` })).status);
      failWith = new Error("boom");
      statuses.push((await post("/bearer", { authorization: `Bearer ${TOKEN}` })).status);
      expect(statuses).toEqual([401, 401, 401, 200, 401, 401, 401, 200, 503, 500]);
    } finally {
      await running.stop();
    }
    const text = sink.text();
    expect(text).toContain("webhook server listening");
    expect(text).toContain("event not stored: answering 503");
    expect(text).toContain("failed to record event");
    expect(text).toContain("*** Masked Auth Secret ***");
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(HMAC_SECRET);
  });

  it("pino redaction covers authorization headers and secret-named fields", () => {
    const sink = logSink({ level: "trace", redaction: true });
    sink.log.info(
      {
        req: { headers: { authorization: `Bearer ${TOKEN}` } },
        hmac: { secret: HMAC_SECRET },
        cfg: { token: TOKEN },
      },
      "request",
    );
    expect(sink.text()).toContain('"request"');
    expect(sink.text()).not.toContain(TOKEN);
    expect(sink.text()).not.toContain(HMAC_SECRET);
  });
});

describe("hmac in manifests", () => {
  const manifest = (hmac: unknown) => ({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "github" },
    spec: {
      webhook: {
        push: { port: "12000", endpoint: "/push", method: "POST", hmac },
      },
    },
  });

  it("is a declared field: no unknown-field warning, and its values are checked", async () => {
    const { validateManifest } = await import("../../../../src/config/load.js");
    const ok = validateManifest(
      manifest({
        secret: { name: "gh", key: "s" },
        header: "X-Sig",
        algorithm: "sha512",
        prefix: "",
      }),
      "es.yaml",
      0,
    );
    expect(ok.problems).toEqual([]);
    expect(ok.manifest).toBeDefined();
    const bad = validateManifest(
      manifest({ secret: { name: "gh", key: "s" }, algorithm: "md5" }),
      "es.yaml",
      0,
    );
    expect(bad.manifest).toBeUndefined();
    expect(bad.problems.map((p) => p.pointer)).toContain("/spec/webhook/push/hmac/algorithm");
    const noSecret = validateManifest(manifest({ header: "X-Sig" }), "es.yaml", 0);
    expect(noSecret.problems.some((p) => p.severity === "error")).toBe(true);
  });
});
