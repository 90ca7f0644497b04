import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import Fastify from "fastify";
import { httpTimeoutOptions, requestTimeoutFromEnv } from "../lib/http-timeouts.js";

/** Credentials the console accepts; either passes when both are set. */
export interface ConsoleAuth {
  /** `Authorization: Bearer <token>` (API clients, `sensorbus explain`). */
  bearerToken?: string;
  /** `Authorization: Basic base64(user:password)` (browsers), as `user:password`. */
  basic?: string;
}

export interface ConsoleServerOptions {
  port: number;
  host: string;
  /** The console's routes (see consoleRoutes). */
  routes: (app: FastifyInstance) => void | Promise<void>;
  auth?: ConsoleAuth;
  /**
   * Host names (without port) a request's Host header may name, besides the loopback names
   * and the listen address. Lower-case compared.
   */
  allowedHosts?: readonly string[];
  /** Request/connection bound, ms (default: SENSORBUS_WEBHOOK_REQUEST_TIMEOUT_MS or 30 s). */
  requestTimeoutMs?: number;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];
const WILDCARDS = new Set(["0.0.0.0", "::", ""]);
const REALM = 'Basic realm="sensorbus console", charset="UTF-8"';

/**
 * The Host names a console listening on `host` answers: loopback names, the listen address
 * (unless a wildcard) and `extra`. A DNS-rebinding page reaches the listener under its own name,
 * which is not in the list.
 */
export function consoleAllowedHosts(host: string, extra: readonly string[] = []): Set<string> {
  const out = new Set(LOOPBACK_NAMES);
  const listen = stripBrackets(host.trim().toLowerCase());
  if (!WILDCARDS.has(listen)) out.add(listen);
  for (const h of extra) {
    const name = stripBrackets(h.trim().toLowerCase());
    if (name !== "") out.add(name);
  }
  return out;
}

/** True when `host` is a loopback address or name (the console may run without credentials). */
export function isLoopbackListen(host: string): boolean {
  const h = stripBrackets(host.trim().toLowerCase());
  if (h === "localhost" || h === "::1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}

/**
 * The web console and its JSON API on a listener of their own (`--console-port`, loopback by
 * default), apart from `/metrics` and the probes. Every request first passes a Host allowlist
 * (403 otherwise: DNS rebinding) and then, when credentials are configured, a bearer token or
 * basic-auth check (401 with `WWW-Authenticate`), compared as sha256 digests in constant time.
 * The listener has the webhook servers' time bounds.
 */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<FastifyInstance> {
  const app = buildConsoleServer(options);
  await app.listen({ port: options.port, host: options.host });
  return app;
}

/** {@link startConsoleServer} without listening (tests use inject). */
export function buildConsoleServer(options: ConsoleServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    return503OnClosing: true,
    ...httpTimeoutOptions(options.requestTimeoutMs ?? requestTimeoutFromEnv()),
  }) as unknown as FastifyInstance;
  const hosts = consoleAllowedHosts(options.host, options.allowedHosts);
  const bearer = options.auth?.bearerToken ? sha256(options.auth.bearerToken) : undefined;
  const basic = options.auth?.basic ? sha256(options.auth.basic) : undefined;
  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    const name = hostName(req.headers.host);
    if (name === undefined || !hosts.has(name)) {
      return reply
        .code(403)
        .type("text/plain")
        .send(
          `Host '${String(req.headers.host ?? "").slice(0, 100)}' is not allowed for the sensorbus console (add it with --console-allowed-hosts)`,
        );
    }
    if (!bearer && !basic) return;
    if (authorized(req.headers.authorization, bearer, basic)) return;
    if (basic) reply.header("WWW-Authenticate", REALM);
    else reply.header("WWW-Authenticate", 'Bearer realm="sensorbus console"');
    return reply.code(401).type("text/plain").send("the sensorbus console needs credentials");
  });
  void app.register(async (scope) => {
    await options.routes(scope);
  });
  return app;
}

function authorized(
  header: string | undefined,
  bearer: Buffer | undefined,
  basic: Buffer | undefined,
): boolean {
  if (header === undefined) return false;
  const space = header.indexOf(" ");
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === "bearer" && bearer) return timingSafeEqual(sha256(value), bearer);
  if (scheme === "basic" && basic) {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    return timingSafeEqual(sha256(decoded), basic);
  }
  return false;
}

/** The host name of a Host header, lower case, without port or IPv6 brackets. */
function hostName(header: string | undefined): string | undefined {
  if (header === undefined || header === "") return undefined;
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end < 0 ? undefined : h.slice(1, end);
  }
  const colon = h.indexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

function stripBrackets(h: string): string {
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}
