import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/app/runtime.js";
import type { DeadLetterRecord, SensorObserver } from "../../src/app/sensor-runner.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { formatProblem, loadManifests } from "../../src/config/load.js";
import type { ValueResolver } from "../../src/config/secrets.js";
import { dirResolver } from "../../src/config/secrets.js";
import { type KubeClient, type KubeObject, loadKubeClient } from "../../src/k8s/client.js";
import { clientFor, type KubeAccess } from "../../src/k8s/scope.js";
import type { ArgoWorkflowTrigger } from "../../src/triggers/argo-workflow/index.js";
import { argoWorkflowTrigger } from "../../src/triggers/argo-workflow/runtime.js";
import type { K8sTrigger } from "../../src/triggers/k8s/index.js";
import { k8sTrigger } from "../../src/triggers/k8s/runtime.js";
import { applyParameters } from "../../src/triggers/params.js";
import type { ExecContext, FiringContext } from "../../src/triggers/types.js";
import { FakeKubeApi, type FakeRbac, type FakeResource } from "../support/fake-kube-api.js";
import { rejection } from "../support/firing.js";
import { waitUntil } from "../support/nats-server.js";

/**
 * Each Sensor in its lane and with its own identity, through the real client against the fake
 * API server: firings named by (namespace, Sensor, trigger, events) so two Sensors firing on one
 * event create two objects (issue 20.1); triggers confined to the Sensor's namespace unless the
 * operator allows more (19.5); every call made as the Sensor's or EventSource's service account
 * through impersonation, refused by RBAC where that account has no rights (20.6).
 */

const WF_API = "argoproj.io/v1alpha1";
const LANES = fileURLToPath(new URL("../fixtures/manifests/lanes/", import.meta.url));
const WAIT_MS = 10_000;
const SENSORBUS = "system:serviceaccount:sensorbus:sensorbus";

const CLUSTER_RESOURCES: FakeResource[] = [
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterrolebindings",
    kind: "ClusterRoleBinding",
    namespaced: false,
  },
];

function webhookEvent(id: string, body: unknown): CloudEvent {
  return {
    specversion: "1.0",
    id,
    source: "webhook",
    subject: "example",
    type: "webhook",
    time: "2026-01-01T00:00:00Z",
    datacontenttype: "application/json",
    data: JSON.stringify({ header: {}, body }),
  };
}

const noValues: ValueResolver = {
  secret: () => Promise.reject(new Error("no secrets")),
  configMap: () => Promise.reject(new Error("no configmaps")),
};

function firing(
  sensor: string,
  trigger: string,
  ids: string[],
  namespace = "team-a",
): FiringContext {
  const events = new Map<string, CloudEvent>(
    ids.map((id, i) => [i === 0 ? "dep" : `dep${i}`, webhookEvent(id, { message: "hello" })]),
  );
  return {
    sensorName: sensor,
    namespace,
    triggerName: trigger,
    events,
    applyParameters: (doc, params) => applyParameters(doc, params, events),
    values: noValues,
    log: pino({ level: "silent" }),
    now: () => 1_767_225_600_000,
  };
}

const exec = (): ExecContext => ({
  log: pino({ level: "silent" }),
  signal: new AbortController().signal,
});

const workflowTemplate = (metadata: Record<string, unknown>): K8sTrigger => ({
  operation: "create",
  source: {
    resource: {
      apiVersion: WF_API,
      kind: "Workflow",
      metadata,
      spec: { entrypoint: "main", templates: [{ name: "main", container: { image: "alpine" } }] },
    },
  },
});

const annotation = (o: { metadata?: Record<string, unknown> } | undefined, key: string) =>
  (o?.metadata?.annotations as Record<string, string> | undefined)?.[key];

interface Outcome {
  fired: Array<{ sensor: string; trigger: string; summary: string }>;
  failed: Array<{ sensor: string; trigger: string; error: string; final: boolean }>;
  dead: DeadLetterRecord[];
}

