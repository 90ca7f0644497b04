import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { LoopbackHttp } from "./loopback-http.js";

/** A webhook endpoint as the Stripe API returns it (`secret` only in the create answer). */
export interface FakeEndpoint {
  id: string;
  object: "webhook_endpoint";
  url: string;
  enabled_events: string[];
  status: "enabled";
  livemode: false;
  created: number;
  secret: string;
}

/** One request the fake received. */
export interface StripeCall {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  contentType: string | undefined;
  form: URLSearchParams;
}

/**
 * The part of the Stripe API the stripe EventSource uses, over real HTTP as Stripe documents it:
 * Bearer auth with the secret key (401 and Stripe's error JSON otherwise); `GET
 * /v1/webhook_endpoints` (a list object, newest first, `limit`, `starting_after`, `has_more`);
 * `POST /v1/webhook_endpoints` (form-encoded `url`, `enabled_events[]`; the answer carries the
 * signing `secret`, which later reads never show); `POST /v1/webhook_endpoints/{id}` (update).
 * Errors are `{"error": {"type", "message", "param"?, "code"?}}` with Stripe's status codes.
 */
export class FakeStripeApi {
  readonly endpoints: FakeEndpoint[] = [];
  readonly calls: StripeCall[] = [];
  /** The next request answers this status and error instead (after auth). */
  failNext: { status: number; type: string; message: string } | undefined;
  private readonly http = new LoopbackHttp((req, body, res) => this.handle(req, body, res));

  constructor(readonly apiKey: string) {}

  get port(): number {
    return this.http.port;
  }

  /** Adds an endpoint as if created earlier (e.g. in the Dashboard); returns it. */
  seed(url: string, enabledEvents: string[] = ["*"]): FakeEndpoint {
    const endpoint: FakeEndpoint = {
      id: `we_${randomBytes(12).toString("hex")}`,
      object: "webhook_endpoint",
      url,
      enabled_events: enabledEvents,
      status: "enabled",
      livemode: false,
      created: Math.floor(Date.now() / 1000),
      secret: `whsec_${randomBytes(16).toString("hex")}`,
    };
    this.endpoints.unshift(endpoint);
    return endpoint;
  }

  async start(): Promise<this> {
    await this.http.listen();
    return this;
  }

  async stop(): Promise<void> {
    await this.http.close();
  }

  private handle(req: IncomingMessage, body: string, res: ServerResponse): ServerResponse {
    const url = new URL(req.url ?? "/", "http://x");
    const form = new URLSearchParams(body);
    this.calls.push({
      method: req.method ?? "",
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      form,
    });
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "request-id": "req_fake" });
      return res.end(JSON.stringify(value));
    };
    const error = (status: number, type: string, message: string, extra: object = {}) =>
      send(status, { error: { type, message, ...extra } });
    const auth = req.headers.authorization ?? "";
    if (auth !== `Bearer ${this.apiKey}`) {
      const given = auth.replace(/^Bearer /, "");
      return error(
        401,
        "invalid_request_error",
        `Invalid API Key provided: ${given.slice(0, 8)}****${given.slice(-4)}`,
      );
    }
    if (this.failNext) {
      const f = this.failNext;
      this.failNext = undefined;
      return error(f.status, f.type, f.message);
    }
    const shown = (e: FakeEndpoint) => {
      const { secret: _hidden, ...rest } = e;
      return rest;
    };
    if (url.pathname === "/v1/webhook_endpoints" && req.method === "GET") {
      const limit = Number(url.searchParams.get("limit") ?? "10");
      const after = url.searchParams.get("starting_after");
      let start = 0;
      if (after) {
        const i = this.endpoints.findIndex((e) => e.id === after);
        if (i < 0)
          return error(404, "invalid_request_error", `No such webhook endpoint: '${after}'`, {
            code: "resource_missing",
            param: "starting_after",
          });
        start = i + 1;
      }
      const page = this.endpoints.slice(start, start + limit);
      return send(200, {
        object: "list",
        url: "/v1/webhook_endpoints",
        has_more: start + limit < this.endpoints.length,
        data: page.map(shown),
      });
    }
    if (req.method !== "POST" || !url.pathname.startsWith("/v1/webhook_endpoints"))
      return error(
        404,
        "invalid_request_error",
        `Unrecognized request URL (${req.method}: ${url.pathname}).`,
      );
    if (!String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded"))
      return error(400, "invalid_request_error", "Invalid request: body must be form-encoded.");
    const events = [...form.entries()]
      .filter(([k]) => /^enabled_events\[\d*\]$/.test(k))
      .map(([, v]) => v);
    const id = url.pathname.slice("/v1/webhook_endpoints/".length);
    if (id === "") {
      const target = form.get("url");
      if (!target)
        return error(400, "invalid_request_error", "Missing required param: url.", {
          param: "url",
        });
      if (events.length === 0)
        return error(400, "invalid_request_error", "Missing required param: enabled_events.", {
          param: "enabled_events",
        });
      const created = this.seed(target, events);
      return send(200, created);
    }
    const endpoint = this.endpoints.find((e) => e.id === id);
    if (!endpoint)
      return error(404, "invalid_request_error", `No such webhook endpoint: '${id}'`, {
        code: "resource_missing",
      });
    if (events.length > 0) endpoint.enabled_events = events;
    return send(200, shown(endpoint));
  }
}
