import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/app/runtime.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { createBus } from "../../src/eventbus/index.js";
import type { EventBus } from "../../src/eventbus/types.js";
import { loadKubeClient } from "../../src/k8s/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import { FakeKubeApi } from "../support/fake-kube-api.js";
import { HttpSink } from "../support/http-sink.js";
import { loaded } from "../support/loaded.js";
import type { NatsServer } from "../support/nats-server.js";
import { startNatsServer, waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { postJson } from "../support/post-json.js";

const log = silentLogger();

function webhookSource(port: number): EventSourceManifest {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "ci" },
    spec: { webhook: { build: { port: String(port), endpoint: "/build", method: "POST" } } },
  };
}

function httpSensor(sinkUrl: string): SensorManifest {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "notify" },
    spec: {
      dependencies: [
        {
          name: "build",
          eventSourceName: "ci",
          eventName: "build",
          filters: { data: [{ path: "body.status", type: "string", value: ["^ok$"] }] },
        },
      ],
      triggers: [
        {
          template: {
            name: "post",
            http: {
              url: `${sinkUrl}/hook`,
              method: "POST",
              headers: { "Content-Type": "application/json" },
              payload: [
                { src: { dependencyName: "build", dataKey: "body.n" }, dest: "n" },
                {
                  src: { dependencyName: "build", dataKey: "body", useRawData: true },
                  dest: "build",
                },
              ],
            },
          },
        },
      ],
    },
  };
}

/** The webhook EventSource on `port` and the HTTP-trigger Sensor posting to `sinkUrl`, dry run. */
function startPipeline(
  port: number,
  sinkUrl: string,
  busUrl: string | undefined,
): Promise<Runtime> {
  return Runtime.start({
    loaded: loaded(webhookSource(port), httpSensor(sinkUrl)),
    busUrl,
    kube: undefined,
    dryRun: true,
    values: dirResolver({}),
    log,
  });
}

describe.each(["memory", "jetstream"] as const)(
  "webhook -> %s bus -> sensor -> HTTP trigger",
  (busKind) => {
    let nats: NatsServer | undefined;
    let sink: HttpSink;
    let runtime: Runtime;
    let port: number;

    beforeAll(async () => {
      if (busKind === "jetstream") nats = await startNatsServer();
      sink = await new HttpSink().start();
      port = await freePort();
      runtime = await startPipeline(port, sink.url, nats?.url);
    });

    afterAll(async () => {
      await runtime?.stop(5_000);
      await sink?.stop();
      await nats?.stop();
    });

    it("fires for matching events with the payload built from parameters, and not for others", async () => {
      const ok = await postJson(port, "/build", { status: "ok", n: 1 });
      const skipped = await postJson(port, "/build", { status: "failed", n: 2 });
      expect(ok.status).toBe(200);
      expect(ok.id).toMatch(/^[0-9a-f]{32}$/);
      expect(skipped.status).toBe(200);
      await waitUntil(() => sink.requests.length >= 1, "the HTTP trigger to fire");
      const third = await postJson(port, "/build", { status: "ok", n: 3 });
      expect(third.status).toBe(200);
      await waitUntil(() => sink.requests.length >= 2, "the second firing");
      const bodies = sink.requests.map((r) => JSON.parse(r.body));
      expect(bodies).toEqual([
        { n: "1", build: { status: "ok", n: 1 } },
        { n: "3", build: { status: "ok", n: 3 } },
      ]);
      expect(sink.requests[0]!.headers["content-type"]).toBe("application/json");
      expect(sink.requests[0]!.url).toBe("/hook");
    });
  },
);