/** Runs manifests (files or YAML texts) in one process on the memory bus against `kube`. */
async function startRuntime(
  paths: string[],
  kube: KubeClient,
  kubeAccess?: KubeAccess,
): Promise<{ runtime: Runtime; outcome: Outcome }> {
  const loaded = await loadManifests(paths);
  expect(loaded.problems.filter((p) => p.severity === "error").map(formatProblem)).toEqual([]);
  const outcome: Outcome = { fired: [], failed: [], dead: [] };
  const observer: SensorObserver = {
    fired: (i) => outcome.fired.push({ sensor: i.sensor, trigger: i.trigger, summary: i.summary }),
    failed: (i) =>
      outcome.failed.push({ sensor: i.sensor, trigger: i.trigger, error: i.error, final: i.final }),
  };
  const runtime = await Runtime.start({
    loaded,
    busUrl: undefined,
    kube,
    ...(kubeAccess ? { kubeAccess } : {}),
    dryRun: false,
    values: dirResolver({}),
    log: pino({ level: "silent" }),
    observer,
    deadLetter: async (r) => {
      outcome.dead.push(r);
    },
  });
  return { runtime, outcome };
}

function manifestDir(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), "sb-lanes-"));
  return Object.entries(files).map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  });
}

/** A Sensor in `namespace` on webhook/example with one k8s create trigger of `resource`. */
function sensorYaml(opts: {
  name: string;
  namespace: string;
  serviceAccountName?: string;
  resource: Record<string, unknown>;
  parameters?: unknown[];
  kind?: "k8s" | "argoWorkflow";
}): string {
  const template = opts.serviceAccountName
    ? { serviceAccountName: opts.serviceAccountName }
    : undefined;
  const kind = opts.kind ?? "k8s";
  return JSON.stringify({
    apiVersion: WF_API,
    kind: "Sensor",
    metadata: { name: opts.name, namespace: opts.namespace },
    spec: {
      ...(template ? { template } : {}),
      dependencies: [{ name: "dep", eventSourceName: "webhook", eventName: "example" }],
      triggers: [
        {
          template: {
            name: "make",
            [kind]: {
              ...(kind === "k8s" ? { operation: "create" } : { operation: "submit" }),
              source: { resource: opts.resource },
              ...(opts.parameters ? { parameters: opts.parameters } : {}),
            },
          },
        },
      ],
    },
  });
}

