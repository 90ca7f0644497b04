import { createHmac } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventBusError } from "../../src/errors.js";
import type { BitbucketEventSpec } from "../../src/eventsources/bitbucket/index.js";
import { bitbucketAdapter, CLOUD_API_ENV } from "../../src/eventsources/bitbucket/runtime.js";
import type { AdapterContext, EmitInput, RunningAdapter } from "../../src/eventsources/types.js";
import { FakeBitbucketApi } from "../support/fake-bitbucket-api.js";
import { type LogSink, logSink } from "../support/log-sink.js";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { startWebhookPipeline } from "../support/webhook-test-kit.js";

/**
 * Issue 22, Bitbucket Cloud: real HTTP deliveries as Bitbucket Cloud sends them, signed with the
 * `webhookSecret` extension (Bitbucket Cloud's webhook secrets: `X-Hub-Signature: sha256=<hex>`)
 * and unsigned (Argo's type has no secret), the refusal paths, hook registration against a fake
 * Bitbucket Cloud API (basic and OAuth auth, pagination, update in place, the hook's secret,
 * 401/403/404), and a delivery selected by data filters end to end.
 */

const USER = "build-bot";
const APP_PASSWORD = "app-password-Kd83";
const OAUTH = "oauth-token-Pq55";
const HOOK_SECRET = "bb-cloud-hook-secret-Wm47";
const sign = (body: string, key = HOOK_SECRET) =>
  `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;

/** A repo:push body as Bitbucket Cloud sends it (Event payloads docs), trimmed. */
const push = (hash: string) => ({
  push: {
    changes: [
      {
        new: { type: "branch", name: "main", target: { type: "commit", hash } },
        old: { type: "branch", name: "main", target: { type: "commit", hash: "0".repeat(40) } },
        created: false,
        closed: false,
      },
    ],
  },
  repository: { type: "repository", full_name: "acme/api", name: "api", uuid: "{b7d5}" },
  actor: { type: "user", display_name: "Build <Bot> & co" },
});

/** A delivery as Bitbucket Cloud sends it; `signature`: the X-Hub-Signature value, if any. */
function deliver(
  port: number,
  body: string,
  opts: {
    event?: string;
    request?: string;
    method?: string;
    path?: string;
    signature?: string;
  } = {},
): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${opts.path ?? "/bitbucket"}`, {
    method: opts.method ?? "POST",
    headers: {
      "content-type": "application/json",
      ...(opts.signature !== undefined ? { "x-hub-signature": opts.signature } : {}),
      "x-event-key": opts.event ?? "repo:push",
      "x-request-uuid": opts.request ?? "7b1c3f0e-5d1a-4a2b-9e4f-0c1d2e3f4a5b",
      "x-hook-uuid": "{0b0c8f6e-3c1d-4f6a-9a0b-1c2d3e4f5a6b}",
      "x-attempt-number": "1",
      "user-agent": "Bitbucket-Webhooks/2.0",
    },
    ...(opts.method === "GET" ? {} : { body }),
  });
}

function context(
  logs: LogSink,
  emitted: Array<{ eventName: string; input: EmitInput }>,
  failNext?: () => Error | undefined,
  refused: Array<{ eventName: string; reason: string }> = [],
): AdapterContext {
  const values: Record<string, string> = {
    username: USER,
    password: APP_PASSWORD,
    token: OAUTH,
    wrong: "expired-token-Rr01",
    hook: HOOK_SECRET,
    bearer: "proxy-bearer-Jd61",
  };
  return {
    eventSourceName: "bb",
    namespace: "default",
    log: logs.log,
    clock: { now: () => Date.now(), sleep: async () => false },
    signal: new AbortController().signal,
    values: { secret: async (ref) => values[ref.key] ?? "", configMap: async () => "" },
    emit: async (eventName, input) => {
      const e = failNext?.();
      if (e) throw e;
      emitted.push({ eventName, input });
      return { id: input.id ?? "minted", status: "published" };
    },
    verificationFailed: (eventName, reason) => refused.push({ eventName, reason }),
  };
}

