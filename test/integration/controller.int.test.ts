import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { stringify as stringifyYaml } from "yaml";
import type { ManifestHost, StatusCondition } from "../../src/app/controller.js";
import {
  ARGO_EVENTS_API,
  ManifestReconciler,
  RunnerHost,
  runController,
} from "../../src/app/controller.js";
import { Diagnostics } from "../../src/app/diagnostics.js";
import { loadExplanation } from "../../src/app/explain.js";
import type { RunnerHostOptions } from "../../src/app/host.js";
import { watchManifestFiles } from "../../src/app/reload.js";
import { loadManifests } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { Loaded, Manifest } from "../../src/config/types.js";
import { createBus } from "../../src/eventbus/index.js";
import { MemoryBus } from "../../src/eventbus/memory.js";
import type { EventBus } from "../../src/eventbus/types.js";
import type { KubeClient, KubeList, KubeObject, WatchEventType } from "../../src/k8s/client.js";
import { loadKubeClient } from "../../src/k8s/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import { ARGO_EVENTS_RESOURCES, FakeKubeApi } from "../support/fake-kube-api.js";
import { startNatsServer, waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { spawnSensorbus } from "../support/sensorbus-process.js";

// Controller mode against the fake API server with real list+watch streams (chunked JSON lines),
// running EventSources and Sensors in-process on the in-memory bus.

const NS = "events";
const log = silentLogger();
const SN_PATH = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/sensors`;

function webhookSource(name: string, port: number, endpoint = "/example") {
  return {
    apiVersion: ARGO_EVENTS_API,
    kind: "EventSource",
    metadata: { name, namespace: NS },
    spec: { webhook: { example: { port: String(port), endpoint, method: "POST" } } },
  };
}

function logSensor(name: string, triggerName = "log-it", eventSourceName = "hooks") {
  return {
    apiVersion: ARGO_EVENTS_API,
    kind: "Sensor",
    metadata: { name, namespace: NS },
    spec: {
      dependencies: [{ name: "dep", eventSourceName, eventName: "example" }],
      triggers: [{ template: { name: triggerName, log: {} } }],
    },
  };
}

async function health(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    return res.ok;
  } catch {
    return false;
  }
}

async function post(port: number, path: string, body: unknown): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/** A host that owns `bus` and renders Kubernetes triggers to the log. */
function dryRunHost(bus: EventBus, extra: Partial<RunnerHostOptions> = {}): RunnerHost {
  return new RunnerHost({
    bus,
    ownsBus: true,
    kube: undefined,
    dryRun: true,
    values: dirResolver({}),
    log,
    ...extra,
  });
}

/** POSTs `body` to the webhook's /example, expects 200 and returns the X-Event-Id. */
async function postForId(port: number, body: unknown): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/example`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  const id = res.headers.get("x-event-id");
  expect(id).toMatch(/^[0-9a-f]{32}$/);
  return id!;
}

/** A retry sleep the test releases by hand: the controller is parked while the test acts. */
class RetryGate {
  calls = 0;
  private waiting: Array<() => void> = [];
  readonly sleep = (_ms: number, signal: AbortSignal) =>
    new Promise<boolean>((resolve) => {
      this.calls++;
      this.waiting.push(() => resolve(!signal.aborted));
      signal.addEventListener("abort", () => resolve(false), { once: true });
    });
  release(): void {
    for (const r of this.waiting.splice(0)) r();
  }
}

function conditions(fake: FakeKubeApi, kind: string, name: string): StatusCondition[] {
  const o = fake.object(ARGO_EVENTS_API, kind, NS, name) as
    | { status?: { conditions?: StatusCondition[] } }
    | undefined;
  return o?.status?.conditions ?? [];
}

function condition(fake: FakeKubeApi, kind: string, name: string, type: string) {
  return conditions(fake, kind, name).find((c) => c.type === type);
}

function watchRequests(fake: FakeKubeApi, path: string) {
  return fake.requests.filter((r) => r.path === path && r.query.get("watch") === "true");
}

function listRequests(fake: FakeKubeApi, path: string) {
  return fake.requests.filter(
    (r) => r.method === "GET" && r.path === path && r.query.get("watch") !== "true",
  );
}

