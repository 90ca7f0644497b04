import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatProblem, loadManifests, validateManifest } from "../../../src/config/load.js";
import { schemaFor } from "../../../src/config/schema/index.js";
import { dirResolver, inNamespace } from "../../../src/config/secrets.js";
import {
  CONFIGMAP_REF_DESCRIPTION,
  checkObjectKey,
  checkObjectName,
  findValueRefs,
  SECRET_REF_DESCRIPTION,
} from "../../../src/config/value-refs.js";
import { configMapSensor, webhookES } from "../../support/manifest-yaml.js";

const run = promisify(execFile);
const BIN = new URL("../../../bin/sensorbus.js", import.meta.url).pathname;

/** A Sensor with an http trigger whose secure header reads Secret NAME key KEY. */
const httpSensor = (name: string, key: string, ns = "") => `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: secure-headers
${ns ? `  namespace: ${ns}\n` : ""}spec:
  dependencies:
    - name: dep
      eventSourceName: webhook
      eventName: example
  triggers:
    - template:
        name: call
        http:
          url: http://127.0.0.1:9/hook
          secureHeaders:
            - name: X-Token
              valueFrom:
                secretKeyRef:
                  name: ${JSON.stringify(name)}
                  key: ${JSON.stringify(key)}
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sb-secrets-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe("Secret and ConfigMap names and keys (validate, run, controller)", () => {
  it("the schema marks both selector structs with the descriptions the walk looks for", () => {
    const refs = findValueRefs(
      {
        spec: {
          triggers: [
            {
              template: {
                http: {
                  secureHeaders: [
                    { valueFrom: { secretKeyRef: { name: "a", key: "b" } } },
                    { valueFrom: { configMapKeyRef: { name: "c", key: "d" } } },
                  ],
                  basicAuth: { username: { name: "e", key: "f" } },
                  tls: { clientKeySecret: { name: "g", key: "h" } },
                },
              },
            },
          ],
        },
      },
      schemaFor("Sensor")!,
    );
    const found = refs.map((r) => [r.kind, r.pointer, r.name]);
    expect(found).toHaveLength(4);
    expect(found).toEqual(
      expect.arrayContaining([
        ["Secret", "/spec/triggers/0/template/http/tls/clientKeySecret", "g"],
        ["Secret", "/spec/triggers/0/template/http/basicAuth/username", "e"],
        ["Secret", "/spec/triggers/0/template/http/secureHeaders/0/valueFrom/secretKeyRef", "a"],
        [
          "ConfigMap",
          "/spec/triggers/0/template/http/secureHeaders/1/valueFrom/configMapKeyRef",
          "c",
        ],
      ]),
    );
    expect(SECRET_REF_DESCRIPTION).not.toBe(CONFIGMAP_REF_DESCRIPTION);
  });

  it.each([
    ["../fake-sa", "token"],
    ["../../../../../etc", "hostname"],
    ["..", "token"],
    ["Upper", "token"],
    ["a/b", "token"],
    ["x".repeat(254), "token"],
  ])("refuses Secret name %j (key %j) with the file and field", async (name, key) => {
    const path = await file("sensor.yaml", httpSensor(name, key));
    const { problems } = await loadManifests([path]);
    const errors = problems.filter((p) => p.severity === "error").map(formatProblem);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(path);
    expect(errors[0]).toContain(
      "/spec/triggers/0/template/http/secureHeaders/0/valueFrom/secretKeyRef/name: Secret name:",
    );
  });

  it.each(["..", ".", "..data", "a/b", "../x", ""])("refuses Secret key %j", async (key) => {
    const { problems } = validateManifest(
      (await import("yaml")).parse(httpSensor("ok-name", key)),
      "sensor.yaml",
      0,
    );
    expect(problems.filter((p) => p.severity === "error").map(formatProblem)).toEqual([
      expect.stringContaining(
        key === ""
          ? "/spec/triggers/0/template/http/secureHeaders/0/valueFrom/secretKeyRef/key"
          : "/spec/triggers/0/template/http/secureHeaders/0/valueFrom/secretKeyRef/key: Secret key:",
      ),
    ]);
  });

  it("refuses a ConfigMap named '..' and an authSecret named '../fake-sa'", async () => {
    const cm = await loadManifests([await file("cm.yaml", configMapSensor(".."))]);
    expect(cm.problems.map(formatProblem)).toContainEqual(
      expect.stringContaining(
        "/spec/triggers/0/template/k8s/source/configmap/name: ConfigMap name:",
      ),
    );
    expect(cm.sensors).toHaveLength(0);
    const es = await loadManifests([await file("es.yaml", webhookES("../fake-sa"))]);
    expect(es.problems.map(formatProblem)).toContainEqual(
      expect.stringContaining("/spec/webhook/example/authSecret/name: Secret name:"),
    );
    expect(es.eventSources).toHaveLength(0);
  });

  it("accepts Kubernetes names and keys", () => {
    expect(checkObjectName("dev-services-secret")).toBeUndefined();
    expect(checkObjectName("a.b-c")).toBeUndefined();
    expect(checkObjectKey("serviceToken")).toBeUndefined();
    expect(checkObjectKey(".dockerconfigjson")).toBeUndefined();
    expect(checkObjectKey("tls.crt")).toBeUndefined();
  });

  it("flat layout: manifests of two namespaces reading Secrets are refused; namespaced accepts them", async () => {
    const a = await file("a.yaml", webhookES("shared", "team-a"));
    const b = await file("b.yaml", httpSensor("shared", "token", "team-b"));
    const flat = await loadManifests([a, b]);
    const errors = flat.problems.filter((p) => p.severity === "error");
    expect(errors.map((p) => [p.file, p.pointer])).toEqual([
      [a, "/metadata/namespace"],
      [b, "/metadata/namespace"],
    ]);
    expect(errors[0]!.message).toContain("namespaces team-a, team-b");
    expect(errors[0]!.message).toContain("--secrets-layout namespaced");
    const namespaced = await loadManifests([a, b], { secretsLayout: "namespaced" });
    expect(namespaced.problems.filter((p) => p.severity === "error")).toEqual([]);
    // One namespace (or manifests that read nothing) is fine in the flat layout.
    const one = await loadManifests([a, await file("c.yaml", httpSensor("x", "y", "team-a"))]);
    expect(one.problems.filter((p) => p.severity === "error")).toEqual([]);
  });
});

describe("dirResolver", () => {
  let secrets: string;
  let outside: string;
  beforeAll(async () => {
    secrets = join(dir, "secrets");
    outside = join(dir, "outside");
    await mkdir(join(secrets, "plain"), { recursive: true });
    await writeFile(join(secrets, "plain", "token"), "flat-value\n");
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, "hostname"), "not-yours\n");
    await writeFile(join(dir, "fake-sa"), "outside-dir\n");
    // What the kubelet's atomic writer lays out for a mounted Secret volume.
    const mounted = join(secrets, "mounted");
    await mkdir(join(mounted, "..2026_12_06_10_00_00.123"), { recursive: true });
    await writeFile(join(mounted, "..2026_12_06_10_00_00.123", "token"), "mounted-value");
    await symlink("..2026_12_06_10_00_00.123", join(mounted, "..data"));
    await symlink("..data/token", join(mounted, "token"));
    // A symlink that leaves the directory.
    await mkdir(join(secrets, "escape"), { recursive: true });
    await symlink(join(outside, "hostname"), join(secrets, "escape", "token"));
    await symlink(outside, join(secrets, "linkdir"));
    // Namespaced layout.
    await mkdir(join(dir, "ns", "team-a", "app"), { recursive: true });
    await mkdir(join(dir, "ns", "team-b", "app"), { recursive: true });
    await mkdir(join(dir, "ns", "team-b", "only-b"), { recursive: true });
    await writeFile(join(dir, "ns", "team-a", "app", "token"), "a-value");
    await writeFile(join(dir, "ns", "team-b", "app", "token"), "b-value");
    await writeFile(join(dir, "ns", "team-b", "only-b", "token"), "b-only");
  });

  it("reads the flat layout, trimming one newline", async () => {
    const values = dirResolver({ secretsDir: secrets });
    await expect(values.secret({ name: "plain", key: "token" }, "f")).resolves.toBe("flat-value");
  });

  it("reads a Kubernetes-mounted volume (..data symlinks inside the directory)", async () => {
    const values = dirResolver({ secretsDir: secrets });
    await expect(values.secret({ name: "mounted", key: "token" }, "f")).resolves.toBe(
      "mounted-value",
    );
  });

  it.each([
    [{ name: "../fake-sa", key: "token" }, "name:"],
    [{ name: "../../../../../etc", key: "hostname" }, "name:"],
    [{ name: "plain", key: "../../fake-sa" }, "key:"],
    [{ name: "..", key: "fake-sa" }, "name:"],
  ])(
    "refuses %j before touching the file system (names rendered by parameters too)",
    async (ref, why) => {
      const values = dirResolver({ secretsDir: secrets, configMapsDir: secrets });
      await expect(values.secret(ref, "http.secureHeaders.0")).rejects.toThrow(
        `http.secureHeaders.0: Secret '${ref.name}' key '${ref.key}' in namespace 'default': ${why}`,
      );
      await expect(values.configMap(ref, "k8s.source.configmap")).rejects.toThrow(why);
    },
  );

  it("refuses a symlink that resolves outside the directory", async () => {
    const values = dirResolver({ secretsDir: secrets });
    await expect(values.secret({ name: "escape", key: "token" }, "f")).rejects.toThrow(
      "resolves to a file outside --secrets-dir",
    );
    await expect(values.secret({ name: "linkdir", key: "hostname" }, "f")).rejects.toThrow(
      "resolves to a file outside --secrets-dir",
    );
  });

  it("namespaced layout: each namespace reads its own directory only", async () => {
    const values = dirResolver({ secretsDir: join(dir, "ns"), layout: "namespaced" });
    const a = inNamespace(values, "team-a");
    const b = inNamespace(values, "team-b");
    await expect(a.secret({ name: "app", key: "token" }, "f")).resolves.toBe("a-value");
    await expect(b.secret({ name: "app", key: "token" }, "f")).resolves.toBe("b-value");
    // team-a has no Secret 'only-b': team-b's is out of its reach.
    await expect(a.secret({ name: "only-b", key: "token" }, "f")).rejects.toThrow(
      "in namespace 'team-a': cannot read",
    );
    await expect(
      inNamespace(values, "../team-b").secret({ name: "app", key: "token" }, "f"),
    ).rejects.toThrow("namespace:");
  });

  it("flat layout: the one namespace's manifests read DIR/<name>/<key>", async () => {
    const values = dirResolver({ secretsDir: secrets });
    await expect(
      inNamespace(values, "team-a").secret({ name: "plain", key: "token" }, "f"),
    ).resolves.toBe("flat-value");
  });
});

// The CLI runs the compiled dist/ (npm run build first).
describe("sensorbus validate and run refuse traversal names", () => {
  it.each([
    ["../fake-sa", "token"],
    ["../../../../../etc", "hostname"],
  ])("Secret %j key %j", async (name, key) => {
    const path = await file(`cli-${key}.yaml`, httpSensor(name, key));
    const validate = await run(process.execPath, [BIN, "validate", path]).catch((e) => e);
    expect(validate.code).toBe(1);
    expect(validate.stdout).toContain(
      `error: ${path}: /spec/triggers/0/template/http/secureHeaders/0/valueFrom/secretKeyRef/name: Secret name:`,
    );
    const started = await run(
      process.execPath,
      [BIN, "run", "--bus", "memory", "--metrics-port", "0", "--secrets-dir", dir, path],
      { timeout: 20_000 },
    ).catch((e) => e);
    expect(started.code).toBe(2);
    expect(started.stderr).toContain(
      `${path}: /spec/triggers/0/template/http/secureHeaders/0/valueFrom/secretKeyRef/name: Secret name:`,
    );
  });

  it("manifests of two namespaces: refused by both in the flat layout, accepted namespaced", async () => {
    const a = await file("ns-a.yaml", webhookES("shared", "team-a"));
    const b = await file("ns-b.yaml", httpSensor("shared", "token", "team-b"));
    const flat = await run(process.execPath, [BIN, "validate", a, b]).catch((e) => e);
    expect(flat.code).toBe(1);
    expect(flat.stdout).toContain(`error: ${a}: /metadata/namespace: reads Secrets/ConfigMaps`);
    const started = await run(
      process.execPath,
      [BIN, "run", "--bus", "memory", "--metrics-port", "0", a, b],
      { timeout: 20_000 },
    ).catch((e) => e);
    expect(started.code).toBe(2);
    expect(started.stderr).toContain(`${b}: /metadata/namespace: reads Secrets/ConfigMaps`);
    const namespaced = await run(process.execPath, [
      BIN,
      "validate",
      "--secrets-layout",
      "namespaced",
      a,
      b,
    ]);
    expect(namespaced.stdout).toContain("0 error(s)");
  });

  it("ConfigMap '..'", async () => {
    const path = await file("cli-cm.yaml", configMapSensor(".."));
    const validate = await run(process.execPath, [BIN, "validate", path]).catch((e) => e);
    expect(validate.code).toBe(1);
    expect(validate.stdout).toContain("/spec/triggers/0/template/k8s/source/configmap/name");
  });
});

describe("a firing reads its Sensor's namespace only", () => {
  it("binds the Sensor's namespace, whatever its parameters render", async () => {
    const { renderFiring } = await import("../../../src/triggers/fire.js");
    const { triggerRegistry } = await import("../../../src/triggers/registry.js");
    const { silentLogger } = await import("../../../src/observability/logger.js");
    const root = join(dir, "fire-ns");
    await mkdir(join(root, "team-a", "app"), { recursive: true });
    await mkdir(join(root, "team-b", "app"), { recursive: true });
    await writeFile(join(root, "team-a", "app", "token"), "a-token");
    await writeFile(join(root, "team-b", "app", "token"), "b-token");
    const log = silentLogger();
    const values = dirResolver({ secretsDir: root, layout: "namespaced" });
    const event = {
      specversion: "1.0",
      id: "e1",
      source: "webhook",
      type: "webhook",
      subject: "example",
      datacontenttype: "application/json",
      data: JSON.stringify({ body: { name: "../team-b/app" } }),
    };
    const trigger = {
      template: {
        name: "call",
        http: {
          url: "http://127.0.0.1:9/x",
          secureHeaders: [
            { name: "X-Token", valueFrom: { secretKeyRef: { name: "app", key: "token" } } },
          ],
        },
      },
    };
    const render = (namespace: string, t: unknown) =>
      renderFiring({
        sensorName: "s",
        namespace,
        trigger: t as never,
        events: new Map([["dep", event as never]]),
        kinds: triggerRegistry({ kube: undefined, dryRun: true, log }),
        values,
        log,
        now: () => 0,
      });
    expect((await render("team-a", trigger)).rendered.request?.headers["X-Token"]).toBe("a-token");
    expect((await render("team-b", trigger)).rendered.request?.headers["X-Token"]).toBe("b-token");
    // Event data renders the Secret's name through trigger parameters: refused at the read.
    const rewritten = {
      ...trigger,
      parameters: [
        {
          src: { dependencyName: "dep", dataKey: "body.name" },
          dest: "http.secureHeaders.0.valueFrom.secretKeyRef.name",
        },
      ],
    };
    await expect(render("team-a", rewritten)).rejects.toThrow(
      `Secret '../team-b/app' key 'token' in namespace 'team-a': name:`,
    );
  });
});
