import { afterEach, describe, expect, it } from "vitest";
import { FakeGitlabApi } from "../support/fake-gitlab-api.js";
import { type GithostRun, runGithostSource } from "../support/githost-runtime.js";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";

/**
 * Issue 22, GitLab hook management: `sensorbus run` registers the entry's hook on each project and
 * group through the GitLab REST API v4 (a fake one speaking GitLab's paths, PRIVATE-TOKEN,
 * offset pagination and error bodies), updates one with the same URL in place, deletes it on stop
 * when `deleteHookOnFinish`, and logs every provider error with the project and the reason while
 * the webhook keeps answering.
 */

const ACCESS = "glpat-AccessToken0123456789";
const SECRET_TOKEN = "gl-secret-token-Rr81";
const PUBLIC_URL = "https://events.example.com";

let api: FakeGitlabApi | undefined;
let run: GithostRun | undefined;
afterEach(async () => {
  await run?.stop();
  await api?.stop();
  run = undefined;
  api = undefined;
});

const secrets = (extra: Record<string, Record<string, string>> = {}) => ({
  "gitlab-access": { token: ACCESS, secret: SECRET_TOKEN },
  ...extra,
});

function deliver(port: number, endpoint: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${endpoint}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-gitlab-event": "Push Hook",
      "x-gitlab-token": SECRET_TOKEN,
      "x-gitlab-event-uuid": `u-${endpoint}`,
    },
    body: JSON.stringify({ object_kind: "push", ref: "refs/heads/main" }),
  });
}

function entry(port: number, endpoint: string, extra: Record<string, unknown>) {
  return {
    webhook: { port: String(port), endpoint, method: "POST", url: PUBLIC_URL },
    events: ["PushEvents", "MergeRequestsEvents"],
    accessToken: { name: "gitlab-access", key: "token" },
    secretToken: { name: "gitlab-access", key: "secret" },
    gitlabBaseURL: api!.url,
    ...extra,
  };
}

/** The `*_events` flags Argo sends for events [PushEvents, MergeRequestsEvents]. */
const FLAGS = {
  push_events: true,
  merge_requests_events: true,
  tag_push_events: false,
  issues_events: false,
  confidential_issues_events: false,
  note_events: false,
  confidential_note_events: false,
  job_events: false,
  pipeline_events: false,
  wiki_page_events: false,
  emoji_events: false,
};

