import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import type { ValueResolver } from "../../src/config/secrets.js";
import type { TriggerParameter, TriggerPolicy } from "../../src/config/types.js";
import {
  KubeApiError,
  type KubeClient,
  type KubeObject,
  loadKubeClient,
  type WatchEventType,
} from "../../src/k8s/client.js";
import type { ArgoWorkflowTrigger } from "../../src/triggers/argo-workflow/index.js";
import { argoWorkflowTrigger } from "../../src/triggers/argo-workflow/runtime.js";
import type { K8sTrigger } from "../../src/triggers/k8s/index.js";
import { k8sTrigger } from "../../src/triggers/k8s/runtime.js";
import { applyParameters } from "../../src/triggers/params.js";
import type { ExecContext, FiringContext } from "../../src/triggers/types.js";
import { FakeKubeApi } from "../support/fake-kube-api.js";
import { rejection } from "../support/firing.js";
import { logSink } from "../support/log-sink.js";

const NS = "argo-events";
const WF_PATH = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/workflows`;

/** The real Argo parameter application (src/triggers/params.ts) over this firing's events. */
function applyParams(events: ReadonlyMap<string, CloudEvent>) {
  return (doc: string, params: readonly TriggerParameter[] | undefined): string =>
    applyParameters(doc, params, events);
}

function event(id: string, data: unknown): CloudEvent {
  return {
    specversion: "1.0",
    id,
    source: "webhook-es",
    subject: "example",
    type: "webhook",
    time: "2024-05-15T12:00:00Z",
    datacontenttype: "application/json",
    data: JSON.stringify(data),
  };
}

const noValues: ValueResolver = {
  secret: () => Promise.reject(new Error("no secrets")),
  configMap: () => Promise.reject(new Error("no configmaps")),
};

function firing(
  opts: { ids?: string[]; data?: unknown; correlationId?: string; now?: number } = {},
): FiringContext {
  const ids = opts.ids ?? ["ev-1"];
  const events = new Map<string, CloudEvent>(
    ids.map((id, i) => [i === 0 ? "dep" : `dep${i}`, event(id, opts.data ?? { user: "alice" })]),
  );
  return {
    sensorName: "webhook-sensor",
    namespace: NS,
    triggerName: "wf-trigger",
    events,
    applyParameters: applyParams(events),
    values: noValues,
    log: pino({ level: "silent" }),
    now: () => opts.now ?? 1_715_774_400_123,
    correlationId: opts.correlationId,
  };
}

function exec(log = pino({ level: "silent" }), policy?: TriggerPolicy): ExecContext {
  return { log, signal: new AbortController().signal, policy };
}

const WORKFLOW = {
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata: { generateName: "hello-" },
  spec: {
    entrypoint: "main",
    arguments: { parameters: [{ name: "message", value: "placeholder" }] },
    templates: [
      { name: "main", container: { image: "busybox", args: ["{{workflow.parameters.message}}"] } },
    ],
  },
};

const submitTemplate = (extra: Partial<ArgoWorkflowTrigger> = {}): ArgoWorkflowTrigger => ({
  operation: "submit",
  source: { resource: WORKFLOW },
  parameters: [
    { src: { dependencyName: "dep", dataKey: "user" }, dest: "spec.arguments.parameters.0.value" },
  ],
  ...extra,
});

let api: FakeKubeApi;
let client: KubeClient;

beforeAll(async () => {
  api = await new FakeKubeApi().start();
  client = (await loadKubeClient({ kubeconfigYaml: api.kubeconfigYaml(NS) }))!;
});
afterAll(async () => {
  client?.close();
  await api?.stop();
});
beforeEach(() => api.clearRequests());

describe("loadKubeClient", () => {
  it("reads a kubeconfig file and reports its source and namespace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-kube-"));
    const path = join(dir, "config");
    writeFileSync(path, api.kubeconfigYaml("team-a"));
    const c = (await loadKubeClient({ kubeconfigPath: path }))!;
    expect(c.namespace).toBe("team-a");
    expect(c.source).toBe(`kubeconfig ${path} context fake`);
    c.close();
  });

  it("returns undefined without kubeconfig or service account", async () => {
    const home = mkdtempSync(join(tmpdir(), "sb-home-"));
    expect(await loadKubeClient({ env: {}, home })).toBeUndefined();
  });

  it("uses the KUBECONFIG variable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-kube-"));
    const path = join(dir, "cfg");
    writeFileSync(path, api.kubeconfigYaml("from-env"));
    const c = (await loadKubeClient({ env: { KUBECONFIG: path }, home: dir }))!;
    expect(c.namespace).toBe("from-env");
    c.close();
  });
});

describe("argoWorkflow submit", () => {
  it("creates the Workflow with substituted parameters, labels, idempotent name and bearer token", async () => {
    const t = argoWorkflowTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });
    const r = await t.render(
      submitTemplate(),
      firing({ ids: ["ev-b", "ev-a"], correlationId: "order-42" }),
    );
    const result = await t.execute(r, exec());

    const posts = api.apiRequests().filter((q) => q.method === "POST");
    expect(posts).toHaveLength(1);
    const post = posts[0]!;
    expect(post.path).toBe(WF_PATH);
    expect(post.headers.authorization).toBe(`Bearer ${api.token}`);
    expect(post.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(post.body);
    expect(body).toEqual(r.payload);
    expect(body.spec.arguments.parameters[0].value).toBe("alice");
    expect(body.metadata.labels).toMatchObject({
      "events.argoproj.io/sensor": "webhook-sensor",
      "events.argoproj.io/trigger": "wf-trigger",
      "events.argoproj.io/action-timestamp": "1715774400123",
      "sensorbus.io/correlation-id": "order-42",
    });
    expect(body.metadata.annotations["sensorbus.io/event-ids"]).toBe("ev-a,ev-b");
    expect(body.metadata.name).toMatch(/^hello-[0-9a-f]{10}$/);
    expect(body.metadata.generateName).toBeUndefined();
    expect(body.metadata.namespace).toBe(NS);
    expect(result.summary).toBe(`created Workflow ${NS}/${body.metadata.name}`);
    expect(api.object("argoproj.io/v1alpha1", "Workflow", NS, body.metadata.name)).toBeDefined();
  });

  it("treats a redelivery (409 for its own Workflow) as already done", async () => {
    const t = argoWorkflowTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });
    const first = await t.render(submitTemplate(), firing({ ids: ["redeliver-1"], now: 1000 }));
    await t.execute(first, exec());
    const again = await t.render(submitTemplate(), firing({ ids: ["redeliver-1"], now: 2000 }));
    expect((again.payload as KubeObject).metadata.name).toBe(
      (first.payload as KubeObject).metadata.name,
    );
    const result = await t.execute(again, exec());
    expect(result.summary).toContain("already done");
    expect(result.detail?.alreadyDone).toBe(true);
    const posts = api.apiRequests().filter((q) => q.method === "POST");
    expect(posts).toHaveLength(2);
    const named = api
      .objects("argoproj.io/v1alpha1", "Workflow")
      .filter(
        (o) =>
          o.metadata?.annotations &&
          (o.metadata.annotations as Record<string, string>)["sensorbus.io/event-ids"] ===
            "redeliver-1",
      );
    expect(named).toHaveLength(1);
  });

  it("fails finally when a foreign object holds the name", async () => {
    api.seed({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Workflow",
      metadata: { name: "fixed", namespace: NS },
      spec: {},
    });
    const t = argoWorkflowTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });
    const tpl = submitTemplate({
      source: { resource: { ...WORKFLOW, metadata: { name: "fixed" } } },
    });
    const err = await rejection(t.execute(await t.render(tpl, firing()), exec()));
    expect(err.retryable).toBe(false);
    expect(err.code).toBe("SB_ERR_TRIGGER_K8S");
    expect(err.message).toContain(`create workflows.argoproj.io ${NS}/fixed: 409 AlreadyExists`);
  });

  it.each([
    [
      403,
      false,
      "Forbidden",
      'workflows.argoproj.io is forbidden: User "system:serviceaccount:x" cannot create',
    ],
    [
      422,
      false,
      "Invalid",
      'Workflow.argoproj.io "hello-x" is invalid: spec.templates: Required value',
    ],
    [429, true, "TooManyRequests", "too many requests"],
    [503, true, "ServiceUnavailable", "etcd leader changed"],
    [500, true, "InternalError", "internal error"],
  ])(
    "maps status %i to retryable=%s with the API's message",
    async (status, retryable, reason, message) => {
      const t = argoWorkflowTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });
      const r = await t.render(submitTemplate(), firing({ ids: [`fault-${status}`] }));
      api.fail({ method: "POST", path: WF_PATH, status, message });
      const err = await rejection(t.execute(r, exec()));
      expect(err).toBeInstanceOf(KubeApiError);
      expect(err.retryable).toBe(retryable);
      expect((err as KubeApiError).status).toBe(status);
      expect((err as KubeApiError).reason).toBe(reason);
      const name = (r.payload as KubeObject).metadata.name;
      expect(err.message).toBe(
        `create workflows.argoproj.io ${NS}/${name}: ${status} ${reason}: ${message}`,
      );
    },
  );

  it("classifies a refused connection as retryable and a bad token as final", async () => {
    const gone = await new FakeKubeApi().start();
    const yaml = gone.kubeconfigYaml(NS);
    await gone.stop();
    const dead = (await loadKubeClient({ kubeconfigYaml: yaml }))!;
    const t1 = argoWorkflowTrigger(dead, { dryRun: false, log: pino({ level: "silent" }) });
    const e1 = await rejection(t1.execute(await t1.render(submitTemplate(), firing()), exec()));
    expect(e1.retryable).toBe(true);
    expect(e1.message).toContain("cannot reach the Kubernetes API");
    dead.close();

    const wrong = (await loadKubeClient({
      kubeconfigYaml: api.kubeconfigYaml(NS, "not-the-token"),
    }))!;
    // Discovery refused (401) -> fallback names; the create itself is then refused as well.
    const e2 = await rejection(
      wrong.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }),
    );
    expect(e2.retryable).toBe(false);
    expect(e2.message).toBe(`create configmaps ${NS}/x: 401 Unauthorized: Unauthorized`);
    wrong.close();
  });

  it("polls the created Workflow until the policy labels match", async () => {
    let sleeps = 0;
    let created = "";
    const t = argoWorkflowTrigger(client, {
      dryRun: false,
      log: pino({ level: "silent" }),
      random: () => 0,
      sleep: async () => {
        sleeps++;
        if (sleeps === 2) {
          api.mutate("argoproj.io/v1alpha1", "Workflow", NS, created, (o) => {
            o.metadata!.labels = {
              ...o.metadata!.labels,
              "workflows.argoproj.io/phase": "Succeeded",
            };
          });
        }
      },
    });
    const r = await t.render(submitTemplate(), firing({ ids: ["policy-1"] }));
    created = (r.payload as KubeObject).metadata.name!;
    const policy: TriggerPolicy = {
      k8s: { labels: { "workflows.argoproj.io/phase": "Succeeded" } },
    };
    const result = await t.execute(r, exec(undefined, policy));
    expect(result.detail?.policy).toBe("matched");
    const gets = api
      .apiRequests()
      .filter((q) => q.method === "GET" && q.path === `${WF_PATH}/${created}`);
    expect(gets).toHaveLength(3);
  });

  it("honours errorOnBackoffTimeout", async () => {
    const t = argoWorkflowTrigger(client, {
      dryRun: false,
      log: pino({ level: "silent" }),
      sleep: async () => {},
    });
    const policy: TriggerPolicy = {
      k8s: {
        labels: { done: "yes" },
        backoff: { steps: 3, duration: "1s" },
        errorOnBackoffTimeout: true,
      },
    };
    const r1 = await t.render(submitTemplate(), firing({ ids: ["policy-2"] }));
    const err = await rejection(t.execute(r1, exec(undefined, policy)));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("after 3 checks");

    const lenient = { k8s: { ...policy.k8s, errorOnBackoffTimeout: false } };
    const r2 = await t.render(submitTemplate(), firing({ ids: ["policy-3"] }));
    const ok = await t.execute(r2, exec(undefined, lenient));
    expect(ok.detail?.policy).toBe("timeout");
  });
});

describe("argoWorkflow other operations", () => {
  const silent = () =>
    argoWorkflowTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });

  it("submit-from WorkflowTemplate creates a Workflow referencing the template, with args", async () => {
    const tpl: ArgoWorkflowTrigger = {
      operation: "submit-from",
      source: {
        resource: {
          apiVersion: "argoproj.io/v1alpha1",
          kind: "workflowtemplate",
          metadata: { name: "build" },
        },
      },
      args: [
        "-p",
        "commit=abc123",
        "--parameter=branch=main",
        "--entrypoint",
        "ci",
        "-l",
        "team=x,env=dev",
        "--serviceaccount=runner",
      ],
    };
    const t = silent();
    const r = await t.render(tpl, firing({ ids: ["from-1"] }));
    await t.execute(r, exec());
    const post = api.apiRequests().find((q) => q.method === "POST")!;
    expect(post.path).toBe(WF_PATH);
    const body = JSON.parse(post.body);
    expect(body.kind).toBe("Workflow");
    expect(body.metadata.name).toMatch(/^build-[0-9a-f]{10}$/);
    expect(body.metadata.labels).toEqual({
      "workflows.argoproj.io/workflow-template": "build",
      team: "x",
      env: "dev",
    });
    expect(body.spec).toEqual({
      workflowTemplateRef: { name: "build" },
      arguments: {
        parameters: [
          { name: "commit", value: "abc123" },
          { name: "branch", value: "main" },
        ],
      },
      entrypoint: "ci",
      serviceAccountName: "runner",
    });
  });

  it("submit-from CronWorkflow builds the Workflow from the cluster's CronWorkflow", async () => {
    const cron = api.seed({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "CronWorkflow",
      metadata: { name: "nightly", namespace: NS },
      spec: {
        schedule: "0 0 * * *",
        workflowMetadata: { labels: { a: "b" } },
        workflowSpec: { entrypoint: "run", templates: [{ name: "run" }] },
      },
    });
    const t = silent();
    const r = await t.render(
      {
        operation: "submit-from",
        source: { resource: { kind: "CronWorkflow", metadata: { name: "nightly" } } },
      },
      firing({ ids: ["cron-1"] }),
    );
    await t.execute(r, exec());
    const post = api.apiRequests().find((q) => q.method === "POST")!;
    const body = JSON.parse(post.body);
    expect(body.spec).toEqual({ entrypoint: "run", templates: [{ name: "run" }] });
    expect(body.metadata.labels).toMatchObject({
      a: "b",
      "workflows.argoproj.io/cron-workflow": "nightly",
    });
    expect(body.metadata.ownerReferences[0]).toMatchObject({
      kind: "CronWorkflow",
      name: "nightly",
      uid: cron.metadata!.uid,
    });
  });

  it("rejects unknown submit-from arguments clearly", async () => {
    const err = await rejection(
      silent().render(
        {
          operation: "submit-from",
          source: { inline: "kind: WorkflowTemplate\nmetadata:\n  name: t\n" },
          args: ["--watch"],
        },
        firing(),
      ),
    );
    expect(err.message).toContain("argoWorkflow.args.0: unsupported argument '--watch'");
  });

  it.each([
    ["suspend", { suspend: true }],
    ["terminate", { shutdown: "Terminate" }],
    ["stop", { shutdown: "Stop" }],
  ])("%s merge-patches the Workflow", async (operation, spec) => {
    api.seed({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Workflow",
      metadata: { name: `run-${operation}`, namespace: NS },
      spec: { entrypoint: "x" },
    });
    const t = silent();
    const r = await t.render(
      {
        operation,
        source: { resource: { kind: "Workflow", metadata: { name: `run-${operation}` } } },
      },
      firing(),
    );
    const result = await t.execute(r, exec());
    const patch = api.apiRequests().find((q) => q.method === "PATCH")!;
    expect(patch.path).toBe(`${WF_PATH}/run-${operation}`);
    expect(patch.headers["content-type"]).toBe("application/merge-patch+json");
    expect(JSON.parse(patch.body)).toEqual({ spec });
    expect(api.object("argoproj.io/v1alpha1", "Workflow", NS, `run-${operation}`)!.spec).toEqual({
      entrypoint: "x",
      ...spec,
    });
    expect(result.summary).toBe(`${operation} Workflow ${NS}/run-${operation}`);
  });

  it("resume clears suspend and completes running Suspend nodes", async () => {
    api.seed({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Workflow",
      metadata: { name: "paused", namespace: NS },
      spec: { suspend: true },
      status: {
        nodes: { n1: { type: "Suspend", phase: "Running" }, n2: { type: "Pod", phase: "Running" } },
      },
    });
    const t = silent();
    await t.execute(
      await t.render(
        {
          operation: "resume",
          source: { resource: { kind: "Workflow", metadata: { name: "paused" } } },
        },
        firing(),
      ),
      exec(),
    );
    const wf = api.object("argoproj.io/v1alpha1", "Workflow", NS, "paused")!;
    expect(wf.spec).toEqual({});
    const nodes = (wf.status as { nodes: Record<string, { phase: string }> }).nodes;
    expect(nodes.n1!.phase).toBe("Succeeded");
    expect(nodes.n2!.phase).toBe("Running");
  });

  it("resume and stop with --node-field-selector act on the matching running Suspend nodes only", async () => {
    api.seed({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Workflow",
      metadata: { name: "gates", namespace: NS },
      spec: { suspend: true },
      status: {
        nodes: {
          a: {
            id: "a",
            name: "gates.approve",
            displayName: "approve",
            type: "Suspend",
            phase: "Running",
          },
          b: {
            id: "b",
            name: "gates.deploy",
            displayName: "deploy",
            type: "Suspend",
            phase: "Running",
          },
          c: { id: "c", name: "gates.build", displayName: "build", type: "Pod", phase: "Running" },
        },
      },
    });
    const t = silent();
    const run = async (operation: string, args: string[]) =>
      t.execute(
        await t.render(
          {
            operation,
            args,
            source: { resource: { kind: "Workflow", metadata: { name: "gates" } } },
          },
          firing(),
        ),
        exec(),
      );
    await run("resume", ["--node-field-selector", "displayName=approve"]);
    await run("stop", [
      "--node-field-selector=displayName=deploy",
      "--message",
      "rejected by review",
    ]);
    const wf = api.object("argoproj.io/v1alpha1", "Workflow", NS, "gates")!;
    // The Workflow-level suspend and shutdown are left alone, as argo does with a selector.
    expect(wf.spec).toEqual({ suspend: true });
    const nodes = (wf.status as { nodes: Record<string, { phase: string; message?: string }> })
      .nodes;
    expect(nodes.a!.phase).toBe("Succeeded");
    expect(nodes.b).toMatchObject({ phase: "Failed", message: "rejected by review" });
    expect(nodes.c!.phase).toBe("Running");
    // Nothing left to match: a final error naming the selector, as Argo's.
    const err = await rejection(run("resume", ["--node-field-selector", "displayName=approve"]));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(
      `Workflow ${NS}/gates has no running Suspend node matching --node-field-selector displayName=approve`,
    );
  });

  it("reports a missing Workflow for suspend as a final 404", async () => {
    const t = silent();
    const r = await t.render(
      {
        operation: "suspend",
        source: { resource: { kind: "Workflow", metadata: { name: "nope" } } },
      },
      firing(),
    );
    const err = await rejection(t.execute(r, exec()));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`workflows.argoproj.io ${NS}/nope: 404 NotFound`);
  });

  it.each(["retry", "resubmit"])(
    "%s renders without the API; a dry run only logs it",
    async (operation) => {
      const { log, lines } = logSink();
      const t = argoWorkflowTrigger(client, { dryRun: true, log });
      const r = await t.render(
        { operation, source: { resource: { kind: "Workflow", metadata: { name: "w" } } } },
        firing(),
      );
      expect(r.payload).toEqual({ operation, workflow: `${NS}/w`, args: [] });
      const result = await t.execute(r, exec(log));
      expect(result.summary).toBe(`rendered Workflow ${operation} ${NS}/w (dry run)`);
      expect(lines.some((l) => String(l.msg).includes(`${operation} ${NS}/w`))).toBe(true);
      expect(api.apiRequests()).toEqual([]);
    },
  );

  it("dry run and missing configuration render to the log without API calls", async () => {
    for (const c of [client, undefined]) {
      const { log, lines } = logSink();
      const t = argoWorkflowTrigger(c, { dryRun: true, log });
      const r = await t.render(submitTemplate(), firing({ ids: ["dry-1"] }));
      const result = await t.execute(r, exec(log));
      expect(result.summary).toContain("(dry run)");
      const line = lines.find((l) => String(l.msg).startsWith("rendered Workflow (dry run)"))!;
      expect(line.object).toEqual(r.payload);
    }
    expect(api.apiRequests()).toHaveLength(0);
  });
});

describe("k8s trigger", () => {
  const silent = () => k8sTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });
  const cm = (name: string, data: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name },
    data,
  });

  it("create posts to the discovered path with the three labels", async () => {
    const t = silent();
    const tpl: K8sTrigger = {
      source: { resource: cm("from-event", { user: "x" }) },
      parameters: [{ src: { dependencyName: "dep", dataKey: "user" }, dest: "data.user" }],
    };
    const result = await t.execute(await t.render(tpl, firing()), exec());
    const post = api.apiRequests().find((q) => q.method === "POST")!;
    expect(post.path).toBe(`/api/v1/namespaces/${NS}/configmaps`);
    const body = JSON.parse(post.body);
    expect(body.data).toEqual({ user: "alice" });
    expect(Object.keys(body.metadata.labels).sort()).toEqual([
      "events.argoproj.io/action-timestamp",
      "events.argoproj.io/sensor",
      "events.argoproj.io/trigger",
    ]);
    expect(result.summary).toBe(`created ConfigMap ${NS}/from-event`);
  });

  it("create resolves group resources and cluster scope through discovery", async () => {
    const t = silent();
    await t.execute(
      await t.render(
        {
          source: {
            resource: {
              apiVersion: "apps/v1",
              kind: "Deployment",
              metadata: { name: "d", namespace: "other" },
              spec: {},
            },
          },
        },
        firing(),
      ),
      exec(),
    );
    await t.execute(
      await t.render(
        {
          source: {
            resource: { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-z" } },
          },
        },
        firing(),
      ),
      exec(),
    );
    const posts = api.apiRequests().filter((q) => q.method === "POST");
    expect(posts.map((p) => p.path)).toEqual([
      "/apis/apps/v1/namespaces/other/deployments",
      "/api/v1/namespaces",
    ]);
    expect(JSON.parse(posts[1]!.body).metadata.namespace).toBeUndefined();
    expect(api.requests.some((q) => q.path === "/apis/apps/v1")).toBe(true);
  });

  it("update deep-merges over the live object and PUTs it; missing -> create", async () => {
    api.seed({
      ...cm("settings", { a: "1", b: "2" }),
      metadata: { name: "settings", namespace: NS, labels: { keep: "me" } },
    });
    const t = silent();
    const result = await t.execute(
      await t.render(
        { operation: "update", source: { resource: cm("settings", { b: "3", c: "" }) } },
        firing(),
      ),
      exec(),
    );
    const put = api.apiRequests().find((q) => q.method === "PUT")!;
    expect(put.path).toBe(`/api/v1/namespaces/${NS}/configmaps/settings`);
    const body = JSON.parse(put.body);
    expect(body.data).toEqual({ a: "1", b: "3", c: "" });
    expect(body.metadata.labels).toEqual({ keep: "me" });
    expect(body.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(result.summary).toBe(`updated ConfigMap ${NS}/settings`);

    api.clearRequests();
    await t.execute(
      await t.render(
        { operation: "update", source: { resource: cm("fresh", { x: "1" }) } },
        firing(),
      ),
      exec(),
    );
    expect(api.apiRequests().map((q) => `${q.method} ${q.path}`)).toEqual([
      `GET /api/v1/namespaces/${NS}/configmaps/fresh`,
      `POST /api/v1/namespaces/${NS}/configmaps`,
    ]);
  });

  it("update with liveObject starts from the live object", async () => {
    api.seed({ ...cm("live", { n: "1" }), metadata: { name: "live", namespace: NS } });
    const t = silent();
    const r = await t.render(
      {
        operation: "update",
        liveObject: true,
        source: {
          resource: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "live", namespace: NS },
          },
        },
        parameters: [{ src: { dependencyName: "dep", dataKey: "user" }, dest: "data.who" }],
      },
      firing(),
    );
    await t.execute(r, exec());
    expect(api.object("v1", "ConfigMap", NS, "live")!.data).toEqual({ n: "1", who: "alice" });
  });

  it.each([
    [undefined, "application/merge-patch+json"],
    ["application/strategic-merge-patch+json", "application/strategic-merge-patch+json"],
  ])("patch sends the object with content type %s", async (patchStrategy, contentType) => {
    const name = `p-${contentType.length}`;
    api.seed({ ...cm(name, { a: "1" }), metadata: { name, namespace: NS } });
    const t = silent();
    await t.execute(
      await t.render(
        { operation: "patch", patchStrategy, source: { resource: cm(name, { b: "2" }) } },
        firing(),
      ),
      exec(),
    );
    const patch = api.apiRequests().find((q) => q.method === "PATCH")!;
    expect(patch.path).toBe(`/api/v1/namespaces/${NS}/configmaps/${name}`);
    expect(patch.headers["content-type"]).toBe(contentType);
    expect(api.object("v1", "ConfigMap", NS, name)!.data).toEqual({ a: "1", b: "2" });
  });

  it("patch of a missing object creates it", async () => {
    const t = silent();
    await t.execute(
      await t.render(
        { operation: "patch", source: { resource: cm("new-by-patch", { a: "1" }) } },
        firing(),
      ),
      exec(),
    );
    expect(api.apiRequests().map((q) => q.method)).toEqual(["GET", "POST"]);
    expect(api.object("v1", "ConfigMap", NS, "new-by-patch")).toBeDefined();
  });

  it("delete removes an existing object and succeeds for a missing one", async () => {
    api.seed({ ...cm("doomed", {}), metadata: { name: "doomed", namespace: NS } });
    const t = silent();
    const r1 = await t.execute(
      await t.render({ operation: "delete", source: { resource: cm("doomed", {}) } }, firing()),
      exec(),
    );
    expect(r1.summary).toBe(`deleted ConfigMap ${NS}/doomed`);
    expect(
      api
        .apiRequests()
        .some(
          (q) => q.method === "DELETE" && q.path === `/api/v1/namespaces/${NS}/configmaps/doomed`,
        ),
    ).toBe(true);
    expect(api.object("v1", "ConfigMap", NS, "doomed")).toBeUndefined();
    api.clearRequests();
    const r2 = await t.execute(
      await t.render({ operation: "delete", source: { resource: cm("doomed", {}) } }, firing()),
      exec(),
    );
    expect(r2.summary).toContain("not found, nothing to delete");
    expect(api.apiRequests().some((q) => q.method === "DELETE")).toBe(false);
  });

  it("an unknown kind is a clear final error", async () => {
    const err = await rejection(
      silent().render(
        { source: { resource: { apiVersion: "v1", kind: "Gizmo", metadata: { name: "g" } } } },
        firing(),
      ),
    );
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("kind Gizmo is not served by v1");
  });

  it("dry run logs the rendered object", async () => {
    const { log, lines } = logSink();
    const t = k8sTrigger(undefined, { dryRun: true, log });
    const r = await t.render({ source: { resource: cm("dry", { a: "1" }) } }, firing());
    await t.execute(r, exec(log));
    expect(
      lines.some(
        (l) =>
          String(l.msg).startsWith("rendered ConfigMap (dry run) create") &&
          (l.object as KubeObject).metadata.name === "dry",
      ),
    ).toBe(true);
  });
});

describe("KubeClient list and watch", () => {
  it("lists with a label selector and streams watch events from a resourceVersion", async () => {
    const ns = "watch-ns";
    api.seed({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "w0", namespace: ns, labels: { app: "a" } },
    });
    const list = await client.list("v1", "ConfigMap", ns, { labelSelector: "app=a" });
    expect(list.items.map((o) => o.metadata.name)).toEqual(["w0"]);

    const seen: Array<[WatchEventType, string]> = [];
    const ac = new AbortController();
    let onThree: () => void = () => {};
    const three = new Promise<void>((r) => {
      onThree = r;
    });
    const watching = client.watch(
      "v1",
      "ConfigMap",
      ns,
      { labelSelector: "app=a", resourceVersion: list.metadata.resourceVersion, signal: ac.signal },
      (type, obj) => {
        seen.push([type, obj.metadata.name!]);
        if (seen.length === 3) onThree();
      },
    );
    await client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "w1", namespace: ns, labels: { app: "a" } },
    });
    await client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "skip", namespace: ns, labels: { app: "b" } },
    });
    await client.patch(
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "w1", namespace: ns } },
      "application/merge-patch+json",
      { data: { x: "1" } },
    );
    await client.delete({ apiVersion: "v1", kind: "ConfigMap", name: "w0", namespace: ns });
    await three;
    ac.abort();
    await watching;
    expect(seen).toEqual([
      ["ADDED", "w1"],
      ["MODIFIED", "w1"],
      ["DELETED", "w0"],
    ]);
  });

  it("JSON patch bodies pass through unchanged", async () => {
    api.seed({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "jp", namespace: NS },
      data: { a: "1" },
    });
    await client.patch(
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "jp", namespace: NS } },
      "application/json-patch+json",
      [{ op: "replace", path: "/data/a", value: "2" }],
    );
    expect(api.object("v1", "ConfigMap", NS, "jp")!.data).toEqual({ a: "2" });
  });
});

describe("argoWorkflow concurrencyPolicy (sensorbus extension)", () => {
  const wfApi = "argoproj.io/v1alpha1";
  const mine = () =>
    api
      .objects(wfApi, "Workflow")
      .filter((o) => o.metadata?.labels?.["events.argoproj.io/trigger"] === "wf-trigger");
  const setPhase = (name: string, phase: string) =>
    api.mutate(wfApi, "Workflow", NS, name, (o) => {
      (o as { status?: unknown }).status = { phase };
    });
  const submit = async (policy: string, id: string) => {
    const trigger = argoWorkflowTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });
    const ctx = firing({ ids: [id] });
    return trigger.execute(
      await trigger.render(submitTemplate({ concurrencyPolicy: policy }), ctx),
      exec(),
    );
  };

  beforeEach(() => {
    for (const o of mine())
      api.mutate(wfApi, "Workflow", NS, o.metadata!.name!, (x) => {
        (x as { status?: unknown }).status = { phase: "Succeeded" };
      });
  });

  it("Forbid skips while this trigger's last Workflow runs, then submits once it finished", async () => {
    const first = await submit("Forbid", "cp-1");
    const name = String(first.detail?.name);
    setPhase(name, "Running");
    const second = await submit("Forbid", "cp-2");
    expect(second.detail?.skipped).toBe(true);
    expect(second.summary).toContain(name);
    expect(
      mine().filter(
        (o) =>
          (o.metadata?.annotations as Record<string, string> | undefined)?.[
            "sensorbus.io/event-ids"
          ] === "cp-2",
      ),
    ).toHaveLength(0);
    setPhase(name, "Succeeded");
    const third = await submit("Forbid", "cp-3");
    expect(third.detail?.skipped).toBeUndefined();
    expect(mine().some((o) => o.metadata?.name === third.detail?.name)).toBe(true);
  });

  it("Replace terminates the running Workflow before submitting the new one", async () => {
    const first = await submit("Replace", "cp-4");
    const old = String(first.detail?.name);
    setPhase(old, "Running");
    const second = await submit("Replace", "cp-5");
    expect(second.detail?.replaced).toEqual([old]);
    const terminated = api.objects(wfApi, "Workflow").find((o) => o.metadata?.name === old) as {
      spec?: { shutdown?: string };
    };
    expect(terminated.spec?.shutdown).toBe("Terminate");
    const patch = api
      .apiRequests()
      .find((r) => r.method === "PATCH" && r.path === `${WF_PATH}/${old}`);
    expect(patch?.headers["content-type"]).toContain("application/merge-patch+json");
  });

  it("rejects an unknown policy at render time", async () => {
    const trigger = argoWorkflowTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });
    const err = await rejection(
      trigger.render(submitTemplate({ concurrencyPolicy: "Sometimes" }), firing()),
    );
    expect(err.message).toContain(
      "argoWorkflow.concurrencyPolicy: 'Sometimes' is not Allow, Forbid or Replace",
    );
    expect(err.retryable).toBe(false);
  });
});

describe("argoWorkflow resubmit and retry", () => {
  const silentTrigger = () =>
    argoWorkflowTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });
  const ref = (name: string) => ({ resource: { kind: "Workflow", metadata: { name } } });
  beforeAll(() => {
    api.addResource({ group: "", version: "v1", resource: "pods", kind: "Pod", namespaced: true });
  });

  /** A finished DAG Workflow: task a Succeeded, task b (after a) Failed. */
  function seedFailed(name: string, phase = "Failed"): void {
    api.seed({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Workflow",
      metadata: {
        name,
        namespace: NS,
        labels: {
          "workflows.argoproj.io/completed": "true",
          "workflows.argoproj.io/phase": phase,
          "workflows.argoproj.io/creator": "someone",
          "sensorbus.io/correlation-id": "run-1",
          team: "data",
        },
        annotations: { note: "keep", "sensorbus.io/event-ids": "ev-original" },
      },
      spec: {
        entrypoint: "main",
        shutdown: "Terminate",
        arguments: { parameters: [{ name: "run-id", value: "r-1" }] },
      },
      status: {
        phase,
        finishedAt: "2026-11-24T09:00:00Z",
        nodes: {
          [name]: { id: name, name, type: "DAG", phase, children: [`${name}-a`] },
          [`${name}-a`]: {
            id: `${name}-a`,
            name: `${name}.a`,
            type: "Pod",
            phase: "Succeeded",
            children: [`${name}-b`],
          },
          [`${name}-b`]: { id: `${name}-b`, name: `${name}.b`, type: "Pod", phase: "Failed" },
        },
      },
    });
    for (const node of ["a", "b"]) {
      api.seed({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `${name}-${node}-pod`,
          namespace: NS,
          labels: { "workflows.argoproj.io/workflow": name },
          annotations: { "workflows.argoproj.io/node-id": `${name}-${node}` },
        },
      });
    }
  }

  it("resubmit creates one new Workflow from the old one; a redelivery creates nothing more", async () => {
    seedFailed("nightly-1");
    const t = silentTrigger();
    const template: ArgoWorkflowTrigger = {
      operation: "resubmit",
      source: ref("nightly-1"),
      args: ["-p", "run-id=r-2"],
    };
    const first = await t.execute(await t.render(template, firing({ ids: ["ev-r1"] })), exec());
    const posts = api.apiRequests().filter((q) => q.method === "POST");
    expect(posts).toHaveLength(1);
    expect(posts[0]!.path).toBe(WF_PATH);
    expect(posts[0]!.headers.authorization).toMatch(/^Bearer fake-/);
    const created = JSON.parse(posts[0]!.body) as KubeObject;
    expect(created.metadata.name).toMatch(/^nightly-1-[0-9a-f]{10}$/);
    // Completion, phase and creator labels dropped; the old firing's correlation id is not this one's.
    expect(created.metadata.labels).toEqual({
      team: "data",
      "workflows.argoproj.io/resubmitted-from-workflow": "nightly-1",
    });
    expect(created.metadata.annotations).toEqual({
      note: "keep",
      "sensorbus.io/event-ids": "ev-r1",
      // The firing's identity (issue 20.1): namespace, Sensor, trigger and events.
      "sensorbus.io/firing": expect.stringMatching(/^[0-9a-f]{64}$/),
      "sensorbus.io/sensor": `${NS}/webhook-sensor`,
      "sensorbus.io/trigger": "wf-trigger",
    });
    expect(created.spec).toEqual({
      entrypoint: "main",
      arguments: { parameters: [{ name: "run-id", value: "r-2" }] },
    });
    expect(created.status).toBeUndefined();
    expect(first.summary).toBe(
      `resubmitted Workflow ${NS}/nightly-1 as ${NS}/${created.metadata.name}`,
    );

    const again = await t.execute(await t.render(template, firing({ ids: ["ev-r1"] })), exec());
    expect(again.summary).toMatch(/already exists, created by an earlier delivery/);
    const copies = api
      .objects("argoproj.io/v1alpha1", "Workflow")
      .filter(
        (w) =>
          w.metadata?.labels?.["workflows.argoproj.io/resubmitted-from-workflow"] === "nightly-1",
      );
    expect(copies).toHaveLength(1);
  });

  it("resubmit --memoized carries the succeeded nodes over as Skipped under the new name", async () => {
    seedFailed("nightly-m");
    const t = silentTrigger();
    const result = await t.execute(
      await t.render(
        { operation: "resubmit", source: ref("nightly-m"), args: ["--memoized"] },
        firing({ ids: ["ev-m1"] }),
      ),
      exec(),
    );
    const name = String(result.detail?.created);
    expect(name).toMatch(/^nightly-m-[0-9a-f]{10}$/);
    const created = api.object("argoproj.io/v1alpha1", "Workflow", NS, name)!;
    const nodes = Object.values(
      (created.status as { nodes: Record<string, Record<string, unknown>> }).nodes,
    );
    expect(nodes.map((n) => [n.name, n.type, n.phase]).sort()).toEqual([
      [name, "DAG", "Pending"],
      [`${name}.a`, "Skipped", "Skipped"],
      [`${name}.b`, "Pod", "Pending"],
    ]);
    expect(nodes.find((n) => n.name === `${name}.a`)!.message).toBe("original pod: nightly-m-a");
    // Every node id is the new Workflow's (Argo's NodeID), so the controller finds them.
    for (const n of nodes) expect(String(n.id).startsWith(name)).toBe(true);
  });

  it("resubmit --memoized of a Workflow that has not failed is refused", async () => {
    seedFailed("nightly-run", "Running");
    const t = silentTrigger();
    const err = await rejection(
      t.execute(
        await t.render(
          { operation: "resubmit", source: ref("nightly-run"), args: ["--memoized=true"] },
          firing(),
        ),
        exec(),
      ),
    );
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(
      "argoWorkflow resubmit: Workflow nightly-run is Running: it must be Failed or Error to resubmit memoized",
    );
    expect(api.apiRequests().filter((q) => q.method === "POST")).toEqual([]);
  });

  it("resubmit of a Workflow that does not exist fails for good, naming it", async () => {
    const t = silentTrigger();
    const err = await rejection(
      t.execute(
        await t.render({ operation: "resubmit", source: ref("missing-wf") }, firing()),
        exec(),
      ),
    );
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(`argoWorkflow resubmit: Workflow ${NS}/missing-wf not found`);
  });

  it("retry writes the reset Workflow back with its resourceVersion and deletes the failed node's pod", async () => {
    seedFailed("etl-7");
    const before = api.object("argoproj.io/v1alpha1", "Workflow", NS, "etl-7")!;
    const t = silentTrigger();
    const result = await t.execute(
      await t.render({ operation: "retry", source: ref("etl-7") }, firing({ ids: ["ev-t1"] })),
      exec(),
    );
    const put = api.apiRequests().find((q) => q.method === "PUT")!;
    expect(put.path).toBe(`${WF_PATH}/etl-7`);
    const body = JSON.parse(put.body) as KubeObject & { status: Record<string, unknown> };
    expect(body.metadata.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(body.metadata.labels).toEqual({
      "workflows.argoproj.io/phase": "Running",
      "workflows.argoproj.io/creator": "someone",
      "sensorbus.io/correlation-id": "run-1",
      team: "data",
    });
    expect(body.metadata.annotations?.["sensorbus.io/event-ids"]).toBe("ev-t1");
    expect(body.status.phase).toBe("Running");
    expect(Object.keys(body.status.nodes as object).sort()).toEqual(["etl-7", "etl-7-a"]);
    expect((body.status.nodes as Record<string, { phase: string }>)["etl-7"]!.phase).toBe(
      "Running",
    );
    // Only the failed node's pod is gone.
    const deletes = api.apiRequests().filter((q) => q.method === "DELETE");
    expect(deletes.map((q) => q.path)).toEqual([`/api/v1/namespaces/${NS}/pods/etl-7-b-pod`]);
    expect(api.object("v1", "Pod", NS, "etl-7-a-pod")).toBeDefined();
    expect(result.summary).toBe(
      `retried Workflow ${NS}/etl-7: 1 node(s) to run again, 1 reset, 1 pod(s) deleted`,
    );
    // What the controller now finds: the failed node gone, the DAG running, a still Succeeded.
    const stored = api.object("argoproj.io/v1alpha1", "Workflow", NS, "etl-7")!;
    const nodes = (stored.status as { nodes: Record<string, { phase: string }> }).nodes;
    expect(Object.keys(nodes).sort()).toEqual(["etl-7", "etl-7-a"]);
    expect(nodes["etl-7-a"]!.phase).toBe("Succeeded");
    expect(stored.metadata?.labels?.["workflows.argoproj.io/completed"]).toBeUndefined();
    expect((stored.spec as Record<string, unknown>).shutdown).toBeUndefined();

    // Redelivered: the Workflow carries these event ids, nothing is written again.
    api.clearRequests();
    const again = await t.execute(
      await t.render({ operation: "retry", source: ref("etl-7") }, firing({ ids: ["ev-t1"] })),
      exec(),
    );
    expect(again.summary).toMatch(/already retried for these events \(already done\)/);
    expect(api.apiRequests().filter((q) => q.method !== "GET")).toEqual([]);
  });

  it("retry keeps the Workflow's creation identity: its creator's redelivery is still already done", async () => {
    const t = silentTrigger();
    // A Sensor's submit creates the Workflow...
    const submitted = await t.execute(
      await t.render(
        {
          operation: "submit",
          source: { resource: { ...WORKFLOW, metadata: { generateName: "kept-" } } },
        },
        firing({ ids: ["ev-create"] }),
      ),
      exec(),
    );
    const name = String(submitted.detail?.name);
    const created = api.object("argoproj.io/v1alpha1", "Workflow", NS, name)!;
    const identity = (created.metadata?.annotations ?? {}) as Record<string, string>;
    // ...it fails, and another firing retries it.
    api.mutate("argoproj.io/v1alpha1", "Workflow", NS, name, (o) => {
      o.status = {
        phase: "Failed",
        nodes: { [name]: { id: name, name, type: "Pod", phase: "Failed" } },
      };
    });
    await t.execute(
      await t.render({ operation: "retry", source: ref(name) }, firing({ ids: ["ev-retry"] })),
      exec(),
    );
    const retried = api.object("argoproj.io/v1alpha1", "Workflow", NS, name)!;
    const after = (retried.metadata?.annotations ?? {}) as Record<string, string>;
    for (const key of ["sensorbus.io/firing", "sensorbus.io/sensor", "sensorbus.io/trigger"])
      expect(after[key], key).toBe(identity[key]);
    expect(after["sensorbus.io/retry-firing"]).toMatch(/^[0-9a-f]{64}$/);
    // The creator's redelivery finds its own Workflow: already done, no second one.
    const again = await t.execute(
      await t.render(
        {
          operation: "submit",
          source: { resource: { ...WORKFLOW, metadata: { generateName: "kept-" } } },
        },
        firing({ ids: ["ev-create"] }),
      ),
      exec(),
    );
    expect(again.detail?.alreadyDone).toBe(true);
    expect(
      api
        .objects("argoproj.io/v1alpha1", "Workflow")
        .filter((o) => o.metadata?.name?.startsWith("kept-")),
    ).toHaveLength(1);
  });

  it("retry of a running or succeeded Workflow is refused with a clear, final error", async () => {
    seedFailed("etl-run", "Running");
    seedFailed("etl-ok", "Succeeded");
    const t = silentTrigger();
    const err = await rejection(
      t.execute(await t.render({ operation: "retry", source: ref("etl-run") }, firing()), exec()),
    );
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(
      "argoWorkflow retry: cannot retry Workflow etl-run in phase Running: it must be Failed or Error",
    );
    const ok = await rejection(
      t.execute(await t.render({ operation: "retry", source: ref("etl-ok") }, firing()), exec()),
    );
    expect(ok.retryable).toBe(false);
    expect(ok.message).toBe(
      "argoWorkflow retry: Workflow etl-ok Succeeded; to retry a succeeded workflow, set --restart-successful and --node-field-selector",
    );
    expect(api.apiRequests().filter((q) => q.method !== "GET")).toEqual([]);
  });

  it("retry of a succeeded Workflow re-runs the nodes --node-field-selector picks", async () => {
    seedFailed("etl-sel", "Succeeded");
    api.mutate("argoproj.io/v1alpha1", "Workflow", NS, "etl-sel", (wf) => {
      const nodes = (wf.status as { nodes: Record<string, Record<string, unknown>> }).nodes;
      nodes["etl-sel-b"]!.phase = "Succeeded";
      nodes["etl-sel-a"]!.displayName = "a";
    });
    const t = silentTrigger();
    const result = await t.execute(
      await t.render(
        {
          operation: "retry",
          source: ref("etl-sel"),
          args: ["--restart-successful", "--node-field-selector=displayName=a"],
        },
        firing({ ids: ["ev-s1"] }),
      ),
      exec(),
    );
    expect(result.detail).toMatchObject({
      deletedNodes: ["etl-sel-a", "etl-sel-b"],
      resetNodes: ["etl-sel"],
      deletedPods: 2,
    });
    const stored = api.object("argoproj.io/v1alpha1", "Workflow", NS, "etl-sel")!;
    expect(Object.keys((stored.status as { nodes: object }).nodes)).toEqual(["etl-sel"]);
  });

  it("retry reads the Workflow again when the controller changed it in between (409 on the stale resourceVersion)", async () => {
    seedFailed("etl-10");
    // The workflow controller writes the Workflow after sensorbus read it.
    let reads = 0;
    const racing = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== "get") return Reflect.get(target, prop, receiver);
        return async (ref: Parameters<KubeClient["get"]>[0]) => {
          const o = await target.get(ref);
          if (ref.kind === "Workflow" && ++reads === 1) {
            api.mutate("argoproj.io/v1alpha1", "Workflow", NS, "etl-10", (wf) => {
              wf.metadata = {
                ...wf.metadata,
                annotations: {
                  ...(wf.metadata?.annotations as Record<string, string> | undefined),
                  controller: "was-here",
                },
              };
            });
          }
          return o;
        };
      },
    });
    const t = argoWorkflowTrigger(racing, { dryRun: false, log: pino({ level: "silent" }) });
    await t.execute(
      await t.render({ operation: "retry", source: ref("etl-10") }, firing({ ids: ["ev-c2"] })),
      exec(),
    );
    const puts = api.apiRequests().filter((q) => q.method === "PUT");
    expect(puts).toHaveLength(2);
    expect(reads).toBe(2);
    const stored = api.object("argoproj.io/v1alpha1", "Workflow", NS, "etl-10")!;
    // The second write started from the controller's version: its change is kept.
    expect(stored.metadata?.annotations).toMatchObject({
      controller: "was-here",
      "sensorbus.io/event-ids": "ev-c2",
    });
    expect((stored.status as { phase: string }).phase).toBe("Running");
  });

  it("retry reads the Workflow again when the write answers 409 Conflict", async () => {
    seedFailed("etl-9");
    api.fail({ method: "PUT", path: `${WF_PATH}/etl-9`, status: 409, reason: "Conflict" });
    const t = silentTrigger();
    const result = await t.execute(
      await t.render({ operation: "retry", source: ref("etl-9") }, firing({ ids: ["ev-c1"] })),
      exec(),
    );
    const methods = api
      .apiRequests()
      .filter((q) => q.path === `${WF_PATH}/etl-9`)
      .map((q) => q.method);
    expect(methods).toEqual(["GET", "PUT", "GET", "PUT"]);
    expect(result.summary).toMatch(/^retried Workflow/);
    expect(api.object("argoproj.io/v1alpha1", "Workflow", NS, "etl-9")!.status).toMatchObject({
      phase: "Running",
    });
  });

  it("rejects arguments argo retry/resubmit do not have, naming the field", async () => {
    const t = silentTrigger();
    const err = await rejection(
      t.render({ operation: "resubmit", source: ref("x"), args: ["--memoized", "-w"] }, firing()),
    );
    expect(err.message).toBe(
      "argoWorkflow.args.1: unsupported argument '-w' for resubmit (sensorbus interprets -p/--parameter, --memoized)",
    );
    const err2 = await rejection(
      t.render({ operation: "retry", source: ref("x"), args: ["--entrypoint", "y"] }, firing()),
    );
    expect(err2.message).toBe(
      "argoWorkflow.args.0: unsupported argument '--entrypoint' for retry (sensorbus interprets -p/--parameter, --restart-successful, --node-field-selector)",
    );
  });
});
