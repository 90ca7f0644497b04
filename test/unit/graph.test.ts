import { describe, expect, it } from "vitest";
import type { EventFlowGraph } from "../../src/app/graph.js";
import { buildGraph, parseGraphFormat, renderGraph } from "../../src/app/graph.js";
import { loadManifests } from "../../src/config/load.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { loaded } from "../support/loaded.js";

const edges = (g: EventFlowGraph, kind: string) =>
  g.edges.filter((e) => e.kind === kind).map((e) => `${e.from} -> ${e.to}`);

describe("graph of the repository's examples", () => {
  let graph: EventFlowGraph;

  it("builds entries -> dependencies -> triggers", async () => {
    const l = await loadManifests([
      "eventsources",
      "sensors",
      "examples/orchestration",
      "examples/pubsub",
    ]);
    graph = buildGraph(l);
    const deps = edges(graph, "dependency");
    expect(deps).toContain("entry:webhook/workflow-events -> dep:cross-workflow/upstream-done");
    expect(deps).toContain("entry:workflow-events/status -> dep:pubsub-correlation/upstream-done");
    expect(deps).toContain("entry:sync-workflows/sync-b-updated -> dep:rebuild-after-syncs/sync-b");
    const triggers = edges(graph, "trigger");
    expect(triggers).toContain("dep:cross-workflow/upstream-done -> trigger:cross-workflow/notify");
    expect(triggers).toContain(
      "dep:cross-workflow/upstream-done -> trigger:cross-workflow/start-consumer",
    );
    const fanIn = graph.edges.filter((e) => e.to === "trigger:rebuild-after-syncs/rebuild");
    expect(fanIn.map((e) => e.from).sort()).toEqual([
      "dep:rebuild-after-syncs/sync-a",
      "dep:rebuild-after-syncs/sync-b",
      "dep:rebuild-after-syncs/sync-c",
    ]);
    expect(fanIn[0]!.label).toBe("sync-a && sync-b && sync-c");
    expect(graph.nodes.find((n) => n.id === "entry:webhook/example")).toMatchObject({
      type: "webhook",
      detail: "POST :12000/example",
      group: { kind: "EventSource", name: "webhook" },
    });
    expect(graph.nodes.some((n) => n.missing)).toBe(false);
  });

  it("finds the cross-workflow links: HTTP notify -> webhook, Workflow -> resource watch", () => {
    expect(edges(graph, "cross").sort()).toEqual([
      "trigger:config-sync/submit-config-sync -> entry:config-sync-workflows/config-sync-updated",
      "trigger:cross-workflow/notify -> entry:webhook/example",
    ]);
    const notify = graph.edges.find(
      (e) => e.from === "trigger:cross-workflow/notify" && e.kind === "cross",
    );
    expect(notify?.label).toBe("POST /example");
  });

  it("renders Mermaid (default), DOT and JSON", () => {
    const mermaid = renderGraph(graph, "mermaid");
    expect(mermaid.startsWith("flowchart LR\n")).toBe(true);
    expect(mermaid).toContain('subgraph g0["EventSource webhook"]');
    expect(mermaid).toMatch(/n\d+ -\.->\|"POST \/example"\| n0\n/);
    const dot = renderGraph(graph, "dot");
    expect(dot).toMatch(/^digraph sensorbus \{/);
    expect(dot).toContain('label="POST /example", style=dashed');
    expect(parseGraphFormat(undefined)).toBe("mermaid");
    expect(parseGraphFormat("dot")).toBe("dot");
    expect(() => parseGraphFormat("svg")).toThrow("--format: 'svg' is not mermaid, dot or json");
    const json = JSON.parse(renderGraph(graph, "json")) as EventFlowGraph;
    expect(json.edges).toEqual(graph.edges);
  });
});

const es = (name: string, spec: Record<string, unknown>, namespace?: string): EventSourceManifest =>
  ({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec,
  }) as unknown as EventSourceManifest;

const sensor = (name: string, triggers: unknown[], namespace = "argo"): SensorManifest =>
  ({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name, namespace },
    spec: {
      dependencies: [{ name: "d", eventSourceName: "src", eventName: "e" }],
      triggers: triggers.map((template) => ({ template })),
    },
  }) as unknown as SensorManifest;

const workflow = (metadata: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata,
  spec,
});