describe("gitlab hook registration through the GitLab REST API", () => {
  it("creates hooks on a project and a group, updates the same-URL hook on page 2 in place, deletes all on stop", async () => {
    api = await new FakeGitlabApi().start();
    const others = Array.from({ length: 120 }, (_, i) => ({
      url: `https://other.example.com/${i}`,
    }));
    api.addToken(ACCESS);
    api.addProject("1001");
    api.addProject("team/app", [
      ...others,
      { id: 9, url: `${PUBLIC_URL}/push`, push_events: false, tag_push_events: true },
    ]);
    api.addGroup("team");
    const port = await freePort();
    run = await runGithostSource(
      "gitlab",
      {
        push: entry(port, "/push", {
          projects: ["1001", "team/app"],
          groups: ["team"],
          deleteHookOnFinish: true,
          // A trailing /api/v4/ is accepted (go-gitlab's WithBaseURL adds it when missing).
          gitlabBaseURL: `${api.url}/api/v4/`,
        }),
      },
      secrets(),
    );
    for (const target of ["group team", "project 1001", "project team/app"])
      await waitUntil(
        () =>
          run!
            .messages()
            .some((m) => /^GitLab hook (created|updated) on /.test(m) && m.includes(target)),
        `the hook on ${target}`,
      );
    const expected = {
      url: `${PUBLIC_URL}/push`,
      token: SECRET_TOKEN,
      enable_ssl_verification: false,
      ...FLAGS,
    };
    const project = [...api.hooks.get("project:1001")!];
    expect(project).toEqual([expect.objectContaining(expected)]);
    expect(api.hooks.get("group:team")).toEqual([expect.objectContaining(expected)]);
    const app = api.hooks.get("project:team/app")!;
    expect(app).toHaveLength(121);
    expect(app.filter((h) => h.url === `${PUBLIC_URL}/push`)).toEqual([
      expect.objectContaining({ id: 9, ...expected }),
    ]);
    const calls = api.requests.map((r) => `${r.method} ${r.path}`);
    expect(calls).toContain("PUT /api/v4/projects/team%2Fapp/hooks/9");
    expect(calls).not.toContain("POST /api/v4/projects/team%2Fapp/hooks");
    // Both pages read; the token in PRIVATE-TOKEN on every request.
    expect(
      api.requests.filter(
        (r) => r.method === "GET" && r.path === "/api/v4/projects/team%2Fapp/hooks",
      ),
    ).toHaveLength(2);
    expect(new Set(api.requests.map((r) => r.privateToken))).toEqual(new Set([ACCESS]));

    expect((await deliver(port, "/push")).status).toBe(200);
    const log = run.logText();
    await run.stop();
    run = undefined;
    expect(api.requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual([
      expect.stringMatching(/^\/api\/v4\/groups\/team\/hooks\/\d+$/),
      `/api/v4/projects/1001/hooks/${project[0]!.id}`,
      "/api/v4/projects/team%2Fapp/hooks/9",
    ]);
    expect(api.hooks.get("project:team/app")!.map((h) => h.url)).toEqual(others.map((o) => o.url));
    expect(log).not.toContain(ACCESS);
    expect(log).not.toContain(SECRET_TOKEN);
  });

  it("keeps the hook on stop without deleteHookOnFinish, sending enableSSLVerification", async () => {
    api = await new FakeGitlabApi().start();
    api.addToken(ACCESS).addProject("7");
    const port = await freePort();
    run = await runGithostSource(
      "gitlab",
      {
        keep: entry(port, "/keep", {
          projectID: "7",
          events: ["PipelineEvents", "ReleasesEvents"],
          enableSSLVerification: true,
        }),
      },
      secrets(),
    );
    await waitUntil(() => api!.hooks.get("project:7")!.length === 1, "the hook created");
    expect(api.hooks.get("project:7")![0]).toMatchObject({
      enable_ssl_verification: true,
      pipeline_events: true,
      releases_events: true,
      push_events: false,
    });
    await run.stop();
    run = undefined;
    expect(api.hooks.get("project:7")).toHaveLength(1);
    expect(api.requests.some((r) => r.method === "DELETE")).toBe(false);
  });

  it("logs each provider error with the project and the reason, and keeps answering deliveries", async () => {
    api = await new FakeGitlabApi().start();
    api.addToken(ACCESS);
    for (const p of ["ok", "forbidden", "broken", "blocked"]) api.addProject(`g/${p}`);
    api.failWhen(/^\/api\/v4\/projects\/g%2Fforbidden\//, 403, { message: "403 Forbidden" });
    api.failWhen(/^\/api\/v4\/projects\/g%2Fbroken\//, 500, {
      message: "500 Internal Server Error",
    });
    api.failWhen(
      /^\/api\/v4\/projects\/g%2Fblocked\/hooks$/,
      422,
      { error: "Invalid url given" },
      "POST",
    );
    const closed = await freePort();
    const port = await freePort();
    run = await runGithostSource(
      "gitlab",
      {
        projects: entry(port, "/projects", {
          projects: ["g/missing", "g/forbidden", "g/broken", "g/blocked", "g/ok"],
          groups: ["nogroup"],
        }),
        badtoken: entry(port, "/badtoken", {
          accessToken: { name: "gitlab-wrong", key: "token" },
          projects: ["g/ok"],
        }),
        down: entry(port, "/down", {
          gitlabBaseURL: `http://127.0.0.1:${closed}`,
          projects: ["g/ok"],
        }),
      },
      secrets({ "gitlab-wrong": { token: "glpat-WrongToken-xyz" } }),
    );
    const expected = [
      "GitLab hook not registered on group nogroup: HTTP 404 404 Group Not Found (GET /api/v4/groups/nogroup/hooks)",
      "GitLab hook not registered on project g/missing: HTTP 404 404 Project Not Found (GET /api/v4/projects/g%2Fmissing/hooks)",
      "GitLab hook not registered on project g/forbidden: HTTP 403 403 Forbidden (GET /api/v4/projects/g%2Fforbidden/hooks)",
      "GitLab hook not registered on project g/broken: HTTP 500 500 Internal Server Error (GET /api/v4/projects/g%2Fbroken/hooks)",
      "GitLab hook not registered on project g/blocked: HTTP 422 Invalid url given (POST /api/v4/projects/g%2Fblocked/hooks)",
      "GitLab hook not registered on project g/ok: HTTP 401 401 Unauthorized (GET /api/v4/projects/g%2Fok/hooks)",
      "GitLab hook not registered on project g/ok: request failed: fetch failed (ECONNREFUSED)",
    ];
    await waitUntil(
      () => expected.every((e) => run!.messages().some((m) => m.startsWith(e))),
      "every failure logged",
    );
    await waitUntil(
      () => run!.messages().some((m) => m.startsWith("GitLab hook created on project g/ok")),
      "g/ok registered",
    );
    expect(api.hooks.get("project:g/ok")).toHaveLength(1);
    for (const endpoint of ["/projects", "/badtoken", "/down"])
      expect((await deliver(port, endpoint)).status, endpoint).toBe(200);
    const log = run.logText();
    expect(log).not.toContain(ACCESS);
    expect(log).not.toContain("glpat-WrongToken-xyz");
    expect(log).not.toContain(SECRET_TOKEN);
  });
});
