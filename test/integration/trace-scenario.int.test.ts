import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Diagnostics } from "../../src/app/diagnostics.js";
import { publishToPubSub } from "../../src/app/publish.js";
import { Runtime } from "../../src/app/runtime.js";
import { formatTrace, loadTrace } from "../../src/app/trace.js";
import { loadManifests } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import { loadKubeClient } from "../../src/k8s/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import type { Trace, TraceStep } from "../../src/observability/timeline.js";
import { FakeKubeApi } from "../support/fake-kube-api.js";
import { type NatsServer, startNatsServer, waitUntil } from "../support/nats-server.js";
import {
  type PubSubEmulator,
  pubSubEmulatorAvailable,
  startPubSubEmulator,
} from "../support/pubsub-emulator.js";

// issue 24: follow one correlation ID across decoupled workflows, two stages deep, over the real
// Pub/Sub emulator and JetStream, with two sensorbus replicas (Runtimes) sharing the bus:
//   replica A: Pub/Sub EventSource `upstream` (correlation ID from body.run_id by annotation)
//              + Sensor `stage1` (submits the consumer Workflow);
//   replica B: resource EventSource `workflows` (watches Workflows in the fake Kubernetes API)
//              + Sensor `stage2` (on Succeeded: submits the next stage, and calls a dead hook).
// `sensorbus trace run-42` must then list every step of both replicas, in order.

const available = pubSubEmulatorAvailable();
if (!available)
  console.warn(
    "\n*** SKIPPING test/integration/trace-scenario.int.test.ts: needs `gcloud` with the pubsub-emulator component. ***\n",
  );

const PROJECT = "trace-project";
const TOPIC = "workflow-status";
const WAIT_MS = 30_000;

const REPLICA_A = `
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: upstream
  annotations:
    sensorbus.io/correlation-id-path: body.run_id
spec:
  pubSub:
    status:
      projectID: ${PROJECT}
      topic: ${TOPIC}
      subscriptionID: ${TOPIC}-sensorbus
      jsonBody: true
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: stage1
spec:
  dependencies:
    - name: upstream-done
      eventSourceName: upstream
      eventName: status
      filters:
        data:
          - path: body.action
            type: string
            value: ["^completed$"]
  triggers:
    - template:
        name: start-consumer
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata:
                generateName: consumer-
                namespace: default
              spec:
                entrypoint: consume
                templates:
                  - name: consume
                    container: { image: "alpine:3.20" }
`;

const REPLICA_B = `
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: workflows
spec:
  resource:
    consumer:
      namespace: default
      group: argoproj.io
      version: v1alpha1
      resource: workflows
      eventTypes: [UPDATE]
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: stage2
spec:
  dependencies:
    - name: consumer-done
      eventSourceName: workflows
      eventName: consumer
      filters:
        data:
          - path: body.status.phase
            type: string
            value: ["^Succeeded$"]
  triggers:
    - template:
        name: next-stage
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata:
                generateName: stage2-
                namespace: default
              spec:
                entrypoint: load
                templates:
                  - name: load
                    container: { image: "alpine:3.20" }
    - template:
        name: notify
        http:
          url: http://127.0.0.1:1/hooks/run-done
          method: POST
      retryStrategy:
        steps: 2
        duration: 10ms
`;

