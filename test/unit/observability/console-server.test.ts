import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONSOLE_URL, loadExplanation } from "../../../src/app/explain.js";
import { readConsoleAuth, serveConsole } from "../../../src/app/serve.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../../../src/lib/http-timeouts.js";
import type { ConsoleServerOptions } from "../../../src/observability/console-server.js";
import { startConsoleServer } from "../../../src/observability/console-server.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { Metrics } from "../../../src/observability/metrics.js";
import { startObservabilityServer } from "../../../src/observability/server.js";
import { freePort } from "../../support/ports.js";

/** Issue 19 items 4 and 8: the console's own listener, its Host and credential checks, timeouts. */

const TOKEN = "console-token-Rk55";
const BASIC = "admin:pw-Lm90";
const log = silentLogger();

const routes = (app: FastifyInstance) => {
  app.get("/api/events/:id", async (req, reply) => {
    const { id } = req.params as { id: string };
    if (id !== "e1") return reply.code(404).send({ error: "unknown" });
    return { id: "e1", entries: [] };
  });
  app.get("/ui", async () => "page");
};

const servers: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Partial<ConsoleServerOptions> = {}): Promise<number> {
  const app = await startConsoleServer({ port: 0, host: "127.0.0.1", routes, ...options });
  servers.push(app);
  const addr = app.server.address();
  return typeof addr === "object" && addr ? addr.port : 0;
}

/** A GET with exactly these headers (fetch may not set Host). */
function get(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const basic = (v: string) => `Basic ${Buffer.from(v).toString("base64")}`;

describe("console Host allowlist (DNS rebinding)", () => {
  it("answers loopback names and the listen address, refuses other Host names with 403", async () => {
    const port = await start();
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "LOCALHOST"]) {
      expect((await get(port, "/ui", { host })).status).toBe(200);
    }
    for (const host of [`evil.example:${port}`, "attacker.test", "127.0.0.1.nip.io"]) {
      const res = await get(port, "/api/events/e1", { host });
      expect(res.status).toBe(403);
      expect(res.body).not.toContain("e1");
    }
  });

  it("answers names given in allowedHosts", async () => {
    const port = await start({ allowedHosts: ["sensorbus.internal"] });
    expect((await get(port, "/ui", { host: "sensorbus.internal:443" })).status).toBe(200);
    expect((await get(port, "/ui", { host: "other.internal" })).status).toBe(403);
  });
});

