import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGraph } from "../../src/app/graph.js";
import { Runtime } from "../../src/app/runtime.js";
import { loadManifests } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import { loadKubeClient } from "../../src/k8s/client.js";
import { consoleRoutes } from "../../src/observability/console.js";
import { Journal } from "../../src/observability/journal.js";
import { silentLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import { startObservabilityServer } from "../../src/observability/server.js";
import type { Trace } from "../../src/observability/timeline.js";
import { consoleScreenshot } from "../support/console-screenshot.js";
import { FakeKubeApi } from "../support/fake-kube-api.js";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";

// The console's correlation column, search box and timeline page (issue 24) in headless
// Chromium, over a running Runtime: a webhook reports run-42 completed (X-Correlation-Id) ->
// stage1 submits a Workflow in the fake Kubernetes API -> its phases, seen by a resource
// EventSource -> stage2 submits the next stage, posts to another webhook (the ID goes on as
// X-Correlation-Id without configuration) and pages a dead hook (fails for good).

const CHROMIUM = "/usr/bin/chromium";

const manifests = (port: number) => `
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: { name: ci }
spec:
  webhook:
    done: { port: "${port}", endpoint: /done, method: POST }
    notify: { port: "${port}", endpoint: /notify, method: POST }
---
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: { name: workflows }
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
metadata: { name: stage1 }
spec:
  dependencies:
    - name: upstream-done
      eventSourceName: ci
      eventName: done
      filters:
        data: [{ path: body.action, type: string, value: ["^completed$"] }]
  triggers:
    - template:
        name: start-consumer
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata: { generateName: consumer-, namespace: default }
              spec: { entrypoint: main, templates: [{ name: main, container: { image: alpine } }] }
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: { name: stage2 }
spec:
  dependencies:
    - name: consumer-done
      eventSourceName: workflows
      eventName: consumer
      filters:
        data: [{ path: body.status.phase, type: string, value: ["^Succeeded$"] }]
  triggers:
    - template:
        name: load
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata: { generateName: load-, namespace: default }
              spec: { entrypoint: main, templates: [{ name: main, container: { image: alpine } }] }
    - template:
        name: announce
        http:
          url: "http://127.0.0.1:${port}/notify"
          method: POST
          payload: [{ src: { dependencyName: consumer-done, dataKey: body.metadata.name }, dest: workflow }]
    - template:
        name: page-oncall
        http: { url: "http://127.0.0.1:1/page", method: POST }
      retryStrategy: { steps: 2, duration: 10ms }
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: { name: audit }
spec:
  dependencies:
    - { name: announced, eventSourceName: ci, eventName: notify }
  triggers:
    - template: { name: record, log: {} }
`;

describe("console timeline of a correlation ID", () => {
  let kube: FakeKubeApi;
  let runtime: Runtime;
  let server: FastifyInstance;
  let journal: Journal;
  let base: string;
  let dir: string;

  const kinds = () => journal.correlated("run-42").flatMap((e) => e.entries);
  const post = async (port: number, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/done`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-correlation-id": "run-42" },
      body: JSON.stringify(body),
    });
    await res.text();
    expect(res.status).toBe(200);
  };
  const setPhase = (name: string, phase: string) =>
    kube.mutate("argoproj.io/v1alpha1", "Workflow", "default", name, (o) => {
      (o as { status?: unknown }).status = { phase };
    });

  beforeAll(async () => {
    kube = await new FakeKubeApi().start();
    const port = await freePort();
    dir = await mkdtemp(join(tmpdir(), "sensorbus-trace-ui-"));
    await writeFile(join(dir, "m.yaml"), manifests(port));
    const loaded = await loadManifests([dir]);
    journal = new Journal();
    runtime = await Runtime.start({
      loaded,
      busUrl: undefined,
      kube: await loadKubeClient({ kubeconfigYaml: kube.kubeconfigYaml() }),
      dryRun: false,
      values: dirResolver({}),
      log: silentLogger(),
      observer: journal.observer(),
      onEmit: journal.onEmit,
    });
    server = await startObservabilityServer({
      metrics: new Metrics(),
      port: 0,
      host: "127.0.0.1",
      health: { busConnected: () => runtime.bus.connected, stuckTriggers: () => [] },
      plugins: [consoleRoutes({ journal, graph: () => buildGraph(loaded) })],
    });
    const addr = server.server.address();
    base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;

    await post(port, { action: "started", run_id: "run-42" });
    await post(port, { action: "completed", run_id: "run-42" });
    await waitUntil(() => kinds().some((e) => e.kind === "fired"), "stage1 fires");
    const consumer = kube
      .objects("argoproj.io/v1alpha1", "Workflow")
      .find((w) => w.metadata?.name?.startsWith("consumer-"))!.metadata!.name!;
    setPhase(consumer, "Running");
    await waitUntil(
      () => kinds().some((e) => e.kind === "rejected" && e.sensor === "stage2"),
      "stage2 rejects Running",
    );
    setPhase(consumer, "Succeeded");
    await waitUntil(
      () =>
        kinds().some((e) => e.kind === "fired" && e.sensor === "audit") &&
        kinds().some((e) => e.kind === "deadlettered"),
      "audit records the announcement and page-oncall fails for good",
    );
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await runtime?.stop(5_000);
    await kube?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves /api/traces/<id>: the HTTP hop carried the ID on to the next webhook event", async () => {
    const trace = (await (await fetch(`${base}/api/traces/run-42`)).json()) as Trace;
    expect(trace.lanes.map((l) => l.name)).toEqual([
      "EventSource ci",
      "Sensor stage1",
      expect.stringMatching(/^Workflow default\/consumer-/),
      "Sensor stage2",
      ...trace.lanes.slice(4).map((l) => l.name),
    ]);
    const names = trace.lanes.map((l) => l.name);
    expect(names).toContain("Sensor audit");
    expect(names.some((n) => n.startsWith("Workflow default/load-"))).toBe(true);
    const announce = trace.steps.find((s) => s.trigger === "announce" && s.kind === "fired");
    expect(announce?.http).toMatchObject({ method: "POST", status: 200 });
    expect((await fetch(`${base}/api/traces/run-43`)).status).toBe(404);
  });

  const hasChromium = existsSync(CHROMIUM);
  it.skipIf(!hasChromium)(
    "finds the ID from the recent events and the search box, and draws its swimlanes",
    async () => {
      const { chromium } = await import("playwright-core");
      const profile = await mkdtemp(join(tmpdir(), "sensorbus-chromium-"));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        viewport: { width: 1100, height: 900 },
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
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
        // The correlation ID column links to the timeline.
        const link = page.locator("td.correlation a", { hasText: "run-42" }).first();
        expect(await link.getAttribute("href")).toBe("/ui/traces/run-42");
        // The search box opens the timeline page.
        await page.fill("#trace-q", "run-42");
        await Promise.all([
          page.waitForURL(`${base}/ui/traces/run-42`),
          page.press("#trace-q", "Enter"),
        ]);
        await page.waitForSelector("body[data-loaded=true]");
        await page.waitForSelector("g.lane");
        expect(await page.locator("#timeline-title").textContent()).toBe("Timeline of run-42");
        expect(await page.locator("#dashboard").isVisible()).toBe(false);
        const lanes = await page
          .locator("g.lane")
          .evaluateAll((gs) =>
            gs.map((g) => [g.getAttribute("data-lane"), g.getAttribute("data-outcome")]),
          );
        expect(lanes.slice(0, 4)).toEqual([
          ["EventSource ci", "ok"],
          ["Sensor stage1", "ok"],
          [expect.stringMatching(/^Workflow default\/consumer-/), "ok"],
          ["Sensor stage2", "failed"],
        ]);
        // Outcome colours: the rejections ('started' by stage1; Running by stage2's three triggers)
        // and the final failure are drawn in their colours.
        expect(await page.locator('a.step[data-kind="rejected"] rect.o-rejected').count()).toBe(4);
        expect(await page.locator('a.step[data-kind="failed"] rect.o-failed').count()).toBe(1);
        expect(await page.locator('tr[data-kind="phase"]').count()).toBe(2);
        const reason = page.locator('tr[data-kind="rejected"]').first();
        expect(await reason.textContent()).toContain("'body.action' is \"started\"");
        // Each step links to its event's explanation.
        const explain = page.locator('tr[data-kind="failed"] a.explain');
        const href = (await explain.getAttribute("href"))!;
        expect(href).toMatch(/^\/api\/events\/[0-9a-f]+$/);
        const explained = (await (await fetch(`${base}${href}`)).json()) as {
          correlationId: string;
          entries: Array<{ kind: string }>;
        };
        expect(explained.correlationId).toBe("run-42");
        expect(explained.entries.some((e) => e.kind === "failed")).toBe(true);
        expect(errors).toEqual([]);
        await consoleScreenshot(page, "console-timeline.png", profile, "timeline.png");
      } finally {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
