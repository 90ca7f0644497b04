import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import Fastify from "fastify";
import type { WebhookEventSpec } from "../config/types.js";
import { ConfigError, EventBusError, errorMessage } from "../errors.js";
import { goHeaderMap, goQueryMap } from "../lib/goheader.js";
import { goCompact, goMarshal } from "../lib/gojson.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "./types.js";

/** Argo's default `maxPayloadSize`: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD = 1_048_576;
const MASKED = "*** Masked Auth Secret ***";
const SKIPPED_HEADERS = new Set(["Host", "Transfer-Encoding"]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

interface Route {
  eventName: string;
  spec: WebhookEventSpec;
  /** sha256 of the auth token, for a constant-time comparison of equal-length digests. */
  authDigest?: Buffer;
}

/**
 * Argo's webhook EventSource (§2.1) on fastify: entries sharing a port share one server; the
 * endpoint path matches exactly. sensorbus answers 200 only after the bus stored the event (503
 * when it could not), 405 for a wrong method, 413 over the size limit, 400 for invalid JSON, and
 * returns the event id in `X-Event-Id`.
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
      const list = byPort.get(port) ?? [];
      if (list.some((r) => r.spec.endpoint === spec.endpoint)) {
        throw new ConfigError(
          `EventSource ${ctx.eventSourceName}: /spec/webhook/${eventName}/endpoint: '${spec.endpoint}' is already served on port ${port}`,
        );
      }
      list.push(route);
      byPort.set(port, list);
    }
    const servers: FastifyInstance[] = [];
    try {
      for (const [port, routes] of byPort) {
        const app = buildServer(routes, ctx);
        await app.listen({ port, host: process.env.SENSORBUS_WEBHOOK_HOST ?? "0.0.0.0" });
        servers.push(app);
        ctx.log.info(
          {
            port,
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
    | Array<{ eventName: string; spec: WebhookEventSpec; authDigest?: Buffer }>,
  ctx: AdapterContext,
): FastifyInstance {
  const app = Fastify({
    logger: false,
    return503OnClosing: true,
    bodyLimit: DEFAULT_MAX_PAYLOAD,
    requestTimeout: 60_000,
  });
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
  const log = ctx.log.child({ eventName: route.eventName });
  const text = (code: number, body: string) => reply.code(code).type("text/plain").send(body);

  if (route.authDigest) {
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ")) return text(401, "Invalid Authorization Header");
    const given = sha256(auth.slice("Bearer ".length));
    if (!timingSafeEqual(given, route.authDigest)) return text(401, "Invalid Auth token");
  }
  const method = req.method;
  if (!spec.method) return text(400, "http method does not match");
  if (method !== spec.method) {
    reply.header("Allow", spec.method);
    return text(405, `method ${method} not allowed; this endpoint accepts ${spec.method}`);
  }

  let body: string;
  const raw = req.body instanceof Buffer ? req.body : Buffer.alloc(0);
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
      log.debug({ eventID: result.id }, "event dropped by filter.expression");
    return text(200, "success");
  } catch (err) {
    if (err instanceof EventBusError) {
      log.warn({ err: errorMessage(err) }, "event not stored: answering 503");
      reply.header("Retry-After", "1");
      return text(503, `failed to record event: ${errorMessage(err)}`);
    }
    log.error({ err }, "failed to record event");
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

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}
