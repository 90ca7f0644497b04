import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configMapSensor, webhookES } from "../../support/manifest-yaml.js";

/**
 * `validate --secrets-dir/--configmaps-dir/--secrets-layout` (issue 21 item 6): with the
 * directories `run` would read, every Secret and ConfigMap key a manifest references must exist
 * there, else an error names the file and the field. Spawns bin/sensorbus.js (dist/: build first).
 */

const run = promisify(execFile);
const BIN = new URL("../../../bin/sensorbus.js", import.meta.url).pathname;
const SECRET_VALUE = "s3cr3t-token-value-never-printed";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sb-validate-values-"));
  await mkdir(join(dir, "manifests"));
  await writeFile(join(dir, "manifests/es.yaml"), webhookES("webhook-auth"));
  await writeFile(join(dir, "manifests/sensor.yaml"), configMapSensor("objects"));
  // Flat layout: DIR/<name>/<key>.
  await mkdir(join(dir, "secrets/webhook-auth"), { recursive: true });
  await writeFile(join(dir, "secrets/webhook-auth/token"), `${SECRET_VALUE}\n`);
  await mkdir(join(dir, "configmaps/objects"), { recursive: true });
  await writeFile(join(dir, "configmaps/objects/object.yaml"), "kind: ConfigMap\n");
  // Namespaced layout: DIR/<namespace>/<name>/<key>.
  await mkdir(join(dir, "ns-manifests"));
  await writeFile(join(dir, "ns-manifests/es.yaml"), webhookES("webhook-auth", "team-a"));
  await mkdir(join(dir, "ns-secrets/team-a/webhook-auth"), { recursive: true });
  await writeFile(join(dir, "ns-secrets/team-a/webhook-auth/token"), SECRET_VALUE);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function validate(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, "validate", ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe("validate --secrets-dir / --configmaps-dir", () => {
  it("passes when every referenced key exists, and never prints a value", async () => {
    const r = await validate(
      join(dir, "manifests"),
      "--secrets-dir",
      join(dir, "secrets"),
      "--configmaps-dir",
      join(dir, "configmaps"),
    );
    expect(r.stdout).toContain("1 EventSource(s), 1 Sensor(s): 0 error(s)");
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(SECRET_VALUE);
  });

  it("a missing Secret key is an error naming the file and the field", async () => {
    const empty = join(dir, "empty-secrets");
    await mkdir(empty, { recursive: true });
    const r = await validate(
      join(dir, "manifests"),
      "--secrets-dir",
      empty,
      "--configmaps-dir",
      join(dir, "configmaps"),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `error: ${join(dir, "manifests/es.yaml")}: /spec/webhook/example/authSecret: Secret 'webhook-auth' key 'token' in namespace 'default': cannot read`,
    );
    expect(r.stdout).toContain("1 error(s)");
  });

  it("a missing ConfigMap key is an error naming the file and the field", async () => {
    const r = await validate(
      join(dir, "manifests"),
      "--secrets-dir",
      join(dir, "secrets"),
      "--configmaps-dir",
      join(dir, "secrets"),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `error: ${join(dir, "manifests/sensor.yaml")}: /spec/triggers/0/template/k8s/source/configmap: ConfigMap 'objects' key 'object.yaml'`,
    );
  });

  it("a reference with only the other directory given says which flag is missing", async () => {
    const r = await validate(join(dir, "manifests"), "--secrets-dir", join(dir, "secrets"));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("it is referenced but no --configmaps-dir was given");
  });

  it("--secrets-layout namespaced reads DIR/<namespace>/<name>/<key>", async () => {
    const ok = await validate(
      join(dir, "ns-manifests"),
      "--secrets-layout",
      "namespaced",
      "--secrets-dir",
      join(dir, "ns-secrets"),
    );
    expect(ok.stdout).toContain("0 error(s)");
    expect(ok.code).toBe(0);
    const flat = await validate(
      join(dir, "ns-manifests"),
      "--secrets-dir",
      join(dir, "ns-secrets"),
    );
    expect(flat.code).toBe(1);
    expect(flat.stdout).toContain("Secret 'webhook-auth' key 'token' in namespace 'team-a'");
  });

  it("without the directories, validate checks names only, as before", async () => {
    const r = await validate(join(dir, "manifests"));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("0 error(s)");
  });
});
