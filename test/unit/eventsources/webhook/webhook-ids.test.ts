import { createHash, createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { checkDocument } from "../../../../src/config/validate.js";
import type { AdapterContext, EmitInput } from "../../../../src/eventsources/types.js";
import type { WebhookEventSpec, WebhookHmac } from "../../../../src/eventsources/webhook/index.js";
import { buildServer, resolveHmac } from "../../../../src/eventsources/webhook/runtime.js";
import { logSink } from "../../../support/log-sink.js";

/**
 * Issue 19 items 7 and 8 at the webhook: prototype-free request maps, which ids are trusted,
 * provider delivery ids, the signed timestamp, masked credential headers, JSON depth and UTF-8.
 */

const TOKEN = "tok-Vb61qs";
const KEY = "hmac-key-Pz03rt";
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

async function harness(
  opts: {
    token?: boolean;
    hmac?: Omit<WebhookHmac, "secret">;
    spec?: Partial<WebhookEventSpec>;
  } = {},
) {
  const emitted: EmitInput[] = [];
  const logs = logSink({ level: "trace", redaction: true });
  const ctx: AdapterContext = {
    eventSourceName: "hooks",
    namespace: "default",
    log: logs.log,
    clock: { now: () => NOW, sleep: async () => true },
    signal: new AbortController().signal,
    values: {
      secret: async (ref) => (ref.key === "token" ? TOKEN : KEY),
      configMap: async () => "",
    },
    emit: async (_eventName, input) => {
      emitted.push(input);
      return { id: input.id ?? "minted", status: "published" };
    },
  };
  const spec: WebhookEventSpec = {
    port: "0",
    endpoint: "/hook",
    method: "POST",
    ...opts.spec,
  };
  const route = {
    eventName: "hook",
    spec,
    ...(opts.token ? { authDigest: createHash("sha256").update(TOKEN).digest() } : {}),
    ...(opts.hmac
      ? {
          hmac: await resolveHmac(
            { secret: { name: "s", key: "hmac" }, ...opts.hmac },
            "/spec/webhook/hook/hmac",
            ctx,
          ),
        }
      : {}),
  };
  const app = buildServer([route], ctx, { requestTimeoutMs: 5_000 });
  return { app, emitted, logs };
}

const sign = (text: string | Buffer, algorithm = "sha256") =>
  `${algorithm}=${createHmac(algorithm, KEY).update(text).digest("hex")}`;

let toClose: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  await Promise.all(toClose.map((a) => a.close()));
  toClose = [];
});

/** A real listener on 127.0.0.1:0; returns its base URL. */
async function listen(app: Awaited<ReturnType<typeof harness>>["app"]): Promise<string> {
  toClose.push(app);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const addr = app.server.address();
  return `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
}

describe("request maps have no prototype", () => {
  it.each(["__proto__", "constructor", "toString"])(
    "a form field named %s is a field, over real HTTP",
    async (name) => {
      const { app, emitted } = await harness();
      const base = await listen(app);
      const res = await fetch(`${base}/hook`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `${name}=a&${name}=b&x=1`,
      });
      expect(res.status).toBe(200);
      expect(emitted[0]!.data).toContain(`"body":{"${name}":["a","b"],"x":["1"]}`);
    },
  );

  it.each(["__proto__", "constructor", "toString"])(
    "a query parameter named %s is a parameter",
    async (name) => {
      const { app, emitted } = await harness({ spec: { method: "GET" } });
      const res = await app.inject({ method: "GET", url: `/hook?${name}=1&${name}=2` });
      expect(res.statusCode).toBe(200);
      expect(emitted[0]!.data).toContain(`"body":{"${name}":["1","2"]}`);
    },
  );

  it.each([
    ["__proto__", "__proto__"],
    ["constructor", "Constructor"],
    ["toString", "Tostring"],
  ])("a header named %s becomes %s, repeated values kept", async (name, canonical) => {
    const { app, emitted } = await harness();
    const base = await listen(app);
    // Two copies of the header: the second append is the one that met an inherited member.
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/hook`, { method: "POST" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.setHeader("content-type", "application/json");
      req.setHeader(name, ["v1", "v2"]);
      req.end("{}");
    });
    expect(status).toBe(200);
    expect(emitted[0]!.data).toContain(`"${canonical}":["v1","v2"]`);
  });
});