describe("two Sensors, one event (issue 20.1)", () => {
  let api: FakeKubeApi;
  let kube: KubeClient;
  let runtime: Runtime | undefined;

  beforeAll(async () => {
    api = await new FakeKubeApi().start();
    kube = (await loadKubeClient({ kubeconfigYaml: api.kubeconfigYaml("team-a") }))!;
  });
  afterEach(async () => {
    await runtime?.stop(5_000);
    runtime = undefined;
  });
  afterAll(async () => {
    kube.close();
    await api.stop();
  });

  it("creates one Workflow per Sensor when both Sensors' triggers share name and generateName", async () => {
    const started = await startRuntime(
      [`${LANES}greeting-sensor.yaml`, `${LANES}amount-sensor.yaml`],
      kube,
    );
    runtime = started.runtime;
    await runtime.bus.publish(webhookEvent("evt-two-sensors", { message: "hello", value: 50 }));
    await waitUntil(
      () => started.outcome.fired.length + started.outcome.failed.length >= 2,
      "both Sensors' firings",
      WAIT_MS,
    );
    expect(started.outcome.failed).toEqual([]);
    const wfs = api
      .objects(WF_API, "Workflow")
      .filter((o) => annotation(o, "sensorbus.io/event-ids") === "evt-two-sensors");
    expect(wfs).toHaveLength(2);
    expect(new Set(wfs.map((o) => o.metadata?.name)).size).toBe(2);
    for (const o of wfs) expect(o.metadata?.name).toMatch(/^data-workflow-[0-9a-f]{10}$/);
    expect(wfs.map((o) => annotation(o, "sensorbus.io/sensor")).sort()).toEqual([
      "team-a/amount-sensor",
      "team-a/greeting-sensor",
    ]);
    const values = wfs
      .map(
        (o) =>
          (o.spec as { arguments: { parameters: Array<{ value: string }> } }).arguments
            .parameters[0]?.value,
      )
      .sort();
    expect(values).toEqual(["50", "hello"]);
    for (const f of started.outcome.fired) expect(f.summary).not.toMatch(/already/);
  });

  it("a true redelivery of the same firing still creates one object per Sensor", async () => {
    const t = k8sTrigger(kube, { dryRun: false, log: pino({ level: "silent" }) });
    const tpl = workflowTemplate({ generateName: "redelivered-" });
    const results = [];
    for (const sensor of ["sensor-one", "sensor-two", "sensor-one", "sensor-two"]) {
      const r = await t.render(tpl, firing(sensor, "data-workflow", ["evt-r"]));
      results.push(await t.execute(r, exec()));
    }
    expect(results.map((r) => r.detail?.alreadyDone)).toEqual([false, false, true, true]);
    const made = api
      .objects(WF_API, "Workflow")
      .filter((o) => o.metadata?.name?.startsWith("redelivered-"));
    expect(made).toHaveLength(2);
  });

  it("argoWorkflow submit: two Sensors, two Workflows; the redelivery is already done", async () => {
    const t = argoWorkflowTrigger(kube, { dryRun: false, log: pino({ level: "silent" }) });
    const tpl: ArgoWorkflowTrigger = {
      operation: "submit",
      source: {
        resource: {
          apiVersion: WF_API,
          kind: "Workflow",
          metadata: { generateName: "submitted-" },
          spec: { entrypoint: "main" },
        },
      },
    };
    const summaries = [];
    for (const sensor of ["s-left", "s-right", "s-right"]) {
      const r = await t.render(tpl, firing(sensor, "shared", ["evt-s"]));
      summaries.push((await t.execute(r, exec())).summary);
    }
    expect(summaries[0]).toMatch(/^created Workflow team-a\/submitted-/);
    expect(summaries[1]).toMatch(/^created Workflow team-a\/submitted-/);
    expect(summaries[2]).toMatch(/already done/);
    expect(
      api.objects(WF_API, "Workflow").filter((o) => o.metadata?.name?.startsWith("submitted-")),
    ).toHaveLength(2);
  });

  it("a derived name held by a foreign object resolves to another name, as generateName would", async () => {
    const t = k8sTrigger(kube, { dryRun: false, log: pino({ level: "silent" }) });
    const tpl = workflowTemplate({ generateName: "taken-" });
    const ctx = () => firing("sensor-x", "data-workflow", ["evt-taken"]);
    const r = await t.render(tpl, ctx());
    const derived = (r.payload as KubeObject).metadata.name!;
    api.seed({
      apiVersion: WF_API,
      kind: "Workflow",
      metadata: { name: derived, namespace: "team-a" },
    });
    const first = await t.execute(r, exec());
    expect(first.detail?.alreadyDone).toBe(false);
    expect(first.summary).toMatch(/held by another object/);
    const again = await t.execute(await t.render(tpl, ctx()), exec());
    expect(again.detail?.alreadyDone).toBe(true);
    const mine = api
      .objects(WF_API, "Workflow")
      .filter((o) => annotation(o, "sensorbus.io/event-ids") === "evt-taken");
    expect(mine).toHaveLength(1);
    expect(mine[0]!.metadata?.name).not.toBe(derived);
  });

  it("a fixed name another Sensor's firing created fails for good (Argo: AlreadyExists is a failure)", async () => {
    const t = k8sTrigger(kube, { dryRun: false, log: pino({ level: "silent" }) });
    const tpl = workflowTemplate({ name: "fixed-name" });
    await t.execute(await t.render(tpl, firing("owner", "data-workflow", ["evt-f"])), exec());
    const err = await rejection(
      t.execute(await t.render(tpl, firing("intruder", "data-workflow", ["evt-f"])), exec()),
    );
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("409 AlreadyExists");
    expect(err.message).toContain("created by Sensor team-a/owner");
    // The owner's own redelivery is still already done.
    const again = await t.execute(
      await t.render(tpl, firing("owner", "data-workflow", ["evt-f"])),
      exec(),
    );
    expect(again.detail?.alreadyDone).toBe(true);
  });
});

