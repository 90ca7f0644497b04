import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/app/runtime.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { EventBusError } from "../../src/errors.js";
import type { GithubEventSpec } from "../../src/eventsources/github/index.js";
import { githubAdapter } from "../../src/eventsources/github/runtime.js";
import type { RunningAdapter } from "../../src/eventsources/types.js";
import { loadKubeClient } from "../../src/k8s/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import { adapterHarness } from "../support/adapter-harness.js";
import { FakeKubeApi } from "../support/fake-kube-api.js";
import { loaded } from "../support/loaded.js";
import type { NatsServer } from "../support/nats-server.js";
import { startNatsServer, waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";

/**
 * Issue 22, GitHub webhook side: real HTTP deliveries signed as GitHub signs them, every refusal
 * path, and a pull_request delivery firing an argoWorkflow submit end to end.
 */

const SECRET = "gh-hook-secret-Qv81";
const sign = (body: string, key = SECRET) =>
  `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;

const PR = {
  action: "opened",
  number: 7,
  pull_request: {
    head: { sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e", ref: "feature" },
    title: "Add <b>bold</b> & more",
  },
  repository: { full_name: "octo/hello", id: 1296269 },
};

function deliver(
  port: number,
  body: string,
  opts: {
    event?: string;
    delivery?: string;
    signature?: string | null;
    sha1?: string;
    method?: string;
    contentType?: string;
    path?: string;
  } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": opts.contentType ?? "application/json",
    "x-github-event": opts.event ?? "pull_request",
    "x-github-delivery": opts.delivery ?? "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    "user-agent": "GitHub-Hookshot/044aadd",
  };
  if (opts.signature !== null) headers["x-hub-signature-256"] = opts.signature ?? sign(body);
  if (opts.sha1) headers["x-hub-signature"] = opts.sha1;
  return fetch(`http://127.0.0.1:${port}${opts.path ?? "/github"}`, {
    method: opts.method ?? "POST",
    headers,
    ...(opts.method === "GET" ? {} : { body }),
  });
}

