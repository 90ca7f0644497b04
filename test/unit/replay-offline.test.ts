import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const BIN = new URL("../../bin/sensorbus.js", import.meta.url).pathname;

/** A local server that counts every request: replay must never reach it. */
let server: Server;
let requests = 0;
let url = "";
beforeAll(async () => {
  server = createServer((_req, res) => {
    requests++;
    res.end("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-network}\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cm.yaml`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

async function setup(source: string): Promise<{ dir: string; sensor: string; events: string }> {
  const dir = await mkdtemp(join(tmpdir(), "sb-replay-offline-"));
  const sensor = join(dir, "s.yaml");
  await writeFile(
    sensor,
    `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: url-source}
spec:
  dependencies:
    - {name: dep, eventSourceName: es, eventName: e}
  triggers:
    - template:
        name: create-cm
        k8s:
          operation: create
          source:
${source}
`,
  );
  const events = join(dir, "e.jsonl");
  await writeFile(
    events,
    '{"specversion":"1.0","id":"1","source":"es","subject":"e","type":"webhook","time":"2024-05-15T12:00:00Z","datacontenttype":"application/json","data":{}}\n',
  );
  return { dir, sensor, events };
}

async function replay(args: string[]): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await run(process.execPath, [BIN, "replay", ...args]);
  return stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("replay is offline (dist/)", () => {
  it("a url trigger source is an error line that says so, and nothing is fetched", async () => {
    const { sensor, events } = await setup(`            url: {path: "${url}"}`);
    const before = requests;
    const lines = await replay(["--sensor", sensor, "--events", events]);
    expect(requests - before).toBe(0);
    expect(lines).toEqual([
      {
        kind: "error",
        eventId: "1",
        trigger: "create-cm",
        message: `k8s.source.url: replay does not fetch url sources (it is offline); map this URL to a local file with --source URL=FILE (not fetched: ${url})`,
      },
    ]);
  });

  it("--source URL=FILE reads that source from the file", async () => {
    const { dir, sensor, events } = await setup(`            url: {path: "${url}"}`);
    const file = join(dir, "cm.yaml");
    await writeFile(file, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-file}\n");
    const before = requests;
    const lines = await replay([
      "--sensor",
      sensor,
      "--events",
      events,
      "--source",
      `${url}=${file}`,
    ]);
    expect(requests - before).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      kind: "fired",
      trigger: "create-cm",
      payload: { kind: "ConfigMap", metadata: { name: "from-file" } },
    });
  });

  it("a ConfigMap source without --configmaps-dir names the field once", async () => {
    const { sensor, events } = await setup(
      "            configmap: {name: manifests, key: cm.yaml}",
    );
    const lines = await replay(["--sensor", sensor, "--events", events]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ kind: "error", eventId: "1", trigger: "create-cm" });
    const message = String(lines[0]!.message);
    expect(message).toMatch(/^k8s\.source\.configmap: ConfigMap 'manifests' key 'cm\.yaml'/);
    expect(message).toContain("--configmaps-dir");
    expect(message.split("k8s.source.configmap").length - 1).toBe(1);
  });
});
