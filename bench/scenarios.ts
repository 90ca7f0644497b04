import type { Planned } from "./load.js";

/**
 * The benchmark's manifests: plain Argo Events v1alpha1 YAML, as a user would write them. Each
 * scenario also says how to plan request `i` and where its deliveries arrive.
 */
export interface Scenario {
  name: string;
  title: string;
  manifests: (ports: { webhook: number; sink: number }) => string;
  plan: (i: number, tag: string) => Planned;
  /** Events per delivery (a two-dependency condition needs two). */
  eventsPerDelivery: number;
  /** Events/s offered when the scenario runs at one fixed rate (bench/run.ts scenarioPart). */
  rate?: number;
  /** Deliveries go to the fake Kubernetes API instead of the HTTP sink. */
  kube?: boolean;
}

const eventSource = (port: number, events: string[]): string => `apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: bench
spec:
  webhook:
${events.map((e) => `    ${e}:\n      port: "${port}"\n      endpoint: /${e}\n      method: POST`).join("\n")}
`;

const completedFilter = `      filters:
        data:
          - path: body.action
            type: string
            value: ["completed"]`;

/** A Sensor with one dependency `done` (webhook event `done`, action completed) and one trigger. */
const doneSensor = (name: string, trigger: string): string => `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: ${name}
spec:
  dependencies:
    - name: done
      eventSourceName: bench
      eventName: done
${completedFilter}
  triggers:
    - template:
${trigger}`;

/** Request `i` to `path`, delivered under the id `<tag>-<i>`. */
function planDone(path: string): (i: number, tag: string) => Planned {
  return (i, tag) => {
    const id = `${tag}-${i}`;
    return { path, body: body(id, i), expect: id };
  };
}

/** A realistic "workflow finished" body (~250 bytes). */
function body(id: string, i: number): string {
  return JSON.stringify({
    id,
    action: "completed",
    correlation_id: `c-${i}`,
    workflow: { name: `config-sync-${i}`, namespace: "argo", phase: "Succeeded" },
    finishedAt: "2026-11-24T10:00:00Z",
    outputs: { parameters: [{ name: "revision", value: "4f2c9e1" }] },
  });
}

export const HTTP_TRIGGER: Scenario = {
  name: "http",
  title: "webhook → data filter → parameters → HTTP trigger",
  eventsPerDelivery: 1,
  manifests: ({ webhook, sink }) => `${eventSource(webhook, ["done"])}---
${doneSensor(
  "bench",
  `        name: notify
        http:
          url: http://127.0.0.1:${sink}/deliver
          method: POST
          payload:
            - src: { dependencyName: done, dataKey: body.id }
              dest: id
            - src: { dependencyName: done, dataKey: body.correlation_id }
              dest: correlationId
      retryStrategy:
        steps: 3
`,
)}`,
  plan: planDone("/done"),
};

export const AND_CONDITION: Scenario = {
  name: "and",
  title: "two dependencies, conditions: a && b → HTTP trigger",
  eventsPerDelivery: 2,
  // 100 pairs/s: within what one trigger's compare-and-set steps on KV take (docs/performance.md), so events
  // reach the condition in the order they were sent. Past that a backlog builds, and a dependency
  // whose newer event arrives first replaces the older one (Argo's "latest event wins"): the sink
  // then misses that older event's pair.
  rate: 200,
  manifests: ({ webhook, sink }) => `${eventSource(webhook, ["a", "b"])}---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: bench-and
spec:
  dependencies:
    - name: a
      eventSourceName: bench
      eventName: a
${completedFilter}
    - name: b
      eventSourceName: bench
      eventName: b
${completedFilter}
  triggers:
    - template:
        name: joined
        conditions: "a && b"
        http:
          url: http://127.0.0.1:${sink}/deliver
          method: POST
          payload:
            - src: { dependencyName: b, dataKey: body.id }
              dest: id
            - src: { dependencyName: a, dataKey: body.id }
              dest: first
`,
  // a_n then b_n; the firing completed by b_n reports b_n's id, timed from b_n's send.
  plan: (i, tag) => {
    const n = Math.floor(i / 2);
    const id = `${tag}-${i % 2 === 0 ? "a" : "b"}-${n}`;
    return i % 2 === 0
      ? { path: "/a", body: body(id, n) }
      : { path: "/b", body: body(id, n), expect: id };
  },
};

export const ARGO_WORKFLOW: Scenario = {
  name: "argo",
  title: "webhook → argoWorkflow submit (fake Kubernetes API)",
  eventsPerDelivery: 1,
  rate: 500,
  kube: true,
  manifests: ({ webhook }) => `${eventSource(webhook, ["done"])}---
${doneSensor(
  "bench-argo",
  `        name: next-stage
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata:
                generateName: cache-rebuild-
              spec:
                entrypoint: main
                arguments:
                  parameters:
                    - name: run-id
                      value: placeholder
                workflowTemplateRef:
                  name: cache-rebuild
          parameters:
            - src: { dependencyName: done, dataKey: body.id }
              dest: spec.arguments.parameters.0.value
      retryStrategy:
        steps: 3
`,
)}`,
  plan: planDone("/done"),
};

/** The baseline process serves one route, `/events`. */
export const baselinePlan = planDone("/events");

/**
 * The single-dependency HTTP path twice in one process (issue 24's recording cost): `/done` as in
 * {@link HTTP_TRIGGER}, events without a correlation ID (nothing recorded in the correlation
 * index); `/traced` the same path for a Sensor whose `sensorbus.io/correlation-id-path` annotation
 * gives every event a correlation ID (indexed in memory and written to the `sensorbus-trace`
 * stream). The same trigger and sink; only the recording differs.
 */
export const TRACE_RECORDING: Scenario = {
  name: "trace",
  title: "single dependency → HTTP trigger, with and without correlation recording",
  eventsPerDelivery: 1,
  manifests: ({ webhook, sink }) => {
    const trigger = `        name: notify
        http:
          url: http://127.0.0.1:${sink}/deliver
          method: POST
          payload:
            - src: { dependencyName: done, dataKey: body.id }
              dest: id
      retryStrategy:
        steps: 3
`;
    const traced = doneSensor("bench-traced", trigger)
      .replace(
        "  name: bench-traced\n",
        "  name: bench-traced\n  annotations:\n    sensorbus.io/correlation-id-path: body.correlation_id\n",
      )
      .replace("eventName: done", "eventName: traced");
    return `${eventSource(webhook, ["done", "traced"])}---
${doneSensor("bench", trigger)}---
${traced}`;
  },
  plan: planDone("/done"),
};

/** {@link TRACE_RECORDING}'s traced path. */
export const tracedPlan = planDone("/traced");
