import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

/**
 * A broker-backed EventSource losing its broker, through the built CLI (`sensorbus run`): the
 * entry is named in /readyz (503) and `sensorbus_eventsource_connected` drops to 0 while the
 * connection is down; both recover when it is back, and the outage is logged once, not once per
 * reconnect attempt. The broker is the machine's Redis behind a proxy that refuses connections.
 */

const BIN = resolve(import.meta.dirname, "../../bin/sensorbus.js");
let dir: string;
let proxy: TcpProxy;
let child: ChildProcess;
let metricsPort: number;
const out: string[] = [];

beforeAll(async () => {
  proxy = await startTcpProxy({ port: 6379 });
  dir = await mkdtemp(join(tmpdir(), "sb-conn-"));
  metricsPort = await freePort();
  await writeFile(
    join(dir, "es.yaml"),
    [
      "apiVersion: argoproj.io/v1alpha1",
      "kind: EventSource",
      "metadata: { name: conn-es }",
      "spec:",
      "  redis:",
      "    orders:",
      `      hostAddress: 127.0.0.1:${proxy.port}`,
      "      channels: [sb-conn-test-orders]",
      "",
    ].join("\n"),
  );
  child = spawn(
    process.execPath,
    [
      BIN,
      "run",
      dir,
      "--bus",
      "memory",
      "--dry-run",
      "--metrics-port",
      String(metricsPort),
      "--console-port",
      "0",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (c: Buffer) => out.push(...String(c).split("\n").filter(Boolean)));
  child.stderr?.on("data", (c: Buffer) => out.push(...String(c).split("\n").filter(Boolean)));
});

afterAll(async () => {
  child?.kill("SIGKILL");
  await proxy?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function readyz(): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    return { status: res.status, body: await res.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

async function connectedGauge(): Promise<string | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const line = text
      .split("\n")
      .find((l) => l.startsWith("sensorbus_eventsource_connected{") && l.includes('"orders"'));
    return line?.split(" ").at(-1);
  } catch {
    return undefined;
  }
}

const lines = (re: RegExp) => out.filter((l) => re.test(l)).length;

describe("broker connection state through `sensorbus run`", () => {
  it("shows an outage in /readyz and sensorbus_eventsource_connected, and logs it once", async () => {
    await waitUntil(async () => (await readyz()).status === 200, "/readyz 200", 30_000);
    await waitUntil(async () => (await connectedGauge()) === "1", "connected gauge 1", 30_000);

    proxy.refuse();
    await waitUntil(async () => (await readyz()).status === 503, "/readyz 503", 30_000);
    expect((await readyz()).body).toContain("conn-es/orders");
    await waitUntil(async () => (await connectedGauge()) === "0", "connected gauge 0", 30_000);
    // The client keeps retrying while the proxy refuses; wait for at least two more attempts
    // (each refused connection is counted by the proxy) before counting log lines.
    const attempts = proxy.refused;
    await waitUntil(() => proxy.refused >= attempts + 2, "two more reconnect attempts", 30_000);
    expect(lines(/Redis connection lost/)).toBe(1);

    proxy.accept();
    await waitUntil(async () => (await readyz()).status === 200, "/readyz 200 again", 30_000);
    await waitUntil(
      async () => (await connectedGauge()) === "1",
      "connected gauge 1 again",
      30_000,
    );
    await waitUntil(() => lines(/Redis connection restored/) === 1, "restored logged", 10_000);
    expect(lines(/Redis connection lost|cannot connect to Redis/)).toBe(1);
  }, 120_000);
});
