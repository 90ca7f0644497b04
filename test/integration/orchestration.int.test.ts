import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/app/runtime.js";
import type { SensorObserver } from "../../src/app/sensor-runner.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { formatProblem, hasErrors, loadManifests } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import { createCalendarAdapter } from "../../src/eventsources/calendar/runtime.js";
import { createResourceAdapter } from "../../src/eventsources/resource/runtime.js";
import type { Clock } from "../../src/eventsources/types.js";
import { type KubeClient, loadKubeClient } from "../../src/k8s/client.js";
import { FakeClock } from "../support/fake-clock.js";
import { FakeKubeApi } from "../support/fake-kube-api.js";
import { logSink } from "../support/log-sink.js";
import { waitUntil } from "../support/nats-server.js";

/**
 * examples/orchestration/*.yaml end to end in one process: calendar and resource EventSources ->
 * in-memory bus -> Sensors -> argoWorkflow / k8s / log triggers, against the fake Kubernetes API
 * (real HTTP, real watch streams). A fake clock drives the calendar; Workflow phases are changed
 * with mutate(), as the Argo Workflows controller would.
 */

const EXAMPLES = fileURLToPath(new URL("../../examples/orchestration/", import.meta.url));
const NS = "argo";
const WF_API = "argoproj.io/v1alpha1";
const WF_PATH = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/workflows`;
const WAIT_MS = 10_000;

type Obj = ReturnType<FakeKubeApi["objects"]>[number];
interface Fired {
  sensor: string;
  trigger: string;
  events: ReadonlyMap<string, CloudEvent>;
}
interface Rejected {
  sensor: string;
  dependency: string;
  event: CloudEvent;
}
interface WfData {
  type: string;
  body: {
    metadata: { name: string; labels?: Record<string, string> };
    status?: { phase?: string };
  };
}

const params = (wf: Obj | undefined): Record<string, string> => {
  const list = ((
    wf?.spec as { arguments?: { parameters?: Array<{ name: string; value: string }> } }
  )?.arguments?.parameters ?? []) as Array<{ name: string; value: string }>;
  return Object.fromEntries(list.map((p) => [p.name, p.value]));
};
const templateRef = (wf: Obj | undefined) =>
  (wf?.spec as { workflowTemplateRef?: { name?: string } } | undefined)?.workflowTemplateRef?.name;
const eventData = (e: CloudEvent | undefined) => JSON.parse(e?.data ?? "null") as WfData;

describe("examples/orchestration end to end", () => {
  let api: FakeKubeApi;
  let kube: KubeClient;
  let runtime: Runtime | undefined;
  let fired: Fired[];
  let rejected: Rejected[];
  let logLines: Array<Record<string, unknown>>;

  beforeAll(async () => {
    api = await new FakeKubeApi().start();
  });
  afterAll(async () => {
    await api.stop();
  });
  afterEach(async () => {
    await runtime?.stop(5_000);
    runtime = undefined;
    kube?.close();
  });

  async function run(file: string, clock: Clock): Promise<void> {
    const loaded = await loadManifests([`${EXAMPLES}${file}`]);
    expect(loaded.problems.map(formatProblem)).toEqual([]);
    expect(hasErrors(loaded.problems)).toBe(false);
    api.clearRequests();
    kube = (await loadKubeClient({ kubeconfigYaml: api.kubeconfigYaml(NS) }))!;
    fired = [];
    rejected = [];
    const sink = logSink({ level: "info" });
    logLines = sink.lines;
    const observer: SensorObserver = {
      fired: (i) => fired.push({ sensor: i.sensor, trigger: i.trigger, events: i.events }),
      rejected: (i) =>
        rejected.push({ sensor: i.sensor, dependency: i.dependency, event: i.event }),
    };
    runtime = await Runtime.start({
      loaded,
      busUrl: undefined,
      kube,
      dryRun: false,
      values: dirResolver({}),
      log: sink.log,
      clock,
      observer,
      extraAdapters: [
        createResourceAdapter({ kube: () => kube }),
        createCalendarAdapter({ monotonicMs: () => 3_600_000.5 }),
      ],
    });
  }

  const workflows = (template: string) =>
    api
      .objects(WF_API, "Workflow")
      .filter((o) => o.metadata?.labels?.["workflows.argoproj.io/workflow-template"] === template)
      .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion));
  const setPhase = (name: string, phase: string, extra: Record<string, unknown> = {}) =>
    api.mutate(WF_API, "Workflow", NS, name, (o) => {
      o.status = { ...(o.status as object), phase, ...extra };
    });
  /** The resource EventSource's watch with this label selector is open. */
  const watching = (selector: string) =>
    waitUntil(
      () =>
        api.requests.some(
          (r) =>
            r.path === WF_PATH &&
            r.query.get("watch") === "true" &&
            r.query.get("labelSelector") === selector,
        ),
      `a watch on Workflows with ${selector}`,
      WAIT_MS,
    );
  const seedWorkflow = (name: string, template: string) =>
    api.seed({
      apiVersion: WF_API,
      kind: "Workflow",
      metadata: {
        name,
        namespace: NS,
        labels: { "workflows.argoproj.io/workflow-template": template },
      },
      spec: { workflowTemplateRef: { name: template } },
      status: { phase: "Running" },
    });
  const rejectedFor = (dependency: string, name: string, phase: string) =>
    waitUntil(
      () =>
        rejected.some((r) => {
          const d = eventData(r.event);
          return (
            r.dependency === dependency &&
            d.body.metadata.name === name &&
            d.body.status?.phase === phase
          );
        }),
      `${dependency} rejecting ${name} (${phase})`,
      WAIT_MS,
    );

  it("(a) every 4 h in Zurich: config-sync with the run date; Succeeded -> cache-rebuild; Failed -> nothing", async () => {
    // 23:30 in Zurich (CEST, UTC+2): the next tick is midnight, 2024-05-16 00:00 = 22:00 UTC.
    const clock = new FakeClock(Date.parse("2024-05-15T21:30:00Z"));
    await run("schedule.yaml", clock);
    await watching("workflows.argoproj.io/workflow-template==config-sync");

    const midnight = Date.parse("2024-05-15T22:00:00Z");
    await waitUntil(
      () => clock.waitingFor(midnight),
      "the calendar waiting for 00:00 Zurich",
      WAIT_MS,
    );
    clock.advanceTo(midnight);
    await waitUntil(() => workflows("config-sync").length === 1, "a config-sync Workflow", WAIT_MS);
    const [sync] = workflows("config-sync");
    const syncName = sync!.metadata!.name!;
    expect(syncName).toMatch(/^config-sync-[0-9a-f]{10}$/);
    expect(templateRef(sync)).toBe("config-sync");
    // The date in Zurich, although the event time is printed in UTC (2024-05-15 22:00:00 +0000 UTC).
    expect(params(sync)).toEqual({ "run-date": "2024-05-16" });
    expect(sync!.metadata!.labels).toMatchObject({
      "events.argoproj.io/sensor": "config-sync",
      "events.argoproj.io/trigger": "submit-config-sync",
    });
    const posts = api.requests.filter((r) => r.method === "POST" && r.path === WF_PATH);
    expect(posts).toHaveLength(1);

    // The controller runs it: Running, then Succeeded -> cache-rebuild with the same run date.
    setPhase(syncName, "Running");
    await rejectedFor("config-sync-succeeded", syncName, "Running");
    expect(workflows("cache-rebuild")).toEqual([]);
    setPhase(syncName, "Succeeded", { finishedAt: "2024-05-15T22:03:00Z" });
    await waitUntil(
      () => workflows("cache-rebuild").length === 1,
      "a cache-rebuild Workflow",
      WAIT_MS,
    );
    const [rebuild] = workflows("cache-rebuild");
    expect(templateRef(rebuild)).toBe("cache-rebuild");
    expect(params(rebuild)).toEqual({ "run-date": "2024-05-16", upstream: syncName });

    // A finished Workflow still gets updates; "still Succeeded" must not start a second rebuild.
    api.mutate(WF_API, "Workflow", NS, syncName, (o) => {
      o.metadata!.labels = { ...o.metadata!.labels, "workflows.argoproj.io/completed": "true" };
    });
    await rejectedFor("config-sync-succeeded", syncName, "Succeeded");
    expect(workflows("cache-rebuild")).toHaveLength(1);

    // 04:00 Zurich: the next run; it fails, and nothing more runs.
    const four = Date.parse("2024-05-16T02:00:00Z");
    await waitUntil(() => clock.waitingFor(four), "the calendar waiting for 04:00 Zurich", WAIT_MS);
    clock.advanceTo(four);
    await waitUntil(
      () => workflows("config-sync").length === 2,
      "a second config-sync Workflow",
      WAIT_MS,
    );
    const second = workflows("config-sync").find((w) => w.metadata?.name !== syncName)!;
    expect(params(second)).toEqual({ "run-date": "2024-05-16" });
    setPhase(second.metadata!.name!, "Running");
    setPhase(second.metadata!.name!, "Failed");
    await rejectedFor("config-sync-succeeded", second.metadata!.name!, "Failed");
    expect(workflows("cache-rebuild")).toHaveLength(1);
    expect(fired.map((f) => f.trigger)).toEqual([
      "submit-config-sync",
      "submit-cache-rebuild",
      "submit-config-sync",
    ]);
  });

  it("(b) fan-in: rebuild starts once all three syncs succeeded, once per round", async () => {
    await run("fan-in.yaml", new FakeClock(Date.parse("2024-05-15T12:00:00Z")));
    for (const t of ["sync-a", "sync-b", "sync-c"]) {
      await watching(`workflows.argoproj.io/workflow-template=${t}`);
    }
    seedWorkflow("sync-a-1", "sync-a");
    seedWorkflow("sync-b-1", "sync-b");
    seedWorkflow("sync-c-1", "sync-c");
    setPhase("sync-a-1", "Succeeded");
    setPhase("sync-b-1", "Succeeded");
    setPhase("sync-c-1", "Failed");
    await rejectedFor("sync-c", "sync-c-1", "Failed");
    expect(workflows("rebuild")).toEqual([]);

    // sync-c is retried and succeeds: the round is complete.
    seedWorkflow("sync-c-2", "sync-c");
    setPhase("sync-c-2", "Succeeded");
    await waitUntil(() => fired.length === 1, "the rebuild trigger", WAIT_MS);
    await waitUntil(() => workflows("rebuild").length === 1, "a rebuild Workflow", WAIT_MS);
    const firedNames = (f: Fired | undefined) =>
      Object.fromEntries(
        [...(f?.events ?? [])].map(([dep, e]) => [dep, eventData(e).body.metadata.name]),
      );
    expect(fired[0]!.trigger).toBe("rebuild");
    expect(firedNames(fired[0])).toEqual({
      "sync-a": "sync-a-1",
      "sync-b": "sync-b-1",
      "sync-c": "sync-c-2",
    });
    const [rebuild] = workflows("rebuild");
    expect(templateRef(rebuild)).toBe("rebuild");
    expect(rebuild!.metadata!.name).toMatch(/^rebuild-[0-9a-f]{10}$/);

    // The next round needs three new successes: sync-a alone does not fire again.
    for (const [name, t] of [
      ["sync-a-2", "sync-a"],
      ["sync-b-2", "sync-b"],
      ["sync-c-3", "sync-c"],
    ] as const) {
      seedWorkflow(name, t);
      setPhase(name, "Succeeded");
    }
    await waitUntil(() => fired.length === 2, "the second rebuild", WAIT_MS);
    expect(firedNames(fired[1])).toEqual({
      "sync-a": "sync-a-2",
      "sync-b": "sync-b-2",
      "sync-c": "sync-c-3",
    });
    await waitUntil(() => workflows("rebuild").length === 2, "a second rebuild Workflow", WAIT_MS);
    expect(api.requests.filter((r) => r.method === "POST" && r.path === WF_PATH)).toHaveLength(2);
  });

  it("(c) fan-out: one Succeeded export starts a Workflow, creates a ConfigMap and logs", async () => {
    await run("fan-out.yaml", new FakeClock(Date.parse("2024-05-15T12:00:00Z")));
    await watching("workflows.argoproj.io/workflow-template=export");
    seedWorkflow("export-7f2kq", "export");
    setPhase("export-7f2kq", "Succeeded", { finishedAt: "2024-05-15T12:04:31Z" });
    await waitUntil(() => fired.length === 3, "three triggers fired", WAIT_MS);
    expect(fired.map((f) => f.trigger).sort()).toEqual(["hand-over-results", "publish", "record"]);
    // The same event (one id) drove all three.
    expect(new Set(fired.map((f) => f.events.get("export-done")?.id)).size).toBe(1);

    const [publish] = workflows("publish");
    expect(templateRef(publish)).toBe("publish");
    expect(params(publish)).toEqual({ "export-workflow": "export-7f2kq" });

    const cm = api.object("v1", "ConfigMap", NS, "export-7f2kq-result");
    expect(cm?.data).toEqual({
      workflow: "export-7f2kq",
      phase: "Succeeded",
      finishedAt: "2024-05-15T12:04:31Z",
    });
    expect(cm?.metadata?.labels).toMatchObject({
      "events.argoproj.io/trigger": "hand-over-results",
    });

    const logged = logLines.find((l) => l.dependencyName === "export-done");
    expect(logged).toBeDefined();
    expect(eventData({ data: String(logged!.msg) } as CloudEvent).body.metadata.name).toBe(
      "export-7f2kq",
    );
  });
});
