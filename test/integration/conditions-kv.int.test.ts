import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadResult } from "../../src/config/load.js";
import type { SensorManifest } from "../../src/config/types.js";
import { createBus } from "../../src/eventbus/index.js";
import { JetStreamBus } from "../../src/eventbus/jetstream/index.js";
import { silentLogger } from "../../src/observability/logger.js";
import { FakeClock } from "../support/fake-clock.js";
import { HttpSink } from "../support/http-sink.js";
import { Runtimes } from "../support/kv-restart.js";
import { loaded as manifests } from "../support/loaded.js";
import type { NatsServer } from "../support/nats-server.js";
import { startNatsServer, waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { postJson } from "../support/post-json.js";
import { stepsSource } from "../support/steps.js";

const log = silentLogger();

// Issue 4: partial condition state lives in JetStream KV (Argo's layout: bucket = Sensor name,
// key `<trigger>/<dep>`), so a Sensor restarted between the two halves of `a && b` still fires.
describe("KV-backed conditions survive a sensor restart (real nats-server)", () => {
  let nats: NatsServer;
  let sink: HttpSink;
  let port: number;
  let loaded: LoadResult;
  const runtimes = new Runtimes();

  const start = () => runtimes.start(loaded, nats.url);
  const post = async (endpoint: string, body: unknown) =>
    (await postJson(port, endpoint, body)).status;

  beforeAll(async () => {
    nats = await startNatsServer();
    sink = await new HttpSink().start();
    port = await freePort();
    const sensor: SensorManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "fan-in" },
      spec: {
        dependencies: [
          { name: "extract-done", eventSourceName: "steps", eventName: "extract" },
          { name: "validate-done", eventSourceName: "steps", eventName: "validate" },
        ],
        triggers: [
          {
            template: {
              name: "load",
              conditions: "extract-done && validate-done",
              http: {
                url: `${sink.url}/load`,
                payload: [
                  { src: { dependencyName: "extract-done", dataKey: "body.rows" }, dest: "rows" },
                  { src: { dependencyName: "validate-done", dataKey: "body.ok" }, dest: "ok" },
                ],
              },
            },
          },
        ],
      },
    };
    loaded = manifests(stepsSource(port), sensor);
  });

  afterAll(async () => {
    await runtimes.stopAll();
    await sink?.stop();
    await nats?.stop();
  });

  it("keeps the first half in KV across the restart and fires once with both events", async () => {
    const first = await start();
    expect(await post("/extract", { rows: 42 })).toBe(200);
    // The partial state is in KV under Argo's key before we stop.
    const bus = await createBus(nats.url, { log });
    const kv = await bus.kv("fan-in");
    await waitUntil(
      async () => (await kv.get("load/extract-done")) !== undefined,
      "the partial entry in KV",
    );
    await first.stop(5_000);
    expect(sink.requests).toHaveLength(0);

    const second = await start();
    expect(await post("/validate", { ok: true })).toBe(200);
    await waitUntil(() => sink.requests.length === 1, "the fan-in firing after the restart");
    expect(JSON.parse(sink.requests[0]!.body)).toEqual({ rows: "42", ok: "true" });
    // State is cleared after firing, as Argo does.
    await waitUntil(
      async () => (await kv.get("load/extract-done")) === undefined,
      "the state to be cleared",
    );
    await bus.close();
    await second.stop(5_000);
  });

  it("purges the delete markers consumed condition entries leave in the bucket, every 10 minutes", async () => {
    const name = "fan-in-purge";
    const sensor = { ...loaded.sensors[0]!.manifest, metadata: { name } } as SensorManifest;
    const clock = new FakeClock(Date.now());
    const rt = await runtimes.start(
      { ...loaded, sensors: [{ manifest: sensor, file: "test", doc: 0 }] },
      nats.url,
      { clock },
    );
    const bus = await JetStreamBus.connect({ servers: [nats.url], log });
    try {
      const kv = await bus.kv(name);
      const messages = async () => (await bus.jsm.streams.info(`KV_${name}`)).state.messages;
      const before = sink.requests.length;
      expect(await post("/extract", { rows: 1 })).toBe(200);
      expect(await post("/validate", { ok: true })).toBe(200);
      await waitUntil(() => sink.requests.length === before + 1, "the fan-in firing");
      await waitUntil(
        async () =>
          (await kv.get("load/extract-done")) === undefined &&
          (await kv.get("load/validate-done")) === undefined,
        "the state to be cleared",
      );
      const live = (await kv.keys()).length;
      expect(await messages()).toBeGreaterThan(live); // the two consumed entries' markers
      // 10 minutes on: markers younger than 10 minutes stay; 20 minutes on they go.
      await clock.step();
      await clock.step();
      await waitUntil(async () => (await messages()) === live, "the markers to be purged");
      expect((await kv.keys()).length).toBe(live);
    } finally {
      await bus.close();
      await rt.stop(5_000);
    }
  });
});
