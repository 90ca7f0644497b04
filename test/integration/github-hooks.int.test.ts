import { createHmac, generateKeyPairSync } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { FakeGithubApi } from "../support/fake-github-api.js";
import { type GithostRun, runGithostSource } from "../support/githost-runtime.js";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";

/**
 * Issue 22, GitHub hook management: `sensorbus run` registers the entry's hook on each repository
 * and organization through the GitHub REST API (a fake one speaking GitHub's paths, auth, Link
 * pagination and error bodies), updates one with the same URL in place, deletes it on stop when
 * `deleteHookOnFinish`, gets an installation token for a GitHub App, and logs every provider
 * error with the repository and the reason while the webhook keeps answering.
 */

const PAT = "ghp_PersonalAccessToken0123456789abcd";
const HOOK_SECRET = "gh-hook-secret-7Yq2";
const PUBLIC_URL = "https://events.example.com";

let api: FakeGithubApi | undefined;
let run: GithostRun | undefined;
afterEach(async () => {
  await run?.stop();
  await api?.stop();
  run = undefined;
  api = undefined;
});

const secrets = (extra: Record<string, Record<string, string>> = {}) => ({
  "github-access": { token: PAT, secret: HOOK_SECRET },
  ...extra,
});

/** A delivery signed as GitHub signs it, to check the route keeps answering. */
function deliver(port: number, endpoint: string): Promise<Response> {
  const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
  return fetch(`http://127.0.0.1:${port}${endpoint}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": `d-${endpoint}`,
      "x-hub-signature-256": `sha256=${createHmac("sha256", HOOK_SECRET).update(body).digest("hex")}`,
    },
    body,
  });
}

function entry(port: number, endpoint: string, extra: Record<string, unknown>) {
  return {
    webhook: { port: String(port), endpoint, method: "POST", url: PUBLIC_URL },
    events: ["push", "pull_request"],
    apiToken: { name: "github-access", key: "token" },
    webhookSecret: { name: "github-access", key: "secret" },
    contentType: "json",
    active: true,
    githubBaseURL: api!.url,
    githubUploadURL: api!.url,
    ...extra,
  };
}

describe("github hook registration through the GitHub REST API", () => {
  it("creates the hook, updates the one with the same URL on page 2 in place, and deletes both on stop", async () => {
    api = await new FakeGithubApi().start();
    const others = Array.from({ length: 130 }, (_, i) => ({
      config: { url: `https://other.example.com/${i}` },
    }));
    api.addToken(PAT);
    api.addRepo("octo/hello");
    api.addRepo("octo/busy", [
      ...others,
      { id: 4242, active: false, events: ["issues"], config: { url: `${PUBLIC_URL}/push` } },
    ]);
    const port = await freePort();
    run = await runGithostSource(
      "github",
      {
        push: entry(port, "/push", {
          repositories: [{ owner: "octo", names: ["hello", "busy"] }],
          deleteHookOnFinish: true,
        }),
      },
      secrets(),
    );
    await waitUntil(
      () =>
        run!.messages().some((m) => m.startsWith("GitHub hook updated on repository octo/busy")),
      "the hook on octo/busy updated",
    );
    await waitUntil(
      () =>
        run!.messages().some((m) => m.startsWith("GitHub hook created on repository octo/hello")),
      "the hook on octo/hello created",
    );

    // Created as Argo builds it: url = webhook.url + endpoint, the secret sent, json, active.
    const created = [...api.repos.get("octo/hello")!];
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      name: "web",
      active: true,
      events: ["push", "pull_request"],
      config: {
        url: `${PUBLIC_URL}/push`,
        content_type: "json",
        insecure_ssl: "0",
        secret: HOOK_SECRET,
      },
    });
    // Updated in place: no second hook with that URL, the other 130 untouched.
    const busy = api.repos.get("octo/busy")!;
    expect(busy).toHaveLength(131);
    expect(busy.filter((h) => h.config.url === `${PUBLIC_URL}/push`)).toEqual([
      expect.objectContaining({
        id: 4242,
        active: true,
        events: ["push", "pull_request"],
        config: expect.objectContaining({ secret: HOOK_SECRET, content_type: "json" }),
      }),
    ]);
    const calls = api.requests.map((r) => `${r.method} ${r.path}`);
    expect(calls).toContain("PATCH /repos/octo/busy/hooks/4242");
    expect(calls).not.toContain("POST /repos/octo/busy/hooks");
    // Both pages were read (Link rel="next"), each request with the token.
    expect(calls.filter((c) => c === "GET /repos/octo/busy/hooks")).toHaveLength(2);
    expect(new Set(api.requests.map((r) => r.authorization))).toEqual(new Set([`token ${PAT}`]));

    // The webhook serves meanwhile.
    expect((await deliver(port, "/push")).status).toBe(200);

    await run.stop();
    run = undefined;
    expect(api.repos.get("octo/hello")).toEqual([]);
    expect(api.repos.get("octo/busy")!.map((h) => h.config.url)).toEqual(
      others.map((o) => o.config.url),
    );
    expect(api.requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual([
      `/repos/octo/hello/hooks/${created[0]!.id}`,
      "/repos/octo/busy/hooks/4242",
    ]);
  });

  it("registers an organization hook and keeps it on stop without deleteHookOnFinish", async () => {
    api = await new FakeGithubApi().start();
    api.addToken(PAT).addOrg("octo-org");
    const port = await freePort();
    run = await runGithostSource(
      "github",
      {
        org: entry(port, "/org", {
          organizations: ["octo-org"],
          insecure: true,
          contentType: undefined,
        }),
      },
      secrets(),
    );
    await waitUntil(() => api!.orgs.get("octo-org")!.length === 1, "the org hook created");
    expect(api.orgs.get("octo-org")![0]).toMatchObject({
      type: "Organization",
      config: { url: `${PUBLIC_URL}/org`, insecure_ssl: "1", secret: HOOK_SECRET },
    });
    // No contentType: none sent, as Argo (GitHub's default applies).
    const post = api.requests.find((r) => r.method === "POST")!;
    expect((post.body as { config: Record<string, unknown> }).config).not.toHaveProperty(
      "content_type",
    );
    const log = run.logText();
    await run.stop();
    run = undefined;
    expect(api.orgs.get("octo-org")).toHaveLength(1);
    expect(api.requests.some((r) => r.method === "DELETE")).toBe(false);
    expect(log).not.toContain(PAT);
    expect(log).not.toContain(HOOK_SECRET);
  });

  it("as a GitHub App on GitHub Enterprise: JWT exchanged for an installation token under githubBaseURL", async () => {
    api = await new FakeGithubApi("/api/v3").start();
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    // GitHub hands out PKCS#1 keys ("BEGIN RSA PRIVATE KEY").
    const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    api.addApp(31337, publicKey.export({ type: "spki", format: "pem" }).toString(), 777);
    api.addRepo("ent/tools");
    const port = await freePort();
    run = await runGithostSource(
      "github",
      {
        app: entry(port, "/app", {
          apiToken: undefined,
          githubApp: {
            appID: 31337,
            installationID: 777,
            privateKey: { name: "github-app", key: "key.pem" },
          },
          githubBaseURL: `${api.url}/`,
          githubUploadURL: `${api.url.replace("/api/v3", "/api/uploads")}/`,
          repositories: [{ owner: "ent", names: ["tools"] }],
        }),
      },
      secrets({ "github-app": { "key.pem": pem } }),
    );
    await waitUntil(() => api!.repos.get("ent/tools")!.length === 1, "the hook created");
    const [exchange, ...rest] = api.requests;
    expect(`${exchange!.method} ${exchange!.path}`).toBe(
      "POST /app/installations/777/access_tokens",
    );
    expect(exchange!.authorization).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/i);
    const [installationToken] = [...api.issued.keys()];
    expect(rest.map((r) => r.authorization)).toEqual(rest.map(() => `token ${installationToken}`));
    expect(rest.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /repos/ent/tools/hooks",
      "POST /repos/ent/tools/hooks",
    ]);
    const log = run.logText();
    expect(log).not.toContain(installationToken);
    expect(log).not.toContain("PRIVATE KEY");
    expect(log).not.toContain(exchange!.authorization!.slice(7));
  });

  it("logs each provider error with the repository and the reason, and keeps answering deliveries", async () => {
    api = await new FakeGithubApi().start();
    api.addToken(PAT);
    for (const r of ["octo/ok", "octo/locked", "octo/forbidden", "octo/flaky", "octo/taken"])
      api.addRepo(r);
    api.failWhen(/^\/repos\/octo\/forbidden\//, 403, {
      message: "Resource not accessible by personal access token",
      documentation_url: "https://docs.github.com/rest/repos/webhooks#list-repository-webhooks",
      status: "403",
    });
    api.failWhen(/^\/repos\/octo\/flaky\//, 503, { message: "Service Unavailable" });
    api.failWhen(
      /^\/repos\/octo\/taken\/hooks$/,
      422,
      {
        message: "Validation Failed",
        errors: [
          { resource: "Hook", code: "custom", message: "Hook already exists on this repository" },
        ],
        documentation_url:
          "https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook",
        status: "422",
      },
      "POST",
    );
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const closed = await freePort();
    const port = await freePort();
    run = await runGithostSource(
      "github",
      {
        repos: entry(port, "/repos", {
          repositories: [
            { owner: "octo", names: ["missing", "forbidden", "flaky", "taken", "ok"] },
          ],
        }),
        badtoken: entry(port, "/badtoken", {
          apiToken: { name: "github-wrong", key: "token" },
          repositories: [{ owner: "octo", names: ["ok"] }],
        }),
        unknownapp: entry(port, "/unknownapp", {
          apiToken: undefined,
          githubApp: {
            appID: 99,
            installationID: 1,
            privateKey: { name: "github-app", key: "key.pem" },
          },
          repositories: [{ owner: "octo", names: ["ok"] }],
        }),
        down: entry(port, "/down", {
          githubBaseURL: `http://127.0.0.1:${closed}/`,
          githubUploadURL: `http://127.0.0.1:${closed}/`,
          repositories: [{ owner: "octo", names: ["ok"] }],
        }),
      },
      secrets({
        "github-wrong": { token: "ghp_WrongToken_notknown_55" },
        "github-app": { "key.pem": privateKey.export({ type: "pkcs1", format: "pem" }).toString() },
      }),
    );
    const expected = [
      "GitHub hook not registered on repository octo/missing: HTTP 404 Not Found (GET /repos/octo/missing/hooks)",
      "GitHub hook not registered on repository octo/forbidden: HTTP 403 Resource not accessible by personal access token (GET /repos/octo/forbidden/hooks)",
      "GitHub hook not registered on repository octo/flaky: HTTP 503 Service Unavailable (GET /repos/octo/flaky/hooks)",
      "GitHub hook not registered on repository octo/taken: HTTP 422 Validation Failed: Hook already exists on this repository (POST /repos/octo/taken/hooks)",
      "GitHub hook not registered on repository octo/ok: HTTP 401 Bad credentials (GET /repos/octo/ok/hooks)",
      "GitHub hook not registered on repository octo/ok: HTTP 401 A JSON web token could not be decoded (POST /app/installations/1/access_tokens)",
      "GitHub hook not registered on repository octo/ok: request failed: connect ECONNREFUSED",
    ];
    await waitUntil(
      () => expected.every((e) => run!.messages().some((m) => m.startsWith(e))),
      "every failure logged",
    );
    // The one that works is registered; the failures created nothing.
    await waitUntil(
      () => run!.messages().some((m) => m.startsWith("GitHub hook created on repository octo/ok")),
      "octo/ok registered",
    );
    expect(api.repos.get("octo/ok")).toHaveLength(1);
    for (const endpoint of ["/repos", "/badtoken", "/unknownapp", "/down"])
      expect((await deliver(port, endpoint)).status, endpoint).toBe(200);
    const log = run.logText();
    expect(log).not.toContain(PAT);
    expect(log).not.toContain("ghp_WrongToken_notknown_55");
    expect(log).not.toContain(HOOK_SECRET);
    expect(log).not.toContain("PRIVATE KEY");
  });
});