interface Harness {
  fake: FakeKubeApi;
  kube: KubeClient;
  host: RunnerHost;
  applied: string[];
  fired: string[];
  gate: RetryGate;
  stop: () => Promise<void>;
  done: Promise<void>;
}

const previousHost = process.env.SENSORBUS_WEBHOOK_HOST;
beforeAll(() => {
  process.env.SENSORBUS_WEBHOOK_HOST = "127.0.0.1";
});
afterAll(() => {
  if (previousHost === undefined) delete process.env.SENSORBUS_WEBHOOK_HOST;
  else process.env.SENSORBUS_WEBHOOK_HOST = previousHost;
});

async function startHarness(
  seed: (fake: FakeKubeApi) => void,
  opts: { watchTimeoutSeconds?: number } = {},
): Promise<Harness> {
  const fake = await new FakeKubeApi({ resources: ARGO_EVENTS_RESOURCES }).start();
  seed(fake);
  const kube = (await loadKubeClient({ kubeconfigYaml: fake.kubeconfigYaml(NS) }))!;
  const fired: string[] = [];
  const bus = new MemoryBus();
  const host = dryRunHost(bus, {
    observer: { fired: ({ sensor, trigger }) => fired.push(`${sensor}/${trigger}`) },
  });
  const gate = new RetryGate();
  const abort = new AbortController();
  const applied: string[] = [];
  // Delegates to the real host, recording the order of applies.
  const recording: ManifestHost = {
    apply: async (l) => {
      applied.push(`${l.manifest.kind}/${l.manifest.metadata.name}`);
      await host.apply(l);
    },
    remove: (kind, name) => host.remove(kind, name),
    isRunning: (kind, name) => host.isRunning(kind, name),
    close: (ms) => host.close(ms),
  };
  const done = runController({
    kube,
    namespace: NS,
    runtimeFactory: () => recording,
    log,
    signal: abort.signal,
    drainTimeoutMs: 5_000,
    watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 60,
    sleep: gate.sleep,
  });
  return {
    fake,
    kube,
    host,
    applied,
    fired,
    gate,
    done,
    stop: async () => {
      abort.abort();
      await done;
      kube.close();
      await fake.stop();
    },
  };
}

