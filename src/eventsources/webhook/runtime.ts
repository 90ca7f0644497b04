import { isUtf8 } from "node:buffer";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from "fastify";
import Fastify from "fastify";
import { DEFAULTS } from "../../config/defaults.js";
import { ConfigError, EventBusError, errorMessage } from "../../errors.js";
import { isCredentialHeader } from "../../lib/credential-headers.js";
import { parseGoDuration } from "../../lib/duration.js";
import { goHeaderMap, goQueryMap } from "../../lib/goheader.js";
import { goCompact, goMarshal } from "../../lib/gojson.js";
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  httpTimeoutOptions,
  REQUEST_TIMEOUT_ENV,
  requestTimeoutFromEnv,
} from "../../lib/http-timeouts.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import type { WebhookContextSpec, WebhookEventSpec, WebhookHmac } from "./schema.js";

/** Argo's default `maxPayloadSize`: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD = DEFAULTS.webhook.maxPayloadSize;
export const MASKED = "*** Masked Auth Secret ***";
export const SKIPPED_HEADERS = new Set(["Host", "Transfer-Encoding"]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export { DEFAULT_REQUEST_TIMEOUT_MS, REQUEST_TIMEOUT_ENV, requestTimeoutFromEnv };
export const HMAC_ALGORITHMS = ["sha1", "sha256", "sha512"] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
const HMAC_HEX_LENGTH: Record<HmacAlgorithm, number> = { sha1: 40, sha256: 64, sha512: 128 };
const DEFAULT_HMAC_HEADER: Record<HmacAlgorithm, string> = {
  sha1: "X-Hub-Signature",
  sha256: "X-Hub-Signature-256",
  sha512: "X-Hub-Signature-512",
};

/** Default `hmac.timestamp.maxAge`: 5 minutes (Slack's and Stripe's tolerance). */
export const DEFAULT_TIMESTAMP_MAX_AGE_MS = 300_000;
/** Provider delivery ids, taken as the event id on authenticated routes (first present wins). */
const DELIVERY_ID_HEADERS = ["x-github-delivery", "x-gitlab-event-uuid", "x-request-id"];

/** A resolved `hmac` entry: the key itself never leaves this module (nor reaches a log). */
export interface HmacCheck {
  key: Buffer;
  /** Header name as configured (for messages); looked up case-insensitively. */
  header: string;
  algorithm: HmacAlgorithm;
  prefix: string;
  /** `hmac.timestamp`: the signature covers this header's Unix-seconds value. */
  timestamp?: { header: string; maxAgeMs: number; before: string; between: string; after: string };
}

/** A kind's own request handling (github, gitlab): called with the raw body instead of `handle`. */
export type RouteHandler = (
  req: FastifyRequest,
  reply: FastifyReply,
  raw: Buffer,
) => Promise<FastifyReply>;

/** One served endpoint. `spec` holds Argo's WebhookContext fields (the webhook entry is one). */
export interface Route {
  eventName: string;
  spec: WebhookContextSpec;
  /** Handles the request instead of the webhook kind's handler. */
  handle?: RouteHandler;
  /** sha256 of the auth token, for a constant-time comparison of equal-length digests. */
  authDigest?: Buffer;
  /** sensorbus extension: signature of the raw body. */
  hmac?: HmacCheck;
}

/** Lower-case names of the headers an `hmac` setting makes credentials (masked in payloads). */
function hmacHeaders(hmac: HmacCheck | undefined): ReadonlySet<string> | undefined {
  return hmac ? new Set([hmac.header.toLowerCase()]) : undefined;
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
    const routes: Route[] = [];
    for (const { eventName, spec } of entries) {
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
      routes.push(route);
    }
    return serveRoutes(routes, ctx, (eventName) => `/spec/webhook/${eventName}`, "webhook");
  },
};

/**
 * The server machinery every webhook-style kind shares (webhook, github, gitlab): the routes of
 * one EventSource that share a port share one server (one TLS setting); a route with `handle`
 * answers with it instead of the webhook kind's handler. `at(eventName)` is the route's field path
 * (`/spec/webhook/<name>`, `/spec/github/<name>/webhook`) for messages; `label` names the kind.
 */