describe("event ids a request may choose", () => {
  const ce = { "ce-id": "evt-7", "ce-specversion": "1.0", "ce-source": "x", "ce-type": "t" };

  it("ignores ce-id on an unauthenticated route (kept as originid), mints an id", async () => {
    const { app, emitted } = await harness();
    const res = await app.inject({
      method: "POST",
      url: "/hook",
      headers: { "content-type": "application/json", ...ce },
      payload: "{}",
    });
    expect(res.statusCode).toBe(200);
    expect(emitted[0]!.id).toBeUndefined();
    expect(emitted[0]!.extensions?.originid).toBe("evt-7");
  });

  it("ignores X-GitHub-Delivery and X-Request-Id on an unauthenticated route", async () => {
    const { app, emitted } = await harness();
    await app.inject({
      method: "POST",
      url: "/hook",
      headers: {
        "content-type": "application/json",
        "x-github-delivery": "d-1",
        "x-request-id": "r-1",
      },
      payload: "{}",
    });
    expect(emitted[0]!.id).toBeUndefined();
  });

  it("takes ce-id on a bearer route", async () => {
    const { app, emitted } = await harness({ token: true });
    await app.inject({
      method: "POST",
      url: "/hook",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, ...ce },
      payload: "{}",
    });
    expect(emitted[0]!.id).toBe("evt-7");
  });

  it("ignores a binary ce-id on an hmac route (not signed), takes a structured id (signed)", async () => {
    const { app, emitted } = await harness({ hmac: {} });
    const body = "{}";
    await app.inject({
      method: "POST",
      url: "/hook",
      headers: { "content-type": "application/json", "x-hub-signature-256": sign(body), ...ce },
      payload: body,
    });
    expect(emitted[0]!.id).toBeUndefined();
    const structured = JSON.stringify({
      specversion: "1.0",
      id: "in-body-1",
      source: "s",
      type: "t",
    });
    await app.inject({
      method: "POST",
      url: "/hook",
      headers: {
        "content-type": "application/cloudevents+json",
        "x-hub-signature-256": sign(structured),
      },
      payload: structured,
    });
    expect(emitted[1]!.id).toBe("in-body-1");
  });

  it.each([
    ["x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"],
    ["x-gitlab-event-uuid", "13792a34-cac6-4fda-95a8-c58e00a3954e"],
    ["x-request-id", "req-42"],
  ])("uses %s as the event id on an authenticated route", async (header, value) => {
    const { app, emitted } = await harness({ hmac: {} });
    const body = '{"action":"opened"}';
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({
        method: "POST",
        url: "/hook",
        headers: {
          "content-type": "application/json",
          "x-hub-signature-256": sign(body),
          [header]: value,
        },
        payload: body,
      });
      expect(res.statusCode).toBe(200);
    }
    // The same delivery three times carries one id three times: the bus stores it once.
    expect(emitted.map((e) => e.id)).toEqual([value, value, value]);
  });
});