describe("every Sensor in its lane (issue 19.5)", () => {
  let api: FakeKubeApi;
  let kube: KubeClient;
  let runtime: Runtime | undefined;
  const confined: KubeAccess = {
    impersonate: false,
    confine: { allowNamespaces: [], allowClusterScoped: [] },
  };

  beforeAll(async () => {
    api = await new FakeKubeApi({
      resources: [
        ...(await import("../support/fake-kube-api.js")).DEFAULT_RESOURCES,
        ...CLUSTER_RESOURCES,
      ],
    }).start();
    kube = (await loadKubeClient({ kubeconfigYaml: api.kubeconfigYaml("sensorbus") }))!;
  });
  afterEach(async () => {
    await runtime?.stop(5_000);
    runtime = undefined;
  });
  afterAll(async () => {
    kube.close();
    await api.stop();
  });

  const hostile = () =>
    manifestDir({
      "configmap.json": sensorYaml({
        name: "to-team-b",
        namespace: "team-a",
        resource: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "planted", namespace: "team-b" },
          data: { x: "1" },
        },
      }),
      "crb.json": sensorYaml({
        name: "cluster-admin",
        namespace: "team-a",
        resource: {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name: "team-a-is-admin" },
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: "cluster-admin",
          },
          subjects: [{ kind: "ServiceAccount", name: "default", namespace: "team-a" }],
        },
      }),
      "event-ns.json": sensorYaml({
        name: "event-chooses",
        namespace: "team-a",
        kind: "argoWorkflow",
        resource: {
          apiVersion: WF_API,
          kind: "Workflow",
          metadata: { generateName: "chosen-" },
          spec: { entrypoint: "main", serviceAccountName: "default" },
        },
        parameters: [
          { src: { dependencyName: "dep", dataKey: "body.ns" }, dest: "metadata.namespace" },
          { src: { dependencyName: "dep", dataKey: "body.sa" }, dest: "spec.serviceAccountName" },
        ],
      }),
      "own.json": sensorYaml({
        name: "own-lane",
        namespace: "team-a",
        resource: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { generateName: "own-" },
          data: { x: "1" },
        },
      }),
    });

  async function fireAll(access: KubeAccess | undefined, id: string): Promise<Outcome> {
    const started = await startRuntime(hostile(), kube, access);
    runtime = started.runtime;
    await runtime.bus.publish(webhookEvent(id, { ns: "kube-system", sa: "argo-server" }));
    await waitUntil(
      () => started.outcome.fired.length + started.outcome.dead.length >= 4,
      "four firings to end",
      WAIT_MS,
    );
    return started.outcome;
  }

  it("refuses another namespace, a cluster-scoped object and an event-chosen namespace; its own works", async () => {
    const outcome = await fireAll(confined, "evt-lanes-1");
    const dead = Object.fromEntries(outcome.dead.map((d) => [d.sensor, d.error]));
    expect(Object.keys(dead).sort()).toEqual(["cluster-admin", "event-chooses", "to-team-b"]);
    expect(dead["to-team-b"]).toMatch(
      /Sensor team-a\/to-team-b: create ConfigMap planted in namespace team-b refused/,
    );
    expect(dead["cluster-admin"]).toMatch(
      /create ClusterRoleBinding team-a-is-admin refused: ClusterRoleBinding is cluster-scoped.*--allow-cluster-scoped-triggers ClusterRoleBinding/,
    );
    expect(dead["event-chooses"]).toMatch(/in namespace kube-system refused/);
    expect(outcome.failed.filter((f) => f.final)).toHaveLength(3);
    expect(outcome.fired.map((f) => f.sensor)).toEqual(["own-lane"]);
    expect(api.object("v1", "ConfigMap", "team-b", "planted")).toBeUndefined();
    expect(
      api.object(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        undefined,
        "team-a-is-admin",
      ),
    ).toBeUndefined();
    expect(
      api.objects(WF_API, "Workflow").filter((o) => o.metadata?.namespace === "kube-system"),
    ).toEqual([]);
    // Nothing refused ever reached the API server.
    const posts = api.apiRequests().filter((r) => r.method === "POST");
    expect(posts.map((r) => r.path)).toEqual(["/api/v1/namespaces/team-a/configmaps"]);
  });

  it("a refusal is a final trigger error with code SB_ERR_TRIGGER_K8S_SCOPE, checked after parameters", async () => {
    const client = clientFor(kube, confined, {
      kind: "Sensor",
      namespace: "team-a",
      name: "param-ns",
      spec: {},
    });
    const t = k8sTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });
    const tpl: K8sTrigger = {
      ...workflowTemplate({ generateName: "p-" }),
      parameters: [
        { src: { dependencyName: "dep", value: "kube-system" }, dest: "metadata.namespace" },
      ],
    };
    const r = await t.render(tpl, firing("param-ns", "make", ["evt-p"]));
    expect((r.payload as KubeObject).metadata.namespace).toBe("kube-system");
    api.clearRequests();
    const err = await rejection(t.execute(r, exec()));
    expect(err.code).toBe("SB_ERR_TRIGGER_K8S_SCOPE");
    expect(err.retryable).toBe(false);
    expect(api.apiRequests()).toEqual([]);
  });

  it("allows what the operator allows: another namespace, a cluster-scoped kind", async () => {
    api.clearRequests();
    const outcome = await fireAll(
      {
        impersonate: false,
        confine: { allowNamespaces: ["team-b"], allowClusterScoped: ["ClusterRoleBinding"] },
      },
      "evt-lanes-2",
    );
    expect(outcome.fired.map((f) => f.sensor).sort()).toEqual([
      "cluster-admin",
      "own-lane",
      "to-team-b",
    ]);
    expect(outcome.dead.map((d) => d.sensor)).toEqual(["event-chooses"]);
    expect(api.object("v1", "ConfigMap", "team-b", "planted")).toBeDefined();
  });
});

