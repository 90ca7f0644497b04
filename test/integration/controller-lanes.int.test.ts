import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ARGO_EVENTS_RESOURCES, FakeKubeApi, type FakeRbac } from "../support/fake-kube-api.js";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { spawnSensorbus } from "../support/sensorbus-process.js";

/**
 * The probes against `sensorbus controller` itself (built CLI, fake API server with RBAC
 * and impersonation): in one namespace, two Sensors sharing a trigger name and generateName on
 * one webhook event, a Sensor writing a ConfigMap into another namespace, one binding
 * cluster-admin, one whose Workflow namespace comes from the event. sensorbus's own account holds
 * broad rights here (as the old base RBAC did), and team-a's accounts too: only the lane and the
 * Sensor's own identity stand between the Sensors and the cluster.
 */

const NS = "team-a";
const API = "argoproj.io/v1alpha1";
const LANES = fileURLToPath(new URL("../fixtures/manifests/lanes/", import.meta.url));
const SENSORBUS = `system:serviceaccount:${NS}:sensorbus`;

const rbac: FakeRbac = {
  tokenUser: SENSORBUS,
  rules: [
    {
      subject: SENSORBUS,
      apiGroups: ["argoproj.io"],
      resources: ["sensors", "eventsources", "sensors/status", "eventsources/status"],
      verbs: ["get", "list", "watch", "patch", "update"],
      namespaces: [NS],
    },
    {
      subject: SENSORBUS,
      apiGroups: [""],
      resources: ["serviceaccounts"],
      verbs: ["impersonate"],
      namespaces: [NS],
    },
    // What the old base RBAC (and worse) gave sensorbus itself: not used any more.
    {
      subject: SENSORBUS,
      apiGroups: ["*"],
      resources: ["*"],
      verbs: ["create", "get", "list", "watch"],
    },
    // team-a's Sensor account creates Workflows in team-a.
    {
      subject: `system:serviceaccount:${NS}:team-a-sensor`,
      apiGroups: ["argoproj.io"],
      resources: ["workflows"],
      verbs: ["create", "get"],
      namespaces: [NS],
    },
    // Every account of team-a may even write elsewhere: the lane still refuses it.
    {
      subject: `system:serviceaccounts:${NS}`,
      apiGroups: ["*"],
      resources: ["*"],
      verbs: ["create", "get"],
    },
  ],
};

function sensor(name: string, trigger: Record<string, unknown>) {
  return {
    apiVersion: API,
    kind: "Sensor",
    metadata: { name, namespace: NS },
    spec: {
      dependencies: [{ name: "dep", eventSourceName: "webhook", eventName: "example" }],
      triggers: [{ template: { name: "make", ...trigger } }],
    },
  };
}

