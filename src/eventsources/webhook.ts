import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from "fastify";
import Fastify from "fastify";
import type { WebhookEventSpec, WebhookHmac } from "../config/types.js";
import { ConfigError, EventBusError, errorMessage } from "../errors.js";
import { goHeaderMap, goQueryMap } from "../lib/goheader.js";
import { goCompact, goMarshal } from "../lib/gojson.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "./types.js";

/** Argo's default `maxPayloadSize`: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD = 1_048_576;
const MASKED = "*** Masked Auth Secret ***";
const SKIPPED_HEADERS = new Set(["Host", "Transfer-Encoding"]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Default bound on receiving one whole request (headers and body): 30 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const REQUEST_TIMEOUT_ENV = "SENSORBUS_WEBHOOK_REQUEST_TIMEOUT_MS";
export const HMAC_ALGORITHMS = ["sha1", "sha256", "sha512"] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
const HMAC_HEX_LENGTH: Record<HmacAlgorithm, number> = { sha1: 40, sha256: 64, sha512: 128 };
const DEFAULT_HMAC_HEADER: Record<HmacAlgorithm, string> = {
  sha1: "X-Hub-Signature",
  sha256: "X-Hub-Signature-256",
  sha512: "X-Hub-Signature-512",
};

/** A resolved `hmac` entry: the key itself never leaves this module (nor reaches a log). */
export interface HmacCheck {
  key: Buffer;
  /** Header name as configured (for messages); looked up case-insensitively. */
  header: string;
  algorithm: HmacAlgorithm;
  prefix: string;
}

interface Route {
  eventName: string;
  spec: WebhookEventSpec;
  /** sha256 of the auth token, for a constant-time comparison of equal-length digests. */
  authDigest?: Buffer;
  /** sensorbus extension: signature of the raw body. */
  hmac?: HmacCheck;
}

/** TLS material and timeouts of one port's server. */
export interface ServerOptions {
  tls?: { cert: string; key: string };
  /** Bound on receiving a whole request; default from SENSORBUS_WEBHOOK_REQUEST_TIMEOUT_MS or 30 s. */
  requestTimeoutMs?: number;
}

/**
 * Argo's webhook EventSource (§2.1) on fastify: entries sharing a port share one server; the
 * endpoint path matches exactly. sensorbus answers 200 only after the bus stored the event (503
 * when it could not), 405 for a wrong method, 413 over the size limit, 400 for invalid JSON, and
 * returns the event id in `X-Event-Id`. Security (docs/webhook-security.md): Argo's bearer
 * `authSecret`, the sensorbus `hmac` body signature, HTTPS from `serverCertSecret` +
 * `serverKeySecret`, and a bound on receiving each request (SENSORBUS_WEBHOOK_REQUEST_TIMEOUT_MS).
 */
export const webhookAdapter: EventSourceAdapter<WebhookEventSpec> = {
  key: "webhook",
  ceType: "webhook",
  async start(entries, ctx): Promise<RunningAdapter> {
    const byPort = new Map<number, Route[]>();
    for (const { eventName, spec } of entries) {
      const port = Number.parseInt(String(spec.port), 10);
      if (
        !Number.isInteger(port) ||
        port < 0 ||
        port > 65535 ||
        String(port) !== String(spec.port).trim()
      ) {
        throw new ConfigError(
          `EventSource ${ctx.eventSourceName}: /spec/webhook/${eventName}/port: '${spec.port}' is not a port number`,
        );
      }
      const route: Route = { eventName, spec };
      if (spec.authSecret) {
        const token = await ctx.values.secret(
          spec.authSecret,
          `/spec/webhook/${eventName}/authSecret`,
        );
        route.authDigest = sha256(token);
      }
      if (spec.hmac !== undefined) {
        route.hmac = await resolveHmac(spec.hmac, `/spec/webhook/${eventName}/hmac`, ctx);
      }
      const list = byPort.get(port) ?? [];
      if (list.some((r) => r.spec.endpoint === spec.endpoint)) {
        throw new ConfigError(
          `EventSource ${ctx.eventSourceName}: /spec/webhook/${eventName}/endpoint: '${spec.endpoint}' is already served on port ${port}`,
        );
      }
      list.push(route);
      byPort.set(port, list);
    }
    const tlsByPort = new Map<number, { cert: string; key: string } | undefined>();
    for (const [port, routes] of byPort)
      tlsByPort.set(port, await resolvePortTls(port, routes, ctx));
    const requestTimeoutMs = requestTimeoutFromEnv();
    const servers: FastifyInstance[] = [];
    try {
      for (const [port, routes] of byPort) {
        const tls = tlsByPort.get(port);
        const app = buildServer(routes, ctx, { ...(tls ? { tls } : {}), requestTimeoutMs });
        await app.listen({ port, host: process.env.SENSORBUS_WEBHOOK_HOST ?? "0.0.0.0" });
        servers.push(app);
        ctx.log.info(
          {
            port: listeningPort(app) ?? port,
            tls: tls !== undefined,
            endpoints: routes.map((r) => `${r.spec.method ?? ""} ${r.spec.endpoint}`.trim()),
          },
          "webhook server listening",
        );
      }
    } catch (err) {
      await Promise.allSettled(servers.map((s) => s.close()));
      throw new ConfigError(
        `EventSource ${ctx.eventSourceName}: webhook server failed to start: ${errorMessage(err)}`,
        [],
        {
          cause: err,
        },
      );
    }
    return {
      async stop() {
        // close() stops accepting and waits for in-flight requests (and so their publishes).
        await Promise.allSettled(servers.map((s) => s.close()));
      },
    };
  },
};

