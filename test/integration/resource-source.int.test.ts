import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ResourceEventSpec } from "../../src/config/types.js";
import { ConfigError } from "../../src/errors.js";
import {
  buildResourceEventData,
  compileResourceEntry,
  createResourceAdapter,
  labelSelector,
  resourceEventId,
} from "../../src/eventsources/resource.js";
import type {
  AdapterContext,
  Clock,
  EmitInput,
  RunningAdapter,
} from "../../src/eventsources/types.js";
import type {
  KubeClient,
  KubeObject,
  KubeRef,
  ListOptions,
  WatchEventType,
  WatchOptions,
} from "../../src/k8s/client.js";
import { loadKubeClient } from "../../src/k8s/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import { FakeKubeApi } from "../support/fake-kube-api.js";
import { waitUntil } from "../support/nats-server.js";

const NS = "argo";
const WF_API = "argoproj.io/v1alpha1";
const WF_PATH = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/workflows`;
const CM_PATH = `/api/v1/namespaces/${NS}/configmaps`;

interface Emitted {
  eventName: string;
  id: string;
  data: string;
  parsed: {
    type: string;
    body: KubeObject;
    oldBody: KubeObject | null;
    group: string;
    version: string;
    resource: string;
    metadata?: Record<string, string>;
  };
}

/** A KubeClient that passes everything to the real one but lets a test hold or end watches. */
class ControlledKube implements KubeClient {
  private gate: { promise: Promise<void>; open: () => void } | undefined;
  private current:
    | { close: () => void; onEvent: (t: WatchEventType, o: KubeObject) => void }
    | undefined;
  watchCalls: WatchOptions[] = [];

  constructor(private readonly inner: KubeClient) {}
  get namespace() {
    return this.inner.namespace;
  }
  get source() {
    return this.inner.source;
  }
  resourceFor(apiVersion: string, kind: string) {
    return this.inner.resourceFor(apiVersion, kind);
  }
  create(obj: KubeObject) {
    return this.inner.create(obj);
  }
  get(ref: KubeRef) {
    return this.inner.get(ref);
  }
  replace(obj: KubeObject) {
    return this.inner.replace(obj);
  }
  patch(obj: KubeObject, contentType: string, body?: unknown) {
    return this.inner.patch(obj, contentType, body);
  }
  delete(ref: KubeRef) {
    return this.inner.delete(ref);
  }
  list(apiVersion: string, kind: string, namespace: string | undefined, opts?: ListOptions) {
    return this.inner.list(apiVersion, kind, namespace, opts);
  }
  close() {
    this.inner.close();
  }

  /** The next watch waits until `release()`. */
  holdNextWatch(): () => void {
    let open = () => {};
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.gate = { promise, open };
    return () => {
      this.gate = undefined;
      open();
    };
  }

  /** Ends the open watch stream as a server would (the real HTTP connection is closed). */
  endWatch(): void {
    this.current?.close();
  }

  /** Delivers an event into the open watch as if the server had sent it. */
  inject(type: WatchEventType, obj: KubeObject): void {
    this.current?.onEvent(type, obj);
  }

  async watch(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
  ): Promise<void> {
    if (this.gate) await this.gate.promise;
    this.watchCalls.push(opts);
    const ac = new AbortController();
    const outer = () => ac.abort();
    opts.signal?.addEventListener("abort", outer, { once: true });
    this.current = { close: () => ac.abort(), onEvent };
    try {
      await this.inner.watch(apiVersion, kind, namespace, { ...opts, signal: ac.signal }, onEvent);
    } finally {
      opts.signal?.removeEventListener("abort", outer);
    }
  }
}

/** Sleeps of the backoff return at once; `now` is fixed so afterStart is deterministic. */
function fakeClock(now: number): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      await Promise.resolve();
      return !signal?.aborted;
    },
  };
}

describe("resource EventSource against the fake Kubernetes API", () => {
  let api: FakeKubeApi;
  let kube: ControlledKube;
  let running: RunningAdapter | undefined;
  let abort: AbortController;
  let emitted: Emitted[];
  let failNextEmits = 0;

  beforeAll(async () => {
    api = await new FakeKubeApi().start();
  });
  afterAll(async () => {
    await api.stop();
  });
  afterEach(async () => {
    abort?.abort();
    await running?.stop();
    running = undefined;
    kube?.close();
  });

  async function start(
    spec: Partial<ResourceEventSpec>,
    opts: { now?: number; eventName?: string } = {},
  ): Promise<Clock & { sleeps: number[] }> {
    kube = new ControlledKube((await loadKubeClient({ kubeconfigYaml: api.kubeconfigYaml(NS) }))!);
    emitted = [];
    failNextEmits = 0;
    abort = new AbortController();
    const clock = fakeClock(opts.now ?? Date.now());
    const ctx: AdapterContext = {
      eventSourceName: "cluster",
      namespace: NS,
      emit: async (eventName: string, input: EmitInput) => {
        if (failNextEmits > 0) {
          failNextEmits--;
          throw new Error("bus unavailable");
        }
        emitted.push({
          eventName,
          id: input.id!,
          data: input.data,
          parsed: JSON.parse(input.data),
        });
        return { id: input.id!, status: "published" };
      },
      log: silentLogger(),
      values: {
        secret: () => Promise.reject(new Error("none")),
        configMap: () => Promise.reject(new Error("none")),
      } as unknown as AdapterContext["values"],
      clock,
      signal: abort.signal,
    };
    const adapter = createResourceAdapter({ kube: () => kube });
    running = await adapter.start(
      [
        {
          eventName: opts.eventName ?? "changes",
          spec: { version: "v1", resource: "configmaps", ...spec } as ResourceEventSpec,
        },
      ],
      ctx,
    );
    return clock;
  }

  const watchRequests = (path: string) =>
    api.requests.filter(
      (r) => r.method === "GET" && r.path === path && r.query.get("watch") === "true",
    );
  const listRequests = (path: string) =>
    api.requests.filter(
      (r) => r.method === "GET" && r.path === path && r.query.get("watch") !== "true",
    );
  const waitWatches = (path: string, n: number) =>
    waitUntil(() => watchRequests(path).length >= n, `${n} watch request(s) on ${path}`);
  const waitEvents = (n: number) => waitUntil(() => emitted.length >= n, `${n} emitted event(s)`);
  const summary = () => emitted.map((e) => `${e.parsed.type} ${e.parsed.body.metadata.name}`);

  function cm(name: string, data: Record<string, string>, labels?: Record<string, string>) {
    return {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: NS, ...(labels ? { labels } : {}) },
      data,
    };
  }

  it("reports the initial list as ADD, then ADD / UPDATE / DELETE from the watch, in Argo's data shape", async () => {
    api.clearRequests();
    const pre = api.seed(cm("pre-existing", { a: "1" }));
    await start({
      namespace: NS,
      eventTypes: ["ADD", "UPDATE", "DELETE"],
      metadata: { team: "x<y" },
    });
    await waitEvents(1);
    await waitWatches(CM_PATH, 1);
    const watchRv = watchRequests(CM_PATH)[0]!.query.get("resourceVersion");
    expect(Number(watchRv)).toBeGreaterThanOrEqual(Number(pre.metadata?.resourceVersion));

    await kube.create(cm("new-one", { b: "2" }));
    await waitEvents(2);
    api.mutate("v1", "ConfigMap", NS, "new-one", (o) => {
      (o.data as Record<string, string>).b = "3";
    });
    await waitEvents(3);
    await kube.delete({ apiVersion: "v1", kind: "ConfigMap", name: "new-one", namespace: NS });
    await waitEvents(4);

    expect(summary()).toEqual([
      "ADD pre-existing",
      "ADD new-one",
      "UPDATE new-one",
      "DELETE new-one",
    ]);
    const [add, created, update, del] = emitted;
    expect(add!.eventName).toBe("changes");
    expect(add!.parsed.body).toEqual(pre);
    expect(add!.parsed.oldBody).toBeNull();
    expect(add!.parsed).toMatchObject({
      group: "",
      version: "v1",
      resource: "configmaps",
      metadata: { team: "x<y" },
    });
    // Go's encoder: struct field order, sorted map keys, HTML escaped.
    expect(
      add!.data.startsWith(
        `{"type":"ADD","body":{"apiVersion":"v1","data":{"a":"1"},"kind":"ConfigMap","metadata":{`,
      ),
    ).toBe(true);
    expect(add!.data).toContain(
      `,"oldBody":null,"group":"","version":"v1","resource":"configmaps","metadata":{"team":"x\\u003cy"}}`,
    );
    expect(created!.parsed.body.data).toEqual({ b: "2" });
    expect(update!.parsed.oldBody?.data).toEqual({ b: "2" });
    expect(update!.parsed.body.data).toEqual({ b: "3" });
    expect(Number(update!.parsed.body.metadata.resourceVersion)).toBeGreaterThan(
      Number(update!.parsed.oldBody?.metadata.resourceVersion),
    );
    expect(del!.parsed.body.metadata.name).toBe("new-one");
    expect(del!.parsed.oldBody).toBeNull();
    // Ids: a hash of (source, event, uid, resourceVersion, type), all different here.
    expect(new Set(emitted.map((e) => e.id)).size).toBe(4);
    expect(update!.id).toBe(resourceEventId("cluster", "changes", update!.parsed.body, "UPDATE"));
    expect(update!.id).toMatch(/^[0-9a-f]{32}$/);
    await kube.delete({ apiVersion: "v1", kind: "ConfigMap", name: "pre-existing", namespace: NS });
  });

  it("sends label filters to the API server and applies prefix, fields, createdBy and eventTypes itself", async () => {
    api.clearRequests();
    const wf = (
      name: string,
      labels: Record<string, string>,
      extra: Record<string, unknown> = {},
    ) =>
      api.seed({
        apiVersion: WF_API,
        kind: "Workflow",
        metadata: { name, namespace: NS, labels },
        ...extra,
      });
    wf("sync-1", { app: "sync" }, { spec: { serviceAccountName: "runner" } });
    wf("sync-2", { app: "other" }, { spec: { serviceAccountName: "runner" } });
    wf("other-1", { app: "sync" }, { spec: { serviceAccountName: "runner" } });
    wf("sync-3", { app: "sync" }, { spec: { serviceAccountName: "admin" } });
    await start({
      namespace: NS,
      group: "argoproj.io",
      version: "v1alpha1",
      resource: "workflows",
      eventTypes: ["UPDATE"],
      filter: {
        prefix: "sync-",
        labels: [{ key: "app", value: "sync" }],
        fields: [{ key: "spec.serviceAccountName", operation: "!=", value: "^admin$" }],
      },
    });
    await waitWatches(WF_PATH, 1);
    expect(listRequests(WF_PATH)[0]!.query.get("labelSelector")).toBe("app=sync");
    expect(watchRequests(WF_PATH)[0]!.query.get("labelSelector")).toBe("app=sync");
    for (const name of ["sync-1", "sync-2", "other-1", "sync-3"]) {
      api.mutate(WF_API, "Workflow", NS, name, (o) => {
        o.status = { phase: "Succeeded" };
      });
    }
    // A marker that passes every filter, to know all earlier watch events were processed.
    wf("sync-marker", { app: "sync" }, { spec: { serviceAccountName: "runner" } });
    api.mutate(WF_API, "Workflow", NS, "sync-marker", (o) => {
      o.status = { phase: "Running" };
    });
    await waitEvents(2);
    // ADD events were not asked for: the initial list and sync-marker's creation emit nothing.
    expect(summary()).toEqual(["UPDATE sync-1", "UPDATE sync-marker"]);
    expect(emitted[0]!.parsed).toMatchObject({
      group: "argoproj.io",
      version: "v1alpha1",
      resource: "workflows",
    });
    expect((emitted[0]!.parsed.body.status as { phase: string }).phase).toBe("Succeeded");
    expect(emitted[0]!.parsed.oldBody?.status).toBeUndefined();
    for (const name of ["sync-1", "sync-2", "other-1", "sync-3", "sync-marker"]) {
      await kube.delete({ apiVersion: WF_API, kind: "Workflow", name, namespace: NS });
    }
  });

  it("afterStart drops objects created before the start; createdBy drops objects created after it", async () => {
    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
    const startAt = Date.now() + 3_600_000;
    api.seed(cm("old-a", { v: "1" }));
    await start(
      { namespace: NS, eventTypes: ["ADD"], filter: { afterStart: true } },
      { now: startAt },
    );
    await kube.create(cm("made-now", { v: "2" }));
    const marker = cm("marker", { v: "3" });
    await kube.create({
      ...marker,
      metadata: { ...marker.metadata, creationTimestamp: iso(startAt + 60_000) },
    });
    await waitEvents(1);
    // old-a and made-now were created before the (fake) start time, an hour ahead.
    expect(summary()).toEqual(["ADD marker"]);
    await running?.stop();
    kube.close();

    const cutoff = Date.parse(iso(Date.now()));
    const early = cm("early", { v: "1" });
    api.seed({
      ...early,
      metadata: { ...early.metadata, creationTimestamp: iso(cutoff - 60_000) },
    });
    const late = cm("late", { v: "1" });
    api.seed({ ...late, metadata: { ...late.metadata, creationTimestamp: iso(cutoff + 60_000) } });
    const watchesBefore = watchRequests(CM_PATH).length;
    await start({ namespace: NS, eventTypes: ["ADD"], filter: { createdBy: iso(cutoff) } });
    // The initial list is fully processed before the watch starts.
    await waitWatches(CM_PATH, watchesBefore + 1);
    expect(
      summary().filter((s) => s !== "ADD old-a" && s !== "ADD made-now" && s !== "ADD marker"),
    ).toEqual(["ADD early"]);
    expect(summary()).not.toContain("ADD late");
    for (const name of ["old-a", "made-now", "marker", "early", "late"]) {
      await kube.delete({ apiVersion: "v1", kind: "ConfigMap", name, namespace: NS });
    }
  });

  it("resumes a watch the server ended from the last resourceVersion, without relisting", async () => {
    api.clearRequests();
    api.seed(cm("keep", { v: "1" }));
    api.seed(cm("change-me", { v: "1" }));
    await start({ namespace: NS, eventTypes: ["ADD", "UPDATE", "DELETE"] });
    await waitEvents(2);
    await waitWatches(CM_PATH, 1);
    api.mutate("v1", "ConfigMap", NS, "keep", (o) => {
      o.data = { v: "kept" };
    });
    await waitEvents(3);
    const lastRv = emitted[2]!.parsed.body.metadata.resourceVersion;
    const release = kube.holdNextWatch();
    kube.endWatch();
    // While no watch is open, the cluster changes.
    await kube.create(cm("while-away", { v: "1" }));
    api.mutate("v1", "ConfigMap", NS, "change-me", (o) => {
      o.data = { v: "2" };
    });
    release();
    await waitWatches(CM_PATH, 2);
    await waitEvents(5);
    expect(watchRequests(CM_PATH)[1]!.query.get("resourceVersion")).toBe(lastRv);
    expect(listRequests(CM_PATH)).toHaveLength(1);
    expect(summary().slice(2)).toEqual(["UPDATE keep", "ADD while-away", "UPDATE change-me"]);
    // A later change arrives once on the resumed watch.
    await kube.delete({ apiVersion: "v1", kind: "ConfigMap", name: "while-away", namespace: NS });
    await waitEvents(6);
    expect(summary().at(-1)).toBe("DELETE while-away");
    expect(new Set(emitted.map((e) => e.id)).size).toBe(emitted.length);
    for (const name of ["keep", "change-me"]) {
      await kube.delete({ apiVersion: "v1", kind: "ConfigMap", name, namespace: NS });
    }
  });

  it("relists on 410 Gone and reports only what changed, never a duplicate", async () => {
    api.clearRequests();
    api.seed(cm("stable", { v: "1" }));
    api.seed(cm("edited", { v: "1" }));
    api.seed(cm("removed", { v: "1" }));
    await start({ namespace: NS, eventTypes: ["ADD", "UPDATE", "DELETE"] });
    await waitEvents(3);
    await waitWatches(CM_PATH, 1);
    const release = kube.holdNextWatch();
    kube.endWatch();
    await kube.create(cm("added", { v: "1" }));
    api.mutate("v1", "ConfigMap", NS, "edited", (o) => {
      o.data = { v: "2" };
    });
    await kube.delete({ apiVersion: "v1", kind: "ConfigMap", name: "removed", namespace: NS });
    api.fail({
      method: "GET",
      path: CM_PATH,
      status: 410,
      reason: "Expired",
      message: "too old resource version",
    });
    release();
    await waitEvents(6);
    await waitWatches(CM_PATH, 3); // the refused one, then the one after the relist
    expect(listRequests(CM_PATH)).toHaveLength(2);
    expect(new Set(summary().slice(3))).toEqual(
      new Set(["ADD added", "UPDATE edited", "DELETE removed"]),
    );
    const deleted = emitted.find((e) => e.parsed.type === "DELETE")!;
    expect(deleted.parsed.body.data).toEqual({ v: "1" });

    // An ERROR event inside a stream (how a real API server reports 410) also relists; nothing
    // changed, so nothing is emitted, and later changes still arrive exactly once.
    kube.inject("ERROR", {
      kind: "Status",
      apiVersion: "v1",
      code: 410,
      message: "too old",
    } as unknown as KubeObject);
    await waitUntil(() => listRequests(CM_PATH).length === 3, "a relist after the ERROR event");
    await waitWatches(CM_PATH, 4);
    api.mutate("v1", "ConfigMap", NS, "stable", (o) => {
      o.data = { v: "9" };
    });
    await waitEvents(7);
    expect(summary().at(-1)).toBe("UPDATE stable");
    expect(emitted).toHaveLength(7);
    expect(new Set(emitted.map((e) => e.id)).size).toBe(7);
    for (const name of ["stable", "edited", "added"]) {
      await kube.delete({ apiVersion: "v1", kind: "ConfigMap", name, namespace: NS });
    }
  });

  it("retries a rejected emit with the same event id", async () => {
    api.seed(cm("retry-me", { v: "1" }));
    const clock = await start({ namespace: NS, eventTypes: ["ADD"], filter: { prefix: "retry-" } });
    failNextEmits = 0;
    await waitEvents(1);
    failNextEmits = 2;
    await kube.create(cm("retry-two", { v: "1" }));
    await waitEvents(2);
    expect(summary()).toEqual(["ADD retry-me", "ADD retry-two"]);
    expect(clock.sleeps).toEqual([1000, 2000]);
    for (const name of ["retry-me", "retry-two"]) {
      await kube.delete({ apiVersion: "v1", kind: "ConfigMap", name, namespace: NS });
    }
  });

  it("retries list/watch failures with backoff and finds a custom resource's kind through discovery", async () => {
    api.addResource({
      group: "example.com",
      version: "v1",
      resource: "widgetgizmos",
      kind: "WidgetGizmo",
      namespaced: true,
    });
    const path = `/apis/example.com/v1/namespaces/${NS}/widgetgizmos`;
    api.fail({ method: "GET", path, status: 503, times: 2 });
    const clock = await start({
      namespace: NS,
      group: "example.com",
      version: "v1",
      resource: "widgetgizmos",
      eventTypes: ["ADD"],
    });
    await waitWatches(path, 1);
    await kube.create({
      apiVersion: "example.com/v1",
      kind: "WidgetGizmo",
      metadata: { name: "g1", namespace: NS },
    });
    await waitEvents(1);
    expect(summary()).toEqual(["ADD g1"]);
    expect(emitted[0]!.parsed).toMatchObject({
      group: "example.com",
      version: "v1",
      resource: "widgetgizmos",
    });
    expect(clock.sleeps).toEqual([1000, 2000]);
    expect(listRequests(path)).toHaveLength(3);
    await kube.delete({
      apiVersion: "example.com/v1",
      kind: "WidgetGizmo",
      name: "g1",
      namespace: NS,
    });
  });

  it("backs off when watches keep ending without a single event", async () => {
    api.clearRequests();
    const clock = await start({ namespace: NS, eventTypes: ["ADD"], filter: { prefix: "none-" } });
    for (let n = 1; n <= 3; n++) {
      await waitWatches(CM_PATH, n);
      kube.endWatch();
    }
    await waitWatches(CM_PATH, 4);
    expect(clock.sleeps).toEqual([1000]);
    expect(listRequests(CM_PATH)).toHaveLength(1);
  });

  it("without a cluster, start fails with a ConfigError naming the EventSource and entry", async () => {
    const adapter = createResourceAdapter({ kube: () => undefined });
    const err = await adapter
      .start(
        [
          {
            eventName: "wf-done",
            spec: {
              version: "v1alpha1",
              group: "argoproj.io",
              resource: "workflows",
              eventTypes: ["UPDATE"],
            },
          },
        ],
        {
          eventSourceName: "workflow-watch",
          namespace: NS,
          emit: async () => ({ id: "x", status: "published" }),
          log: silentLogger(),
          values: {} as AdapterContext["values"],
          clock: fakeClock(0),
          signal: new AbortController().signal,
        },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain("workflow-watch");
    expect((err as Error).message).toContain("wf-done");
    expect((err as Error).message).toMatch(/Kubernetes cluster/);
  });
});

describe("resource entry validation and encoding", () => {
  it("builds label selectors the way k8s labels.Selector prints them", () => {
    expect(
      labelSelector([
        { key: "tier", operation: "in", value: "b,a" },
        { key: "app", value: "web" },
        { key: "env", operation: "!=", value: "dev" },
        { key: "done", operation: "exists" },
        { key: "gone", operation: "!" },
        { key: "n", operation: "gt", value: "3" },
        { key: "workflows.argoproj.io/workflow-template", operation: "==", value: "config-sync" },
      ]),
    ).toBe(
      "app=web,done,env!=dev,!gone,n>3,tier in (a,b),workflows.argoproj.io/workflow-template==config-sync",
    );
    expect(() => labelSelector([{ key: "a", operation: "like", value: "x" }])).toThrow(
      /unknown selection operation 'like'/,
    );
    expect(() => labelSelector([{ key: "a", operation: "exists", value: "x" }])).toThrow(
      /must be empty/,
    );
    expect(() => labelSelector([{ key: "a", operation: "gt", value: "x" }])).toThrow(/integer/);
  });

  it("lists every problem of an entry with its JSON pointer", () => {
    let err: unknown;
    try {
      compileResourceEntry("es", "bad", {
        version: "",
        resource: "",
        eventTypes: ["ADD", "CHANGE"],
        filter: {
          labels: [{ key: "" }],
          fields: [{ key: "a", operation: "in", value: "(" }],
          createdBy: "yesterday",
        },
      } as ResourceEventSpec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toEqual([
      "EventSource es: /spec/resource/bad/version: version must be specified",
      "EventSource es: /spec/resource/bad/resource: resource must be specified",
      "EventSource es: /spec/resource/bad/eventTypes/1: unknown event type 'CHANGE' (want ADD, UPDATE or DELETE)",
      "EventSource es: /spec/resource/bad/filter/labels[0].key: key can't be empty for selector",
      "EventSource es: /spec/resource/bad/filter/fields/0/operation: 'in' is not supported for fields (want =, == or !=)",
      expect.stringMatching(
        /^EventSource es: \/spec\/resource\/bad\/filter\/fields\/0\/value: error parsing regexp/,
      ),
      "EventSource es: /spec/resource/bad/filter/createdBy: 'yesterday' is not an RFC 3339 time",
    ]);
  });

  it("encodes an UPDATE with oldBody and omits empty metadata", () => {
    const obj = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a", resourceVersion: "2" },
      data: { x: "<&>" },
    };
    const old = { ...obj, metadata: { name: "a", resourceVersion: "1" } };
    expect(
      buildResourceEventData("UPDATE", obj, old, {
        group: "",
        version: "v1",
        resource: "configmaps",
        metadata: undefined,
      }),
    ).toBe(
      '{"type":"UPDATE","body":{"apiVersion":"v1","data":{"x":"\\u003c\\u0026\\u003e"},"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"2"}},' +
        '"oldBody":{"apiVersion":"v1","data":{"x":"\\u003c\\u0026\\u003e"},"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"1"}},' +
        '"group":"","version":"v1","resource":"configmaps"}',
    );
  });
});