describe("github adapter over real HTTP", () => {
  let port: number;
  let running: RunningAdapter;
  const h = adapterHarness({
    secrets: { "github/secret": SECRET },
    eventSourceName: "gh",
    logs: { level: "trace", redaction: true },
  });
  const { emitted, refused, logs } = h;

  beforeAll(async () => {
    port = await freePort();
    const spec: GithubEventSpec = {
      repositories: [{ owner: "octo", names: ["hello"] }],
      webhook: { port: String(port), endpoint: "/github", method: "POST", maxPayloadSize: 4096 },
      events: ["pull_request", "push"],
      webhookSecret: { name: "github", key: "secret" },
      metadata: { team: "ci" },
    };
    const open: GithubEventSpec = {
      organizations: ["octo"],
      webhook: { port: String(port), endpoint: "/all", method: "POST" },
      events: ["*"],
      webhookSecret: { name: "github", key: "secret" },
    };
    running = await githubAdapter.start(
      [
        { eventName: "pr", spec },
        { eventName: "all", spec: open },
      ],
      h.ctx,
    );
  });

  afterAll(async () => {
    await running?.stop();
  });

  it("stores a signed pull_request delivery with Argo's payload and the delivery id", async () => {
    const body = JSON.stringify(PR);
    const res = await deliver(port, body);
    expect(await res.text()).toBe("success");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-event-id")).toBe("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    expect(emitted).toHaveLength(1);
    const input = emitted[0]!;
    const eventName = h.eventNames[0];
    expect(eventName).toBe("pr");
    expect(input.id).toBe("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    // Go's encoding: struct order headers, body, metadata; map keys sorted; HTML escaped.
    expect(input.data.startsWith('{"headers":{')).toBe(true);
    expect(input.data).toContain(
      ',"body":{"X-GitHub-Delivery":"72d3162e-cc78-11e3-81ab-4c9367dc0958","X-GitHub-Event":"pull_request","action":"opened","number":7,',
    );
    expect(input.data).toContain('"title":"Add \\u003cb\\u003ebold\\u003c/b\\u003e \\u0026 more"');
    expect(input.data.endsWith(',"metadata":{"team":"ci"}}')).toBe(true);
    const data = JSON.parse(input.data);
    expect(data.body.pull_request.head.sha).toBe(PR.pull_request.head.sha);
    expect(data.headers["X-Github-Event"]).toEqual(["pull_request"]);
    expect(data.headers["X-Github-Delivery"]).toEqual(["72d3162e-cc78-11e3-81ab-4c9367dc0958"]);
    expect(data.headers["Content-Type"]).toEqual(["application/json"]);
    // The signature is masked like every credential header.
    expect(data.headers["X-Hub-Signature-256"]).toEqual(["*** Masked Auth Secret ***"]);
    expect(data.headers.Host).toBeUndefined();
  });

  it("accepts X-Hub-Signature (sha1) and the form content type's payload field", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main" });
    const sha1 = `sha1=${createHmac("sha1", SECRET).update(body).digest("hex")}`;
    const before = emitted.length;
    const res = await deliver(port, body, {
      event: "push",
      signature: null,
      sha1,
      delivery: "d-sha1",
    });
    expect(res.status).toBe(200);
    const form = `payload=${encodeURIComponent(body)}`;
    const res2 = await deliver(port, form, {
      event: "push",
      delivery: "d-form",
      contentType: "application/x-www-form-urlencoded",
    });
    expect(res2.status).toBe(200);
    expect(emitted.slice(before).map((e) => JSON.parse(e.data).body.ref)).toEqual([
      "refs/heads/main",
      "refs/heads/main",
    ]);
  });

  it("refuses a missing signature (401) and a wrong one (403): logged, counted, nothing stored", async () => {
    const before = emitted.length;
    const body = JSON.stringify(PR);
    const missing = await deliver(port, body, { signature: null, delivery: "d-missing" });
    expect(missing.status).toBe(401);
    expect(await missing.text()).toContain("missing signature");
    const wrong = await deliver(port, body, {
      signature: sign(body, "not-the-secret"),
      delivery: "d-wrong",
    });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toBe("payload signature check failed");
    const tampered = await deliver(port, body.replace("opened", "closed"), {
      signature: sign(body),
      delivery: "d-tampered",
    });
    expect(tampered.status).toBe(403);
    const malformed = await deliver(port, body, { signature: "sha256=xyz", delivery: "d-bad" });
    expect(malformed.status).toBe(401);
    expect(emitted.length).toBe(before);
    expect(refused).toEqual([
      { eventName: "pr", reason: "missing_signature" },
      { eventName: "pr", reason: "signature_mismatch" },
      { eventName: "pr", reason: "signature_mismatch" },
      { eventName: "pr", reason: "malformed_signature" },
    ]);
    const text = logs.text();
    expect(text).toContain("GitHub delivery refused: payload signature check failed");
    expect(text).toContain("d-wrong");
    expect(text).not.toContain(SECRET);
  });

  it("answers 405 for another method, 413 over maxPayloadSize, 400 for another content type", async () => {
    const before = emitted.length;
    const get = await deliver(port, "", { method: "GET" });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const big = JSON.stringify({ ...PR, pad: "x".repeat(5000) });
    const large = await deliver(port, big);
    expect(large.status).toBe(413);
    const xml = await deliver(port, "<xml/>", { contentType: "text/xml" });
    expect(xml.status).toBe(400);
    expect(await xml.text()).toContain("unsupported Content-Type");
    expect(emitted.length).toBe(before);
  });

  it("does not store an event type outside `events`, and `*` takes every type", async () => {
    const before = emitted.length;
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const ping = await deliver(port, body, { event: "ping", delivery: "d-ping" });
    expect(ping.status).toBe(200);
    expect(await ping.text()).toBe("event type 'ping' is not in events: not recorded");
    expect(emitted.length).toBe(before);
    const all = await deliver(port, body, { event: "ping", delivery: "d-ping-2", path: "/all" });
    expect(all.status).toBe(200);
    expect(emitted.length).toBe(before + 1);
    expect(h.eventNames.at(-1)).toBe("all");
  });

  it("answers 503 with Retry-After when the bus did not store the event", async () => {
    h.failNext = new EventBusError("SB_ERR_BUS_UNAVAILABLE", "nats: disconnected");
    const body = JSON.stringify(PR);
    const res = await deliver(port, body, { delivery: "d-503" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.text()).toContain("failed to record event");
  });
});

describe("github adapter start", () => {
  it("refuses an empty webhookSecret value instead of running unverified", async () => {
    const port = await freePort();
    const start = githubAdapter.start(
      [
        {
          eventName: "pr",
          spec: {
            organizations: ["octo"],
            webhook: { port: String(port), endpoint: "/github", method: "POST" },
            webhookSecret: { name: "github", key: "secret" },
          },
        },
      ],
      {
        eventSourceName: "gh",
        namespace: "default",
        log: silentLogger(),
        clock: { now: () => 0, sleep: async () => true },
        signal: new AbortController().signal,
        values: { secret: async () => "", configMap: async () => "" },
        emit: async () => ({ id: "x", status: "published" }),
      },
    );
    await expect(start).rejects.toThrow(
      "EventSource gh: /spec/github/pr/webhookSecret: the Secret value is empty",
    );
  });
});

describe.each(["memory", "jetstream"] as const)(
  "GitHub pull_request -> %s bus -> Sensor -> argoWorkflow submit",
  (busKind) => {
    let kube: FakeKubeApi;
    let nats: NatsServer | undefined;
    let runtime: Runtime;
    let port: number;
    let secretsDir: string;
    const metrics = new Metrics();

    beforeAll(async () => {
      if (busKind === "jetstream") nats = await startNatsServer();
      kube = await new FakeKubeApi({ token: "t0ken" }).start();
      port = await freePort();
      secretsDir = mkdtempSync(join(tmpdir(), "sb-github-"));
      mkdirSync(join(secretsDir, "github-access"));
      writeFileSync(join(secretsDir, "github-access", "secret"), `${SECRET}\n`);
      const source: EventSourceManifest = {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "EventSource",
        metadata: { name: "github", namespace: "argo" },
        spec: {
          github: {
            pr: {
              repositories: [{ owner: "octo", names: ["hello"] }],
              webhook: { port: String(port), endpoint: "/github", method: "POST" },
              events: ["pull_request"],
              webhookSecret: { name: "github-access", key: "secret" },
            },
          },
        },
      } as EventSourceManifest;
      const sensor: SensorManifest = {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Sensor",
        metadata: { name: "ci", namespace: "argo" },
        spec: {
          dependencies: [
            {
              name: "pr",
              eventSourceName: "github",
              eventName: "pr",
              filters: {
                data: [
                  { path: "body.action", type: "string", value: ["opened", "synchronize"] },
                  { path: "headers.X-Github-Event", type: "string", value: ["pull_request"] },
                ],
              },
            },
          ],
          triggers: [
            {
              template: {
                name: "build",
                argoWorkflow: {
                  operation: "submit",
                  source: {
                    resource: {
                      apiVersion: "argoproj.io/v1alpha1",
                      kind: "Workflow",
                      metadata: { generateName: "build-" },
                      spec: {
                        entrypoint: "main",
                        arguments: { parameters: [{ name: "sha", value: "" }] },
                      },
                    },
                  },
                  parameters: [
                    {
                      src: { dependencyName: "pr", dataKey: "body.pull_request.head.sha" },
                      dest: "spec.arguments.parameters.0.value",
                    },
                  ],
                },
              },
            },
          ],
        },
      };
      runtime = await Runtime.start({
        loaded: loaded(source, sensor),
        busUrl: nats?.url,
        kube: await loadKubeClient({ kubeconfigYaml: kube.kubeconfigYaml("argo") }),
        dryRun: false,
        values: dirResolver({ secretsDir }),
        log: silentLogger(),
        metrics,
      });
    });

    afterAll(async () => {
      await runtime?.stop(5_000);
      await kube?.stop();
      await nats?.stop();
      rmSync(secretsDir, { recursive: true, force: true });
    });

    it("submits one Workflow with the head SHA for the opened PR, none for the closed one or a bad signature", async () => {
      const closed = JSON.stringify({ ...PR, action: "closed" });
      expect((await deliver(port, closed, { delivery: "d-closed" })).status).toBe(200);
      const forged = JSON.stringify({
        ...PR,
        pull_request: { head: { sha: "f".repeat(40) } },
      });
      expect(
        (await deliver(port, forged, { signature: sign(forged, "guess"), delivery: "d-forged" }))
          .status,
      ).toBe(403);
      const opened = JSON.stringify(PR);
      expect((await deliver(port, opened, { delivery: "d-opened" })).status).toBe(200);
      // GitHub redelivers the same delivery: stored once, so one Workflow.
      expect((await deliver(port, opened, { delivery: "d-opened" })).status).toBe(200);
      const creates = () =>
        kube.apiRequests().filter((q) => q.method === "POST" && q.path.endsWith("/workflows"));
      await waitUntil(() => creates().length >= 1, "the Workflow create");
      // A later matching delivery fires too: every earlier one has been processed by then.
      const sync = JSON.stringify({
        ...PR,
        action: "synchronize",
        pull_request: { head: { sha: "a".repeat(40) } },
      });
      expect((await deliver(port, sync, { delivery: "d-sync" })).status).toBe(200);
      await waitUntil(() => creates().length >= 2, "the second Workflow create");
      const shas = creates().map(
        (q) =>
          (JSON.parse(q.body) as { spec: { arguments: { parameters: Array<{ value: string }> } } })
            .spec.arguments.parameters[0]!.value,
      );
      expect(shas).toEqual([PR.pull_request.head.sha, "a".repeat(40)]);
      expect(creates()[0]!.path).toBe("/apis/argoproj.io/v1alpha1/namespaces/argo/workflows");
      // The forged delivery is counted, by EventSource, event and reason.
      expect(await metrics.registry.metrics()).toContain(
        'sensorbus_webhook_verification_failed_total{namespace="argo",eventsource_name="github",event_name="pr",reason="signature_mismatch"} 1',
      );
    });
  },
);
