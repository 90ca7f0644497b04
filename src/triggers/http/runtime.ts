import type { Agent } from "../../clients/http.js";
import { DEFAULTS } from "../../config/defaults.js";
import { readTlsMaterial } from "../../config/tls.js";
import { errorMessage, TriggerError } from "../../errors.js";
import { memoize } from "../../lib/memo.js";
import { registerSecret } from "../../lib/redact.js";
import {
  constructPayloadFor,
  dynamicHeaderValues,
  setRenderedBody,
  withOwnParameters,
} from "../payload.js";
import type { ExecContext, FiringContext, Rendered, TriggerKind, TriggerResult } from "../types.js";
import type { HttpTrigger } from "./schema.js";

interface HttpDetail {
  body: string | undefined;
  timeoutMs: number;
  insecureSkipVerify: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  host?: string;
  triggerName: string;
}

const ALLOWED_METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);

/**
 * Argo's `http` trigger (§4.5) on a keep-alive connection pool (one undici Agent per trigger and
 * TLS setting). Any response is success unless `policy.status.allow` is set (checked by the runner
 * through `ExecContext.policy`); transport errors and timeouts are retryable failures.
 */
export function httpTrigger(): TriggerKind<HttpTrigger> {
  const agents = new Map<string, Agent>();
  // undici is loaded with the first request, not with the process (`validate`/`replay` never send).
  let undici: Promise<typeof import("../../clients/http.js")> | undefined;
  const newAgent = async (key: string, d: HttpDetail): Promise<Agent> => {
    undici ??= import("../../clients/http.js");
    const { Agent } = await undici;
    let agent = agents.get(key);
    if (!agent) {
      agent = new Agent({
        keepAliveTimeout: 30_000,
        connections: 64,
        pipelining: 1,
        connect: {
          rejectUnauthorized: !d.insecureSkipVerify,
          ...(d.ca ? { ca: d.ca } : {}),
          ...(d.cert ? { cert: d.cert } : {}),
          ...(d.key ? { key: d.key } : {}),
        },
      });
      agents.set(key, agent);
    }
    return agent;
  };
  const agentFor = (d: HttpDetail): Agent | Promise<Agent> => {
    const key = `${d.triggerName}|${d.insecureSkipVerify}|${d.ca ?? ""}|${d.cert ?? ""}`;
    return agents.get(key) ?? newAgent(key, d);
  };

  return {
    kind: "http",
    async render(template, ctx: FiringContext): Promise<Rendered> {
      const http = withOwnParameters(template, ctx);
      if (!http.url) throw new TriggerError("SB_ERR_TRIGGER_RENDER", "http trigger: url is empty");
      const method = (http.method || DEFAULTS.http.method).toUpperCase();
      if (!ALLOWED_METHODS.has(method)) {
        throw new TriggerError(
          "SB_ERR_TRIGGER_RENDER",
          `http trigger: method '${http.method}' is not one of GET, POST, PUT, PATCH, DELETE`,
        );
      }
      const body = constructPayloadFor(http.payload, ctx);
      const headers: Record<string, string> = { ...(http.headers ?? {}) };
      for (const [name, value] of dynamicHeaderValues(http.dynamicHeaders, ctx))
        headers[name] = value;
      // Headers whose value comes from a Secret (or a secureHeaders ConfigMap): every output
      // shows them as [redacted], whatever their length (lib/redact.ts covers the value elsewhere).
      const secretHeaders: string[] = [];
      for (const [i, sh] of (http.secureHeaders ?? []).entries()) {
        const field = `http.secureHeaders.${i}`;
        if (sh.valueFrom?.secretKeyRef) {
          headers[sh.name] = await ctx.values.secret(sh.valueFrom.secretKeyRef, field);
          secretHeaders.push(sh.name);
        } else if (sh.valueFrom?.configMapKeyRef) {
          const value = await ctx.values.configMap(sh.valueFrom.configMapKeyRef, field);
          registerSecret(value);
          headers[sh.name] = value;
          secretHeaders.push(sh.name);
        }
      }
      if (http.basicAuth) {
        const user = http.basicAuth.username
          ? await ctx.values.secret(http.basicAuth.username, "http.basicAuth.username")
          : "";
        const pass = http.basicAuth.password
          ? await ctx.values.secret(http.basicAuth.password, "http.basicAuth.password")
          : "";
        const encoded = Buffer.from(`${user}:${pass}`).toString("base64");
        registerSecret(encoded);
        headers.Authorization = `Basic ${encoded}`;
        registerSecret(headers.Authorization);
        secretHeaders.push("Authorization");
      }
      const tls = http.tls;
      const detail: HttpDetail = {
        body,
        timeoutMs:
          (http.timeout && http.timeout > 0 ? http.timeout : DEFAULTS.http.timeoutSeconds) * 1000,
        insecureSkipVerify: tls?.insecureSkipVerify === true,
        triggerName: ctx.triggerName,
        ...(http.host ? { host: http.host } : {}),
      };
      const material = await readTlsMaterial(tls, "http", ctx.values);
      if (material?.ca) detail.ca = material.ca;
      if (material?.cert) detail.cert = material.cert;
      if (material?.key) detail.key = material.key;
      const rendered: Rendered = {
        kind: "http",
        request: { method, url: http.url, headers: withCorrelationHeader(headers, ctx) },
        detail,
        ...(secretHeaders.length > 0 ? { secretHeaders } : {}),
      };
      return setRenderedBody(rendered, body);
    },

    async execute(rendered: Rendered, ctx: ExecContext): Promise<TriggerResult> {
      const req = rendered.request!;
      const d = rendered.detail as HttpDetail;
      const headers: Record<string, string> = { ...req.headers };
      if (d.host) headers.host = d.host;
      if (ctx.traceparent && !Object.keys(headers).some((h) => h.toLowerCase() === "traceparent")) {
        headers.traceparent = ctx.traceparent;
      }
      let status: number;
      try {
        const target = splitUrl(req.url);
        const res = await (await agentFor(d)).request({
          origin: target.origin,
          path: target.path,
          method: req.method as "POST",
          headers,
          body: d.body,
          // `timeout` bounds the wait for the response headers and for each body chunk; the
          // connect timeout is undici's 10 s. (A per-request AbortSignal.timeout + any() cost
          // about 2 % of the CPU at 1,000 firings/s.)
          headersTimeout: d.timeoutMs,
          bodyTimeout: d.timeoutMs,
          signal: ctx.signal,
        });
        status = res.statusCode;
        await res.body.dump();
      } catch (err) {
        throw new TriggerError(
          "SB_ERR_TRIGGER_HTTP_TRANSPORT",
          `${req.method} ${req.url}: ${errorMessage(err)}`,
          {
            retryable: true,
            cause: err,
          },
        );
      }
      const allow = ctx.policy?.status?.allow;
      if (allow && allow.length > 0 && !allow.includes(status)) {
        throw new TriggerError(
          "SB_ERR_TRIGGER_HTTP_STATUS",
          `${req.method} ${req.url} answered ${status}, not in policy.status.allow [${allow.join(", ")}]`,
          { retryable: true },
        );
      }
      return { summary: `${req.method} ${req.url} -> ${status}`, detail: { status } };
    },

    async close(): Promise<void> {
      await Promise.all([...agents.values()].map((a) => a.close()));
      agents.clear();
    },
  };
}

/** Origin and path of a URL (cached: rendered URLs repeat), for undici's Dispatcher.request. */
const splitUrl = memoize(1000, (url: string): { origin: string; path: string } => {
  const u = new URL(url);
  return { origin: u.origin, path: `${u.pathname}${u.search}` };
});

/** The registry's entry point. */
export function createTrigger(): TriggerKind<HttpTrigger> {
  return httpTrigger();
}

/**
 * The firing's correlation ID as `X-Correlation-Id` (what the webhook EventSource reads), unless
 * the trigger sets that header itself: the next hop carries it without configuration.
 */
function withCorrelationHeader(
  headers: Record<string, string>,
  ctx: FiringContext,
): Record<string, string> {
  if (!ctx.correlationId) return headers;
  if (Object.keys(headers).some((h) => /^(x-correlation-id|ce-correlationid)$/i.test(h)))
    return headers;
  return { ...headers, "X-Correlation-Id": ctx.correlationId };
}