describe.skipIf(!available)(
  "trace run-42: Pub/Sub -> stage1 -> Workflow phases -> stage2, over two replicas",
  () => {
    let emulator: PubSubEmulator;
    let nats: NatsServer;
    let kube: FakeKubeApi;
    let dir: string;
    const replicas: Array<{ runtime: Runtime; diagnostics: Diagnostics }> = [];
    const saved = {
      host: process.env.PUBSUB_EMULATOR_HOST,
      metadata: process.env.METADATA_SERVER_DETECTION,
    };
    let trace: Trace;

    const startReplica = async (sub: string) => {
      const log = silentLogger();
      const diagnostics = new Diagnostics(log);
      const runtime = await Runtime.start({
        loaded: await loadManifests([join(dir, sub)]),
        busUrl: nats.url,
        kube: await loadKubeClient({ kubeconfigYaml: kube.kubeconfigYaml() }),
        dryRun: false,
        values: dirResolver({}),
        log,
        observer: diagnostics.observer,
        onEmit: diagnostics.onEmit,
      });
      await diagnostics.useBus(runtime.bus);
      replicas.push({ runtime, diagnostics });
      return diagnostics;
    };

    const kinds = (d: Diagnostics) =>
      d.journal.correlated("run-42").flatMap((e) => e.entries.map((x) => x.kind));
    const workflows = (prefix: string) =>
      kube
        .objects("argoproj.io/v1alpha1", "Workflow")
        .filter((w) => w.metadata?.name?.startsWith(prefix));
    const setPhase = (name: string, phase: string) =>
      kube.mutate("argoproj.io/v1alpha1", "Workflow", "default", name, (o) => {
        (o as { status?: unknown }).status = { phase };
      });

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "sensorbus-trace-"));
      for (const [sub, text] of [
        ["a", REPLICA_A],
        ["b", REPLICA_B],
      ] as const) {
        await mkdir(join(dir, sub));
        await writeFile(join(dir, sub, "manifests.yaml"), text);
      }
      [emulator, nats, kube] = await Promise.all([
        startPubSubEmulator(),
        startNatsServer(),
        new FakeKubeApi().start(),
      ]);
      process.env.PUBSUB_EMULATOR_HOST = emulator.host;
      process.env.METADATA_SERVER_DETECTION = "none";
      const a = await startReplica("a");
      const b = await startReplica("b");

      // Stage 0: a "started" status (rejected by stage1's filter), then "completed" for run-42.
      await publishToPubSub({
        projectID: PROJECT,
        topic: TOPIC,
        data: JSON.stringify({ action: "started", run_id: "run-42" }),
      });
      await waitUntil(() => kinds(a).includes("rejected"), "stage1 rejects 'started'", WAIT_MS);
      await publishToPubSub({
        projectID: PROJECT,
        topic: TOPIC,
        data: JSON.stringify({ action: "completed", run_id: "run-42" }),
      });
      // Stage 1: the consumer Workflow, labelled with the correlation ID.
      await waitUntil(() => kinds(a).includes("fired"), "stage1 fires", WAIT_MS);
      const [consumer] = workflows("consumer-");
      expect(consumer?.metadata?.labels?.["sensorbus.io/correlation-id"]).toBe("run-42");
      const name = consumer!.metadata!.name!;
      // Its phases, as the Argo controller would set them, seen by replica B's resource EventSource.
      setPhase(name, "Running");
      await waitUntil(() => kinds(b).includes("rejected"), "stage2 rejects Running", WAIT_MS);
      setPhase(name, "Succeeded");
      // Stage 2: the next Workflow, and the notify hook that fails for good.
      await waitUntil(
        () => kinds(b).includes("fired") && kinds(b).includes("deadlettered"),
        "stage2 fires next-stage and dead-letters notify",
        WAIT_MS,
      );
      for (const r of replicas) await r.diagnostics.flush();
      // What `sensorbus trace run-42 --bus nats://...` reads: the stream both replicas wrote.
      const t = await loadTrace({ id: "run-42", busUrl: nats.url, log: silentLogger() });
      if (!t) throw new Error("trace run-42: nothing known");
      trace = t;
    }, 120_000);

    afterAll(async () => {
      for (const r of replicas) await r.runtime.stop(5_000);
      await Promise.allSettled([emulator?.stop(), nats?.stop(), kube?.stop()]);
      await rm(dir, { recursive: true, force: true });
      for (const [key, value] of [
        ["PUBSUB_EMULATOR_HOST", saved.host],
        ["METADATA_SERVER_DETECTION", saved.metadata],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });

    const find = (pred: (s: TraceStep) => boolean, what: string): number => {
      const i = trace.steps.findIndex(pred);
      if (i < 0) throw new Error(`no step ${what} in:\n${formatTrace(trace, "text")}`);
      return i;
    };

    it("lists every step of both replicas in order, workflow to workflow", () => {
      const consumer = workflows("consumer-")[0]!.metadata!.name!;
      const stage2 = workflows("stage2-")[0]!.metadata!.name!;
      const order = [
        find((s) => s.lane === "EventSource upstream" && s.kind === "published", "published"),
        find((s) => s.lane === "Sensor stage1" && s.kind === "rejected", "stage1 rejected"),
        find(
          (s) => s.lane === "Sensor stage1" && s.kind === "fired" && s.object?.name === consumer,
          "stage1 fired",
        ),
        find((s) => s.lane === `Workflow default/${consumer}` && s.kind === "created", "created"),
        find((s) => s.kind === "phase" && s.object?.phase === "Running", "Running"),
        find((s) => s.lane === "Sensor stage2" && s.kind === "rejected", "stage2 rejected"),
        find((s) => s.kind === "phase" && s.object?.phase === "Succeeded", "Succeeded"),
        find(
          (s) => s.lane === "Sensor stage2" && s.kind === "fired" && s.object?.name === stage2,
          "stage2 fired",
        ),
        find((s) => s.lane === `Workflow default/${stage2}` && s.kind === "created", "created 2"),
      ];
      expect(order).toEqual([...order].sort((x, y) => x - y));
      // Both phases sit in the consumer Workflow's lane.
      expect(
        trace.steps.filter((s) => s.lane === `Workflow default/${consumer}`).map((s) => s.kind),
      ).toEqual(["created", "phase", "phase"]);
      expect(trace.lanes.map((l) => l.name)).toEqual([
        "EventSource upstream",
        "Sensor stage1",
        `Workflow default/${consumer}`,
        "Sensor stage2",
        `Workflow default/${stage2}`,
      ]);
      // Records of both replicas: replica A wrote stage1's, replica B stage2's.
      expect(
        replicas[0]!.diagnostics.journal
          .correlated("run-42")
          .some((e) => e.entries.some((x) => x.kind === "fired" && x.sensor === "stage2")),
      ).toBe(false);
    });

    it("shows the rejected events and the failed trigger with their reasons", () => {
      const r1 =
        trace.steps[find((s) => s.lane === "Sensor stage1" && s.kind === "rejected", "r1")]!;
      expect(r1.reason).toContain("body.action");
      const r2 =
        trace.steps[find((s) => s.lane === "Sensor stage2" && s.kind === "rejected", "r2")]!;
      expect(r2.reason).toContain("body.status.phase");
      const retried = find((s) => s.kind === "retried" && s.trigger === "notify", "retried");
      const failed = find((s) => s.kind === "failed" && s.trigger === "notify", "failed");
      const dead = find((s) => s.kind === "dead-lettered" && s.trigger === "notify", "dead");
      expect(retried).toBeLessThan(failed);
      expect(failed).toBeLessThan(dead);
      expect(trace.steps[failed]!.error).toMatch(/127\.0\.0\.1:1|ECONNREFUSED|connect/);
      expect(trace.lanes.find((l) => l.name === "Sensor stage2")?.outcome).toBe("failed");
    });

    it("the correlation ID went on to the next stage's Workflow without configuration", () => {
      const [next] = workflows("stage2-");
      expect(next?.metadata?.labels?.["sensorbus.io/correlation-id"]).toBe("run-42");
    });

    it("prints text and mermaid; an unknown ID is not found", async () => {
      const text = formatTrace(trace, "text");
      expect(text.split("\n")[0]).toMatch(/^trace run-42: \d+ steps, 4 events, 5 lanes/);
      expect(formatTrace(trace, "mermaid")).toMatch(/^sequenceDiagram\n/);
      expect(
        await loadTrace({ id: "run-43", busUrl: nats.url, log: silentLogger() }),
      ).toBeUndefined();
    });
  },
);