describe("bitbucket adapter over real HTTP", () => {
  let port: number;
  let running: RunningAdapter;
  const emitted: Array<{ eventName: string; input: EmitInput }> = [];
  const refused: Array<{ eventName: string; reason: string }> = [];
  let failNext: Error | undefined;
  const logs = logSink({ level: "trace", redaction: true });

  beforeAll(async () => {
    port = await freePort();
    const spec: BitbucketEventSpec = {
      repositories: [{ owner: "acme", repositorySlug: "api" }],
      webhook: { port: String(port), endpoint: "/bitbucket", method: "POST", maxPayloadSize: 4096 },
      events: ["repo:push", "pullrequest:created"],
      auth: { oauthToken: { name: "bb", key: "token" } },
      metadata: { team: "web" },
      webhookSecret: { name: "bb", key: "hook" },
    };
    // The same server, one route without webhookSecret (Argo's type: deliveries unsigned).
    const plain: BitbucketEventSpec = {
      repositories: [{ owner: "acme", repositorySlug: "api" }],
      webhook: { port: String(port), endpoint: "/plain", method: "POST" },
      events: ["repo:push"],
      auth: { oauthToken: { name: "bb", key: "token" } },
    };
    // And one behind a proxy that adds Argo's bearer token (webhook.authSecret).
    const proxied: BitbucketEventSpec = {
      ...plain,
      webhook: {
        port: String(port),
        endpoint: "/proxied",
        method: "POST",
        authSecret: { name: "bb", key: "bearer" },
      },
    };
    running = await bitbucketAdapter.start(
      [
        { eventName: "push", spec },
        { eventName: "plain", spec: plain },
        { eventName: "proxied", spec: proxied },
      ],
      context(
        logs,
        emitted,
        () => {
          const e = failNext;
          failNext = undefined;
          return e;
        },
        refused,
      ),
    );
  });

  afterAll(async () => {
    await running?.stop();
  });

  it("stores a signed repo:push delivery with Argo's payload and X-Request-UUID as id", async () => {
    const body = JSON.stringify(push("a".repeat(40)), null, 2);
    const res = await deliver(port, body, { request: "uuid-1", signature: sign(body) });
    expect(await res.text()).toBe("success");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-event-id")).toBe("uuid-1");
    const { eventName, input } = emitted.at(-1)!;
    expect(eventName).toBe("push");
    expect(input.id).toBe("uuid-1");
    // The raw body, compacted and HTML-escaped as Go's json.RawMessage is.
    expect(input.data).toContain(
      `,"body":${JSON.stringify(push("a".repeat(40))).replace("<Bot> & co", "\\u003cBot\\u003e \\u0026 co")},"metadata":{"team":"web"}}`,
    );
    const data = JSON.parse(input.data);
    expect(data.body.push.changes[0].new.target.hash).toBe("a".repeat(40));
    expect(data.headers["X-Event-Key"]).toEqual(["repo:push"]);
    expect(data.headers["X-Hook-Uuid"]).toEqual(["{0b0c8f6e-3c1d-4f6a-9a0b-1c2d3e4f5a6b}"]);
    expect(data.headers["X-Request-Uuid"]).toEqual(["uuid-1"]);
    expect(refused).toEqual([]);
  });

  it("refuses missing and malformed signatures (401), a wrong secret and a tampered body (403): counted, nothing stored", async () => {
    const before = emitted.length;
    refused.length = 0;
    const body = JSON.stringify(push("9".repeat(40)));
    const tampered = body.replace("9".repeat(40), "8".repeat(40));
    const cases: Array<{ signature?: string; body?: string; status: number; text: string }> = [
      { status: 401, text: "missing signature header X-Hub-Signature" },
      { signature: "", status: 401, text: "missing signature header X-Hub-Signature" },
      { signature: sign(body).slice("sha256=".length), status: 401, text: "expected sha256=" },
      {
        signature: `sha1=${createHmac("sha1", HOOK_SECRET).update(body).digest("hex")}`,
        status: 401,
        text: "expected sha256=",
      },
      { signature: `sha256=${"z".repeat(64)}`, status: 401, text: "expected sha256=" },
      { signature: sign(body, "another-secret"), status: 403, text: "hmac verification failed" },
      { signature: sign(body), body: tampered, status: 403, text: "hmac verification failed" },
    ];
    for (const c of cases) {
      const res = await deliver(port, c.body ?? body, {
        request: "uuid-refused",
        ...(c.signature !== undefined ? { signature: c.signature } : {}),
      });
      expect(res.status, JSON.stringify(c)).toBe(c.status);
      expect(await res.text(), JSON.stringify(c)).toContain(c.text);
    }
    // Verified before anything else: an unlisted event type unsigned is refused, not answered 200.
    const fork = await deliver(port, "{}", { event: "repo:fork" });
    expect(fork.status).toBe(401);
    expect(emitted.length).toBe(before);
    expect(refused).toEqual([
      { eventName: "push", reason: "missing_signature" },
      { eventName: "push", reason: "missing_signature" },
      { eventName: "push", reason: "malformed_signature" },
      { eventName: "push", reason: "malformed_signature" },
      { eventName: "push", reason: "malformed_signature" },
      { eventName: "push", reason: "signature_mismatch" },
      { eventName: "push", reason: "signature_mismatch" },
      { eventName: "push", reason: "missing_signature" },
    ]);
    const text = logs.text();
    expect(text).toContain("Bitbucket delivery refused: hmac verification failed");
    expect(text).toContain("uuid-refused");
    expect(text).not.toContain(HOOK_SECRET);
    expect(text).not.toContain(sign(body).slice("sha256=".length));
  });

  it("answers 405, 413, 400 (not JSON), and 200 without storing an event type outside `events`", async () => {
    const before = emitted.length;
    const get = await deliver(port, "", { method: "GET" });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const big = JSON.stringify({ ...push("b".repeat(40)), pad: "x".repeat(5000) });
    expect((await deliver(port, big, { signature: sign(big) })).status).toBe(413);
    const bad = await deliver(port, "{oops", { signature: sign("{oops") });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("invalid JSON body");
    const fork = await deliver(port, "{}", { event: "repo:fork", signature: sign("{}") });
    expect(fork.status).toBe(200);
    expect(await fork.text()).toBe("event type 'repo:fork' is not in events: not recorded");
    expect(emitted.length).toBe(before);
  });

  it("answers 503 with Retry-After when the bus did not store the event", async () => {
    failNext = new EventBusError("SB_ERR_BUS_UNAVAILABLE", "nats: disconnected");
    const body = JSON.stringify(push("c".repeat(40)));
    const res = await deliver(port, body, { request: "u-503", signature: sign(body) });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
  });

  it("without webhookSecret stores unsigned deliveries, and X-Request-UUID (chosen by an unverified sender) is not the id", async () => {
    const before = emitted.length;
    const body = JSON.stringify(push("7".repeat(40)));
    for (let i = 0; i < 2; i++) {
      const res = await deliver(port, body, { path: "/plain", request: "uuid-plain" });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-event-id")).toBe("minted");
    }
    const stored = emitted.slice(before);
    expect(stored.map((e) => [e.eventName, e.input.id])).toEqual([
      ["plain", undefined],
      ["plain", undefined],
    ]);
    expect(JSON.parse(stored[0]!.input.data).headers["X-Request-Uuid"]).toEqual(["uuid-plain"]);
  });

  it("with webhook.authSecret checks the bearer token and takes X-Request-UUID as id", async () => {
    const body = JSON.stringify(push("6".repeat(40)));
    const url = `http://127.0.0.1:${port}/proxied`;
    const headers = {
      "content-type": "application/json",
      "x-event-key": "repo:push",
      "x-request-uuid": "uuid-proxied",
    };
    const before = emitted.length;
    expect((await fetch(url, { method: "POST", headers, body })).status).toBe(401);
    const ok = await fetch(url, {
      method: "POST",
      headers: { ...headers, authorization: "Bearer proxy-bearer-Jd61" },
      body,
    });
    expect(ok.status).toBe(200);
    expect(emitted.slice(before).map((e) => [e.eventName, e.input.id])).toEqual([
      ["proxied", "uuid-proxied"],
    ]);
  });

  it("refuses to start when the webhookSecret value is empty, naming the field", async () => {
    const other = await freePort();
    await expect(
      bitbucketAdapter.start(
        [
          {
            eventName: "empty",
            spec: {
              repositories: [{ owner: "acme", repositorySlug: "api" }],
              webhook: { port: String(other), endpoint: "/e", method: "POST" },
              auth: { oauthToken: { name: "bb", key: "token" } },
              webhookSecret: { name: "bb", key: "no-such-key" },
            },
          },
        ],
        context(logSink(), []),
      ),
    ).rejects.toThrow("/spec/bitbucket/empty/webhookSecret: the Secret value is empty");
  });
});

