import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBusError } from "../../src/errors.js";
import type { GerritEventSpec } from "../../src/eventsources/gerrit/index.js";
import { createGerritAdapter } from "../../src/eventsources/gerrit/runtime.js";
import type { RunningAdapter } from "../../src/eventsources/types.js";
import { webhookHarness } from "../support/adapter-harness.js";
import { FakeGerritApi } from "../support/fake-gerrit-api.js";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";

/**
 * Issue 22, Gerrit: hooks registered through a fake Gerrit webhooks-plugin API (create, keep,
 * replace, errors per project, re-created after a minute's check, deleted on stop), and
 * deliveries stored as Argo's {headers, body, metadata}.
 */

const USER = "sensorbus-bot";
const PASSWORD = "gerrit-http-pw-77Qz";
const SECRETS = { "gerrit/user": USER, "gerrit/password": PASSWORD };
const HOOKS = "/a/config/server/webhooks~projects";
const AUTH = {
  username: { name: "gerrit", key: "user" },
  password: { name: "gerrit", key: "password" },
};

const PATCHSET = {
  type: "patchset-created",
  change: {
    project: "team/app",
    branch: "main",
    id: "I0123456789abcdef",
    number: 4711,
    subject: "Fix <b>escaping</b> & more",
  },
  patchSet: { number: 3, revision: "bd0e4a1cda8ba7ccf0ddd4b1f82bfba5e98f1e13" },
  eventCreatedOn: 1700000000,
};