describe("controller: EventSource and Sensor custom resources", () => {
  let h: Harness;
  let port: number;

  beforeEach(async () => {
    port = await freePort();
    h = await startHarness((fake) => {
      fake.seed(webhookSource("hooks", port));
      fake.seed(logSensor("logger"));
    });
  });
  afterEach(async () => {
    await h.stop();
  });

  it("runs what exists at start and writes Deployed/Ready conditions", async () => {
    await waitUntil(() => health(port), "the webhook EventSource to answer /health");
    await waitUntil(() => h.host.sensors.has("logger"), "the Sensor to run");
    await waitUntil(
      () => condition(h.fake, "Sensor", "logger", "Ready")?.status === "True",
      "Sensor Ready condition",
    );
    await waitUntil(
      () => condition(h.fake, "EventSource", "hooks", "Deployed")?.status === "True",
      "EventSource Deployed condition",
    );
    // Sensors subscribe before EventSources publish, as in `sensorbus run`.
    expect(h.applied).toEqual(["Sensor/logger", "EventSource/hooks"]);
    const deployed = condition(h.fake, "EventSource", "hooks", "Deployed")!;
    expect(deployed.reason).toBe("Running");
    expect(deployed.lastTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The status patch is a merge patch of `status` only, on the status subresource (Argo's CRDs
    // serve status there; a main-resource patch would be ignored by a real API server).
    const patch = h.fake.requests.find(
      (r) => r.method === "PATCH" && r.path === `${SN_PATH}/logger/status`,
    );
    expect(patch?.headers["content-type"]).toBe("application/merge-patch+json");
    expect(Object.keys(JSON.parse(patch!.body) as object)).toEqual(["status"]);

    // Events flow end to end: webhook -> bus -> Sensor -> log trigger.
    expect(await post(port, "/example", { n: 1 })).toBe(200);
    await waitUntil(() => h.fired.includes("logger/log-it"), "the log trigger to fire");
  });

  it("adds, reloads on spec change (not on status change), and stops on delete", async () => {
    await waitUntil(() => h.host.sensors.has("logger"), "the Sensor to run");
    const port2 = await freePort();
    await h.kube.create(webhookSource("more", port2));
    await waitUntil(() => health(port2), "the added EventSource to answer /health");

    // A status-only change restarts nothing: the runner object stays the same.
    const runner = h.host.eventSources.get("hooks");
    h.fake.mutate(ARGO_EVENTS_API, "EventSource", NS, "hooks", (o) => {
      o.status = { conditions: [], note: "touched" };
    });
    // Then a spec change of the same kind; watch events of one kind are handled in order.
    h.fake.mutate(ARGO_EVENTS_API, "EventSource", NS, "more", (o) => {
      (o.spec as { webhook: { example: { endpoint: string } } }).webhook.example.endpoint = "/v2";
    });
    await waitUntil(
      async () => (await post(port2, "/v2", {}).catch(() => 0)) === 200,
      "the reloaded EventSource to serve /v2",
    );
    expect(await post(port2, "/example", {})).toBe(404);
    expect(h.host.eventSources.get("hooks")).toBe(runner);

    // Sensor update: a new runner with the new trigger name, same bus.
    const before = h.host.sensors.get("logger");
    h.fake.mutate(ARGO_EVENTS_API, "Sensor", NS, "logger", (o) => {
      const spec = o.spec as { triggers: Array<{ template: { name: string } }> };
      spec.triggers[0]!.template.name = "log-v2";
    });
    await waitUntil(
      () => h.host.sensors.get("logger")?.engine.plans[0]?.name === "log-v2",
      "the Sensor to reload",
    );
    expect(h.host.sensors.get("logger")).not.toBe(before);
    expect(await post(port, "/example", { n: 2 })).toBe(200);
    await waitUntil(() => h.fired.includes("logger/log-v2"), "the reloaded trigger to fire");

    // Delete: the EventSource's port closes, the Sensor's runner goes.
    expect(
      await h.kube.delete({
        apiVersion: ARGO_EVENTS_API,
        kind: "EventSource",
        name: "more",
        namespace: NS,
      }),
    ).toBe(true);
    await waitUntil(async () => !(await health(port2)), "the deleted EventSource's port to close");
    expect(h.host.eventSources.has("more")).toBe(false);
    await h.kube.delete({
      apiVersion: ARGO_EVENTS_API,
      kind: "Sensor",
      name: "logger",
      namespace: NS,
    });
    await waitUntil(() => !h.host.sensors.has("logger"), "the deleted Sensor to stop");
  });

  it("reports an invalid update and keeps the last valid version running", async () => {
    await waitUntil(
      () => condition(h.fake, "Sensor", "logger", "Deployed")?.status === "True",
      "the Sensor to be deployed",
    );
    const running = h.host.sensors.get("logger");
    h.fake.mutate(ARGO_EVENTS_API, "Sensor", NS, "logger", (o) => {
      delete (o.spec as { dependencies?: unknown }).dependencies;
    });
    await waitUntil(
      () => condition(h.fake, "Sensor", "logger", "Deployed")?.status === "False",
      "Deployed=False",
    );
    const deployed = condition(h.fake, "Sensor", "logger", "Deployed")!;
    expect(deployed.reason).toBe("InvalidSpec");
    expect(deployed.message).toContain("dependencies");
    expect(deployed.message).toContain(`kube:sensors/${NS}/logger`);
    const ready = condition(h.fake, "Sensor", "logger", "Ready")!;
    expect(ready).toMatchObject({ status: "True", reason: "PreviousSpecRunning" });
    expect(h.host.sensors.get("logger")).toBe(running);

    // Fixing it deploys the fixed version and flips the condition back.
    h.fake.mutate(ARGO_EVENTS_API, "Sensor", NS, "logger", (o) => {
      o.spec = logSensor("logger", "fixed").spec;
    });
    await waitUntil(
      () => condition(h.fake, "Sensor", "logger", "Deployed")?.status === "True",
      "Deployed=True again",
    );
    expect(h.host.sensors.get("logger")?.engine.plans[0]?.name).toBe("fixed");
  });
});

describe("controller: watch resumption", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it("reconnects with the last resourceVersion and misses nothing changed meanwhile", async () => {
    h = await startHarness((fake) => fake.seed(logSensor("s1", "a")), { watchTimeoutSeconds: 1 });
    const { fake, host, gate } = h;
    await waitUntil(
      () => condition(fake, "Sensor", "s1", "Ready")?.status === "True",
      "s1 to be ready",
    );
    // The next sensors request fails: the controller parks in its retry sleep.
    fake.fail({ method: "GET", path: SN_PATH, status: 503 });
    await waitUntil(() => gate.calls === 1, "the watch to end and its reconnect to fail");
    const lastSeen = fake.object(ARGO_EVENTS_API, "Sensor", NS, "s1")!.metadata!.resourceVersion;
    const failed = watchRequests(fake, SN_PATH).at(-1)!;
    expect(failed.query.get("resourceVersion")).toBe(lastSeen);

    // Changed while no watch is open.
    fake.mutate(ARGO_EVENTS_API, "Sensor", NS, "s1", (o) => {
      (o.spec as { triggers: Array<{ template: { name: string } }> }).triggers[0]!.template.name =
        "b";
    });
    gate.release();
    await waitUntil(
      () => host.sensors.get("s1")?.engine.plans[0]?.name === "b",
      "the change to arrive through the resumed watch",
    );
    const resumed = watchRequests(fake, SN_PATH).at(-1)!;
    expect(resumed.query.get("resourceVersion")).toBe(lastSeen);
    expect(listRequests(fake, SN_PATH)).toHaveLength(1);
  });

  it("relists on 410 Gone and reconciles adds, updates and deletes made meanwhile", async () => {
    h = await startHarness(
      (fake) => {
        fake.seed(logSensor("s1"));
        fake.seed(logSensor("s2", "old"));
      },
      { watchTimeoutSeconds: 1 },
    );
    const { fake, host, gate, kube } = h;
    await waitUntil(() => host.sensors.has("s1") && host.sensors.has("s2"), "s1 and s2 to run");
    fake.fail({ method: "GET", path: SN_PATH, status: 503 });
    fake.fail({
      method: "GET",
      path: SN_PATH,
      status: 410,
      reason: "Expired",
      message: "too old resource version",
    });
    await waitUntil(() => gate.calls === 1, "the controller to wait before reconnecting");

    await kube.delete({ apiVersion: ARGO_EVENTS_API, kind: "Sensor", name: "s1", namespace: NS });
    fake.seed(logSensor("s3"));
    fake.mutate(ARGO_EVENTS_API, "Sensor", NS, "s2", (o) => {
      o.spec = logSensor("s2", "new").spec;
    });
    gate.release();
    await waitUntil(
      () =>
        !host.sensors.has("s1") &&
        host.sensors.has("s3") &&
        host.sensors.get("s2")?.engine.plans[0]?.name === "new",
      "the relist to be reconciled",
    );
    expect(listRequests(fake, SN_PATH)).toHaveLength(2);
    await waitUntil(
      () => condition(fake, "Sensor", "s3", "Deployed")?.status === "True",
      "status on the relisted s3",
    );
    // After the relist the watch starts from the list's version, not the expired one.
    await waitUntil(() => watchRequests(fake, SN_PATH).length >= 4, "a watch after the relist");
    const afterRelist = watchRequests(fake, SN_PATH)[3]!;
    const expired = watchRequests(fake, SN_PATH)[2]!;
    expect(Number(afterRelist.query.get("resourceVersion"))).toBeGreaterThan(
      Number(expired.query.get("resourceVersion")),
    );
    expect(gate.calls).toBe(1);
  });

  it("relists on a 410 ERROR event inside a watch stream (as real API servers send it)", async () => {
    const lists: number[] = [];
    const watches: Array<string | undefined> = [];
    const applied: string[] = [];
    const abort = new AbortController();
    let listCount = 0;
    const item = (rv: string): KubeObject => ({
      ...logSensor("only"),
      metadata: { name: "only", namespace: NS, resourceVersion: rv },
    });
    const stub = {
      namespace: NS,
      source: "stub",
      list: async (_a: string, kind: string): Promise<KubeList> => {
        if (kind === "Sensor") lists.push(++listCount);
        const items = kind === "Sensor" ? [item(listCount === 1 ? "5" : "9")] : [];
        return {
          apiVersion: ARGO_EVENTS_API,
          kind: `${kind}List`,
          metadata: { resourceVersion: listCount === 1 ? "5" : "9" },
          items,
        };
      },
      watch: async (
        _a: string,
        kind: string,
        _ns: string | undefined,
        opts: { resourceVersion?: string; signal?: AbortSignal },
        onEvent: (t: WatchEventType, o: KubeObject) => void,
      ) => {
        if (kind === "Sensor") {
          watches.push(opts.resourceVersion);
          if (watches.length === 1) {
            onEvent("ERROR", {
              apiVersion: "v1",
              kind: "Status",
              metadata: {},
              code: 410,
              reason: "Expired",
            } as KubeObject);
            return;
          }
        }
        await new Promise<void>((resolve) =>
          opts.signal?.addEventListener("abort", () => resolve()),
        );
      },
      patch: async (obj: KubeObject) => obj,
      close: () => undefined,
    } as unknown as KubeClient;
    const host: ManifestHost = {
      apply: async (l: Loaded<Manifest>) => {
        applied.push(`${l.manifest.kind}/${l.manifest.metadata.name}`);
      },
      remove: async () => undefined,
    };
    const done = runController({
      kube: stub,
      namespace: NS,
      runtimeFactory: () => host,
      log,
      signal: abort.signal,
      sleep: async () => false,
    });
    await waitUntil(() => watches.length === 2, "the watch after the relist");
    abort.abort();
    await done;
    expect(lists).toEqual([1, 2]);
    expect(watches).toEqual(["5", "9"]);
    // Same spec in both lists: applied once.
    expect(applied).toEqual(["Sensor/only"]);
  });
});

describe("file mode: watchManifestFiles + ManifestReconciler", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sb-reload-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("reloads a changed manifest, leaves unchanged ones running, stops removed ones", async () => {
    const port = await freePort();
    const yaml = (endpoint: string) =>
      [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: EventSource",
        "metadata:",
        "  name: hooks",
        "spec:",
        "  webhook:",
        "    example:",
        `      port: "${port}"`,
        `      endpoint: ${endpoint}`,
        "      method: POST",
        "",
      ].join("\n");
    writeFileSync(join(dir, "es.yaml"), yaml("/one"));
    writeFileSync(
      join(dir, "sensor.yaml"),
      stringifyYaml({ ...logSensor("logger"), metadata: { name: "logger" } }),
    );
    const host = dryRunHost(new MemoryBus());
    const reconciler = new ManifestReconciler(host, log);
    const sync = async () => {
      const loaded = await loadManifests([dir]);
      expect(loaded.problems.filter((p) => p.severity === "error")).toEqual([]);
      await reconciler.sync("EventSource", loaded.eventSources);
      await reconciler.sync("Sensor", loaded.sensors);
    };
    await sync();
    expect(await post(port, "/one", {})).toBe(200);
    const sensor = host.sensors.get("logger");
    expect(sensor).toBeDefined();

    let reloads = 0;
    const watcher = watchManifestFiles(
      [dir],
      async () => {
        await sync();
        reloads++;
      },
      { debounceMs: 50 },
    );
    try {
      writeFileSync(join(dir, "es.yaml"), yaml("/two"));
      await waitUntil(async () => (await post(port, "/two", {}).catch(() => 0)) === 200, "/two");
      expect(await post(port, "/one", {})).toBe(404);
      expect(host.sensors.get("logger")).toBe(sensor);

      const seen = reloads;
      rmSync(join(dir, "sensor.yaml"));
      await waitUntil(() => !host.sensors.has("logger"), "the removed Sensor to stop");
      expect(reloads).toBeGreaterThan(seen);
    } finally {
      await watcher.close();
      await host.close(5_000);
    }
  });
});

