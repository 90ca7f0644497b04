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
 * Issue 22, Bitbucket Cloud: real HTTP deliveries as Bitbucket Cloud sends them, the refusal
 * paths the kind has (no signature in Argo's type), hook registration against a fake Bitbucket
 * Cloud API (basic and OAuth auth, pagination, update in place, 401/403/404), and a delivery
 * selected by data filters end to end.
 */

const USER = "build-bot";
const APP_PASSWORD = "app-password-Kd83";
const OAUTH = "oauth-token-Pq55";

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

function deliver(
  port: number,
  body: string,
  opts: { event?: string; request?: string; method?: string; path?: string } = {},
): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${opts.path ?? "/bitbucket"}`, {
    method: opts.method ?? "POST",
    headers: {
      "content-type": "application/json",
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
): AdapterContext {
  const values: Record<string, string> = {
    username: USER,
    password: APP_PASSWORD,
    token: OAUTH,
    wrong: "expired-token-Rr01",
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
  };
}

describe("bitbucket adapter over real HTTP", () => {
  let port: number;
  let running: RunningAdapter;
  const emitted: Array<{ eventName: string; input: EmitInput }> = [];
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
    };
    running = await bitbucketAdapter.start(
      [{ eventName: "push", spec }],
      context(logs, emitted, () => {
        const e = failNext;
        failNext = undefined;
        return e;
      }),
    );
  });

  afterAll(async () => {
    await running?.stop();
  });

  it("stores a repo:push delivery with Argo's payload and X-Request-UUID as id", async () => {
    const body = JSON.stringify(push("a".repeat(40)), null, 2);
    const res = await deliver(port, body, { request: "uuid-1" });
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
  });

  it("answers 405, 413, 400 (not JSON), and 200 without storing an event type outside `events`", async () => {
    const before = emitted.length;
    const get = await deliver(port, "", { method: "GET" });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const big = JSON.stringify({ ...push("b".repeat(40)), pad: "x".repeat(5000) });
    expect((await deliver(port, big)).status).toBe(413);
    const bad = await deliver(port, "{oops");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("invalid JSON body");
    const fork = await deliver(port, "{}", { event: "repo:fork" });
    expect(fork.status).toBe(200);
    expect(await fork.text()).toBe("event type 'repo:fork' is not in events: not recorded");
    expect(emitted.length).toBe(before);
  });

  it("answers 503 with Retry-After when the bus did not store the event", async () => {
    failNext = new EventBusError("SB_ERR_BUS_UNAVAILABLE", "nats: disconnected");
    const res = await deliver(port, JSON.stringify(push("c".repeat(40))), { request: "u-503" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
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
    expect(emitted.map((e) => e.input.id)).toEqual(["u-ok"]);
    // No deleteHookOnFinish: the hook stays after stop.
    await Promise.all(running.splice(0).map((r) => r.stop()));
    expect(ours("acme/ok")).toHaveLength(1);
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
      },
      filters: [{ path: "headers.X-Event-Key", type: "string", value: ["repo:push"] }],
      payload: { sha: "body.push.changes.0.new.target.hash" },
      secrets: { "bitbucket-access": { token: "unused" } },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it("fires for repo:push with the new commit hash, not for pullrequest:created", async () => {
    const pr = JSON.stringify({ pullrequest: { id: 1 } });
    expect(
      (await deliver(port, pr, { path: "/push", event: "pullrequest:created", request: "p-1" }))
        .status,
    ).toBe(200);
    expect(
      (await deliver(port, JSON.stringify(push("d".repeat(40))), { path: "/push", request: "p-2" }))
        .status,
    ).toBe(200);
    // The same delivery again: stored once (X-Request-UUID).
    expect(
      (await deliver(port, JSON.stringify(push("d".repeat(40))), { path: "/push", request: "p-2" }))
        .status,
    ).toBe(200);
    expect(
      (await deliver(port, JSON.stringify(push("e".repeat(40))), { path: "/push", request: "p-3" }))
        .status,
    ).toBe(200);
    await waitUntil(() => pipeline.sink.requests.length >= 2, "two trigger requests");
    expect(pipeline.sink.requests.map((r) => JSON.parse(r.body))).toEqual([
      { sha: "d".repeat(40) },
      { sha: "e".repeat(40) },
    ]);
  });
});