export async function serveRoutes(
  routes: readonly Route[],
  ctx: AdapterContext,
  at: (eventName: string) => string,
  label: string,
): Promise<RunningAdapter> {
  const byPort = new Map<number, Route[]>();
  for (const route of routes) {
    const { eventName, spec } = route;
    const port = Number.parseInt(String(spec.port), 10);
    if (
      !Number.isInteger(port) ||
      port < 0 ||
      port > 65535 ||
      String(port) !== String(spec.port).trim()
    ) {
      throw new ConfigError(
        `EventSource ${ctx.eventSourceName}: ${at(eventName)}/port: '${spec.port}' is not a port number`,
      );
    }
    const list = byPort.get(port) ?? [];
    if (list.some((r) => r.spec.endpoint === spec.endpoint)) {
      throw new ConfigError(
        `EventSource ${ctx.eventSourceName}: ${at(eventName)}/endpoint: '${spec.endpoint}' is already served on port ${port}`,
      );
    }
    list.push(route);
    byPort.set(port, list);
  }
  const tlsByPort = new Map<number, { cert: string; key: string } | undefined>();
  for (const [port, list] of byPort) tlsByPort.set(port, await resolvePortTls(port, list, ctx, at));
  const requestTimeoutMs = requestTimeoutFromEnv();
  const servers: FastifyInstance[] = [];
  try {
    for (const [port, list] of byPort) {
      const tls = tlsByPort.get(port);
      const app = buildServer(list, ctx, { ...(tls ? { tls } : {}), requestTimeoutMs });
      await app.listen({ port, host: process.env.SENSORBUS_WEBHOOK_HOST ?? "0.0.0.0" });
      servers.push(app);
      ctx.log.info(
        {
          port: listeningPort(app) ?? port,
          tls: tls !== undefined,
          endpoints: list.map((r) => `${r.spec.method ?? ""} ${r.spec.endpoint}`.trim()),
        },
        `${label} server listening`,
      );
    }
  } catch (err) {
    await Promise.allSettled(servers.map((s) => s.close()));
    throw new ConfigError(
      `EventSource ${ctx.eventSourceName}: ${label} server failed to start: ${errorMessage(err)}`,
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
}

/** Exposed for tests (fastify inject) and for ports chosen at run time. */
export function buildServer(
  routes: readonly Route[],
  ctx: AdapterContext,
  options: ServerOptions = {},
): FastifyInstance {
  const timeout = options.requestTimeoutMs ?? requestTimeoutFromEnv();
  const serverOptions: FastifyServerOptions & { https?: object } = {
    logger: false,
    return503OnClosing: true,
    bodyLimit: DEFAULT_MAX_PAYLOAD,
    ...httpTimeoutOptions(timeout, options.tls),
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
      handler: route.handle
        ? (req, reply) =>
            route.handle!(req, reply, req.body instanceof Buffer ? req.body : Buffer.alloc(0))
        : (req, reply) => handle(route, req, reply, ctx),
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
  if (route.hmac) {
    const denied = verifySignature(route.hmac, req, raw, ctx.clock.now());
    if (denied) {
      log().warn({ reason: denied }, "webhook request refused");
      return text(401, denied);
    }
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
    // The event carries its data as text: bytes that are not UTF-8 could only be altered
    // (U+FFFD), which Argo (raw bytes kept) never does. Refused instead of silently changed.
    if (!isUtf8(raw)) return text(400, "invalid JSON body: not valid UTF-8");
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
  // Credentials never enter the payload (and so the bus, the journal, logs): Authorization as
  // Argo does, the other credential headers and the route's signature header the same way.
  const extra = hmacHeaders(route.hmac);
  for (const name of Object.keys(header)) {
    if (isCredentialHeader(name, extra))
      header[name] = header[name]!.map((v) => (v === "" ? v : MASKED));
  }
  let data = `{"header":${goMarshal(header)},"body":${body}`;
  if (spec.metadata && Object.keys(spec.metadata).length > 0)
    data += `,"metadata":${goMarshal(spec.metadata)}`;
  data += "}";

  const inbound = inboundCloudEvent(req, media, raw, route);
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
      log().warn({ err }, "event not stored: answering 503");
      reply.header("Retry-After", "1");
      // Only an id the sender chose (and sensorbus trusted) makes a retry land on the same event.
      const retry = !err.maybeStored
        ? ""
        : inbound.id !== undefined
          ? "; it may have been stored all the same: a retry with the same ce-id is stored once"
          : "; it may have been stored all the same (this request's id was minted here: a retry is a new event)";
      return text(503, `failed to record event: ${errorMessage(err)}${retry}`);
    }
    log().error({ err }, "failed to record event");
    return text(500, `failed to record event: ${errorMessage(err)}`);
  }
}

/**
 * sensorbus: the event id and extensions a request brings. The id (the bus's and the Sensors'
 * dedupe key, scoped to this EventSource and event name) is taken from the request only where
 * the sender is authenticated and the id is covered: on a bearer (`authSecret`) route a
 * CloudEvent's `ce-id` or structured `id`; on an `hmac` route only a structured id (inside the
 * signed body); on both, a provider delivery id (X-GitHub-Delivery, X-Gitlab-Event-UUID,
 * X-Request-Id); on an `hmac` route with a signed timestamp, else, the signature itself (a replay
 * within maxAge is the same event). Otherwise sensorbus mints its own id; an untrusted `ce-id`
 * is kept as the `originid` extension. source/type/traceparent are kept as extensions;
 * `correlationid` comes from ce-correlationid or X-Correlation-Id.
 */
function inboundCloudEvent(
  req: FastifyRequest,
  media: string,
  raw: Buffer,
  route: Route,
): { id?: string; extensions: Record<string, string> } {
  const h = req.headers;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const extensions: Record<string, string> = {};
  let id: string | undefined;
  let binary = false;
  let source: string | undefined;
  let type: string | undefined;
  let correlation = one(h["ce-correlationid"]) ?? one(h["x-correlation-id"]);
  let traceparent = one(h.traceparent) ?? one(h["ce-traceparent"]);
  if (h["ce-id"] && h["ce-specversion"]) {
    id = one(h["ce-id"]);
    binary = true;
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
  const bearer = route.authDigest !== undefined;
  const signed = route.hmac !== undefined;
  let trusted: string | undefined;
  if (id !== undefined && (bearer || (signed && !binary))) trusted = id;
  else if (id !== undefined && usableId(id)) extensions.originid = id;
  if (!usableId(trusted) && (bearer || signed)) {
    trusted = undefined;
    for (const name of DELIVERY_ID_HEADERS) {
      const v = one(h[name]);
      if (usableId(v)) {
        trusted = v;
        break;
      }
    }
    if (trusted === undefined && route.hmac?.timestamp) {
      const sig = signatureHeader(route.hmac, req);
      const ts = one(h[route.hmac.timestamp.header.toLowerCase()]);
      if (sig !== undefined)
        trusted = createHash("sha256").update(`${ts}\n${sig}`).digest("hex").slice(0, 32);
    }
  }
  return { ...(usableId(trusted) ? { id: trusted } : {}), extensions };
}

export function usableId(id: string | undefined): id is string {
  return id !== undefined && id.length > 0 && id.length <= 256;
}

/** Argo's bearer check, then the presence and shape of the signature header; undefined = pass. */
export function checkHeaders(route: Route, req: FastifyRequest): string | undefined {
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
    const ts = route.hmac.timestamp;
    if (ts && timestampHeader(ts.header, req) === undefined) {
      return `Missing or invalid timestamp header ${ts.header}: expected Unix seconds`;
    }
  }
  return undefined;
}

/** The `hmac.timestamp` header's value when it is Unix seconds (1 to 12 digits), else undefined. */
function timestampHeader(name: string, req: FastifyRequest): string | undefined {
  const v = req.headers[name.toLowerCase()];
  const text = (Array.isArray(v) ? v[0] : v)?.trim() ?? "";
  return /^\d{1,12}$/.test(text) ? text : undefined;
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

/** The signature check over the raw body (and the signed timestamp); a refusal text or undefined. */
function verifySignature(
  check: HmacCheck,
  req: FastifyRequest,
  raw: Buffer,
  nowMs: number,
): string | undefined {
  const invalid = `Invalid signature in ${check.header}`;
  const value = signatureHeader(check, req);
  const given = value === undefined ? undefined : parseSignature(check, value);
  if (!given) return invalid;
  const mac = createHmac(check.algorithm, check.key);
  const ts = check.timestamp;
  let seconds: number | undefined;
  if (ts) {
    const text = timestampHeader(ts.header, req);
    if (text === undefined) {
      return `Missing or invalid timestamp header ${ts.header}: expected Unix seconds`;
    }
    seconds = Number(text);
    mac.update(ts.before, "utf8").update(text, "utf8").update(ts.between, "utf8");
    mac.update(raw).update(ts.after, "utf8");
  } else mac.update(raw);
  const expected = mac.digest();
  // Both are digests of the same algorithm, so equal length: the comparison is constant-time.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return invalid;
  if (ts && seconds !== undefined) {
    const ageMs = nowMs - seconds * 1000;
    if (Math.abs(ageMs) > ts.maxAgeMs) {
      return `Request timestamp in ${ts.header} is ${Math.round(ageMs / 1000)} s ${ageMs > 0 ? "old" : "in the future"}, outside the tolerance of ${ts.maxAgeMs / 1000} s (a replay, or a clock off)`;
    }
  }
  return undefined;
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
  let timestamp: HmacCheck["timestamp"];
  if (hmac.timestamp !== undefined) {
    const t = hmac.timestamp;
    if (typeof t !== "object" || t === null) throw fail("/timestamp: must be an object");
    if (typeof t.header !== "string" || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(t.header)) {
      throw fail(`/timestamp/header: '${String(t.header)}' is not a valid header name`);
    }
    let maxAgeMs = DEFAULT_TIMESTAMP_MAX_AGE_MS;
    if (t.maxAge !== undefined) {
      try {
        maxAgeMs = parseGoDuration(String(t.maxAge));
      } catch (err) {
        throw fail(`/timestamp/maxAge: ${errorMessage(err)}`);
      }
      if (!(maxAgeMs >= 1000)) throw fail(`/timestamp/maxAge: '${t.maxAge}' must be at least 1s`);
    }
    const signed = t.signed ?? "{timestamp}.{body}";
    const ti = signed.indexOf("{timestamp}");
    const bi = signed.indexOf("{body}");
    if (
      typeof signed !== "string" ||
      ti < 0 ||
      bi < ti ||
      signed.indexOf("{timestamp}", ti + 1) >= 0 ||
      signed.indexOf("{body}", bi + 1) >= 0
    ) {
      throw fail(
        `/timestamp/signed: '${String(signed)}' must hold {timestamp} once, then {body} once`,
      );
    }
    timestamp = {
      header: t.header,
      maxAgeMs,
      before: signed.slice(0, ti),
      between: signed.slice(ti + "{timestamp}".length, bi),
      after: signed.slice(bi + "{body}".length),
    };
  }
  const key = await ctx.values.secret(hmac.secret, `${field}/secret`);
  if (key.length === 0) throw fail("/secret: the Secret value is empty");
  return {
    key: Buffer.from(key, "utf8"),
    header,
    algorithm,
    prefix,
    ...(timestamp ? { timestamp } : {}),
  };
}

/**
 * Argo: `serverCertSecret` + `serverKeySecret` => HTTPS. Entries sharing a port share one server,
 * so they must agree: all plain, or all with the same certificate and key.
 */
async function resolvePortTls(
  port: number,
  routes: readonly Route[],
  ctx: AdapterContext,
  field: (eventName: string) => string,
): Promise<{ cert: string; key: string } | undefined> {
  let chosen: { cert: string; key: string; eventName: string } | undefined;
  let plain: string | undefined;
  for (const { eventName, spec } of routes) {
    const at = `EventSource ${ctx.eventSourceName}: ${field(eventName)}`;
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
        `${field(eventName)}/serverCertSecret`,
      );
      const key = await ctx.values.secret(
        spec.serverKeySecret,
        `${field(eventName)}/serverKeySecret`,
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
        `EventSource ${ctx.eventSourceName}: ${field(plain)}/serverCertSecret, serverKeySecret: port ${port} serves HTTPS for '${chosen.eventName}' but '${plain}' has no serverCertSecret/serverKeySecret; entries sharing a port must agree`,
      );
    }
  }
  return chosen ? { cert: chosen.cert, key: chosen.key } : undefined;
}

/** The bound port (differs from the configured one for port "0"). */
function listeningPort(app: FastifyInstance): number | undefined {
  const address = app.server.address();
  return typeof address === "object" && address !== null ? address.port : undefined;
}

export function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** The registry's entry point. */
export function createAdapter(): EventSourceAdapter<WebhookEventSpec> {
  return webhookAdapter;
}
