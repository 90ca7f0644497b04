import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GitlabEventSpec } from "../../src/eventsources/gitlab/index.js";
import { gitlabAdapter } from "../../src/eventsources/gitlab/runtime.js";
import type { RunningAdapter } from "../../src/eventsources/types.js";
import { adapterHarness } from "../support/adapter-harness.js";
import { freePort } from "../support/ports.js";

/** Issue 22, GitLab webhook side: real HTTP deliveries with X-Gitlab-Token, every refusal path. */

const TOKEN = "gl-secret-token-Zx42";

const MR = {
  object_kind: "merge_request",
  event_type: "merge_request",
  object_attributes: {
    iid: 1,
    action: "open",
    last_commit: { id: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7" },
  },
  project: { path_with_namespace: "gitlabhq/gitlab-test" },
};

function deliver(
  port: number,
  body: string,
  opts: { event?: string; uuid?: string; token?: string | null; method?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-gitlab-event": opts.event ?? "Merge Request Hook",
    "x-gitlab-event-uuid": opts.uuid ?? "13792a34-cac6-4fda-95a8-c58e00a3954e",
  };
  if (opts.token !== null) headers["x-gitlab-token"] = opts.token ?? TOKEN;
  return fetch(`http://127.0.0.1:${port}/gitlab`, {
    method: opts.method ?? "POST",
    headers,
    ...(opts.method === "GET" ? {} : { body }),
  });
}

describe("gitlab adapter over real HTTP", () => {
  let port: number;
  let running: RunningAdapter;
  const h = adapterHarness({
    secrets: { "gitlab/api": TOKEN, "gitlab/token": TOKEN },
    eventSourceName: "gl",
    logs: { level: "trace", redaction: true },
  });
  const { emitted, logs } = h;

  beforeAll(async () => {
    port = await freePort();
    const spec: GitlabEventSpec = {
      projects: ["gitlabhq/gitlab-test"],
      webhook: { port: String(port), endpoint: "/gitlab", method: "POST", maxPayloadSize: 2048 },
      events: ["MergeRequestsEvents"],
      accessToken: { name: "gitlab", key: "api" },
      secretToken: { name: "gitlab", key: "token" },
      gitlabBaseURL: "https://gitlab.example.com",
    };
    running = await gitlabAdapter.start([{ eventName: "mr", spec }], h.ctx);
  });

  afterAll(async () => {
    await running?.stop();
  });

  it("stores a delivery with the right token as Argo's {headers, body}, the token masked", async () => {
    const res = await deliver(port, JSON.stringify(MR, null, 2));
    expect(await res.text()).toBe("success");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-event-id")).toBe("13792a34-cac6-4fda-95a8-c58e00a3954e");
    expect(emitted).toHaveLength(1);
    const input = emitted[0]!;
    expect(input.id).toBe("13792a34-cac6-4fda-95a8-c58e00a3954e");
    // The body as sent, compacted (Go's json.RawMessage), key order kept.
    expect(input.data).toContain(`,"body":${JSON.stringify(MR)}}`);
    const data = JSON.parse(input.data);
    expect(data.body.object_attributes.last_commit.id).toBe(MR.object_attributes.last_commit.id);
    expect(data.headers["X-Gitlab-Event"]).toEqual(["Merge Request Hook"]);
    expect(data.headers["X-Gitlab-Token"]).toEqual(["*** Masked Auth Secret ***"]);
    expect(input.data).not.toContain(TOKEN);
  });

  it("refuses a missing token (401) and a wrong one (403): logged, counted, nothing stored", async () => {
    const before = emitted.length;
    const missing = await deliver(port, JSON.stringify(MR), { token: null });
    expect(missing.status).toBe(401);
    const wrong = await deliver(port, JSON.stringify(MR), { token: `${TOKEN}x`, uuid: "u-wrong" });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toBe("token mismatch");
    expect(emitted.length).toBe(before);
    expect(h.refused.map((r) => r.reason)).toEqual(["missing_token", "token_mismatch"]);
    const log = logs.text();
    expect(log).toContain("GitLab delivery refused: token mismatch");
    expect(log).toContain("u-wrong");
    expect(log).not.toContain(TOKEN);
  });

  it("answers 405, 413, 400 for invalid JSON, and does not store an event type outside events", async () => {
    const before = emitted.length;
    const get = await deliver(port, "", { method: "GET" });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const large = await deliver(port, JSON.stringify({ ...MR, pad: "x".repeat(3000) }));
    expect(large.status).toBe(413);
    const invalid = await deliver(port, "{not json");
    expect(invalid.status).toBe(400);
    const push = await deliver(port, JSON.stringify({ object_kind: "push" }), {
      event: "Push Hook",
    });
    expect(push.status).toBe(200);
    expect(await push.text()).toBe("event type 'Push Hook' is not in events: not recorded");
    expect(emitted.length).toBe(before);
  });
});

describe("gitlab adapter start", () => {
  it("refuses an empty secretToken value instead of running unverified", async () => {
    const port = await freePort();
    const start = gitlabAdapter.start(
      [
        {
          eventName: "mr",
          spec: {
            webhook: { port: String(port), endpoint: "/gitlab", method: "POST" },
            events: ["PushEvents"],
            secretToken: { name: "gitlab", key: "token" },
          },
        },
      ],
      {
        eventSourceName: "gl",
        namespace: "default",
        log: pino({ level: "silent" }),
        clock: { now: () => 0, sleep: async () => true },
        signal: new AbortController().signal,
        values: { secret: async () => "", configMap: async () => "" },
        emit: async () => ({ id: "x", status: "published" }),
      },
    );
    await expect(start).rejects.toThrow(
      "EventSource gl: /spec/gitlab/mr/secretToken: the Secret value is empty",
    );
  });
});