describe("bitbucket hook registration against the Bitbucket Cloud API", () => {
  const PATH = "/bb-hooks";
  const TARGET = `https://events.example.com${PATH}`;
  let api: FakeBitbucketApi;
  const previous = process.env[CLOUD_API_ENV];
  const running: RunningAdapter[] = [];

  beforeAll(async () => {
    api = await new FakeBitbucketApi({
      cloudUser: { username: USER, password: APP_PASSWORD },
      cloudToken: OAUTH,
      cloudPageLen: 2,
    }).start();
    process.env[CLOUD_API_ENV] = `${api.cloudBase}/`;
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    if (previous === undefined) delete process.env[CLOUD_API_ENV];
    else process.env[CLOUD_API_ENV] = previous;
    await api?.stop();
  });

  async function start(
    spec: Partial<BitbucketEventSpec>,
    logs = logSink({ level: "trace", redaction: true }),
    emitted: Array<{ eventName: string; input: EmitInput }> = [],
  ) {
    const port = await freePort();
    running.push(
      await bitbucketAdapter.start(
        [
          {
            eventName: "hooks",
            spec: {
              webhook: {
                port: String(port),
                endpoint: PATH,
                method: "POST",
                url: "https://events.example.com",
              },
              events: ["repo:push", "pullrequest:created"],
              ...spec,
            },
          },
        ],
        context(logs, emitted),
      ),
    );
    return { port, logs, emitted };
  }

  const ours = (repo: string) => (api.cloudHooks.get(repo) ?? []).filter((h) => h.url === TARGET);

  it("creates, updates in place (after paging), leaves alone, and deletes on stop, with basic auth", async () => {
    for (const r of ["acme/new", "acme/old", "acme/same"]) api.cloudHooks.set(r, []);
    for (const n of [1, 2, 3])
      api.addCloudHook("acme/old", {
        url: `https://other.example.com/${n}`,
        description: "someone else's",
        active: true,
        events: ["issue:created"],
      });
    const old = api.addCloudHook("acme/old", {
      url: TARGET,
      description: "webhook managed by Argo-Events",
      active: false,
      events: ["repo:push"],
    });
    const same = api.addCloudHook("acme/same", {
      url: TARGET,
      description: "webhook managed by Argo-Events",
      active: true,
      events: ["pullrequest:created", "repo:push"],
    });
    api.requests.length = 0;
    const { logs } = await start({
      repositories: [
        { owner: "acme", repositorySlug: "new" },
        { owner: "acme", repositorySlug: "old" },
        { owner: "acme", repositorySlug: "same" },
      ],
      auth: {
        basic: {
          username: { name: "bb", key: "username" },
          password: { name: "bb", key: "password" },
        },
      },
      deleteHookOnFinish: true,
    });
    await waitUntil(() => logs.text().includes("hooks checked on 3 repositories"), "the round");
    const basic = `Basic ${Buffer.from(`${USER}:${APP_PASSWORD}`).toString("base64")}`;
    expect(api.requests.every((r) => r.authorization === basic)).toBe(true);
    const post = api.requests.find((r) => r.method === "POST")!;
    expect(post.path).toBe("/2.0/repositories/acme/new/hooks");
    expect(post.body).toEqual({
      description: "webhook managed by sensorbus",
      url: TARGET,
      active: true,
      events: ["repo:push", "pullrequest:created"],
    });
    // acme/old: the listing followed `next` to page 2, then PUT the same hook (uuid kept).
    expect(
      api.requests
        .filter((r) => r.method === "GET" && r.path === "/2.0/repositories/acme/old/hooks")
        .map((r) => r.query.get("page") ?? "1"),
    ).toEqual(["1", "2"]);
    const put = api.requests.filter((r) => r.method === "PUT");
    expect(put.map((r) => r.path)).toEqual([
      `/2.0/repositories/acme/old/hooks/${encodeURIComponent(old.uuid)}`,
    ]);
    expect(ours("acme/old")).toEqual([
      {
        ...old,
        active: true,
        events: ["repo:push", "pullrequest:created"],
        description: "webhook managed by sensorbus",
      },
    ]);
    expect(api.cloudHooks.get("acme/old")).toHaveLength(4);
    expect(ours("acme/same")).toEqual([same]);
    expect(api.requests.filter((r) => r.method !== "GET" && r.path.includes("/same/"))).toEqual([]);

    const created = ours("acme/new")[0]!.uuid;
    await Promise.all(running.splice(0).map((r) => r.stop()));
    const deletes = api.requests.filter((r) => r.method === "DELETE").map((r) => r.path);
    expect(deletes.sort()).toEqual(
      [
        `/2.0/repositories/acme/new/hooks/${encodeURIComponent(created)}`,
        `/2.0/repositories/acme/old/hooks/${encodeURIComponent(old.uuid)}`,
        `/2.0/repositories/acme/same/hooks/${encodeURIComponent(same.uuid)}`,
      ].sort(),
    );
    for (const r of ["acme/new", "acme/old", "acme/same"]) expect(ours(r)).toEqual([]);
    expect(api.cloudHooks.get("acme/old")).toHaveLength(3);
  });

  it("uses the OAuth token as Bearer; 403 and 404 are logged per repository and the webhook serves", async () => {
    api.cloudHooks.set("acme/ok", []);
    api.cloudHooks.set("acme/locked", []);
    api.forbidden.add("acme/locked");
    api.requests.length = 0;
    const { port, logs, emitted } = await start({
      repositories: [
        { owner: "acme", repositorySlug: "locked" },
        { owner: "acme", repositorySlug: "gone" },
        { owner: "acme", repositorySlug: "ok" },
      ],
      auth: { oauthToken: { name: "bb", key: "token" } },
    });
    await waitUntil(() => logs.text().includes("hooks checked on 3 repositories"), "the round");
    expect(api.requests.every((r) => r.authorization === `Bearer ${OAUTH}`)).toBe(true);
    const text = logs.text();
    expect(text).toContain("Bitbucket hook for acme/locked not registered: GET");
    expect(text).toContain("403: Your credentials lack one or more required privilege scopes.");
    expect(text).toContain("Bitbucket hook for acme/gone not registered");
    expect(text).toContain("404: Repository acme/gone not found");
    expect(text).not.toContain(OAUTH);
    const res = await deliver(port, JSON.stringify(push("f".repeat(40))), {
      path: PATH,
      request: "u-ok",
    });
    expect(res.status).toBe(200);
    expect(emitted).toHaveLength(1);
    // No deleteHookOnFinish: the hook stays after stop.
    await Promise.all(running.splice(0).map((r) => r.stop()));
    expect(ours("acme/ok")).toHaveLength(1);
  });

  it("sends webhookSecret as the hook's secret: created with it, hooks without one (or with another) updated", async () => {
    for (const r of ["acme/s-new", "acme/s-unset", "acme/s-set"]) api.cloudHooks.set(r, []);
    const unset = api.addCloudHook("acme/s-unset", {
      url: TARGET,
      description: "webhook managed by sensorbus",
      active: true,
      events: ["repo:push", "pullrequest:created"],
    });
    // A secret already set (an earlier value of the Secret): Bitbucket answers only secret_set.
    const set = api.addCloudHook("acme/s-set", {
      url: TARGET,
      description: "webhook managed by sensorbus",
      active: true,
      events: ["repo:push", "pullrequest:created"],
      secret: "previous-secret-Lt02",
    });
    api.requests.length = 0;
    const { port, logs, emitted } = await start({
      repositories: [
        { owner: "acme", repositorySlug: "s-new" },
        { owner: "acme", repositorySlug: "s-unset" },
        { owner: "acme", repositorySlug: "s-set" },
      ],
      auth: { oauthToken: { name: "bb", key: "token" } },
      webhookSecret: { name: "bb", key: "hook" },
    });
    await waitUntil(() => logs.text().includes("hooks checked on 3 repositories"), "the round");
    const desired = {
      description: "webhook managed by sensorbus",
      url: TARGET,
      active: true,
      events: ["repo:push", "pullrequest:created"],
      secret: HOOK_SECRET,
    };
    const writes = api.requests
      .filter((r) => r.method !== "GET")
      .map((r) => ({ method: r.method, path: r.path, body: r.body }));
    expect(writes).toEqual([
      { method: "POST", path: "/2.0/repositories/acme/s-new/hooks", body: desired },
      {
        method: "PUT",
        path: `/2.0/repositories/acme/s-unset/hooks/${encodeURIComponent(unset.uuid)}`,
        body: desired,
      },
      {
        method: "PUT",
        path: `/2.0/repositories/acme/s-set/hooks/${encodeURIComponent(set.uuid)}`,
        body: desired,
      },
    ]);
    for (const r of ["acme/s-new", "acme/s-unset", "acme/s-set"])
      expect(ours(r).map((h) => h.secret)).toEqual([HOOK_SECRET]);
    expect(ours("acme/s-unset")[0]!.uuid).toBe(unset.uuid);
    // Listed back with secret_set only, as Bitbucket does.
    const listed = (await (
      await fetch(`${api.cloudBase}/repositories/acme/s-new/hooks`, {
        headers: { authorization: `Bearer ${OAUTH}` },
      })
    ).json()) as { values: Array<Record<string, unknown>> };
    expect(listed.values[0]!.secret_set).toBe(true);
    expect(JSON.stringify(listed)).not.toContain(HOOK_SECRET);
    expect(logs.text()).toContain("Bitbucket hook updated");
    expect(logs.text()).not.toContain(HOOK_SECRET);
    // The route verifies with the same secret.
    const body = JSON.stringify(push("5".repeat(40)));
    const signed = await deliver(port, body, { path: PATH, signature: sign(body), request: "s-1" });
    expect(signed.status).toBe(200);
    expect((await deliver(port, body, { path: PATH, request: "s-2" })).status).toBe(401);
    expect(emitted.map((e) => e.input.id)).toEqual(["s-1"]);
  });

  it("logs a 401 (bad credentials) without the credential and keeps serving", async () => {
    api.cloudHooks.set("acme/auth", []);
    api.requests.length = 0;
    const { port, logs } = await start({
      repositories: [{ owner: "acme", repositorySlug: "auth" }],
      auth: { oauthToken: { name: "bb", key: "wrong" } },
    });
    await waitUntil(() => logs.text().includes("hooks checked on 1 repositories"), "the round");
    expect(logs.text()).toContain("Bitbucket hook for acme/auth not registered: GET");
    expect(logs.text()).toContain("401: Invalid credentials");
    expect(logs.text()).not.toContain("expired-token-Rr01");
    expect(ours("acme/auth")).toEqual([]);
    expect((await deliver(port, "{}", { path: PATH })).status).toBe(200);
  });
});

