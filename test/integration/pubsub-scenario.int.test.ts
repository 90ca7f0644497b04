import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { publishToBus, publishToPubSub } from "../../src/app/publish.js";
import { Runtime } from "../../src/app/runtime.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { loadManifests } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import { ConfigError, EventsError } from "../../src/errors.js";
import { loadKubeClient } from "../../src/k8s/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import { FakeKubeApi, type RecordedRequest } from "../support/fake-kube-api.js";
import { type NatsServer, startNatsServer, waitUntil } from "../support/nats-server.js";
import {
  type PubSubEmulator,
  pubSubEmulatorAvailable,
  startPubSubEmulator,
} from "../support/pubsub-emulator.js";

// The cross-workflow correlation scenario end to end, with the example manifests unchanged:
// Pub/Sub emulator -> examples/pubsub EventSource -> nats-server JetStream -> Sensor -> argoWorkflow
// trigger -> (fake) Kubernetes API. The emulator's topic and subscription are created by the
// pubsub-init script of docker-compose.yml, run here against this file's own emulator.

const available = pubSubEmulatorAvailable();
// docker-compose's pubsub-init script uses curl.
const curlAvailable = spawnSync("curl", ["--version"]).status === 0;
if (!available || !curlAvailable) {
  console.warn(
    "\n*** SKIPPING test/integration/pubsub-scenario.int.test.ts: needs `gcloud` with the " +
      "pubsub-emulator component and `curl`. ***\n",
  );
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = `${ROOT}examples/pubsub`;
const WORKFLOWS_PATH = "/apis/argoproj.io/v1alpha1/namespaces/default/workflows";
const WAIT_MS = 20_000;

interface InitService {
  command: string[];
  environment: Record<string, string>;
}

function composeInit(): InitService {
  const compose = parseYaml(readFileSync(`${ROOT}docker-compose.yml`, "utf8")) as {
    services: Record<string, InitService>;
  };
  const init = compose.services["pubsub-init"];
  if (!init) throw new Error("docker-compose.yml has no pubsub-init service");
  return init;
}

/** Runs pubsub-init's command as the container would (compose turns `$$` into `$`). */
async function runComposeInit(emulatorHost: string): Promise<string> {
  const init = composeInit();
  const [shell, flag, script] = init.command;
  if (shell !== "sh" || flag !== "-c" || script === undefined) {
    throw new Error(`pubsub-init command is not sh -c SCRIPT: ${JSON.stringify(init.command)}`);
  }
  const child = spawn("sh", ["-c", script.replaceAll("$$", "$")], {
    env: { ...process.env, ...init.environment, PUBSUB_EMULATOR_HOST: emulatorHost },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString("utf8");
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString("utf8");
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`pubsub-init script failed (exit ${code}): ${out}`);
  return out;
}

interface LogLine {
  msg?: string;
  messageId?: string;
  level?: number;
}

describe.skipIf(!available || !curlAvailable)(
  "Pub/Sub correlation scenario: emulator -> JetStream -> Sensor -> Kubernetes API",
  () => {
    let emulator: PubSubEmulator;
    let nats: NatsServer;
    let kube: FakeKubeApi;
    let runtime: Runtime | undefined;
    const init = composeInit().environment;
    const PROJECT = init.PUBSUB_PROJECT_ID ?? "";
    const TOPIC = init.PUBSUB_TOPIC ?? "";
    let initOutput = "";
    const rejected: CloudEvent[] = [];
    const nacked: LogLine[] = [];
    const saved = {
      host: process.env.PUBSUB_EMULATOR_HOST,
      metadata: process.env.METADATA_SERVER_DETECTION,
    };

    // Keep only what the assertions need: the adapter's nack warnings.
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split("\n")) {
          if (!line.includes("nacked")) continue;
          nacked.push(JSON.parse(line) as LogLine);
        }
        cb();
      },
    });
    const log = pino({ level: "warn" }, sink);

    const startRuntime = async () => {
      const loaded = await loadManifests([EXAMPLES]);
      return Runtime.start({
        loaded,
        busUrl: nats.url,
        kube: await loadKubeClient({ kubeconfigYaml: kube.kubeconfigYaml() }),
        dryRun: false,
        values: dirResolver({}),
        log,
        observer: { rejected: (info) => rejected.push(info.event) },
      });
    };

    const publish = (body: Record<string, string>) =>
      publishToPubSub({ projectID: PROJECT, topic: TOPIC, data: JSON.stringify(body) });

    const workflowPosts = (correlationId: string): RecordedRequest[] =>
      kube.requests.filter((r) => {
        if (r.method !== "POST" || r.path !== WORKFLOWS_PATH) return false;
        const body = JSON.parse(r.body) as { metadata?: { labels?: Record<string, string> } };
        return body.metadata?.labels?.["correlation-id"] === correlationId;
      });

    const workflows = (correlationId: string) =>
      kube
        .objects("argoproj.io/v1alpha1", "Workflow")
        .filter((o) => o.metadata?.labels?.["correlation-id"] === correlationId);

    const waitForWorkflow = (correlationId: string) =>
      waitUntil(
        () => workflows(correlationId).length > 0,
        `a Workflow labelled correlation-id=${correlationId}`,
        WAIT_MS,
      );

    beforeAll(async () => {
      [emulator, nats, kube] = await Promise.all([
        startPubSubEmulator(),
        startNatsServer(),
        new FakeKubeApi().start(),
      ]);
      process.env.PUBSUB_EMULATOR_HOST = emulator.host;
      process.env.METADATA_SERVER_DETECTION = "none";
      // As `docker compose up` does before sensorbus starts.
      initOutput = await runComposeInit(emulator.host);
      // For (b): the subscription exists, sensorbus is not running yet.
      await publish({ action: "completed", correlation_id: "c-offline" });
      runtime = await startRuntime();
    });

    afterAll(async () => {
      await runtime?.stop(5_000);
      await Promise.allSettled([emulator?.stop(), nats?.stop(), kube?.stop()]);
      for (const [key, value] of [
        ["PUBSUB_EMULATOR_HOST", saved.host],
        ["METADATA_SERVER_DETECTION", saved.metadata],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });

    it("docker-compose's pubsub-init creates the topic and subscription, and is idempotent", async () => {
      expect(initOutput).toContain(`created topics/${TOPIC}`);
      expect(initOutput).toContain(`created subscriptions/${init.PUBSUB_SUBSCRIPTION}`);
      const again = await runComposeInit(emulator.host);
      expect(again).toContain(`exists  topics/${TOPIC}`);
      expect(again).toContain(`exists  subscriptions/${init.PUBSUB_SUBSCRIPTION}`);
    });

    it("(b) a message published while sensorbus is stopped is delivered once it starts", async () => {
      // Published in beforeAll before the Runtime started.
      await waitForWorkflow("c-offline");
      expect(workflows("c-offline")).toHaveLength(1);
    });

    it("(a) a completed message submits the consumer Workflow with the correlation id", async () => {
      const messageId = await publish({ action: "completed", correlation_id: "c-123" });
      expect(messageId).toMatch(/^\d+$/);
      await waitForWorkflow("c-123");

      const [post, ...more] = workflowPosts("c-123");
      expect(more).toEqual([]);
      expect(post?.headers.authorization).toBe(`Bearer ${kube.token}`);
      const wf = JSON.parse(post!.body) as {
        kind: string;
        metadata: { name?: string; generateName?: string; labels: Record<string, string> };
        spec: { arguments: { parameters: Array<{ name: string; value: string }> } };
      };
      expect(wf.kind).toBe("Workflow");
      expect(wf.metadata.name ?? wf.metadata.generateName).toMatch(/^consumer-/);
      expect(wf.metadata.labels["correlation-id"]).toBe("c-123");
      expect(wf.spec.arguments.parameters[0]).toEqual({ name: "correlation-id", value: "c-123" });
    });

    it("(a) a started message is rejected by the filter and creates nothing", async () => {
      await publish({ action: "started", correlation_id: "c-456" });
      await waitUntil(
        () => rejected.some((e) => e.data?.includes('"c-456"') === true),
        "the Sensor to reject the started event",
        WAIT_MS,
      );
      expect(workflowPosts("c-456")).toEqual([]);
      expect(workflows("c-456")).toEqual([]);
    });

    it("sensorbus publish --bus puts an event on the bus as the EventSource would", async () => {
      const id = "0123456789abcdef0123456789abcdef";
      const data = JSON.stringify({ body: { action: "completed", correlation_id: "c-bus" } });
      const opts = {
        busUrl: nats.url,
        eventSource: "workflow-events",
        eventName: "status",
        data,
        id,
      };
      const first = await publishToBus({ ...opts, log: silentLogger() });
      expect(first).toMatchObject({ id, duplicate: false });
      await waitForWorkflow("c-bus");
      // Same id again: the bus's dedupe window drops it.
      const again = await publishToBus({ ...opts, log: silentLogger() });
      expect(again).toEqual({ id, seq: first.seq, duplicate: true });
      expect(workflows("c-bus")).toHaveLength(1);
    });

    it("publish helpers refuse unusable input with errors naming the option", async () => {
      const base = { eventSource: "workflow-events", eventName: "status", log: silentLogger() };
      await expect(publishToBus({ ...base, busUrl: undefined, data: "{}" })).rejects.toThrow(
        /in-memory bus/,
      );
      await expect(publishToBus({ ...base, busUrl: nats.url, data: "{nope" })).rejects.toThrow(
        /--data: not valid JSON/,
      );
      await expect(
        publishToBus({ ...base, eventName: "a.b", busUrl: nats.url, data: "{}" }),
      ).rejects.toBeInstanceOf(ConfigError);
      const missing = await publishToPubSub({
        projectID: PROJECT,
        topic: "no-such-topic",
        data: "{}",
      }).catch((err: unknown) => err);
      expect(missing).toBeInstanceOf(EventsError);
      expect(missing).toMatchObject({ code: "SB_ERR_PUBSUB_PUBLISH", retryable: false });
      expect((missing as Error).message).toContain("topic does not exist");
    });

    it("(c) a bus outage loses nothing: nacked messages are redelivered and fire once", async () => {
      const bus = runtime!.bus;
      await nats.kill("SIGKILL");
      await waitUntil(() => !bus.connected, "the bus to notice the outage", WAIT_MS);

      const ids = [
        await publish({ action: "completed", correlation_id: "c-outage-1" }),
        await publish({ action: "completed", correlation_id: "c-outage-2" }),
      ];
      // Every message is refused by the bus, nacked, and delivered again by Pub/Sub.
      await waitUntil(
        () => ids.every((id) => nacked.filter((l) => l.messageId === id).length >= 2),
        "each message to be nacked and redelivered while NATS is down",
        WAIT_MS,
      );
      expect(workflows("c-outage-1")).toEqual([]);
      expect(workflows("c-outage-2")).toEqual([]);

      await nats.restart();
      await waitForWorkflow("c-outage-1");
      await waitForWorkflow("c-outage-2");

      // A message published after recovery flows through too.
      await publish({ action: "completed", correlation_id: "c-after" });
      await waitForWorkflow("c-after");
      // One Workflow per message, and every submission of a message used the same name, so a
      // redelivery (Pub/Sub nack, or JetStream after a lost ack) can never add a second one.
      for (const cid of ["c-outage-1", "c-outage-2", "c-after", "c-123", "c-offline"]) {
        expect(workflows(cid), cid).toHaveLength(1);
        const names = new Set(workflowPosts(cid).map((r) => JSON.parse(r.body).metadata?.name));
        expect(names.size, cid).toBe(1);
      }
    });
  },
);