it("controller: two Sensors make two Workflows as their own account; out-of-lane objects are refused", async () => {
  const fake = await new FakeKubeApi({
    rbac,
    resources: [
      ...ARGO_EVENTS_RESOURCES,
      {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        resource: "clusterrolebindings",
        kind: "ClusterRoleBinding",
        namespaced: false,
      },
    ],
  }).start();
  const port = await freePort();
  fake.seed({
    apiVersion: API,
    kind: "EventSource",
    metadata: { name: "webhook", namespace: NS },
    spec: { webhook: { example: { port: String(port), endpoint: "/example", method: "POST" } } },
  });
  for (const f of ["greeting-sensor.yaml", "amount-sensor.yaml"])
    fake.seed(parseYaml(readFileSync(join(LANES, f), "utf8")));
  fake.seed(
    sensor("to-team-b", {
      k8s: {
        operation: "create",
        source: {
          resource: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "planted", namespace: "team-b" },
            data: { x: "1" },
          },
        },
      },
    }),
  );
  fake.seed(
    sensor("cluster-admin", {
      k8s: {
        operation: "create",
        source: {
          resource: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: "team-a-is-admin" },
            roleRef: {
              apiGroup: "rbac.authorization.k8s.io",
              kind: "ClusterRole",
              name: "cluster-admin",
            },
            subjects: [{ kind: "ServiceAccount", name: "default", namespace: NS }],
          },
        },
      },
    }),
  );
  fake.seed(
    sensor("event-chooses", {
      argoWorkflow: {
        operation: "submit",
        source: {
          resource: {
            apiVersion: API,
            kind: "Workflow",
            metadata: { generateName: "chosen-" },
            spec: { entrypoint: "main" },
          },
        },
        parameters: [
          { src: { dependencyName: "dep", dataKey: "body.ns" }, dest: "metadata.namespace" },
          {
            src: { dependencyName: "dep", dataKey: "body.sa" },
            dest: "spec.serviceAccountName",
          },
        ],
      },
    }),
  );

  const dir = mkdtempSync(join(tmpdir(), "sb-controller-lanes-"));
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, fake.kubeconfigYaml(NS));
  const child = spawnSensorbus(
    ["controller", "--kubeconfig", kubeconfig, "--namespace", NS, "--bus", "memory"],
    { env: { SENSORBUS_WEBHOOK_HOST: "127.0.0.1" }, keep: Number.POSITIVE_INFINITY },
  );
  const exited = child.exited;
  const workflows = () => fake.objects(API, "Workflow");
  try {
    await waitUntil(
      async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
        } catch {
          return false;
        }
      },
      "the webhook EventSource",
      20_000,
    );
    // Every Sensor is running once its status says so.
    await waitUntil(
      () =>
        ["greeting-sensor", "amount-sensor", "to-team-b", "cluster-admin", "event-chooses"].every(
          (n) =>
            (
              fake.object(API, "Sensor", NS, n) as
                | { status?: { conditions?: Array<{ type: string; status: string }> } }
                | undefined
            )?.status?.conditions?.some((c) => c.type === "Deployed" && c.status === "True"),
        ),
      "every Sensor deployed",
      20_000,
    );
    fake.clearRequests();
    const res = await fetch(`http://127.0.0.1:${port}/example`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: "hello", value: 50, ns: "kube-system", sa: "argo-server" }),
    });
    expect(res.status).toBe(200);
    await waitUntil(
      () =>
        workflows().length >= 2 &&
        ["to-team-b", "cluster-admin", "event-chooses"].every((n) =>
          child.output().includes(`Sensor ${NS}/${n}: `),
        ),
      "two Workflows and three refusals",
      20_000,
    );

    // Two Sensors, one event: two Workflows, each created as the Sensor's own account.
    const wfs = workflows();
    expect(wfs).toHaveLength(2);
    expect(wfs.map((w) => w.metadata?.namespace)).toEqual([NS, NS]);
    expect(new Set(wfs.map((w) => w.metadata?.name)).size).toBe(2);
    const posts = fake.apiRequests().filter((r) => r.method === "POST");
    expect(posts.map((p) => p.path)).toEqual([
      `/apis/argoproj.io/v1alpha1/namespaces/${NS}/workflows`,
      `/apis/argoproj.io/v1alpha1/namespaces/${NS}/workflows`,
    ]);
    for (const p of posts)
      expect(p.headers["impersonate-user"]).toBe(`system:serviceaccount:${NS}:team-a-sensor`);

    // Out of lane: refused before any request, with the reason in the log.
    expect(child.output()).toContain(
      `Sensor ${NS}/to-team-b: create ConfigMap planted in namespace team-b refused`,
    );
    expect(child.output()).toContain(
      `Sensor ${NS}/cluster-admin: create ClusterRoleBinding team-a-is-admin refused: ClusterRoleBinding is cluster-scoped`,
    );
    expect(child.output()).toContain(`Sensor ${NS}/event-chooses: create Workflow chosen-`);
    expect(child.output()).toMatch(
      /event-chooses: create Workflow chosen-[0-9a-f]{10} in namespace kube-system refused/,
    );
    expect(fake.object("v1", "ConfigMap", "team-b", "planted")).toBeUndefined();
    expect(fake.objects("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")).toEqual([]);

    child.proc.kill("SIGTERM");
    expect(await exited).toBe(0);
  } catch (err) {
    console.error(child.output().slice(-4000));
    throw err;
  } finally {
    child.proc.kill("SIGKILL");
    await exited;
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
