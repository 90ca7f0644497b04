import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { validateManifest } from "../../src/config/load.js";

// Renders every kustomization under deploy/ with kubectl's built-in kustomize, validates each
// object against the Kubernetes OpenAPI schemas (kubernetes-models, offline) and checks the
// properties the deployment relies on: probes, ports, selectors, RBAC, NATS cluster routes.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const hasKubectl = spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status === 0;
const hasNatsServer = spawnSync("nats-server", ["--version"], { stdio: "ignore" }).status === 0;
if (!hasKubectl) {
  console.warn("deploy.test.ts: kubectl not found on PATH; rendering tests are skipped");
}

// biome-ignore lint/suspicious/noExplicitAny: rendered YAML is untyped by nature
type Obj = Record<string, any>;

interface Validatable {
  validate(): void;
}
const MODELS: Record<string, new (data: Obj) => Validatable> = {
  "v1/Namespace": Namespace as never,
  "v1/ServiceAccount": ServiceAccount as never,
  "v1/Service": Service as never,
  "v1/ConfigMap": ConfigMap as never,
  "v1/Secret": Secret as never,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy as never,
  "apps/v1/Deployment": Deployment as never,
  "apps/v1/StatefulSet": StatefulSet as never,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget as never,
  "rbac.authorization.k8s.io/v1/Role": Role as never,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding as never,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole as never,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding as never,
};