/** Exposed for tests (fastify inject) and for ports chosen at run time. */
export function buildServer(
  routes:
    | readonly Route[]
    | Array<{ eventName: string; spec: WebhookEventSpec; authDigest?: Buffer; hmac?: HmacCheck }>,
  ctx: AdapterContext,
  options: ServerOptions = {},
): FastifyInstance {
  const timeout = options.requestTimeoutMs ?? requestTimeoutFromEnv();
  // Node checks request deadlines every connectionsCheckingInterval (30 s by default): a short
  // timeout needs a finer check, or a stalled body would live up to 30 s longer than allowed.
  const nodeServer = {
    requestTimeout: timeout,
    headersTimeout: timeout,
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeout / 4))),
  };
  const serverOptions: FastifyServerOptions & { https?: object } = {
    logger: false,
    return503OnClosing: true,
    bodyLimit: DEFAULT_MAX_PAYLOAD,
    requestTimeout: timeout,
    // Idle socket bound: a client that stops sending mid-request is cut off too.
    connectionTimeout: timeout,
    ...(options.tls
      ? { https: { cert: options.tls.cert, key: options.tls.key, ...nodeServer } }
      : { http: nodeServer }),
  };
  const app = Fastify(serverOptions as FastifyServerOptions) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.all("/health", async (_req, reply) => reply.type("text/plain").send("OK"));

  for (const route of routes) {
    const limit =
      route.spec.maxPayloadSize && route.spec.maxPayloadSize > 0
        ? route.spec.maxPayloadSize
        : DEFAULT_MAX_PAYLOAD;
    app.route({
      method: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
      url: route.spec.endpoint,
      bodyLimit: limit,
      // Credentials are checked from the headers alone, before any body byte is read (a route
      // without authSecret or HMAC has no hook: one promise less per request).
      ...(route.authDigest || route.hmac
        ? {
            onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
              const denied = checkHeaders(route, req);
              if (denied) return reply.code(401).type("text/plain").send(denied);
            },
          }
        : {}),
      handler: (req, reply) => handle(route, req, reply, ctx),
    });
  }
  app.setErrorHandler(
    (err: { statusCode?: number; code?: string; message: string }, req, reply) => {
      if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE" || err.statusCode === 413) {
        return reply.code(413).type("text/plain").send("request body exceeds maxPayloadSize");
      }
      ctx.log.error({ err, url: req.url }, "webhook request failed");
      return reply
        .code(err.statusCode && err.statusCode >= 400 ? err.statusCode : 500)
        .type("text/plain")
        .send(err.message);
    },
  );
  return app;
}