describe("hmac.timestamp", () => {
  const hmac = { timestamp: { header: "X-Signature-Timestamp", maxAge: "5m" } };
  const post = (
    app: Awaited<ReturnType<typeof harness>>["app"],
    ts: string,
    body: string,
    signature = sign(`${ts}.${body}`),
  ) =>
    app.inject({
      method: "POST",
      url: "/hook",
      headers: {
        "content-type": "application/json",
        "x-signature-timestamp": ts,
        "x-hub-signature-256": signature,
      },
      payload: body,
    });

  it("accepts a fresh signed timestamp; a replay within maxAge carries the same id", async () => {
    const { app, emitted } = await harness({ hmac });
    const ts = String(NOW / 1000 - 10);
    expect((await post(app, ts, '{"n":1}')).statusCode).toBe(200);
    expect((await post(app, ts, '{"n":1}')).statusCode).toBe(200);
    expect((await post(app, String(NOW / 1000 - 9), '{"n":1}')).statusCode).toBe(200);
    expect(emitted[0]!.id).toMatch(/^[0-9a-f]{32}$/);
    expect(emitted[1]!.id).toBe(emitted[0]!.id);
    expect(emitted[2]!.id).not.toBe(emitted[0]!.id);
  });

  it("refuses a request older than maxAge with 401 and a clear log line", async () => {
    const { app, emitted, logs } = await harness({ hmac });
    const res = await post(app, String(NOW / 1000 - 301), "{}");
    expect(res.statusCode).toBe(401);
    expect(res.body).toBe(
      "Request timestamp in X-Signature-Timestamp is 301 s old, outside the tolerance of 300 s (a replay, or a clock off)",
    );
    expect(logs.text()).toContain("301 s old");
    expect(emitted).toHaveLength(0);
  });

  it("refuses a timestamp too far in the future, a missing one, and one not covered by the signature", async () => {
    const { app, emitted } = await harness({ hmac });
    expect((await post(app, String(NOW / 1000 + 400), "{}")).body).toContain("in the future");
    const missing = await app.inject({
      method: "POST",
      url: "/hook",
      headers: { "content-type": "application/json", "x-hub-signature-256": sign("{}") },
      payload: "{}",
    });
    expect(missing.statusCode).toBe(401);
    expect(missing.body).toContain("Missing or invalid timestamp header X-Signature-Timestamp");
    // Signed over the body only: a changed timestamp header would not be covered.
    const bodyOnly = await post(app, String(NOW / 1000), "{}", sign("{}"));
    expect(bodyOnly.statusCode).toBe(401);
    expect(bodyOnly.body).toBe("Invalid signature in X-Hub-Signature-256");
    expect(emitted).toHaveLength(0);
  });

  it("checks the timestamp header's presence from the headers alone, before reading the body", async () => {
    const { app, emitted } = await harness({ hmac, spec: { maxPayloadSize: 16 } });
    const res = await app.inject({
      method: "POST",
      url: "/hook",
      headers: { "content-type": "application/json", "x-hub-signature-256": sign("{}") },
      payload: JSON.stringify({ big: "x".repeat(1_000) }),
    });
    // 401, not 413: the body of an unauthenticated request is never read.
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain("Missing or invalid timestamp header X-Signature-Timestamp");
    expect(emitted).toHaveLength(0);
  });

  it("signs Slack's layout with `signed`", async () => {
    const { app, emitted } = await harness({
      hmac: {
        header: "X-Slack-Signature",
        prefix: "v0=",
        timestamp: { header: "X-Slack-Request-Timestamp", signed: "v0:{timestamp}:{body}" },
      },
    });
    const ts = String(NOW / 1000);
    const body = "token=x&team_id=T1";
    const res = await app.inject({
      method: "POST",
      url: "/hook",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": `v0=${createHmac("sha256", KEY).update(`v0:${ts}:${body}`).digest("hex")}`,
      },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    expect(emitted).toHaveLength(1);
  });

  it.each([
    [{ header: "X-T", maxAge: "soon" }, "/timestamp/maxAge: time: invalid duration"],
    [{ header: "X-T", maxAge: "10ms" }, "must be at least 1s"],
    [{ header: "bad header" }, "/timestamp/header"],
    [{ header: "X-T", signed: "{body}" }, "/timestamp/signed"],
    [{ header: "X-T", signed: "{body}.{timestamp}" }, "/timestamp/signed"],
  ])("refuses the setting %j at start-up", async (timestamp, message) => {
    await expect(harness({ hmac: { timestamp } as WebhookHmac })).rejects.toThrow(message);
  });
});

describe("credential headers are masked in the payload and the logs", () => {
  it("masks Cookie, X-Gitlab-Token, signatures, Proxy-Authorization and the hmac header", async () => {
    const { app, emitted, logs } = await harness({
      hmac: { header: "X-My-Sig", prefix: "" },
    });
    const body = "{}";
    const secrets = {
      cookie: "session=cookie-secret-1",
      "x-gitlab-token": "gitlab-secret-2",
      "x-hub-signature": "sha1=hub-secret-3",
      "x-slack-signature": "v0=slack-secret-4",
      "stripe-signature": "t=1,v1=stripe-secret-5",
      "proxy-authorization": "Basic proxy-secret-6",
    };
    const mySig = createHmac("sha256", KEY).update(body).digest("hex");
    const res = await app.inject({
      method: "POST",
      url: "/hook",
      headers: { "content-type": "application/json", "x-my-sig": mySig, ...secrets },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    const data = emitted[0]!.data;
    for (const name of [
      "Cookie",
      "X-Gitlab-Token",
      "X-Hub-Signature",
      "X-Slack-Signature",
      "Stripe-Signature",
      "Proxy-Authorization",
      "X-My-Sig",
    ]) {
      expect(data).toContain(`"${name}":["*** Masked Auth Secret ***"]`);
    }
    for (const v of [...Object.values(secrets), mySig]) {
      expect(data).not.toContain(v);
      expect(logs.text()).not.toContain(v);
    }
  });
});

describe("JSON bodies", () => {
  const nested = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;

  it("accepts 10,000 levels of nesting (as Go), over real HTTP", async () => {
    const { app, emitted } = await harness();
    const base = await listen(app);
    for (const n of [5_000, 10_000]) {
      const res = await fetch(`${base}/hook`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: nested(n),
      });
      expect(res.status).toBe(200);
    }
    expect(emitted).toHaveLength(2);
    expect(emitted[1]!.data).toContain(`"body":${nested(10_000)}`);
  });

  it("refuses 10,001 levels with 400 'nested too deeply'", async () => {
    const { app, emitted } = await harness();
    const base = await listen(app);
    for (const text of [nested(10_001), `${"[".repeat(100_000)}${"]".repeat(100_000)}`]) {
      const res = await fetch(`${base}/hook`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: text,
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toBe(
        "invalid JSON body: nested too deeply (more than 10000 levels)",
      );
    }
    expect(emitted).toHaveLength(0);
  });

  it("refuses invalid UTF-8 with 400 instead of replacing it", async () => {
    const { app, emitted } = await harness();
    const base = await listen(app);
    const body = Buffer.concat([
      Buffer.from('{"name":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const res = await fetch(`${base}/hook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("invalid JSON body: not valid UTF-8");
    expect(emitted).toHaveLength(0);
    // Valid multi-byte text is kept as it is.
    const ok = await fetch(`${base}/hook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name":"Zoë 🚀"}',
    });
    expect(ok.status).toBe(200);
    expect(emitted[0]!.data).toContain('"body":{"name":"Zoë 🚀"}');
  });
});

describe("validate: hmac.timestamp", () => {
  const doc = (timestamp: Record<string, string>) => ({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "hooks" },
    spec: {
      webhook: {
        hook: {
          port: "12000",
          endpoint: "/hook",
          method: "POST",
          hmac: { secret: { name: "s", key: "k" }, timestamp },
        },
      },
    },
  });

  it("accepts a header with a maxAge and a signed layout", () => {
    const r = checkDocument(doc({ header: "X-T", maxAge: "5m", signed: "v0:{timestamp}:{body}" }));
    expect(r.findings.filter((f) => f.severity === "error")).toEqual([]);
  });

  it.each([
    [{ header: "X-T", maxAge: "soon" }, "/spec/webhook/hook/hmac/timestamp/maxAge"],
    [{ header: "X-T", maxAge: "10ms" }, "/spec/webhook/hook/hmac/timestamp/maxAge"],
    [{ header: "X-T", signed: "{body}{timestamp}" }, "/spec/webhook/hook/hmac/timestamp/signed"],
    [{ maxAge: "5m" }, "/spec/webhook/hook/hmac/timestamp"],
  ])("refuses %j at %s", (timestamp, pointer) => {
    const r = checkDocument(doc(timestamp));
    const errors = r.findings.filter((f) => f.severity === "error");
    expect(errors.map((f) => f.pointer).some((p) => p.startsWith(pointer))).toBe(true);
  });
});