function deliver(port: number, body: string, method = "POST"): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/gerrit`, {
    method,
    headers: { "content-type": "application/json", "user-agent": "Gerrit-Webhooks" },
    ...(method === "GET" ? {} : { body }),
  });
}

describe("gerrit: hooks on each project, deliveries as Argo's payload", () => {
  const api = new FakeGerritApi(USER, PASSWORD, ["team/app", "infra", "locked"]);
  const rec = webhookHarness(SECRETS, "review");
  let port: number;
  let running: RunningAdapter | undefined;
  const url = "https://hooks.example.com/gerrit";

  beforeAll(async () => {
    await api.start();
    api.forbidden.add("locked");
    api.hooks.get("infra")!.set("argo-hook", { url });
    api.hooks.get("team/app")!.set("argo-hook", { url: "https://old.example.com/x" });
    port = await freePort();
    const spec: GerritEventSpec = {
      webhook: {
        port: String(port),
        endpoint: "/gerrit",
        method: "POST",
        url: "https://hooks.example.com",
        maxPayloadSize: 4096,
      },
      hookName: "argo-hook",
      events: ["patchset-created", "change-merged"],
      projects: ["team/app", "infra", "missing", "locked"],
      auth: AUTH,
      gerritBaseURL: api.baseURL,
      sslVerify: true,
      maxTries: 5,
      deleteHookOnFinish: true,
      metadata: { team: "review" },
    };
    running = await createGerritAdapter({ resyncMs: 50 }).start(
      [{ eventName: "patches", spec }],
      rec.ctx,
    );
  });

  afterAll(async () => {
    await running?.stop();
    await api.stop();
  });

  it("lists each project's hooks, keeps a matching one, replaces one pointing elsewhere (PUT)", () => {
    const first = api.calls.slice(0, 5).map((c) => `${c.method} ${c.path}`);
    expect(first).toEqual([
      `GET ${HOOKS}/team%2Fapp/remotes/`,
      `PUT ${HOOKS}/team%2Fapp/remotes/argo-hook/`,
      `GET ${HOOKS}/infra/remotes/`,
      `GET ${HOOKS}/missing/remotes/`,
      `GET ${HOOKS}/locked/remotes/`,
    ]);
    const put = api.calls[1]!;
    expect(put.authorization).toBe(
      `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`,
    );
    expect(put.contentType).toBe("application/json");
    expect(put.accept).toBe("application/json");
    expect(JSON.parse(put.body)).toEqual({
      url,
      events: ["patchset-created", "change-merged"],
      maxTries: 5,
      sslVerify: true,
    });
    expect(api.hooks.get("team/app")!.get("argo-hook")).toMatchObject({ url, maxTries: 5 });
  });

  it("logs each project's API error with the project and Gerrit's reason, never the password", () => {
    const logged = rec.logs.text();
    expect(logged).toContain(
      `failed to list the webhooks of Gerrit project missing: GET ${HOOKS}/missing/remotes/ answered 404: Not found: missing; the endpoint keeps serving`,
    );
    expect(logged).toContain("Gerrit project locked: GET");
    expect(logged).toContain("answered 403: not permitted: write on locked");
    expect(logged).not.toContain(PASSWORD);
    expect(logged).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString("base64"));
  });

  it("stores a delivery as Argo's {headers, body, metadata}, re-encoded as Go does", async () => {
    const res = await deliver(port, JSON.stringify(PATCHSET, null, 2));
    expect(await res.text()).toBe("success");
    expect(res.status).toBe(200);
    const input = rec.emitted.at(-1)!;
    const eventName = rec.eventNames.at(-1);
    expect(eventName).toBe("patches");
    expect(input.id).toBeUndefined();
    expect(input.data.startsWith('{"headers":{')).toBe(true);
    expect(input.data).toContain(
      ',"body":{"type":"patchset-created","change":{"project":"team/app","branch":"main","id":"I0123456789abcdef","number":4711,"subject":"Fix \\u003cb\\u003eescaping\\u003c/b\\u003e \\u0026 more"},',
    );
    expect(input.data.endsWith(',"metadata":{"team":"review"}}')).toBe(true);
    const data = JSON.parse(input.data);
    expect(data.body.patchSet.revision).toBe(PATCHSET.patchSet.revision);
    expect(data.headers["User-Agent"]).toEqual(["Gerrit-Webhooks"]);
  });

  it("answers 400 for a body that is not JSON, 405 for another method, 413, 503", async () => {
    const before = rec.emitted.length;
    const bad = await deliver(port, "{not json");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("invalid JSON body");
    expect((await deliver(port, "")).status).toBe(400);
    const get = await deliver(port, "", "GET");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect((await deliver(port, JSON.stringify({ pad: "x".repeat(5000) }))).status).toBe(413);
    expect(rec.emitted.length).toBe(before);
    rec.failNext = new EventBusError("SB_ERR_BUS_UNAVAILABLE", "nats: disconnected");
    const res = await deliver(port, JSON.stringify(PATCHSET));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
  });

  it("puts a hook back when it disappears from Gerrit (the periodic check)", async () => {
    api.hooks.get("infra")!.delete("argo-hook");
    await waitUntil(() => api.hooks.get("infra")!.has("argo-hook"), "the infra hook re-created");
    expect(api.hooks.get("infra")!.get("argo-hook")).toMatchObject({ url });
  });

  it("deletes the hook from each project it is on when stopped (deleteHookOnFinish)", async () => {
    await running!.stop();
    running = undefined;
    const deletes = api.calls.filter((c) => c.method === "DELETE").map((c) => c.path);
    expect(deletes.sort()).toEqual([
      `${HOOKS}/infra/remotes/argo-hook/`,
      `${HOOKS}/team%2Fapp/remotes/argo-hook/`,
    ]);
    expect(api.hooks.get("infra")!.size).toBe(0);
    expect(api.hooks.get("team/app")!.size).toBe(0);
  });
});

/** Starts one entry against `api` and stops it; returns what it logged. */
async function runOnce(
  api: FakeGerritApi,
  entry: Partial<GerritEventSpec> & { endpoint: string; url?: string },
  whileRunning: (port: number) => Promise<void> = async () => {},
): Promise<string> {
  const rec = webhookHarness(SECRETS, "review");
  const port = await freePort();
  const { endpoint, url, ...rest } = entry;
  const running = await createGerritAdapter().start(
    [
      {
        eventName: "patches",
        spec: {
          webhook: { port: String(port), endpoint, method: "POST", ...(url ? { url } : {}) },
          hookName: "argo-hook",
          events: [],
          projects: ["team/app"],
          auth: AUTH,
          gerritBaseURL: api.baseURL,
          ...rest,
        },
      },
    ],
    rec.ctx,
  );
  try {
    await whileRunning(port);
  } finally {
    await running.stop();
    await api.stop();
  }
  return rec.logs.text();
}

describe("gerrit: refused credentials, no deletion asked, no webhook.url", () => {
  it("logs Gerrit's 401 per project, keeps serving, and deletes nothing on stop", async () => {
    const api = await new FakeGerritApi(USER, "another-password", ["team/app"]).start();
    const logged = await runOnce(
      api,
      { endpoint: "/gerrit", url: "https://h.example", gerritBaseURL: `${api.baseURL}/` },
      async (port) => {
        expect((await deliver(port, JSON.stringify(PATCHSET))).status).toBe(200);
      },
    );
    expect(logged).toContain(
      `failed to list the webhooks of Gerrit project team/app: GET ${HOOKS}/team%2Fapp/remotes/ answered 401: Unauthorized`,
    );
    expect(api.calls.filter((c) => c.method === "DELETE")).toEqual([]);
  });

  it("creates a hook without events (all events) and leaves it in place on stop", async () => {
    const api = await new FakeGerritApi(USER, PASSWORD, ["app one"]).start();
    await runOnce(api, {
      endpoint: "/all",
      url: "https://h.example",
      hookName: "sb hook",
      projects: ["app one"],
    });
    // Go's url.QueryEscape, as Argo escapes names: a space is "+".
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `GET ${HOOKS}/app+one/remotes/`,
      `PUT ${HOOKS}/app+one/remotes/sb+hook/`,
    ]);
    expect(JSON.parse(api.calls[1]!.body)).toEqual({ url: "https://h.example/all" });
    expect(api.hooks.get("app one")!.get("sb hook")).toEqual({ url: "https://h.example/all" });
  });

  it("registers nothing without webhook.url (Argo's NeedToCreateHooks)", async () => {
    const api = await new FakeGerritApi(USER, PASSWORD, ["team/app"]).start();
    await runOnce(api, { endpoint: "/quiet", events: ["ref-updated"], deleteHookOnFinish: true });
    expect(api.calls).toEqual([]);
  });
});
