import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBusError } from "../../src/errors.js";
import type { BitbucketServerEventSpec } from "../../src/eventsources/bitbucketserver/index.js";
import { bitbucketServerAdapter } from "../../src/eventsources/bitbucketserver/runtime.js";
import type {
  AdapterContext,
  Clock,
  EmitInput,
  RunningAdapter,
} from "../../src/eventsources/types.js";
import { FakeBitbucketApi } from "../support/fake-bitbucket-api.js";
import { type LogSink, logSink } from "../support/log-sink.js";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { hasOpenssl, selfSignedCert } from "../support/tls-cert.js";
import { startWebhookPipeline } from "../support/webhook-test-kit.js";

/**
 * Issue 22, Bitbucket Server: real HTTP deliveries signed as Bitbucket Server signs them (every
 * refusal path), repo:refs_changed split and filtered as Argo does, hook registration against a
 * fake Bitbucket Server REST API, and a delivery selected by data filters end to end.
 */

const SECRET = "bbs-hook-secret-7Hq2";
const TOKEN = "bbs-access-token-Zx91";
const sign = (body: string, key = SECRET) =>
  `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;

const REPOSITORY = {
  slug: "api",
  id: 84,
  name: "api",
  hierarchyId: "af05451fc6e5ad0a9e2c",
  scmId: "git",
  state: "AVAILABLE",
  statusMessage: "Available",
  forkable: true,
  project: { key: "PROJ", id: 84, name: "Project", public: false, type: "NORMAL" },
  public: false,
  archived: false,
};

const change = (ref: string, type: "BRANCH" | "TAG", toHash: string, kind = "UPDATE") => ({
  ref: { id: `refs/${type === "TAG" ? "tags" : "heads"}/${ref}`, displayId: ref, type },
  refId: `refs/${type === "TAG" ? "tags" : "heads"}/${ref}`,
  fromHash: "0".repeat(40),
  toHash,
  type: kind,
});

/** A repo:refs_changed body as Bitbucket Server sends it (Event payload docs). */
const refsChanged = (changes: unknown[]) => ({
  eventKey: "repo:refs_changed",
  date: "2017-09-19T09:45:32+1000",
  actor: {
    name: "admin",
    emailAddress: "admin@example.com",
    id: 1,
    displayName: "Administrator",
    active: true,
    slug: "admin",
    type: "NORMAL",
  },
  repository: REPOSITORY,
  changes,
});

const PR_OPENED = {
  eventKey: "pr:opened",
  date: "2017-09-19T09:58:11+1000",
  actor: { name: "admin", id: 1 },
  pullRequest: { id: 1, title: "A <b>bold</b> & new feature", state: "OPEN" },
};

function deliver(
  port: number,
  body: string,
  opts: {
    event?: string;
    request?: string;
    signature?: string | null;
    method?: string;
    path?: string;
  } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=UTF-8",
    "x-event-key": opts.event ?? "repo:refs_changed",
    "x-request-id": opts.request ?? "2a07f1a6-4ce5-4d7e-a7f1-7a8e3c8b9a01",
    "user-agent": "Atlassian HttpClient 2.1.5 / Bitbucket-8.9.0",
  };
  if (opts.signature !== null) headers["x-hub-signature"] = opts.signature ?? sign(body);
  return fetch(`http://127.0.0.1:${port}${opts.path ?? "/bbs"}`, {
    method: opts.method ?? "POST",
    headers,
    ...(opts.method === "GET" ? {} : { body }),
  });
}

/** A clock whose sleeps end when the test calls `tick()` (Bitbucket Server's checkInterval). */
function manualClock(): Clock & { tick(): void; waiting(): number } {
  const sleepers: Array<(v: boolean) => void> = [];
  return {
    now: () => Date.now(),
    sleep: (_ms, signal) =>
      new Promise<boolean>((resolve) => {
        if (signal?.aborted) return resolve(false);
        sleepers.push(resolve);
        signal?.addEventListener("abort", () => resolve(false), { once: true });
      }),
    tick: () => {
      for (const s of sleepers.splice(0)) s(true);
    },
    waiting: () => sleepers.length,
  };
}