describe("controller command: journal and console as in `run`", () => {
  it("serves the console over what it runs, journals decisions, and flushes them to JetStream on SIGTERM", async () => {
    const nats = await startNatsServer();
    const fake = await new FakeKubeApi({ resources: ARGO_EVENTS_RESOURCES }).start();
    const port = await freePort();
    const metricsPort = await freePort();
    const consolePort = await freePort();
    fake.seed(webhookSource("hooks", port));
    fake.seed(logSensor("logger"));
    const dir = mkdtempSync(join(tmpdir(), "sb-controller-"));
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, fake.kubeconfigYaml(NS));
    const child = spawnSensorbus(
      [
        "controller",
        "--kubeconfig",
        kubeconfig,
        "--namespace",
        NS,
        "--bus",
        nats.url,
        "--metrics-port",
        String(metricsPort),
        "--console-port",
        String(consolePort),
        "--dry-run",
      ],
      { env: { SENSORBUS_WEBHOOK_HOST: "127.0.0.1" }, keep: Number.POSITIVE_INFINITY },
    );
    const exited = child.exited;
    // The console API has its own listener (issue 19), on loopback.
    const api = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${consolePort}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    try {
      await waitUntil(() => health(port), "the webhook EventSource to answer /health", 20_000);
      await waitUntil(
        async () => (await api("/api/graph").catch(() => undefined))?.status === 200,
        "the console API",
      );
      await waitUntil(() => fetchOk(metricsPort, "/readyz"), "readiness");
      const id = await postForId(port, { n: 1 });
      const firedIn = (entries: unknown) =>
        (entries as Array<{ kind: string; sensor?: string; trigger?: string }>).some(
          (e) => e.kind === "fired" && e.sensor === "logger" && e.trigger === "log-it",
        );
      await waitUntil(async () => {
        const r = await api(`/api/events/${id}`);
        return r.status === 200 && firedIn(r.body.entries);
      }, "the journal to show the firing");
      const graph = (await api("/api/graph")).body as { nodes: Array<{ id: string }> };
      const ids = graph.nodes.map((n) => n.id).join(" ");
      expect(ids).toContain("hooks");
      expect(ids).toContain("logger");

      child.proc.kill("SIGTERM");
      expect(await exited).toBe(0);
      // What the controller journaled is on the bus for `sensorbus explain --bus`.
      const explained = await loadExplanation({ id, busUrl: nats.url, log });
      expect(firedIn(explained?.entries)).toBe(true);
    } catch (err) {
      console.error(child.output().slice(-3000));
      throw err;
    } finally {
      child.proc.kill("SIGKILL");
      await exited;
      await fake.stop();
      await nats.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

async function fetchOk(port: number, path: string): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}${path}`)).ok;
  } catch {
    return false;
  }
}

describe("runner host: observers flush before the bus closes", () => {
  it("writes the journal's unsaved entries to JetStream in close(), before closing the bus", async () => {
    const nats = await startNatsServer();
    const port = await freePort();
    // Entries would wait an hour for their write: only the drain's flush can save them.
    const diagnostics = new Diagnostics(log, { writeDelayMs: 3_600_000 });
    const bus = await createBus(nats.url, { log });
    await diagnostics.useBus(bus);
    const host = dryRunHost(bus, {
      observer: diagnostics.observer,
      onEmit: diagnostics.onEmit,
      onDrained: () => diagnostics.flush(),
    });
    try {
      const es = webhookSource("hooks", port);
      const sn = logSensor("logger");
      await host.apply({ manifest: sn as unknown as Manifest, file: "test", doc: 0 });
      await host.apply({ manifest: es as unknown as Manifest, file: "test", doc: 1 });
      const id = await postForId(port, {});
      await waitUntil(
        () => diagnostics.journal.get(id)?.entries.some((e) => e.kind === "fired") === true,
        "the firing in the in-memory journal",
      );
      await host.close(5_000);
      const explained = await loadExplanation({ id, busUrl: nats.url, log });
      expect(explained?.entries.map((e) => e.kind)).toEqual(["published", "fired"]);
    } finally {
      await host.close(5_000);
      await nats.stop();
    }
  }, 30_000);
});