async function handle(
  route: Route,
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: AdapterContext,
): Promise<FastifyReply> {
  const spec = route.spec;
  // Only the rare paths log: the child logger is built when one does.
  const log = () => ctx.log.child({ eventName: route.eventName });
  const text = (code: number, body: string) => reply.code(code).type("text/plain").send(body);

  // Headers were checked in onRequest; the signature needs the raw body, before it is parsed.
  const raw = req.body instanceof Buffer ? req.body : Buffer.alloc(0);
  if (route.hmac && !verifySignature(route.hmac, req, raw)) {
    return text(401, `Invalid signature in ${route.hmac.header}`);
  }
  const method = req.method;
  if (!spec.method) return text(400, "http method does not match");
  if (method !== spec.method) {
    reply.header("Allow", spec.method);
    return text(405, `method ${method} not allowed; this endpoint accepts ${spec.method}`);
  }

  let body: string;
  const contentType = String(req.headers["content-type"] ?? "");
  const media = contentType.split(";")[0]!.trim().toLowerCase();
  if (method === "GET") {
    body = goMarshal(goQueryMap(new URL(req.url, "http://x").search));
  } else if (method === "POST" && media === "application/x-www-form-urlencoded") {
    body = goMarshal(goQueryMap(raw.toString("utf8")));
  } else if (BODY_METHODS.has(method)) {
    try {
      body = goCompact(raw.toString("utf8"));
    } catch (err) {
      const detail = raw.length === 0 ? "unexpected end of JSON input" : errorMessage(err);
      return text(400, `invalid JSON body: ${detail}`);
    }
  } else {
    return text(400, `unsupported method: ${method}`);
  }

  const header = goHeaderMap(req.raw.rawHeaders, SKIPPED_HEADERS);
  if (header.Authorization)
    header.Authorization = header.Authorization.map((v) => (v === "" ? v : MASKED));
  let data = `{"header":${goMarshal(header)},"body":${body}`;
  if (spec.metadata && Object.keys(spec.metadata).length > 0)
    data += `,"metadata":${goMarshal(spec.metadata)}`;
  data += "}";

  const inbound = inboundCloudEvent(req, media, raw);
  try {
    const result = await ctx.emit(route.eventName, {
      data,
      ...(inbound.id ? { id: inbound.id } : {}),
      ...(Object.keys(inbound.extensions).length > 0 ? { extensions: inbound.extensions } : {}),
    });
    reply.header("X-Event-Id", result.id);
    if (result.status === "filtered")
      log().debug({ eventID: result.id }, "event dropped by filter.expression");
    return text(200, "success");
  } catch (err) {
    if (err instanceof EventBusError) {
      log().warn({ err: errorMessage(err) }, "event not stored: answering 503");
      reply.header("Retry-After", "1");
      const retry = err.maybeStored
        ? "; it may have been stored all the same: a retry with the same ce-id is stored once"
        : "";
      return text(503, `failed to record event: ${errorMessage(err)}${retry}`);
    }
    log().error({ err }, "failed to record event");
    return text(500, `failed to record event: ${errorMessage(err)}`);
  }
}

/**
 * sensorbus: a request that is itself a CloudEvent keeps its id; its source/type/traceparent are
 * kept as extensions; `correlationid` comes from ce-correlationid or X-Correlation-Id.
 */
function inboundCloudEvent(
  req: FastifyRequest,
  media: string,
  raw: Buffer,
): { id?: string; extensions: Record<string, string> } {
  const h = req.headers;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const extensions: Record<string, string> = {};
  let id: string | undefined;
  let source: string | undefined;
  let type: string | undefined;
  let correlation = one(h["ce-correlationid"]) ?? one(h["x-correlation-id"]);
  let traceparent = one(h.traceparent) ?? one(h["ce-traceparent"]);
  if (h["ce-id"] && h["ce-specversion"]) {
    id = one(h["ce-id"]);
    source = one(h["ce-source"]);
    type = one(h["ce-type"]);
  } else if (media === "application/cloudevents+json") {
    try {
      const ce = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
      if (typeof ce.id === "string" && typeof ce.specversion === "string") {
        id = ce.id;
        source = typeof ce.source === "string" ? ce.source : undefined;
        type = typeof ce.type === "string" ? ce.type : undefined;
        if (!correlation && typeof ce.correlationid === "string") correlation = ce.correlationid;
        if (!traceparent && typeof ce.traceparent === "string") traceparent = ce.traceparent;
      }
    } catch {
      // Not a structured CloudEvent after all: an ordinary JSON body.
    }
  }
  if (source) extensions.originsource = source;
  if (type) extensions.origintype = type;
  if (traceparent) extensions.traceparent = traceparent;
  if (correlation) extensions.correlationid = correlation;
  return { ...(id && id.length > 0 && id.length <= 256 ? { id } : {}), extensions };
}

/** Argo's bearer check, then the presence and shape of the signature header; undefined = pass. */
function checkHeaders(route: Route, req: FastifyRequest): string | undefined {
  if (route.authDigest) {
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ")) return "Invalid Authorization Header";
    const given = sha256(auth.slice("Bearer ".length));
    if (!timingSafeEqual(given, route.authDigest)) return "Invalid Auth token";
  }
  if (route.hmac) {
    const { header, prefix, algorithm } = route.hmac;
    const value = signatureHeader(route.hmac, req);
    if (value === undefined) return `Missing signature header ${header}`;
    if (parseSignature(route.hmac, value) === undefined) {
      return `Invalid signature header ${header}: expected ${prefix}<${HMAC_HEX_LENGTH[algorithm]} hex digits>`;
    }
  }
  return undefined;
}

function signatureHeader(check: HmacCheck, req: FastifyRequest): string | undefined {
  const v = req.headers[check.header.toLowerCase()];
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined || one === "" ? undefined : one;
}

/** The digest bytes of `<prefix><hex>`, or undefined when the value has another shape. */
function parseSignature(check: HmacCheck, value: string): Buffer | undefined {
  if (!value.startsWith(check.prefix)) return undefined;
  const hex = value.slice(check.prefix.length).trim();
  if (hex.length !== HMAC_HEX_LENGTH[check.algorithm] || !/^[0-9a-fA-F]+$/.test(hex)) {
    return undefined;
  }
  return Buffer.from(hex, "hex");
}

