import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatExplanation, loadExplanation } from "../../src/app/explain.js";
import { buildGraph } from "../../src/app/graph.js";
import { Runtime } from "../../src/app/runtime.js";
import type { LoadResult } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { consoleRoutes } from "../../src/observability/console.js";
import { startConsoleServer } from "../../src/observability/console-server.js";
import { Journal } from "../../src/observability/journal.js";
import { silentLogger } from "../../src/observability/logger.js";
import { consoleScreenshot } from "../support/console-screenshot.js";
import { HttpSink } from "../support/http-sink.js";
import type { NatsServer } from "../support/nats-server.js";
import { startNatsServer, waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { postJson } from "../support/post-json.js";

const CHROMIUM = "/usr/bin/chromium";
/** The console runs behind basic auth here (issue 19): the browser and the API clients log in. */
const USER = "admin";
const PASSWORD = "console-pw-Tg19";
const AUTH = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}` };
const authed = (url: string) => fetch(url, { headers: AUTH });
const log = silentLogger();

function manifests(port: number, sinkUrl: string): LoadResult {
  const source: EventSourceManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "ci" },
    spec: {
      webhook: {
        build: { port: String(port), endpoint: "/build", method: "POST" },
        notify: { port: String(port), endpoint: "/notify", method: "POST" },
      },
    },
  };
  const pipeline: SensorManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "pipeline" },
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
            name: "deploy",
            http: {
              url: `${sinkUrl}/deploy`,
              method: "POST",
              payload: [{ src: { dependencyName: "build", dataKey: "body.n" }, dest: "n" }],
            },
          },
        },
        {
          template: {
            name: "announce",
            http: {
              url: `http://127.0.0.1:${port}/notify`,
              method: "POST",
              payload: [{ src: { dependencyName: "build", dataKey: "body.n" }, dest: "n" }],
            },
          },
        },
      ],
    },
  };
  const audit: SensorManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "audit" },
    spec: {
      dependencies: [{ name: "announced", eventSourceName: "ci", eventName: "notify" }],
      triggers: [{ template: { name: "record", log: {} } }],
    },
  };
  return {
    eventSources: [{ manifest: source, file: "test", doc: 0 }],
    sensors: [
      { manifest: pipeline, file: "test", doc: 0 },
      { manifest: audit, file: "test", doc: 1 },
    ],
    problems: [],
  };
}

async function post(port: number, path: string, body: unknown): Promise<string> {
  const res = await postJson(port, path, body);
  expect(res.status).toBe(200);
  return res.id ?? "";
}