describe("nats-server restarted mid-stream", () => {
  let nats: NatsServer;
  let sink: HttpSink;
  let runtime: Runtime;
  let port: number;

  beforeAll(async () => {
    nats = await startNatsServer();
    sink = await new HttpSink().start();
    port = await freePort();
    runtime = await startPipeline(port, sink.url, nats.url);
  });

  afterAll(async () => {
    await runtime?.stop(5_000);
    await sink?.stop();
    await nats?.stop();
  });

  it("loses nothing that was answered 200", async () => {
    const accepted = new Set<number>();
    let refused = 0;
    const send = async (n: number) => {
      const r = await postJson(port, "/build", { status: "ok", n });
      if (r.status === 200) accepted.add(n);
      else {
        expect(r.status).toBe(503);
        refused++;
      }
    };
    for (let n = 0; n < 40; n++) await send(n);
    const restart = nats.restart();
    // Requests while the server restarts: each is either stored (200) or refused (503), never lost.
    for (let n = 40; n < 60; n++) await send(n);
    await restart;
    await waitUntil(() => runtime.bus.connected, "the bus to reconnect", 20_000);
    for (let n = 60; n < 100; n++) await send(n);
    const firedNs = () => new Set(sink.requests.map((r) => JSON.parse(r.body).build.n as number));
    // Every accepted event, not a count: a refused request can still have been stored (its
    // acknowledgement lost in the restart) and fire, while an accepted one delivered just before
    // the restart comes back only after the consumer's 30 s ack wait.
    await waitUntil(
      () => {
        const fired = firedNs();
        return [...accepted].every((n) => fired.has(n));
      },
      `all ${accepted.size} accepted events to fire`,
      45_000,
    ).catch(() => undefined);
    const fired = firedNs();
    expect([...accepted].filter((n) => !fired.has(n))).toEqual([]);
    console.log(
      `nats restart: ${accepted.size} accepted, ${refused} refused, ${[...fired].filter((n) => !accepted.has(n)).length} refused but stored and fired`,
    );
    expect(accepted.size + refused).toBe(100);
    expect(accepted.size).toBeGreaterThanOrEqual(80);
  });
});

describe("argoWorkflow trigger against the Kubernetes API", () => {
  let kube: FakeKubeApi;
  let bus: EventBus;
  let runtime: Runtime;
  let port: number;

  beforeAll(async () => {
    kube = await new FakeKubeApi({ token: "t0ken" }).start();
    bus = await createBus(undefined, { log });
    port = await freePort();
    const sensor: SensorManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "correlate", namespace: "argo" },
      spec: {
        dependencies: [{ name: "done", eventSourceName: "ci", eventName: "build" }],
        triggers: [
          {
            template: {
              name: "consumer",
              argoWorkflow: {
                operation: "submit",
                source: {
                  resource: {
                    apiVersion: "argoproj.io/v1alpha1",
                    kind: "Workflow",
                    metadata: { generateName: "consumer-" },
                    spec: {
                      entrypoint: "main",
                      arguments: { parameters: [{ name: "correlation-id", value: "" }] },
                    },
                  },
                },
                parameters: [
                  {
                    src: { dependencyName: "done", dataKey: "body.correlation_id" },
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
      loaded: loaded(webhookSource(port), sensor),
      busUrl: undefined,
      bus,
      kube: await loadKubeClient({ kubeconfigYaml: kube.kubeconfigYaml("argo") }),
      dryRun: false,
      values: dirResolver({}),
      log,
    });
  });

  afterAll(async () => {
    await runtime?.stop(5_000);
    await bus?.close();
    await kube?.stop();
  });

  it("creates the Workflow with the correlation id, the Argo labels and the bearer token", async () => {
    const r = await postJson(port, "/build", { correlation_id: "c-123" });
    expect(r.status).toBe(200);
    const creates = () =>
      kube.apiRequests().filter((q) => q.method === "POST" && q.path.endsWith("/workflows"));
    await waitUntil(() => creates().length === 1, "the Workflow create");
    const req = creates()[0]!;
    expect(req.path).toBe("/apis/argoproj.io/v1alpha1/namespaces/argo/workflows");
    expect(req.headers.authorization).toBe("Bearer t0ken");
    const wf = JSON.parse(req.body) as {
      metadata: { name: string; labels: Record<string, string> };
      spec: { arguments: { parameters: Array<{ value: string }> } };
    };
    expect(wf.spec.arguments.parameters[0]!.value).toBe("c-123");
    expect(wf.metadata.labels["events.argoproj.io/sensor"]).toBe("correlate");
    expect(wf.metadata.labels["events.argoproj.io/trigger"]).toBe("consumer");
    expect(wf.metadata.name).toMatch(/^consumer-/);
  });
});