describe("each Sensor's identity (issue 20.6)", () => {
  const rbac: FakeRbac = {
    tokenUser: SENSORBUS,
    rules: [
      // sensorbus may act as the service accounts of team-a and team-b, and (as the base RBAC
      // once did) create Workflows and ConfigMaps anywhere itself.
      {
        subject: SENSORBUS,
        apiGroups: [""],
        resources: ["serviceaccounts"],
        verbs: ["impersonate"],
        namespaces: ["team-a", "team-b"],
      },
      {
        subject: SENSORBUS,
        apiGroups: ["argoproj.io", ""],
        resources: ["workflows", "configmaps"],
        verbs: ["create", "get", "list", "watch"],
      },
      // team A's Sensor account: Workflows in team-a only.
      {
        subject: "system:serviceaccount:team-a:team-a-sensor",
        apiGroups: ["argoproj.io"],
        resources: ["workflows"],
        verbs: ["create", "get"],
        namespaces: ["team-a"],
      },
      // Every service account of team-b (a group binding): ConfigMaps in team-b.
      {
        subject: "system:serviceaccounts:team-b",
        apiGroups: [""],
        resources: ["configmaps"],
        verbs: ["create", "get", "list", "watch"],
        namespaces: ["team-b"],
      },
    ],
  };
  const access: KubeAccess = {
    impersonate: true,
    // Confinement opened up: only the service account's RBAC decides here.
    confine: { allowNamespaces: ["*"], allowClusterScoped: [] },
  };
  let api: FakeKubeApi;
  let kube: KubeClient;
  let runtime: Runtime | undefined;

  beforeAll(async () => {
    api = await new FakeKubeApi({ rbac }).start();
    kube = (await loadKubeClient({ kubeconfigYaml: api.kubeconfigYaml("sensorbus") }))!;
  });
  afterEach(async () => {
    await runtime?.stop(5_000);
    runtime = undefined;
  });
  afterAll(async () => {
    kube.close();
    await api.stop();
  });

  const workflowIn = (ns: string) => ({
    apiVersion: WF_API,
    kind: "Workflow",
    metadata: { generateName: "team-a-wf-", namespace: ns },
    spec: { entrypoint: "main" },
  });

  it("team A's Sensor is refused in team B's namespace and allowed in its own", async () => {
    api.clearRequests();
    const started = await startRuntime(
      manifestDir({
        "mine.json": sensorYaml({
          name: "a-home",
          namespace: "team-a",
          serviceAccountName: "team-a-sensor",
          resource: workflowIn("team-a"),
        }),
        "theirs.json": sensorYaml({
          name: "a-abroad",
          namespace: "team-a",
          serviceAccountName: "team-a-sensor",
          resource: workflowIn("team-b"),
        }),
      }),
      kube,
      access,
    );
    runtime = started.runtime;
    await runtime.bus.publish(webhookEvent("evt-id-1", { message: "hello" }));
    await waitUntil(
      () => started.outcome.fired.length + started.outcome.dead.length >= 2,
      "both firings to end",
      WAIT_MS,
    );
    expect(started.outcome.fired.map((f) => f.sensor)).toEqual(["a-home"]);
    expect(started.outcome.dead.map((d) => d.sensor)).toEqual(["a-abroad"]);
    expect(started.outcome.dead[0]!.error).toContain(
      '403 Forbidden: workflows.argoproj.io is forbidden: User "system:serviceaccount:team-a:team-a-sensor" cannot create resource "workflows" in API group "argoproj.io" in the namespace "team-b"',
    );
    expect(started.outcome.failed.find((f) => f.sensor === "a-abroad")?.final).toBe(true);
    const posts = api.apiRequests().filter((r) => r.method === "POST");
    expect(posts).toHaveLength(2);
    for (const p of posts)
      expect(p.headers["impersonate-user"]).toBe("system:serviceaccount:team-a:team-a-sensor");
    // Groups are left to the API server (derived from the service account name).
    for (const p of posts) expect(p.headers["impersonate-group"]).toBeUndefined();
    const wfs = api.objects(WF_API, "Workflow");
    expect(wfs.map((o) => o.metadata?.namespace)).toEqual(["team-a"]);
  });

  it("a Sensor without serviceAccountName acts as its namespace's default account (its groups' grants apply)", async () => {
    api.clearRequests();
    const started = await startRuntime(
      manifestDir({
        "b.json": sensorYaml({
          name: "b-default",
          namespace: "team-b",
          resource: { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "b-" } },
        }),
      }),
      kube,
      access,
    );
    runtime = started.runtime;
    await runtime.bus.publish(webhookEvent("evt-id-2", { message: "hello" }));
    await waitUntil(
      () => started.outcome.fired.length + started.outcome.dead.length >= 1,
      "the firing",
      WAIT_MS,
    );
    expect(started.outcome.dead).toEqual([]);
    const post = api.apiRequests().find((r) => r.method === "POST");
    expect(post?.headers["impersonate-user"]).toBe("system:serviceaccount:team-b:default");
  });

  it("a service account sensorbus may not impersonate: 403 from the API server, final", async () => {
    const client = clientFor(kube, access, {
      kind: "Sensor",
      namespace: "team-c",
      name: "c",
      spec: { template: { serviceAccountName: "c-sa" } },
    });
    const t = k8sTrigger(client, { dryRun: false, log: pino({ level: "silent" }) });
    const r = await t.render(
      workflowTemplate({ generateName: "c-" }),
      firing("c", "make", ["evt-c"], "team-c"),
    );
    const err = await rejection(t.execute(r, exec()));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(
      `serviceaccounts "c-sa" is forbidden: User "${SENSORBUS}" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "team-c"`,
    );
  });

  it("the resource EventSource watches as the EventSource's service account", async () => {
    api.clearRequests();
    const es = JSON.stringify({
      apiVersion: WF_API,
      kind: "EventSource",
      metadata: { name: "cm-watch", namespace: "team-b" },
      spec: {
        template: { serviceAccountName: "watcher" },
        resource: {
          cms: {
            namespace: "team-b",
            group: "",
            version: "v1",
            resource: "configmaps",
            eventTypes: ["ADD"],
          },
        },
      },
    });
    const started = await startRuntime(manifestDir({ "es.json": es }), kube, access);
    runtime = started.runtime;
    await waitUntil(
      () => api.requests.some((r) => r.path === "/api/v1/namespaces/team-b/configmaps"),
      "the EventSource's list or watch",
      WAIT_MS,
    );
    const calls = api
      .apiRequests()
      .filter((r) => r.path === "/api/v1/namespaces/team-b/configmaps");
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls)
      expect(c.headers["impersonate-user"]).toBe("system:serviceaccount:team-b:watcher");
  });
});
