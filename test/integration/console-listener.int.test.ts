import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { networkInterfaces, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";

/**
 * Issue 19 item 4 against a running `sensorbus run` started as deploy/ starts it (metrics on
 * 0.0.0.0): the console and /api/* are not on the metrics port, the console port answers loopback
 * only, checks the Host header and the bearer token, and `explain --url` reads it with the token.
 * Needs `npm run build` (bin/sensorbus.js loads dist/).
 */

const BIN = resolve(import.meta.dirname, "../../bin/sensorbus.js");
const TOKEN = "console-int-token-Qe44";

/** A non-loopback IPv4 address of this host, if it has one. */
function externalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return undefined;
}

function get(
  host: string,
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host, port, path, headers }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let out = "";
    p.stdout.on("data", (b) => {
      out += b;
    });
    p.stderr.on("data", (b) => {
      out += b;
    });
    p.on("exit", (code) => done({ code, out }));
  });
}

describe("sensorbus run: console on its own listener", () => {
  let dir: string;
  let child: ChildProcess;
  let output = "";
  let metricsPort: number;
  let consolePort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sb-console-listener-"));
    const webhookPort = await freePort();
    metricsPort = await freePort();
    consolePort = await freePort();
    await writeFile(
      join(dir, "eventsource.json"),
      JSON.stringify({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "EventSource",
        metadata: { name: "probe" },
        spec: { webhook: { ev: { port: String(webhookPort), endpoint: "/ev", method: "POST" } } },
      }),
    );
    await writeFile(join(dir, "token"), `${TOKEN}\n`);
    child = spawn(
      process.execPath,
      [
        BIN,
        "run",
        join(dir, "eventsource.json"),
        "--bus",
        "memory",
        "--listen",
        "0.0.0.0",
        "--metrics-port",
        String(metricsPort),
        "--console-port",
        String(consolePort),
        "--console-token-file",
        join(dir, "token"),
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NATS_URL: "" } },
    );
    child.stdout?.on("data", (b) => {
      output += b;
    });
    child.stderr?.on("data", (b) => {
      output += b;
    });
    await waitUntil(() => output.includes("web console listening"), "the console to listen");
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("keeps /metrics and the probes on the metrics port, and no console or API there", async () => {
    expect((await get("127.0.0.1", metricsPort, "/metrics")).status).toBe(200);
    expect((await get("127.0.0.1", metricsPort, "/livez")).status).toBe(200);
    expect((await get("127.0.0.1", metricsPort, "/api/events")).status).toBe(404);
    expect((await get("127.0.0.1", metricsPort, "/ui")).status).toBe(404);
    const external = externalAddress();
    if (external) {
      expect((await get(external, metricsPort, "/readyz")).status).toBe(200);
      expect((await get(external, metricsPort, "/api/events")).status).toBe(404);
      // The console listens on loopback only.
      await expect(get(external, consolePort, "/api/events")).rejects.toThrow(/ECONNREFUSED/);
    }
  });

  it("answers the console only with the token and an allowed Host", async () => {
    const host = `127.0.0.1:${consolePort}`;
    expect((await get("127.0.0.1", consolePort, "/api/events", { host })).status).toBe(401);
    const ok = await get("127.0.0.1", consolePort, "/api/events", {
      host,
      authorization: `Bearer ${TOKEN}`,
    });
    expect(ok.status).toBe(200);
    expect(Array.isArray(JSON.parse(ok.body))).toBe(true);
    const rebound = await get("127.0.0.1", consolePort, "/api/events", {
      host: "rebind.attacker.example",
      authorization: `Bearer ${TOKEN}`,
    });
    expect(rebound.status).toBe(403);
    expect(output).not.toContain(TOKEN);
  });

  it("explain --url reads it with SENSORBUS_CONSOLE_TOKEN or --token-file", async () => {
    const url = `http://127.0.0.1:${consolePort}`;
    const denied = await run(["explain", "nope", "--url", url]);
    expect(denied.code).not.toBe(0);
    expect(denied.out).toContain("HTTP 401: the console needs credentials");
    const withEnv = await run(["explain", "nope", "--url", url], {
      SENSORBUS_CONSOLE_TOKEN: TOKEN,
    });
    expect(withEnv.code).toBe(1);
    expect(withEnv.out).toContain("event nope is not in the journal");
    const withFile = await run([
      "explain",
      "nope",
      "--url",
      url,
      "--token-file",
      join(dir, "token"),
    ]);
    expect(withFile.out).toContain("event nope is not in the journal");
  });

  it("refuses to start a console on 0.0.0.0 without credentials", async () => {
    const r = await run([
      "run",
      join(dir, "eventsource.json"),
      "--bus",
      "memory",
      "--metrics-port",
      "0",
      "--console-listen",
      "0.0.0.0",
      "--console-port",
      String(await freePort()),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("the console would be reachable from the network without credentials");
  });
});