describe("console credentials", () => {
  it("with a bearer token: 401 with WWW-Authenticate without it or with a wrong one", async () => {
    const port = await start({ auth: { bearerToken: TOKEN } });
    const host = `127.0.0.1:${port}`;
    const none = await get(port, "/api/events/e1", { host });
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="sensorbus console"');
    expect(none.body).not.toContain("e1");
    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      TOKEN,
      basic(BASIC),
    ]) {
      expect((await get(port, "/api/events/e1", { host, authorization })).status).toBe(401);
    }
    const ok = await get(port, "/api/events/e1", { host, authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ id: "e1", entries: [] });
  });

  it("with basic auth: a browser challenge, then the page", async () => {
    const port = await start({ auth: { basic: BASIC } });
    const host = `localhost:${port}`;
    const none = await get(port, "/ui", { host });
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toBe(
      'Basic realm="sensorbus console", charset="UTF-8"',
    );
    expect((await get(port, "/ui", { host, authorization: basic("admin:wrong") })).status).toBe(
      401,
    );
    expect((await get(port, "/ui", { host, authorization: basic(BASIC) })).status).toBe(200);
  });

  it("with both, either credential passes; a wrong Host is refused before credentials", async () => {
    const port = await start({ auth: { basic: BASIC, bearerToken: TOKEN } });
    const host = `127.0.0.1:${port}`;
    expect((await get(port, "/ui", { host, authorization: basic(BASIC) })).status).toBe(200);
    expect((await get(port, "/ui", { host, authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const rebound = await get(port, "/ui", {
      host: "evil.example",
      authorization: `Bearer ${TOKEN}`,
    });
    expect(rebound.status).toBe(403);
  });
});

describe("serveConsole and explain", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sb-console-"));
    await writeFile(join(dir, "token"), `${TOKEN}\n`);
    await writeFile(join(dir, "basic"), `${BASIC}\n`);
    await writeFile(join(dir, "empty"), "\n");
    await writeFile(join(dir, "nocolon"), "admin\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses to listen on a non-loopback address without credentials", async () => {
    await expect(serveConsole({ port: await freePort(), host: "0.0.0.0", routes })).rejects.toThrow(
      "--console-listen 0.0.0.0: the console would be reachable from the network without credentials",
    );
  });

  it("reads credentials from files: one trailing newline dropped, empty or malformed refused", async () => {
    expect(
      await readConsoleAuth({ tokenFile: join(dir, "token"), basicAuthFile: join(dir, "basic") }),
    ).toEqual({
      bearerToken: TOKEN,
      basic: BASIC,
    });
    await expect(readConsoleAuth({ tokenFile: join(dir, "empty") })).rejects.toThrow(
      "the file is empty",
    );
    await expect(readConsoleAuth({ basicAuthFile: join(dir, "nocolon") })).rejects.toThrow(
      "expected one line user:password",
    );
    await expect(readConsoleAuth({ tokenFile: join(dir, "missing") })).rejects.toThrow(
      `--console-token-file ${join(dir, "missing")}`,
    );
  });

  it("explain reads an authenticated console: bearer token, basic auth in the URL, a clear 401", async () => {
    const served = await serveConsole({
      port: await freePort(),
      host: "0.0.0.0",
      routes,
      tokenFile: join(dir, "token"),
      basicAuthFile: join(dir, "basic"),
    });
    try {
      const port = new URL(served.url!).port;
      const url = `http://127.0.0.1:${port}`;
      expect(await loadExplanation({ id: "e1", url, token: TOKEN, log })).toEqual({
        id: "e1",
        entries: [],
      });
      expect(
        await loadExplanation({ id: "e1", url: `http://admin:pw-Lm90@127.0.0.1:${port}`, log }),
      ).toEqual({
        id: "e1",
        entries: [],
      });
      expect(await loadExplanation({ id: "nope", url, token: TOKEN, log })).toBeUndefined();
      const denied = loadExplanation({ id: "e1", url, log });
      await expect(denied).rejects.toThrow("HTTP 401: the console needs credentials");
      await expect(loadExplanation({ id: "e1", url, token: "wrong", log })).rejects.not.toThrow(
        TOKEN,
      );
    } finally {
      await served.close();
    }
  });

  it("explain's default URL is the console's default address", () => {
    expect(DEFAULT_CONSOLE_URL).toBe("http://127.0.0.1:7778");
  });
});

describe("listener timeouts (metrics and console as the webhook port)", () => {
  it("configures the webhook bound on both listeners", async () => {
    const metrics = await startObservabilityServer({
      metrics: new Metrics(),
      health: { busConnected: () => true, stuckTriggers: () => [] },
      port: 0,
      host: "127.0.0.1",
    });
    servers.push(metrics);
    await start();
    for (const s of [metrics, servers[1]!]) {
      expect(s.server.requestTimeout).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
      expect(s.server.headersTimeout).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
      expect(s.server.timeout).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
    }
  });

  it.each(["metrics", "console"])(
    "the %s listener closes a connection that never finishes its headers (short bound)",
    async (which) => {
      let port: number;
      if (which === "metrics") {
        const app = await startObservabilityServer({
          metrics: new Metrics(),
          health: { busConnected: () => true, stuckTriggers: () => [] },
          port: 0,
          host: "127.0.0.1",
          requestTimeoutMs: 150,
        });
        servers.push(app);
        const addr = app.server.address();
        port = typeof addr === "object" && addr ? addr.port : 0;
      } else port = await start({ requestTimeoutMs: 150 });
      const socket = connect(port, "127.0.0.1");
      let answer = "";
      socket.on("data", (b) => {
        answer += b.toString();
      });
      await new Promise((r) => socket.once("connect", r));
      // Half a request line, then nothing: a slow-loris client.
      socket.write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
      // The server ends it (the test waits for that event, not for a time).
      await new Promise((r) => socket.once("close", r));
      expect(answer === "" || answer.startsWith("HTTP/1.1 408")).toBe(true);
    },
  );
});