describe("cross-workflow links", () => {
  const source = es("src", { webhook: { e: { port: "12000", endpoint: "/e", method: "POST" } } });

  it("links a Workflow whose container publishes to a topic that a Pub/Sub EventSource reads", () => {
    const g = buildGraph(
      loaded(
        source,
        es("topics", {
          pubSub: { results: { topic: "export-results" }, other: { topic: "export" } },
        }),
        sensor("s", [
          {
            name: "export",
            argoWorkflow: {
              operation: "submit",
              source: {
                resource: workflow(
                  { generateName: "export-" },
                  {
                    templates: [
                      {
                        container: {
                          image: "gcloud",
                          args: ["pubsub", "topics", "publish", "export-results", "--message=x"],
                          env: [{ name: "OTHER", value: "exports" }],
                        },
                      },
                    ],
                  },
                ),
              },
            },
          },
        ]),
      ),
    );
    expect(edges(g, "cross")).toEqual(["trigger:s/export -> entry:topics/results"]);
    expect(g.edges.find((e) => e.kind === "cross")?.label).toBe("publishes to export-results");
  });

  it("links a pubSub trigger to each pubSub EventSource entry on the same topic (and project)", () => {
    const g = buildGraph(
      loaded(
        source,
        es("topics", {
          pubSub: {
            same: { topic: "work" },
            sameProject: { projectID: "p", topic: "work" },
            otherProject: { projectID: "q", topic: "work" },
            otherTopic: { topic: "other" },
          },
        }),
        sensor("s", [{ name: "hand-off", pubSub: { projectID: "p", topic: "work" } }]),
      ),
    );
    const cross = g.edges.filter((e) => e.kind === "cross");
    expect(cross.map((e) => `${e.from} -> ${e.to} (${e.label})`).sort()).toEqual([
      "trigger:s/hand-off -> entry:topics/same (publishes to work)",
      "trigger:s/hand-off -> entry:topics/sameProject (publishes to work)",
    ]);
    expect(g.nodes.find((n) => n.id === "trigger:s/hand-off")?.detail).toBe("publish to work");
    expect(renderGraph(g, "dot")).toMatch(/style=dashed/);
  });

  it("links a nats trigger (dashed) to the nats entries whose subject matches, wildcards included", () => {
    const g = buildGraph(
      loaded(
        source,
        es("bus", {
          nats: {
            exact: { url: "nats://nats:4222", subject: "orders.accepted" },
            star: { url: "nats.argo-events.svc:4222", subject: "orders.*" },
            tail: { url: "nats://nats", subject: ">" },
            other: { url: "nats://nats:4222", subject: "orders.rejected" },
            port: { url: "nats://nats:4333", subject: "orders.accepted" },
          },
        }),
        sensor("s", [
          {
            name: "hand-off",
            nats: { url: "nats://nats:4222", subject: "orders.accepted", payload: [] },
          },
        ]),
      ),
    );
    expect(edges(g, "cross").sort()).toEqual([
      "trigger:s/hand-off -> entry:bus/exact",
      "trigger:s/hand-off -> entry:bus/star",
      "trigger:s/hand-off -> entry:bus/tail",
    ]);
    expect(g.edges.find((e) => e.kind === "cross")?.label).toBe("publish orders.accepted");
    expect(renderGraph(g, "dot")).toContain('label="publish orders.accepted", style=dashed');
  });

  it("matches resource watches by group/resource, namespace, name prefix and labels", () => {
    const watch = (filter: Record<string, unknown>, namespace = "argo") => ({
      namespace,
      group: "argoproj.io",
      version: "v1alpha1",
      resource: "workflows",
      eventTypes: ["ADD"],
      filter,
    });
    const g = buildGraph(
      loaded(
        source,
        es("watches", {
          resource: {
            prefixOk: watch({ prefix: "build-" }),
            prefixWrong: watch({ prefix: "deploy-" }),
            labelOk: watch({ labels: [{ key: "team", value: "a" }] }),
            labelWrong: watch({ labels: [{ key: "team", value: "b" }] }),
            dynamicLabel: watch({ labels: [{ key: "run", value: "anything" }] }),
            otherNs: watch({}, "prod"),
          },
          webhook: { hook: { port: "13000", endpoint: "/hook/", method: "POST" } },
        }),
        sensor("s", [
          {
            name: "wf",
            argoWorkflow: {
              operation: "submit",
              source: { resource: workflow({ generateName: "build-", labels: { team: "a" } }) },
              parameters: [
                { src: { dependencyName: "d", value: "x" }, dest: "metadata.labels.run" },
              ],
            },
          },
          { name: "post", http: { url: "http://hooks.svc:13000/hook", method: "PUT" } },
          { name: "wrong-port", http: { url: "http://hooks.svc:13001/hook" } },
        ]),
      ),
    );
    expect(edges(g, "cross").sort()).toEqual([
      "trigger:s/post -> entry:watches/hook",
      "trigger:s/wf -> entry:watches/dynamicLabel",
      "trigger:s/wf -> entry:watches/labelOk",
      "trigger:s/wf -> entry:watches/prefixOk",
    ]);
  });

  it("shows a dependency on an EventSource that is not among the manifests as a missing entry", () => {
    const g = buildGraph(loaded(sensor("s", [{ name: "l", log: {} }])));
    expect(g.nodes.find((n) => n.id === "entry:src/e")).toMatchObject({ missing: true });
    expect(edges(g, "trigger")).toEqual(["dep:s/d -> trigger:s/l"]);
  });
});

describe("one decision for a template's kind (issue 21)", () => {
  it("draws a template holding both argoWorkflow and k8s as k8s, the kind that runs", async () => {
    const { selectKind } = await import("../../src/triggers/select.js");
    const source = {
      resource: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { generateName: "both-" },
      },
    };
    const template = {
      name: "both",
      argoWorkflow: { operation: "submit", source },
      k8s: { operation: "create", source },
    };
    const sensor: SensorManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "s", namespace: "ns" },
      spec: {
        dependencies: [{ name: "d", eventSourceName: "es", eventName: "e" }],
        triggers: [{ template }],
      },
    };
    const node = buildGraph(loaded(sensor)).nodes.find((n) => n.id === "trigger:s/both");
    expect(selectKind(template)?.kind).toBe("k8s");
    expect(node).toMatchObject({ type: "k8s", detail: "create ConfigMap both-" });
  });
});