function verifySignature(check: HmacCheck, req: FastifyRequest, raw: Buffer): boolean {
  const value = signatureHeader(check, req);
  const given = value === undefined ? undefined : parseSignature(check, value);
  if (!given) return false;
  const expected = createHmac(check.algorithm, check.key).update(raw).digest();
  // Both are digests of the same algorithm, so equal length: the comparison is constant-time.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Reads the `hmac` secret and checks the algorithm, header and prefix of one entry. */
export async function resolveHmac(
  hmac: WebhookHmac,
  field: string,
  ctx: Pick<AdapterContext, "eventSourceName" | "values">,
): Promise<HmacCheck> {
  const fail = (msg: string) =>
    new ConfigError(`EventSource ${ctx.eventSourceName}: ${field}${msg}`);
  if (typeof hmac !== "object" || hmac === null) throw fail(": must be an object");
  const algorithm = (hmac.algorithm ?? "sha256") as HmacAlgorithm;
  if (!HMAC_ALGORITHMS.includes(algorithm)) {
    throw fail(
      `/algorithm: '${String(hmac.algorithm)}' is not one of ${HMAC_ALGORITHMS.join(", ")}`,
    );
  }
  const header = hmac.header ?? DEFAULT_HMAC_HEADER[algorithm];
  // RFC 9110 token characters: anything else could never arrive as a header name.
  if (typeof header !== "string" || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
    throw fail(`/header: '${String(header)}' is not a valid header name`);
  }
  const prefix = hmac.prefix ?? `${algorithm}=`;
  if (typeof prefix !== "string") throw fail("/prefix: must be a string");
  if (!hmac.secret) throw fail("/secret: is required");
  const key = await ctx.values.secret(hmac.secret, `${field}/secret`);
  if (key.length === 0) throw fail("/secret: the Secret value is empty");
  return { key: Buffer.from(key, "utf8"), header, algorithm, prefix };
}

/**
 * Argo: `serverCertSecret` + `serverKeySecret` => HTTPS. Entries sharing a port share one server,
 * so they must agree: all plain, or all with the same certificate and key.
 */
async function resolvePortTls(
  port: number,
  routes: readonly Route[],
  ctx: AdapterContext,
): Promise<{ cert: string; key: string } | undefined> {
  let chosen: { cert: string; key: string; eventName: string } | undefined;
  let plain: string | undefined;
  for (const { eventName, spec } of routes) {
    const at = `EventSource ${ctx.eventSourceName}: /spec/webhook/${eventName}`;
    if (!spec.serverCertSecret !== !spec.serverKeySecret) {
      // Argo serves plain HTTP then (`validate` warns about it too).
      ctx.log.warn(
        { eventName },
        "only one of serverCertSecret and serverKeySecret is set: the endpoint serves plain HTTP",
      );
    }
    if (!spec.serverCertSecret || !spec.serverKeySecret) {
      plain ??= eventName;
    } else {
      const cert = await ctx.values.secret(
        spec.serverCertSecret,
        `/spec/webhook/${eventName}/serverCertSecret`,
      );
      const key = await ctx.values.secret(
        spec.serverKeySecret,
        `/spec/webhook/${eventName}/serverKeySecret`,
      );
      if (chosen && (chosen.cert !== cert || chosen.key !== key)) {
        throw new ConfigError(
          `${at}/serverCertSecret, serverKeySecret: port ${port} is shared with '${chosen.eventName}', which uses another certificate or key`,
        );
      }
      chosen ??= { cert, key, eventName };
    }
    if (chosen && plain !== undefined) {
      throw new ConfigError(
        `EventSource ${ctx.eventSourceName}: /spec/webhook/${plain}/serverCertSecret, serverKeySecret: port ${port} serves HTTPS for '${chosen.eventName}' but '${plain}' has no serverCertSecret/serverKeySecret; entries sharing a port must agree`,
      );
    }
  }
  return chosen ? { cert: chosen.cert, key: chosen.key } : undefined;
}

/** SENSORBUS_WEBHOOK_REQUEST_TIMEOUT_MS (milliseconds, positive integer) or 30 s. */
export function requestTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[REQUEST_TIMEOUT_ENV];
  if (raw === undefined || raw.trim() === "") return DEFAULT_REQUEST_TIMEOUT_MS;
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new ConfigError(
      `${REQUEST_TIMEOUT_ENV}: '${raw}' is not a positive number of milliseconds`,
    );
  }
  return ms;
}

/** The bound port (differs from the configured one for port "0"). */
function listeningPort(app: FastifyInstance): number | undefined {
  const address = app.server.address();
  return typeof address === "object" && address !== null ? address.port : undefined;
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}