function render(dir: string): Obj[] {
  const out = execFileSync("kubectl", ["kustomize", join(ROOT, dir)], {
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(out)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${dir}: ${d.errors[0]!.message}`);
      return d.toJSON() as Obj | null;
    })
    .filter((o): o is Obj => o !== null);
}

function one(objs: Obj[], kind: string, name: string): Obj {
  const found = objs.filter((o) => o.kind === kind && o.metadata?.name === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0]!;
}

/** Generated ConfigMaps carry a hash suffix; find one by its generator name. */
function generated(objs: Obj[], name: string): Obj {
  const found = objs.filter(
    (o) => o.kind === "ConfigMap" && new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name),
  );
  expect(found, `generated ConfigMap ${name}`).toHaveLength(1);
  return found[0]!;
}

function container(workload: Obj, name: string): Obj {
  const c = (workload.spec.template.spec.containers as Obj[]).find((x) => x.name === name);
  expect(c, `container ${name}`).toBeDefined();
  return c!;
}

/** A probe's port as a number (named ports resolved against the container). */
function portOf(c: Obj, port: number | string): number {
  if (typeof port === "number") return port;
  const p = (c.ports as Obj[]).find((x) => x.name === port);
  expect(p, `container port named ${port}`).toBeDefined();
  return p!.containerPort as number;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** nats.conf `routes: [ ... ]` URLs. */
function routes(conf: string): string[] {
  const m = /routes\s*:\s*\[([^\]]*)\]/.exec(conf);
  return m ? m[1]!.split(/[\s,]+/).filter((s) => s.startsWith("nats://")) : [];
}

const TARGETS = [
  { dir: "deploy/base", sensorbusReplicas: 2, natsReplicas: 3, mode: "run" },
  { dir: "deploy/overlays/local", sensorbusReplicas: 1, natsReplicas: 1, mode: "run" },
  { dir: "deploy/overlays/production", sensorbusReplicas: 2, natsReplicas: 3, mode: "controller" },
] as const;

describe.skipIf(!hasKubectl).each(TARGETS)("kubectl kustomize $dir", (t) => {
  const objs = hasKubectl ? render(t.dir) : [];
  const deploy = () => one(objs, "Deployment", "sensorbus");
  const nats = () => one(objs, "StatefulSet", "nats");

  it("renders only known kinds, each valid against the Kubernetes schema", () => {
    expect(objs.length).toBeGreaterThan(10);
    for (const o of objs) {
      const id = `${o.apiVersion}/${o.kind}`;
      const Model = MODELS[id];
      expect(Model, `${id} ${o.metadata?.name} has no schema in this test`).toBeDefined();
      // kustomize folds long base64 Secret data over lines; the API server's decoder skips them.
      const obj =
        o.kind === "Secret" && o.data
          ? {
              ...o,
              data: Object.fromEntries(
                Object.entries(o.data as Record<string, string>).map(([k, v]) => [
                  k,
                  v.replace(/\s+/g, ""),
                ]),
              ),
            }
          : o;
      expect(() => new Model!(obj).validate(), `${id} ${o.metadata?.name}`).not.toThrow();
      expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    }
    const kinds = new Set(objs.map((o) => o.kind));
    for (const k of ["ServiceAccount", "Role", "RoleBinding", "Deployment", "StatefulSet"]) {
      expect(kinds, k).toContain(k);
    }
  });

  it("runs sensorbus non-root with a read-only root filesystem, probes and scrape annotations", () => {
    const d = deploy();
    expect(d.spec.replicas).toBe(t.sensorbusReplicas);
    const pod = d.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.serviceAccountName).toBe("sensorbus");
    one(objs, "ServiceAccount", "sensorbus");
    const c = container(d, "sensorbus");
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext.capabilities.drop).toContain("ALL");
    expect(c.resources.requests.cpu).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();

    const metricsPort = Number(c.args[c.args.indexOf("--metrics-port") + 1]);
    expect(metricsPort).toBe(7777);
    // The metrics listener defaults to 127.0.0.1, which the kubelet cannot reach.
    expect(c.args[c.args.indexOf("--listen") + 1]).toBe("0.0.0.0");
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      expect(portOf(c, probe.httpGet.port)).toBe(metricsPort);
    }
    // Issue 19: the console and /api/* are not on the metrics port; without credentials they
    // listen on loopback only, and no container port or Service publishes them.
    const consoleListen = c.args.includes("--console-listen")
      ? c.args[c.args.indexOf("--console-listen") + 1]
      : "127.0.0.1";
    const consoleAuth =
      c.args.includes("--console-token-file") || c.args.includes("--console-basic-auth-file");
    if (!consoleAuth) expect(["127.0.0.1", "::1", "localhost"]).toContain(consoleListen);
    const consolePort = Number(c.args[c.args.indexOf("--console-port") + 1] ?? 7778);
    expect(consolePort).not.toBe(metricsPort);
    if (!consoleAuth) {
      expect((c.ports as Obj[]).map((p) => p.containerPort)).not.toContain(consolePort);
      for (const svc of objs.filter((o) => o.kind === "Service")) {
        for (const p of svc.spec.ports as Obj[]) {
          expect([p.port, p.targetPort]).not.toContain(consolePort);
        }
      }
    }
    const ann = d.spec.template.metadata.annotations;
    expect(ann["prometheus.io/scrape"]).toBe("true");
    expect(Number(ann["prometheus.io/port"])).toBe(metricsPort);
    expect(ann["prometheus.io/path"]).toBe("/metrics");
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(
      Number(c.args[c.args.indexOf("--drain-timeout") + 1]),
    );
  });

  it("points NATS_URL at the NATS client Service, which selects the StatefulSet's pods", () => {
    const env = container(deploy(), "sensorbus").env as Obj[];
    const url = new URL(env.find((e) => e.name === "NATS_URL")!.value as string);
    expect(url.protocol).toBe("nats:");
    const svc = one(objs, "Service", url.hostname);
    expect((svc.spec.ports as Obj[]).map((p) => p.port)).toContain(Number(url.port));
    expect(selects(svc.spec.selector, nats().spec.template.metadata.labels)).toBe(true);
  });

  it("Services and PodDisruptionBudgets select the pods they are meant for", () => {
    const sbLabels = deploy().spec.template.metadata.labels;
    const sb = container(deploy(), "sensorbus");
    const webhook = one(objs, "Service", "sensorbus-webhook");
    expect(selects(webhook.spec.selector, sbLabels)).toBe(true);
    const wp = (webhook.spec.ports as Obj[]).find((p) => p.port === 12000);
    expect(portOf(sb, wp!.targetPort)).toBe(12000);
    const metrics = one(objs, "Service", "sensorbus-metrics");
    expect(portOf(sb, (metrics.spec.ports as Obj[])[0]!.targetPort)).toBe(7777);
    expect(
      selects(one(objs, "PodDisruptionBudget", "sensorbus").spec.selector.matchLabels, sbLabels),
    ).toBe(true);
    const natsPdb = one(objs, "PodDisruptionBudget", "nats");
    expect(selects(natsPdb.spec.selector.matchLabels, nats().spec.template.metadata.labels)).toBe(
      true,
    );
    // With maxUnavailable 1, a drain never takes a 3-node JetStream cluster below quorum.
    expect(natsPdb.spec.maxUnavailable).toBe(1);
  });

  it("grants least privilege: no wildcards, bindings to roles and the service account that exist", () => {
    const roles = objs.filter((o) => o.kind === "Role" || o.kind === "ClusterRole");
    expect(roles.length).toBeGreaterThan(0);
    for (const r of roles) {
      for (const rule of r.rules as Obj[]) {
        for (const field of ["verbs", "resources", "apiGroups"]) {
          expect(rule[field] ?? [], `${r.metadata.name} ${field}`).not.toContain("*");
        }
        expect(rule.verbs).not.toContain("deletecollection");
        expect(rule.resources).not.toContain("secrets");
      }
    }
    const allows = (resource: string, verb: string, group = "argoproj.io") =>
      roles.some((r) =>
        (r.rules as Obj[]).some(
          (x) =>
            x.apiGroups.includes(group) && x.resources.includes(resource) && x.verbs.includes(verb),
        ),
      );
    // Controller mode acts as each Sensor's own service account (impersonation) instead of
    // holding broad create rights itself (issue 20.6); file mode keeps sensorbus's own.
    expect(allows("workflows", "create")).toBe(t.mode === "run");
    expect(allows("workflowtemplates", "get")).toBe(t.mode === "run");
    expect(allows("serviceaccounts", "impersonate", "")).toBe(t.mode === "controller");
    expect(allows("users", "impersonate", "")).toBe(false);
    expect(allows("groups", "impersonate", "")).toBe(false);
    expect(allows("configmaps", "update", "")).toBe(t.mode === "run");
    expect(allows("workflows", "delete")).toBe(false);
    // No delete on every pod, no get/update on every ConfigMap (issue 19.5): only sensorbus's own.
    expect(allows("pods", "delete", "")).toBe(false);
    for (const r of roles) {
      for (const rule of r.rules as Obj[]) {
        if (!rule.resources.includes("configmaps")) continue;
        expect(rule.verbs, `${r.metadata.name} configmaps`).not.toContain("create");
        expect(rule.resourceNames, `${r.metadata.name} configmaps resourceNames`).toEqual([
          "sensorbus-calendar",
        ]);
      }
    }
    if (t.mode === "run") one(objs, "ConfigMap", "sensorbus-calendar");
    for (const v of ["list", "watch"]) {
      expect(allows("eventsources", v)).toBe(true);
      expect(allows("sensors", v)).toBe(true);
    }
    expect(allows("sensors/status", "patch")).toBe(true);
    expect(allows("sensors", "patch")).toBe(false);
    for (const b of objs.filter((o) => o.kind === "RoleBinding")) {
      one(objs, b.roleRef.kind, b.roleRef.name);
      for (const s of b.subjects as Obj[]) {
        expect(s.kind).toBe("ServiceAccount");
        expect(s.namespace).toBe(deploy().metadata.namespace);
        one(objs, "ServiceAccount", s.name);
      }
    }
  });

  it("runs NATS JetStream with persistent storage, cluster routes for every replica", () => {
    const s = nats();
    expect(s.spec.replicas).toBe(t.natsReplicas);
    const c = container(s, "nats");
    expect(c.image).toMatch(/^nats:2\.10(\.\d+)?-alpine$/);
    expect(s.spec.volumeClaimTemplates[0].metadata.name).toBe(
      (c.volumeMounts as Obj[]).find((m) => m.mountPath === "/data")?.name,
    );
    const configVol = (s.spec.template.spec.volumes as Obj[]).find((v) => v.name === "config");
    const cm = generated(objs, "nats-config");
    expect(configVol?.configMap.name).toBe(cm.metadata.name);
    const conf = cm.data["nats.conf"] as string;
    expect(conf).toMatch(/jetstream\s*\{[^}]*store_dir:\s*\/data/);
    const headless = one(objs, "Service", s.spec.serviceName);
    expect(headless.spec.clusterIP).toBe("None");
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    const r = routes(conf);
    if (t.natsReplicas === 1) {
      expect(conf).not.toMatch(/\bcluster\s*\{/);
    } else {
      const clusterPort = portOf(c, "cluster");
      expect(r).toEqual(
        Array.from(
          { length: t.natsReplicas },
          (_, i) => `nats://${s.metadata.name}-${i}.${s.spec.serviceName}:${clusterPort}`,
        ),
      );
    }
  });

  // nats.conf now includes the users from a Secret (issue 19): the check lays the two files out as
  // the StatefulSet mounts them, and a missing users file must stop the server (no anonymous NATS).
  it.skipIf(!hasNatsServer)("nats.conf is accepted by nats-server -t", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-nats-conf-"));
    try {
      const c = container(nats(), "nats");
      const confPath = c.args[c.args.indexOf("--config") + 1] as string;
      const mountOf = (vol: string) =>
        (c.volumeMounts as Obj[]).find((m) => m.name === vol)!.mountPath as string;
      expect(confPath.startsWith(`${mountOf("config")}/`)).toBe(true);
      const conf = generated(objs, "nats-config").data["nats.conf"] as string;
      const include = /^include\s+(\S+)/m.exec(conf)?.[1];
      expect(include, "nats.conf includes the users file").toBeDefined();
      // The include resolves into the Secret volume.
      const authFile = join(mountOf("config"), include!);
      expect(authFile.startsWith(`${mountOf("auth")}/`)).toBe(true);
      const file = join(dir, confPath);
      const check = () =>
        spawnSync("nats-server", ["-t", "-c", file], {
          encoding: "utf8",
          env: { ...process.env, SERVER_NAME: "nats-0" },
        });
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, conf);
      const without = check();
      expect(without.status, "starts without its users file").not.toBe(0);
      const shipped = objs.find(
        (o) => o.kind === "Secret" && o.metadata.name === "nats-server-auth",
      );
      const users = shipped
        ? Buffer.from(shipped.data["auth.conf"] as string, "base64").toString("utf8")
        : 'authorization { users: [ { user: "sensorbus", password: "x" } ] }\n';
      mkdirSync(dirname(join(dir, authFile)), { recursive: true });
      writeFileSync(join(dir, authFile), users);
      const res = check();
      expect(`${res.stdout}${res.stderr}`).toContain("is valid");
      expect(res.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("NATS requires credentials from Secrets; a NetworkPolicy lets only sensorbus reach its client port", () => {
    // sensorbus: user from the Secret, password as a file from the same Secret mounted read-only.
    const d = deploy();
    const c = container(d, "sensorbus");
    const env = c.env as Obj[];
    const user = env.find((e) => e.name === "NATS_USER");
    expect(user?.valueFrom?.secretKeyRef).toEqual({ name: "sensorbus-nats", key: "user" });
    expect(
      env.some((e) => e.name === "NATS_PASSWORD" || /password|token/i.test(e.value ?? "")),
    ).toBe(env.some((e) => e.name === "NATS_PASSWORD_FILE"));
    const pwFile = env.find((e) => e.name === "NATS_PASSWORD_FILE")?.value as string;
    expect(pwFile).toBeDefined();
    const mount = (c.volumeMounts as Obj[]).find((m) => pwFile.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    const vol = (d.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount?.name);
    expect(vol?.secret?.secretName).toBe("sensorbus-nats");
    expect(pwFile.slice(mount!.mountPath.length + 1)).toBe(
      (vol!.secret.items as Obj[] | undefined)?.find((i) => i.key === "password")?.path ??
        "password",
    );
    // NATS: the users file comes from its own Secret.
    const nVol = (nats().spec.template.spec.volumes as Obj[]).find((v) => v.name === "auth");
    expect(nVol?.secret?.secretName).toBe("nats-server-auth");
    // Credentials are committed for the local overlay only; elsewhere the operator creates them.
    const secrets = objs.filter((o) => o.kind === "Secret").map((o) => o.metadata.name as string);
    expect(secrets.sort()).toEqual(
      t.dir === "deploy/overlays/local" ? ["nats-server-auth", "sensorbus-nats"] : [],
    );
    if (t.dir === "deploy/overlays/local") {
      const data = (name: string, key: string) =>
        Buffer.from(one(objs, "Secret", name).data[key] as string, "base64").toString("utf8");
      // The local users file admits exactly the credentials the local sensorbus uses.
      expect(data("nats-server-auth", "auth.conf")).toContain(
        `{ user: "${data("sensorbus-nats", "user")}", password: "${data("sensorbus-nats", "password")}" }`,
      );
    }

    const policy = one(objs, "NetworkPolicy", "nats");
    const natsPod = nats().spec.template.metadata.labels as Record<string, string>;
    const sbPod = d.spec.template.metadata.labels as Record<string, string>;
    expect(selects(policy.spec.podSelector.matchLabels, natsPod)).toBe(true);
    expect(policy.spec.policyTypes).toContain("Ingress");
    const nc = container(nats(), "nats");
    /** Pods (by labels) the policy admits to a container port number, same namespace. */
    const admits = (labels: Record<string, string>, port: number) =>
      (policy.spec.ingress as Obj[]).some(
        (rule) =>
          (rule.ports as Obj[] | undefined)?.some((p) => portOf(nc, p.port) === port) === true &&
          (rule.from as Obj[] | undefined)?.some(
            (peer) =>
              peer.namespaceSelector === undefined &&
              peer.ipBlock === undefined &&
              selects(peer.podSelector?.matchLabels ?? {}, labels) &&
              Object.keys(peer.podSelector?.matchLabels ?? {}).length > 0,
          ) === true,
      );
    // Every rule names its peers and ports: an empty `from` or `ports` would admit everyone.
    for (const rule of policy.spec.ingress as Obj[]) {
      expect((rule.from as Obj[] | undefined)?.length ?? 0).toBeGreaterThan(0);
      expect((rule.ports as Obj[] | undefined)?.length ?? 0).toBeGreaterThan(0);
    }
    const client = portOf(nc, "client");
    expect(admits(sbPod, client)).toBe(true);
    expect(admits({ "app.kubernetes.io/name": "intruder" }, client)).toBe(false);
    expect(admits({}, client)).toBe(false);
    expect(admits(sbPod, portOf(nc, "cluster"))).toBe(false);
    expect(admits(natsPod, portOf(nc, "cluster"))).toBe(true);
  });

  if (t.mode === "run") {
    it("file mode: mounts the manifests ConfigMap where `run` reads it, and the manifests validate", () => {
      const c = container(deploy(), "sensorbus");
      expect(c.args[0]).toBe("run");
      const dir = c.args[1] as string;
      const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === dir);
      const vol = (deploy().spec.template.spec.volumes as Obj[]).find(
        (v) => v.name === mount?.name,
      );
      const cm = generated(objs, "sensorbus-manifests");
      expect(vol?.configMap.name).toBe(cm.metadata.name);
      const files = Object.entries(cm.data as Record<string, string>);
      expect(files.length).toBeGreaterThan(0);
      for (const [key, text] of files) {
        const docs = parseAllDocuments(text).map((d) => d.toJSON() as unknown);
        docs.forEach((doc, i) => {
          const { manifest, problems } = validateManifest(doc, key, i);
          expect(
            problems.filter((p) => p.severity === "error"),
            key,
          ).toEqual([]);
          expect(manifest, key).toBeDefined();
        });
      }
    });
  } else {
    it("controller mode: runs `sensorbus controller` with no manifests volume", () => {
      const c = container(deploy(), "sensorbus");
      expect(c.args[0]).toBe("controller");
      expect((c.volumeMounts as Obj[]).some((m) => m.mountPath.startsWith("/etc/sensorbus"))).toBe(
        false,
      );
      expect(
        objs.some(
          (o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("sensorbus-manifests"),
        ),
      ).toBe(false);
      // Production sizes above the base.
      expect(c.resources.requests.memory).toBe("512Mi");
      expect(container(nats(), "nats").resources.limits.memory).toBe("4Gi");
    });
  }
});
