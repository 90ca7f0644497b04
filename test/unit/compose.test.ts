import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { LoadResult } from "../../src/config/load.js";
import { loadManifests } from "../../src/config/load.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import type { ArgoWorkflowTrigger } from "../../src/triggers/argo-workflow/index.js";

// There is no Docker engine on our machines: docker-compose.yml is checked by parsing it and
// cross-checking every name, port, path and manifest it relies on.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const at = (p: string) => `${ROOT}${p}`;

interface Healthcheck {
  test: string[] | string;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string> | string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: Healthcheck;
  restart?: string;
  working_dir?: string;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = readFileSync(at("docker-compose.yml"), "utf8");
const compose = parseYaml(composeText) as Compose;
const EMULATOR_IMAGE = "gcr.io/google.com/cloudsdktool/google-cloud-cli:emulators";

function service(name: string): Service {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service '${name}'`);
  return s;
}

function env(s: Service): Record<string, string> {
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(
      s.environment.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
  }
  return { ...(s.environment ?? {}) };
}

/** Compose replaces `$$` by `$` after interpolation; this is the text the container receives. */
function unescapeDollars(text: string): string {
  return text.replaceAll("$$", "$");
}

/** `${NAME}` as the shell sees it. */
function shellVar(name: string): string {
  return `$\{${name}}`;
}

function commandText(s: Service): string {
  return Array.isArray(s.command) ? s.command.join(" ") : (s.command ?? "");
}

function allStrings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(allStrings);
  if (v && typeof v === "object") return Object.values(v).flatMap(allStrings);
  return [];
}

/** `node bin/sensorbus.js run A B C --bus URL --dry-run` inside the sensorbus service command. */
function sensorbusRun(): { bin: string; paths: string[]; flags: Map<string, string | true> } {
  const m = /node (\S+) run ((?:\S+ )*?)(--.*)$/.exec(commandText(service("sensorbus")).trim());
  if (!m) throw new Error("sensorbus service command does not run `node <bin> run ...`");
  const paths = m[2]!.trim().split(/\s+/).filter(Boolean);
  const flags = new Map<string, string | true>();
  const words = m[3]!.replace(/"$/, "").trim().split(/\s+/);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const next = words[i + 1];
    if (next !== undefined && !next.startsWith("--")) {
      flags.set(w, next);
      i++;
    } else flags.set(w, true);
  }
  return { bin: m[1]!, paths, flags };
}

function pubSubEntries(loaded: LoadResult) {
  return loaded.eventSources.flatMap((es) =>
    Object.entries((es.manifest as EventSourceManifest).spec.pubSub ?? {}).map(
      ([eventName, spec]) => ({
        eventSource: es.manifest.metadata.name,
        eventName,
        spec,
      }),
    ),
  );
}

describe("docker-compose.yml", () => {
  it("defines exactly the nats, pubsub, pubsub-init and sensorbus services", () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      "nats",
      "pubsub",
      "pubsub-init",
      "sensorbus",
    ]);
  });

  it("leaves no bare `$` for compose to interpolate from the host environment", () => {
    const bare = allStrings(compose.services).filter((s) => s.replaceAll("$$", "").includes("$"));
    expect(bare).toEqual([]);
  });

  it("nats: official image, JetStream on a named volume, client port 4222, health check", () => {
    const nats = service("nats");
    expect(nats.image).toMatch(/^nats:\d+\.\d+(-alpine)?$/);
    const args = nats.command as string[];
    expect(args).toContain("-js");
    const storeDir = args[args.indexOf("-sd") + 1];
    expect(storeDir).toMatch(/^\//);
    const mount = (nats.volumes ?? []).find((v) => v.endsWith(`:${storeDir}`));
    expect(mount).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(mount!.split(":")[0]);
    expect(nats.ports).toContain("4222:4222");
    // The health check queries the monitoring port the command enables.
    const monitor = args[args.indexOf("-m") + 1];
    expect(allStrings(nats.healthcheck?.test).join(" ")).toContain(`:${monitor}/healthz`);
  });

  it("pubsub: the emulator image listening on 0.0.0.0:8085 for project sensorbus-local", () => {
    const pubsub = service("pubsub");
    expect(pubsub.image).toBe(EMULATOR_IMAGE);
    expect(commandText(pubsub)).toBe(
      "gcloud beta emulators pubsub start --host-port=0.0.0.0:8085 --project=sensorbus-local",
    );
    expect(pubsub.ports).toContain("8085:8085");
    expect(allStrings(pubsub.healthcheck?.test).join(" ")).toMatch(
      /curl .*http:\/\/127\.0\.0\.1:8085\//,
    );
  });

  it("pubsub-init: one-shot after a healthy emulator, PUTs the topic and subscription", () => {
    const init = service("pubsub-init");
    expect(init.image).toBe(EMULATOR_IMAGE);
    expect(init.depends_on).toEqual({ pubsub: { condition: "service_healthy" } });
    expect(init.restart).toBe("no");
    expect(env(init).PUBSUB_EMULATOR_HOST).toBe("pubsub:8085");
    const script = unescapeDollars(commandText(init));
    expect(script).toContain("curl");
    expect(script).toContain(`put "topics/${shellVar("PUBSUB_TOPIC")}"`);
    expect(script).toContain(`put "subscriptions/${shellVar("PUBSUB_SUBSCRIPTION")}"`);
    expect(script).toContain(`/v1/projects/${shellVar("PUBSUB_PROJECT_ID")}`);
  });

  it("sensorbus: node:20-slim running the checkout on the nats bus with the emulator", () => {
    const sb = service("sensorbus");
    expect(sb.image).toBe("node:20-slim");
    expect(sb.build).toBeUndefined();
    expect(sb.volumes).toContain(".:/app");
    expect(sb.working_dir).toBe("/app");
    expect(commandText(sb)).toMatch(/^sh -c "npm ci && node bin\/sensorbus\.js run /);
    const run = sensorbusRun();
    expect(existsSync(at(run.bin))).toBe(true);
    expect(run.flags.get("--bus")).toBe("nats://nats:4222");
    expect(run.flags.get("--dry-run")).toBe(true);
    expect(env(sb).PUBSUB_EMULATOR_HOST).toBe("pubsub:8085");
    expect(sb.ports).toContain("12000:12000");
    expect(sb.depends_on).toEqual({
      nats: { condition: "service_healthy" },
      pubsub: { condition: "service_healthy" },
      "pubsub-init": { condition: "service_completed_successfully" },
    });
    expect(sb.healthcheck).toBeDefined();
  });

  it("every service another one waits on for health has a health check", () => {
    for (const s of Object.values(compose.services)) {
      const deps = s.depends_on && !Array.isArray(s.depends_on) ? s.depends_on : {};
      for (const [name, { condition }] of Object.entries(deps)) {
        expect(Object.keys(compose.services)).toContain(name);
        if (condition === "service_healthy") expect(service(name).healthcheck).toBeDefined();
      }
    }
  });

  describe("the manifests the sensorbus service runs", () => {
    let loaded: LoadResult;
    let paths: string[];

    beforeAll(async () => {
      paths = sensorbusRun().paths;
      loaded = await loadManifests(paths.map(at));
    });

    it("exist and load without errors", () => {
      for (const p of paths) expect(existsSync(at(p)), p).toBe(true);
      expect(loaded.problems.filter((p) => p.severity === "error")).toEqual([]);
      expect(loaded.eventSources.map((e) => e.manifest.metadata.name)).toContain("workflow-events");
      expect(loaded.sensors.map((s) => s.manifest.metadata.name)).toContain("pubsub-correlation");
    });

    it("give every Sensor dependency an EventSource entry to listen to", () => {
      const entries = new Set(
        loaded.eventSources.flatMap((es) =>
          Object.entries(es.manifest.spec)
            .filter(([, v]) => v !== null && typeof v === "object" && !Array.isArray(v))
            .flatMap(([, v]) =>
              Object.keys(v as object).map((k) => `${es.manifest.metadata.name}/${k}`),
            ),
        ),
      );
      const deps = loaded.sensors.flatMap((s) =>
        (s.manifest as SensorManifest).spec.dependencies.map(
          (d) => `${d.eventSourceName}/${d.eventName}`,
        ),
      );
      expect(deps.length).toBeGreaterThan(0);
      expect(deps.filter((d) => !entries.has(d))).toEqual([]);
    });

    it("read the Pub/Sub topic and subscription pubsub-init creates, in the emulator's project", () => {
      const init = env(service("pubsub-init"));
      const [entry, ...more] = pubSubEntries(loaded);
      expect(more).toEqual([]);
      expect(entry?.spec).toMatchObject({
        projectID: init.PUBSUB_PROJECT_ID,
        topic: init.PUBSUB_TOPIC,
        subscriptionID: init.PUBSUB_SUBSCRIPTION,
        jsonBody: true,
      });
      expect(commandText(service("pubsub"))).toContain(`--project=${init.PUBSUB_PROJECT_ID}`);
    });

    it("publish the webhook port 12000 the service maps", () => {
      const ports = loaded.eventSources.flatMap((es) =>
        Object.values(es.manifest.spec.webhook ?? {}).map((w) => w.port),
      );
      expect(ports).toContain("12000");
    });
  });
});

describe("examples/pubsub", () => {
  let loaded: LoadResult;
  beforeAll(async () => {
    loaded = await loadManifests([at("examples/pubsub")]);
  });

  it("validates: one Pub/Sub EventSource and one Sensor, no problems", () => {
    expect(loaded.problems).toEqual([]);
    expect(loaded.eventSources).toHaveLength(1);
    expect(loaded.sensors).toHaveLength(1);
  });

  it("the EventSource reads topic workflow-events as JSON in project sensorbus-local", () => {
    const es = loaded.eventSources[0]!.manifest;
    expect(es.metadata.name).toBe("workflow-events");
    expect(es.spec.pubSub).toEqual({
      status: {
        projectID: "sensorbus-local",
        topic: "workflow-events",
        subscriptionID: "workflow-events-sensorbus",
        jsonBody: true,
      },
    });
  });

  it("the Sensor submits consumer- Workflows for completed events, carrying the correlation id", () => {
    const sensor = loaded.sensors[0]!.manifest;
    const [dep] = sensor.spec.dependencies;
    expect(dep).toMatchObject({
      eventSourceName: "workflow-events",
      eventName: "status",
      filters: { data: [{ path: "body.action", type: "string", value: ["^completed$"] }] },
    });
    const [trigger] = sensor.spec.triggers;
    const wf = trigger?.template?.argoWorkflow as ArgoWorkflowTrigger | undefined;
    expect(wf?.operation).toBe("submit");
    expect(wf?.source?.resource).toMatchObject({
      kind: "Workflow",
      metadata: { generateName: "consumer-" },
    });
    expect(wf?.parameters).toEqual([
      {
        src: { dependencyName: dep!.name, dataKey: "body.correlation_id" },
        dest: "spec.arguments.parameters.0.value",
      },
      {
        src: { dependencyName: dep!.name, dataKey: "body.correlation_id" },
        dest: "metadata.labels.correlation-id",
      },
    ]);
  });

  it("keeps the same trigger as the webhook flavour sensors/cross-workflow.yaml", async () => {
    const webhook = await loadManifests([at("sensors/cross-workflow.yaml")]);
    const pick = (s: SensorManifest) =>
      s.spec.triggers.find((t) => t.template?.name === "start-consumer")?.template?.argoWorkflow;
    expect(pick(loaded.sensors[0]!.manifest)).toEqual(pick(webhook.sensors[0]!.manifest));
  });

  it("is not part of the default set `npm start` runs (no Pub/Sub needed there)", async () => {
    const pkg = JSON.parse(readFileSync(at("package.json"), "utf8")) as {
      scripts: { start: string };
    };
    const m = /sensorbus\.js run ((?:[^-\s]\S* )+)/.exec(pkg.scripts.start);
    expect(m).not.toBeNull();
    const defaults = await loadManifests(m![1]!.trim().split(/\s+/).map(at));
    expect(pubSubEntries(defaults)).toEqual([]);
  });
});