describe("Bitbucket Cloud delivery -> memory bus -> Sensor data filter -> http trigger", () => {
  let pipeline: Awaited<ReturnType<typeof startWebhookPipeline>>;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    pipeline = await startWebhookPipeline({
      kind: "bitbucket",
      entry: {
        repositories: [{ owner: "acme", repositorySlug: "api" }],
        webhook: { port: String(port), endpoint: "/push", method: "POST" },
        events: ["repo:push", "pullrequest:created"],
        auth: { oauthToken: { name: "bitbucket-access", key: "token" } },
        webhookSecret: { name: "bitbucket-access", key: "hook" },
      },
      filters: [{ path: "headers.X-Event-Key", type: "string", value: ["repo:push"] }],
      payload: { sha: "body.push.changes.0.new.target.hash" },
      secrets: { "bitbucket-access": { token: "unused", hook: HOOK_SECRET } },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it("fires for repo:push with the new commit hash, not for pullrequest:created", async () => {
    const send = (body: string, request: string, event?: string) =>
      deliver(port, body, {
        path: "/push",
        request,
        signature: sign(body),
        ...(event ? { event } : {}),
      });
    const pr = JSON.stringify({ pullrequest: { id: 1 } });
    expect((await send(pr, "p-1", "pullrequest:created")).status).toBe(200);
    const d = JSON.stringify(push("d".repeat(40)));
    expect((await send(d, "p-2")).status).toBe(200);
    // The same (verified) delivery again: stored once (X-Request-UUID).
    expect((await send(d, "p-2")).status).toBe(200);
    expect((await send(JSON.stringify(push("e".repeat(40))), "p-3")).status).toBe(200);
    await waitUntil(() => pipeline.sink.requests.length >= 2, "two trigger requests");
    expect(pipeline.sink.requests.map((r) => JSON.parse(r.body))).toEqual([
      { sha: "d".repeat(40) },
      { sha: "e".repeat(40) },
    ]);
  });
});