describe("web console, journal API and explain against a running Runtime", () => {
  let sink: HttpSink;
  let runtime: Runtime;
  let server: FastifyInstance;
  let journal: Journal;
  let base: string;
  let firedId: string;
  let rejectedId: string;

  beforeAll(async () => {
    sink = await new HttpSink().start();
    const port = await freePort();
    const loaded = manifests(port, sink.url);
    journal = new Journal();
    runtime = await Runtime.start({
      loaded,
      busUrl: undefined,
      kube: undefined,
      dryRun: true,
      values: dirResolver({}),
      log,
      observer: journal.observer(),
    });
    server = await startConsoleServer({
      port: 0,
      host: "127.0.0.1",
      auth: { basic: `${USER}:${PASSWORD}` },
      routes: consoleRoutes({
        journal,
        graph: () => buildGraph(loaded),
        stuckTriggers: () => runtime.stuckTriggers(),
      }),
    });
    const addr = server.server.address();
    base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    firedId = await post(port, "/build", { status: "ok", n: 7 });
    rejectedId = await post(port, "/build", { status: "broken", n: 8 });
    await waitUntil(
      () =>
        journal.recent().some((e) => e.subject === "notify" && e.outcome === "fired") &&
        journal.get(rejectedId) !== undefined &&
        journal.get(firedId)?.entries.filter((e) => e.kind === "fired").length === 2,
      "the firings and the rejection to be journaled",
    );
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.stop(5_000);
    await sink?.stop();
  });

  it("serves the journal of one event and `explain` prints it", async () => {
    expect((await fetch(`${base}/api/events/${firedId}`)).status).toBe(401);
    const res = await authed(`${base}/api/events/${firedId}`);
    expect(res.status).toBe(200);
    const ev = (await res.json()) as { entries: Array<{ kind: string; trigger: string }> };
    expect(ev.entries.map((e) => `${e.kind} ${e.trigger}`).sort()).toEqual([
      "fired announce",
      "fired deploy",
    ]);
    const login = base.replace("http://", `http://${USER}:${PASSWORD}@`);
    const explained = await loadExplanation({ id: rejectedId, url: login, log });
    const text = formatExplanation(explained!);
    expect(text).toContain("rejected  sensor pipeline, trigger deploy, dependency build");
    expect(text).toMatch(/reason: data filter: 'body.status' is "broken"/);
    expect(text).toContain("outcome: rejected");
    expect(await loadExplanation({ id: "no-such-event", url: login, log })).toBeUndefined();
    await expect(loadExplanation({ id: "x", url: "http://127.0.0.1:9", log })).rejects.toThrow(
      /cannot reach a running sensorbus at http:\/\/127.0.0.1:9/,
    );
  });

  it("serves the graph with the cross-workflow link and per-trigger counts", async () => {
    const graph = (await (await authed(`${base}/api/graph`)).json()) as {
      edges: Array<{ from: string; to: string; kind: string }>;
    };
    expect(graph.edges).toContainEqual(
      expect.objectContaining({
        from: "trigger:pipeline/announce",
        to: "entry:ci/notify",
        kind: "cross",
      }),
    );
    const triggers = (await (await authed(`${base}/api/triggers`)).json()) as Array<{
      sensor: string;
      trigger: string;
      fired: number;
      rejected: number;
      status: string;
    }>;
    expect(triggers.find((t) => t.trigger === "deploy")).toMatchObject({
      sensor: "pipeline",
      fired: 1,
      rejected: 1,
      status: "ok",
    });
    expect(triggers.find((t) => t.trigger === "record")).toMatchObject({
      sensor: "audit",
      fired: 1,
    });
    expect((await authed(`${base}/api/events?limit=0`)).status).toBe(400);
  });

  const hasChromium = existsSync(CHROMIUM);
  if (!hasChromium) {
    console.warn(
      `\n*** SKIPPED: the web console browser test needs ${CHROMIUM} (apt-get install -y chromium) ***\n`,
    );
  }

  it.skipIf(!hasChromium)(
    "renders the graph and the recent events in headless Chromium",
    async () => {
      const { chromium } = await import("playwright-core");
      const profile = await mkdtemp(join(tmpdir(), "sensorbus-chromium-"));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        viewport: { width: 1280, height: 760 },
        httpCredentials: { username: USER, password: PASSWORD },
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      try {
        const page = await context.newPage();
        const errors: string[] = [];
        page.on("pageerror", (err) => errors.push(err.message));
        page.on("console", (msg) => {
          if (msg.type() === "error") errors.push(msg.text());
        });
        await page.goto(`${base}/ui`);
        await page.waitForSelector("body[data-loaded=true]");
        for (const id of [
          "entry:ci/build",
          "entry:ci/notify",
          "dep:pipeline/build",
          "trigger:pipeline/deploy",
          "trigger:pipeline/announce",
          "trigger:audit/record",
        ]) {
          expect(await page.locator(`[data-node-id="${id}"]`).isVisible()).toBe(true);
        }
        expect(
          await page.locator('path.edge.cross[data-from="trigger:pipeline/announce"]').count(),
        ).toBe(1);
        const fired = page.locator(`tr[data-event-id="${firedId}"] .outcome`);
        expect(await fired.textContent()).toBe("fired");
        expect(await page.locator(`tr[data-event-id="${rejectedId}"] .outcome`).textContent()).toBe(
          "rejected",
        );
        expect(await page.locator('tr[data-trigger="pipeline/deploy"] .status').textContent()).toBe(
          "ok",
        );
        expect(errors).toEqual([]);
        await consoleScreenshot(page, "console.png", profile, "console.png");
      } finally {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      }
    },
  );
});

describe("journal on JetStream, read by explain --bus", () => {
  let nats: NatsServer;

  beforeAll(async () => {
    nats = await startNatsServer();
  });

  afterAll(async () => {
    await nats?.stop();
  });

  it("mirrors the Runtime's decisions into the sensorbus-journal stream", async () => {
    const sink = await new HttpSink().start();
    const port = await freePort();
    const journal = new Journal();
    const runtime = await Runtime.start({
      loaded: manifests(port, sink.url),
      busUrl: nats.url,
      kube: undefined,
      dryRun: true,
      values: dirResolver({}),
      log,
      observer: journal.observer(),
    });
    try {
      await journal.useBus(runtime.bus);
      const id = await post(port, "/build", { status: "broken", n: 1 });
      await waitUntil(() => journal.get(id) !== undefined, "the rejection to be journaled");
      await journal.flush();
      const stored = await loadExplanation({ id, busUrl: nats.url, log });
      expect(stored?.entries).toEqual(journal.get(id)?.entries);
      expect(formatExplanation(stored!)).toContain("outcome: rejected");
      expect(await loadExplanation({ id: "gone", busUrl: nats.url, log })).toBeUndefined();
      const down = `nats://127.0.0.1:${await freePort()}`;
      await expect(loadExplanation({ id, busUrl: down, log })).rejects.toThrow(
        `cannot connect to NATS at ${down}`,
      );
      await expect(loadExplanation({ id, busUrl: "memory", log })).rejects.toThrow(
        /--bus: 'memory' is not a nats:\/\/ URL/,
      );
    } finally {
      await runtime.stop(5_000);
      await sink.stop();
    }
  });
});