function context(
  logs: LogSink,
  emitted: Array<{ eventName: string; input: EmitInput }>,
  refused: Array<{ eventName: string; reason: string }>,
  opts: {
    clock?: Clock;
    failNext?: () => Error | undefined;
    values?: Record<string, string>;
  } = {},
): AdapterContext {
  return {
    eventSourceName: "bbs",
    namespace: "default",
    log: logs.log,
    clock: opts.clock ?? { now: () => Date.now(), sleep: async () => false },
    signal: new AbortController().signal,
    values: {
      secret: async (ref) =>
        opts.values?.[ref.key] ??
        (ref.key === "token" ? TOKEN : ref.key === "bad" ? "nope" : SECRET),
      configMap: async () => "",
    },
    emit: async (eventName, input) => {
      const e = opts.failNext?.();
      if (e) throw e;
      emitted.push({ eventName, input });
      return { id: input.id ?? "minted", status: "published" };
    },
    verificationFailed: (eventName, reason) => refused.push({ eventName, reason }),
  };
}

describe("bitbucketserver adapter over real HTTP", () => {
  let port: number;
  let running: RunningAdapter;
  let api: FakeBitbucketApi;
  const emitted: Array<{ eventName: string; input: EmitInput }> = [];
  const refused: Array<{ eventName: string; reason: string }> = [];
  let failNext: Error | undefined;
  const logs = logSink({ level: "trace", redaction: true });

  beforeAll(async () => {
    api = await new FakeBitbucketApi({ serverToken: TOKEN, serverPageLimit: 1 }).start();
    api.serverHooks.set("PROJ/api", []);
    // The branch "feature" has an open pull request (on the second page), "main" a merged one.
    api.pullRequests.set(`PROJ/api/${"b".repeat(40)}`, [
      { id: 3, state: "MERGED" },
      { id: 4, state: "OPEN" },
    ]);
    api.pullRequests.set(`PROJ/api/${"c".repeat(40)}`, [{ id: 2, state: "MERGED" }]);
    port = await freePort();
    const base = (extra: Partial<BitbucketServerEventSpec>): BitbucketServerEventSpec => ({
      bitbucketserverBaseURL: api.serverBase,
      webhookSecret: { name: "bbs", key: "secret" },
      ...extra,
    });
    running = await bitbucketServerAdapter.start(
      [
        {
          eventName: "push",
          spec: base({
            webhook: { port: String(port), endpoint: "/bbs", method: "POST", maxPayloadSize: 8192 },
            events: ["repo:refs_changed", "pr:opened"],
            metadata: { team: "ci" },
          }),
        },
        {
          eventName: "split",
          spec: base({
            webhook: { port: String(port), endpoint: "/split", method: "POST" },
            accessToken: { name: "bbs", key: "token" },
            skipBranchRefsChangedOnOpenPR: true,
            oneEventPerChange: true,
          }),
        },
        {
          eventName: "badtoken",
          spec: base({
            webhook: { port: String(port), endpoint: "/badtoken", method: "POST" },
            accessToken: { name: "bbs", key: "bad" },
            skipBranchRefsChangedOnOpenPR: true,
          }),
        },
        {
          eventName: "notoken",
          spec: base({
            webhook: { port: String(port), endpoint: "/notoken", method: "POST" },
            skipBranchRefsChangedOnOpenPR: true,
          }),
        },
      ],
      context(logs, emitted, refused, {
        failNext: () => {
          const e = failNext;
          failNext = undefined;
          return e;
        },
      }),
    );
  });

  afterAll(async () => {
    await running?.stop();
    await api?.stop();
  });

  it("stores a signed repo:refs_changed delivery with Argo's payload and X-Request-Id as id", async () => {
    const body = JSON.stringify(refsChanged([change("main", "BRANCH", "a".repeat(40))]));
    const res = await deliver(port, body, { request: "req-1" });
    expect(await res.text()).toBe("success");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-event-id")).toBe("req-1");
    expect(emitted).toHaveLength(1);
    const { eventName, input } = emitted[0]!;
    expect(eventName).toBe("push");
    expect(input.id).toBe("req-1");
    // The body as sent (compacted as Go's json.RawMessage is), between headers and metadata.
    expect(input.data.startsWith('{"headers":{')).toBe(true);
    expect(input.data).toContain(`,"body":${body},"metadata":{"team":"ci"}}`);
    const data = JSON.parse(input.data);
    expect(data.body.eventKey).toBe("repo:refs_changed");
    expect(data.body.changes[0].toHash).toBe("a".repeat(40));
    expect(data.headers["X-Event-Key"]).toEqual(["repo:refs_changed"]);
    expect(data.headers["X-Request-Id"]).toEqual(["req-1"]);
    expect(data.headers["X-Hub-Signature"]).toEqual(["*** Masked Auth Secret ***"]);
    expect(data.headers.Host).toBeUndefined();
  });

  it("re-encodes the body as Go does for an event other than repo:refs_changed", async () => {
    const body = JSON.stringify(PR_OPENED, null, 2);
    const res = await deliver(port, body, { event: "pr:opened", request: "req-pr" });
    expect(res.status).toBe(200);
    expect(emitted.at(-1)!.input.data).toContain(
      '"title":"A \\u003cb\\u003ebold\\u003c/b\\u003e \\u0026 new feature"',
    );
  });

  it("refuses a missing or malformed signature (401) and a wrong one (403): logged, counted, nothing stored", async () => {
    const before = emitted.length;
    const body = JSON.stringify(refsChanged([change("main", "BRANCH", "a".repeat(40))]));
    const missing = await deliver(port, body, { signature: null, request: "r-missing" });
    expect(missing.status).toBe(401);
    expect(await missing.text()).toBe("missing signature header X-Hub-Signature");
    const wrong = await deliver(port, body, { signature: sign(body, "guess"), request: "r-wrong" });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toBe("hmac verification failed");
    const tampered = await deliver(port, body.replace("main", "evil"), {
      signature: sign(body),
      request: "r-tampered",
    });
    expect(tampered.status).toBe(403);
    for (const bad of ["sha256=xyz", sign(body).slice("sha256=".length), "sha1=abc", "sha25"]) {
      const malformed = await deliver(port, body, { signature: bad, request: "r-bad" });
      expect(malformed.status, bad).toBe(401);
    }
    expect(emitted.length).toBe(before);
    expect(refused.map((r) => r.reason)).toEqual([
      "missing_signature",
      "signature_mismatch",
      "signature_mismatch",
      "malformed_signature",
      "malformed_signature",
      "malformed_signature",
      "malformed_signature",
    ]);
    expect(refused.every((r) => r.eventName === "push")).toBe(true);
    const text = logs.text();
    expect(text).toContain("Bitbucket Server delivery refused: hmac verification failed");
    expect(text).toContain("r-wrong");
    expect(text).not.toContain(SECRET);
  });

  it("answers 405 for another method, 413 over maxPayloadSize, 400 for a body that is not JSON", async () => {
    const before = emitted.length;
    const get = await deliver(port, "", { method: "GET" });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const big = JSON.stringify({ ...PR_OPENED, pad: "x".repeat(9000) });
    expect((await deliver(port, big, { event: "pr:opened" })).status).toBe(413);
    const notJson = await deliver(port, "{not json", { event: "pr:opened" });
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).toContain("invalid JSON body");
    // A repo:refs_changed body that does not fit Argo's struct: 400 as Argo answers.
    const mistyped = JSON.stringify({ ...refsChanged([]), changes: "none" });
    const res = await deliver(port, mistyped);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(
      "decoding repo:refs_changed webhook: json: cannot unmarshal",
    );
    expect(emitted.length).toBe(before);
  });

  it("answers 200 without storing an event type outside `events` (the Test connection ping)", async () => {
    const before = emitted.length;
    const body = JSON.stringify({ test: true });
    const res = await deliver(port, body, { event: "diagnostics:ping", request: "r-ping" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("event type 'diagnostics:ping' is not in events: not recorded");
    expect(emitted.length).toBe(before);
  });

  it("answers 503 with Retry-After when the bus did not store the event", async () => {
    failNext = new EventBusError("SB_ERR_BUS_UNAVAILABLE", "nats: disconnected");
    const body = JSON.stringify(PR_OPENED);
    const res = await deliver(port, body, { event: "pr:opened", request: "r-503" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
  });

  it("skipBranchRefsChangedOnOpenPR + oneEventPerChange: one event per change left, Go-encoded", async () => {
    const before = emitted.length;
    api.requests.length = 0;
    const body = JSON.stringify(
      refsChanged([
        change("v1.0", "TAG", "a".repeat(40), "ADD"), // a tag: kept without a lookup
        change("feature", "BRANCH", "b".repeat(40)), // open pull request: dropped
        change("main", "BRANCH", "c".repeat(40)), // only a merged one: kept
        change("old", "BRANCH", "0".repeat(40), "DELETE"), // a delete: kept without a lookup
      ]),
    );
    const res = await deliver(port, body, { path: "/split", request: "req-split" });
    expect(await res.text()).toBe("success");
    expect(res.headers.get("x-event-id")).toBe("req-split/0, req-split/2, req-split/3");
    const events = emitted.slice(before);
    expect(events.map((e) => e.input.id)).toEqual(["req-split/0", "req-split/2", "req-split/3"]);
    const bodies = events.map((e) => JSON.parse(e.input.data).body);
    expect(bodies.map((b) => b.changes.map((c: { refId: string }) => c.refId))).toEqual([
      ["refs/tags/v1.0"],
      ["refs/heads/main"],
      ["refs/heads/old"],
    ]);
    // Argo's struct, in its field order, zero values filled in, unknown fields (archived) gone.
    const first = events[0]!.input.data;
    const bodyText = first.slice(first.indexOf(',"body":') + 8, -1);
    expect(bodyText).toBe(
      `{"eventKey":"repo:refs_changed","date":"2017-09-19T09:45:32+1000","actor":{"name":"admin","emailAddress":"admin@example.com","id":1,"displayName":"Administrator","active":true,"slug":"admin","type":"NORMAL","links":{"self":null}},"repository":{"slug":"api","id":84,"name":"api","hierarchyId":"af05451fc6e5ad0a9e2c","scmId":"git","state":"AVAILABLE","statusMessage":"Available","forkable":true,"project":{"key":"PROJ","id":84,"name":"Project","public":false,"type":"NORMAL","links":{"self":null}},"public":false,"links":{"clone":null,"self":null}},"changes":[{"ref":{"id":"refs/tags/v1.0","displayId":"v1.0","type":"TAG"},"refId":"refs/tags/v1.0","fromHash":"${"0".repeat(40)}","toHash":"${"a".repeat(40)}","type":"ADD"}]}`,
    );
    // The lookups: the two branch updates, paged one pull request at a time, with the token.
    const lookups = api.requests.map((r) => `${r.method} ${r.path}?start=${r.query.get("start")}`);
    expect(lookups).toEqual([
      `GET /rest/api/1.0/projects/PROJ/repos/api/commits/${"b".repeat(40)}/pull-requests?start=0`,
      `GET /rest/api/1.0/projects/PROJ/repos/api/commits/${"b".repeat(40)}/pull-requests?start=1`,
      `GET /rest/api/1.0/projects/PROJ/repos/api/commits/${"c".repeat(40)}/pull-requests?start=0`,
    ]);
    expect(api.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it("skipBranchRefsChangedOnOpenPR with every change on an open pull request: 200, nothing stored", async () => {
    const before = emitted.length;
    const body = JSON.stringify(refsChanged([change("feature", "BRANCH", "b".repeat(40))]));
    const res = await deliver(port, body, { path: "/split", request: "req-none" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-event-id")).toBeNull();
    expect(emitted.length).toBe(before);
  });

  it("refuses the delivery when the pull request lookup fails (502) or cannot be made (500)", async () => {
    const before = emitted.length;
    const body = JSON.stringify(refsChanged([change("main", "BRANCH", "c".repeat(40))]));
    const failed = await deliver(port, body, { path: "/badtoken", request: "req-401" });
    expect(failed.status).toBe(502);
    const why = await failed.text();
    expect(why).toContain("checking open pull requests of PROJ/api");
    expect(why).toContain("401: Authentication failed");
    const noToken = await deliver(port, body, { path: "/notoken", request: "req-500" });
    expect(noToken.status).toBe(500);
    expect(await noToken.text()).toContain("skipBranchRefsChangedOnOpenPR needs accessToken");
    expect(emitted.length).toBe(before);
    expect(logs.text()).not.toContain("nope");
  });
});

describe("bitbucketserver hook registration against the Bitbucket Server REST API", () => {
  const HOOK_PATH = "/bbs-hooks";
  const PUBLIC = "https://events.example.com/";
  const logs = logSink({ level: "trace", redaction: true });
  const emitted: Array<{ eventName: string; input: EmitInput }> = [];
  let api: FakeBitbucketApi;
  let running: RunningAdapter;
  let port: number;
  const clock = manualClock();

  beforeAll(async () => {
    api = await new FakeBitbucketApi({ serverToken: TOKEN, serverPageLimit: 2 }).start();
    for (const r of [
      "PROJ/new",
      "PROJ/changed",
      "PROJ/same",
      "PROJ/locked",
      "TEAM/a",
      "TEAM/b",
      "TEAM/c",
    ])
      api.serverHooks.set(r, []);
    // Three other hooks first, so the listing pages (limit 2) before it finds the one to update.
    for (const n of [1, 2, 3])
      api.addServerHook("PROJ/changed", {
        name: `other ${n}`,
        url: `https://elsewhere.example.com/${n}`,
        active: true,
        events: ["pr:merged"],
        configuration: {},
      });
    api.addServerHook("PROJ/changed", {
      name: "Argo Events",
      url: `https://events.example.com${HOOK_PATH}`,
      active: true,
      events: ["repo:refs_changed"],
      configuration: { secret: "old-secret" },
    });
    api.addServerHook("PROJ/same", {
      name: "Argo Events",
      url: `https://events.example.com${HOOK_PATH}`,
      active: true,
      events: ["pr:opened", "repo:refs_changed"],
      configuration: { secret: SECRET },
    });
    api.forbidden.add("PROJ/locked");
    port = await freePort();
    running = await bitbucketServerAdapter.start(
      [
        {
          eventName: "hooks",
          spec: {
            bitbucketserverBaseURL: `${api.serverBase}/`,
            webhook: { port: String(port), endpoint: HOOK_PATH, method: "POST", url: PUBLIC },
            repositories: [
              { projectKey: "PROJ", repositorySlug: "new" },
              { projectKey: "PROJ", repositorySlug: "changed" },
              { projectKey: "PROJ", repositorySlug: "same" },
              { projectKey: "PROJ", repositorySlug: "locked" },
              { projectKey: "PROJ", repositorySlug: "missing" },
            ],
            projects: ["TEAM"],
            events: ["repo:refs_changed", "pr:opened"],
            accessToken: { name: "bbs", key: "token" },
            webhookSecret: { name: "bbs", key: "secret" },
            deleteHookOnFinish: true,
            checkInterval: "30s",
          },
        },
      ],
      context(logs, emitted, [], { clock }),
    );
    // The first round is over when the manager sleeps until the next check.
    await waitUntil(() => clock.waiting() > 0, "the first registration round");
  });

  afterAll(async () => {
    await running?.stop();
    await api?.stop();
  });

  const ours = (repo: string) =>
    (api.serverHooks.get(repo) ?? []).filter((h) => h.url.endsWith(HOOK_PATH));

  it("creates the hook where there is none, on listed repositories and every repository of a project", () => {
    for (const repo of ["PROJ/new", "TEAM/a", "TEAM/b", "TEAM/c"]) {
      expect(ours(repo), repo).toHaveLength(1);
      expect(ours(repo)[0]).toMatchObject({
        name: "sensorbus",
        url: `https://events.example.com${HOOK_PATH}`,
        active: true,
        events: ["repo:refs_changed", "pr:opened"],
        configuration: { secret: SECRET },
      });
    }
    const post = api.requests.find(
      (r) => r.method === "POST" && r.path === "/rest/api/1.0/projects/PROJ/repos/new/webhooks",
    );
    expect(post?.body).toEqual({
      name: "sensorbus",
      url: `https://events.example.com${HOOK_PATH}`,
      active: true,
      events: ["repo:refs_changed", "pr:opened"],
      configuration: { secret: SECRET },
    });
    expect(post?.headers["content-type"]).toBe("application/json");
    expect(post?.headers["x-atlassian-token"]).toBe("no-check");
    expect(api.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    // The project's repositories, paged two at a time.
    expect(
      api.requests
        .filter((r) => r.path === "/rest/api/1.0/projects/TEAM/repos")
        .map((r) => `${r.query.get("start")}/${r.query.get("limit")}`),
    ).toEqual(["0/500", "2/500"]);
  });

  it("updates the hook with the same URL in place when its events or secret differ, leaves an equal one alone", () => {
    const changed = ours("PROJ/changed");
    expect(changed).toHaveLength(1);
    expect(changed[0]!.id).toBe(4);
    expect(changed[0]!.events).toEqual(["repo:refs_changed", "pr:opened"]);
    expect(changed[0]!.configuration).toEqual({ secret: SECRET });
    expect(api.serverHooks.get("PROJ/changed")).toHaveLength(4);
    const put = api.requests.filter((r) => r.method === "PUT");
    expect(put.map((r) => r.path)).toEqual([
      "/rest/api/1.0/projects/PROJ/repos/changed/webhooks/4",
    ]);
    // The listing paged (limit 2) to find it.
    expect(
      api.requests
        .filter((r) => r.method === "GET" && r.path.endsWith("/repos/changed/webhooks"))
        .map((r) => r.query.get("start")),
    ).toEqual(["0", "2"]);
    expect(ours("PROJ/same")).toHaveLength(1);
    expect(api.requests.some((r) => r.method !== "GET" && r.path.includes("/repos/same/"))).toBe(
      false,
    );
  });

  it("logs a provider error naming the repository and why, never the token, and keeps serving", async () => {
    const text = logs.text();
    expect(text).toContain("Bitbucket Server hook for PROJ/locked not registered: GET ");
    expect(text).toContain("403: You are not permitted to access this resource");
    expect(text).toContain("Bitbucket Server hook for PROJ/missing not registered");
    expect(text).toContain("404: Repository missing does not exist.");
    expect(text).not.toContain(TOKEN);
    const body = JSON.stringify(refsChanged([change("main", "BRANCH", "a".repeat(40))]));
    const res = await deliver(port, body, { path: HOOK_PATH, request: "after-errors" });
    expect(res.status).toBe(200);
    expect(emitted.at(-1)!.input.id).toBe("after-errors");
  });

  it("re-applies every checkInterval: a hook deleted by hand comes back", async () => {
    api.serverHooks.set("PROJ/new", []);
    const posts = () => api.requests.filter((r) => r.method === "POST").length;
    const before = posts();
    clock.tick();
    await waitUntil(() => ours("PROJ/new").length === 1, "the hook re-created");
    await waitUntil(() => clock.waiting() > 0, "the second round to end");
    expect(posts()).toBe(before + 1);
  });

  it("logs a rejected token (401) per repository, never the token, and serves all the same", async () => {
    const badLogs = logSink({ level: "trace", redaction: true });
    const badPort = await freePort();
    const badClock = manualClock();
    const bad = await bitbucketServerAdapter.start(
      [
        {
          eventName: "badtoken",
          spec: {
            bitbucketserverBaseURL: api.serverBase,
            webhook: { port: String(badPort), endpoint: "/bad", method: "POST", url: PUBLIC },
            repositories: [{ projectKey: "PROJ", repositorySlug: "new" }],
            events: ["repo:refs_changed"],
            accessToken: { name: "bbs", key: "bad" },
            deleteHookOnFinish: true,
          },
        },
      ],
      context(badLogs, emitted, [], { clock: badClock }),
    );
    try {
      await waitUntil(() => badClock.waiting() > 0, "the round");
      const text = badLogs.text();
      expect(text).toContain("Bitbucket Server hook for PROJ/new not registered: GET");
      expect(text).toContain(
        "401: Authentication failed. Please check your credentials and try again.",
      );
      expect(text).toContain("Bitbucket Server hooks checked on 1 repositories, 1 failed");
      expect(text).not.toContain("nope");
      const res = await deliver(badPort, JSON.stringify(PR_OPENED), {
        path: "/bad",
        event: "pr:opened",
        signature: null,
      });
      expect(res.status).toBe(200);
    } finally {
      await bad.stop();
    }
    // Nothing was registered, so nothing is deleted.
    expect(api.requests.filter((r) => r.method === "DELETE")).toEqual([]);
  });

  it("deletes the hooks it registered on stop (deleteHookOnFinish), not the others", async () => {
    const ids = ["PROJ/new", "PROJ/changed", "PROJ/same", "TEAM/a", "TEAM/b", "TEAM/c"].map(
      (r) => `${r}:${ours(r)[0]!.id}`,
    );
    await running.stop();
    running = { stop: async () => {} };
    const deletes = api.requests
      .filter((r) => r.method === "DELETE")
      .map((r) => r.path.replace("/rest/api/1.0/projects/", ""));
    expect(deletes.sort()).toEqual(
      ids
        .map((i) => {
          const [repo, id] = i.split(":");
          const [key, slug] = repo!.split("/");
          return `${key}/repos/${slug}/webhooks/${id}`;
        })
        .sort(),
    );
    for (const r of ["PROJ/new", "PROJ/changed", "PROJ/same", "TEAM/a"])
      expect(ours(r)).toEqual([]);
    // The other hooks of PROJ/changed stay.
    expect(api.serverHooks.get("PROJ/changed")).toHaveLength(3);
  });
});

describe("Bitbucket Server delivery -> memory bus -> Sensor data filters -> http trigger", () => {
  let pipeline: Awaited<ReturnType<typeof startWebhookPipeline>>;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    pipeline = await startWebhookPipeline({
      kind: "bitbucketserver",
      entry: {
        bitbucketserverBaseURL: "https://bitbucket.example.com/rest",
        repositories: [{ projectKey: "PROJ", repositorySlug: "api" }],
        webhook: { port: String(port), endpoint: "/push", method: "POST" },
        webhookSecret: { name: "bbs-access", key: "secret" },
      },
      filters: [
        { path: "body.eventKey", type: "string", value: ["repo:refs_changed"] },
        { path: "headers.X-Event-Key", type: "string", value: ["repo:refs_changed"] },
      ],
      payload: { sha: "body.changes.0.toHash", repo: "body.repository.slug" },
      secrets: { "bbs-access": { secret: SECRET } },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it("fires for the repo:refs_changed delivery with its toHash, not for pr:opened", async () => {
    const pr = JSON.stringify(PR_OPENED);
    expect(
      (await deliver(port, pr, { path: "/push", event: "pr:opened", request: "e-1" })).status,
    ).toBe(200);
    const push = JSON.stringify(refsChanged([change("main", "BRANCH", "d".repeat(40))]));
    expect((await deliver(port, push, { path: "/push", request: "e-2" })).status).toBe(200);
    // Bitbucket sends it again: stored once (X-Request-Id on a verified route).
    expect((await deliver(port, push, { path: "/push", request: "e-2" })).status).toBe(200);
    const later = JSON.stringify(refsChanged([change("main", "BRANCH", "e".repeat(40))]));
    expect((await deliver(port, later, { path: "/push", request: "e-3" })).status).toBe(200);
    await waitUntil(() => pipeline.sink.requests.length >= 2, "two trigger requests");
    expect(pipeline.sink.requests.map((r) => JSON.parse(r.body))).toEqual([
      { sha: "d".repeat(40), repo: "api" },
      { sha: "e".repeat(40), repo: "api" },
    ]);
  });
});

const OPENSSL = hasOpenssl();
if (!OPENSSL)
  process.stderr.write(
    "\n*** bitbucketserver-source.int.test.ts: `openssl` is not on PATH: the tls test is SKIPPED ***\n\n",
  );

describe.skipIf(!OPENSSL)("bitbucketserver `tls`: the API client trusts caCertSecret", () => {
  let api: FakeBitbucketApi;
  let dir: string;
  let ca: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sb-bbs-tls-"));
    const pair = selfSignedCert(dir);
    ca = pair.cert;
    api = await new FakeBitbucketApi({
      serverToken: TOKEN,
      tls: { cert: ca, key: pair.key },
    }).start();
    api.serverHooks.set("SEC/repo", []);
  });

  afterAll(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function register(tls: BitbucketServerEventSpec["tls"]) {
    const logs = logSink({ level: "trace", redaction: true });
    const clock = manualClock();
    const running = await bitbucketServerAdapter.start(
      [
        {
          eventName: "tls",
          spec: {
            bitbucketserverBaseURL: api.serverBase,
            webhook: {
              port: String(await freePort()),
              endpoint: "/tls",
              method: "POST",
              url: "https://events.example.com",
            },
            repositories: [{ projectKey: "SEC", repositorySlug: "repo" }],
            events: ["repo:refs_changed"],
            accessToken: { name: "bbs", key: "token" },
            ...(tls ? { tls } : {}),
          },
        },
      ],
      context(logs, [], [], { clock, values: { ca } }),
    );
    await waitUntil(() => clock.waiting() > 0, "the round");
    await running.stop();
    return logs.text();
  }

  it("refuses the self-signed server without the CA, registers with it", async () => {
    const without = await register(undefined);
    expect(without).toContain("Bitbucket Server hook for SEC/repo not registered");
    expect(api.serverHooks.get("SEC/repo")).toEqual([]);
    const trusted = await register({ caCertSecret: { name: "bbs", key: "ca" } });
    expect(trusted).toContain("Bitbucket Server hooks checked on 1 repositories, 0 failed");
    expect(api.serverHooks.get("SEC/repo")).toHaveLength(1);
  });
});
