import { isUtf8 } from "node:buffer";
import type { FastifyReply, FastifyRequest } from "fastify";
import Stripe from "stripe";
import { ConfigError, errorMessage } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import {
  firstHeader,
  providerRoute,
  type Refusal,
  refuseDelivery,
  refuseMethod,
  storeEvent,
  trustedDeliveryId,
} from "../webhook/delivery.js";
import { hookUrl } from "../webhook/index.js";
import { type Route, serveRoutes } from "../webhook/runtime.js";
import { passesEventFilter, stripeEvent } from "./payload.js";
import type { StripeEventSpec } from "./schema.js";

/** Stripe's libraries' default tolerance: a signature timestamp older than this is refused. */
export const STRIPE_TOLERANCE_S = 300;

/** Where the Stripe API is (tests point it at a fake server); default api.stripe.com over HTTPS. */
export interface StripeApiTarget {
  host: string;
  port: number;
  protocol: "http" | "https";
}

/**
 * What one entry knows: the endpoint's signing secret, from `signingSecret` or, once sensorbus
 * created the endpoint, the one Stripe returned.
 */
interface EntryState {
  signingSecret?: string;
}

/**
 * Argo's Stripe EventSource (pkg/eventsources/sources/stripe/start.go): the route of `webhook`
 * on the webhook kind's server machinery; with `createWebhook`, the endpoint registered through
 * the Stripe API once the route serves (an endpoint with the same URL is reused instead of adding
 * another); each event decoded as stripe-go's Event, filtered on `eventFilter` and stored as
 * Argo's `{"event": ..., "metadata": ...}`. Argo verifies nothing; sensorbus verifies the
 * `Stripe-Signature` of deliveries to an endpoint it created (Stripe hands out the signing secret
 * only then), and warns at start about every entry it cannot verify.
 */
export function createStripeAdapter(api?: StripeApiTarget): EventSourceAdapter<StripeEventSpec> {
  return {
    key: "stripe",
    ceType: "stripe",
    async start(entries, ctx): Promise<RunningAdapter> {
      const routes: Route[] = [];
      const pending: Array<() => Promise<void>> = [];
      for (const { eventName, spec } of entries) {
        const at = `/spec/stripe/${eventName}`;
        const webhook = spec.webhook;
        if (!webhook)
          throw new ConfigError(`EventSource ${ctx.eventSourceName}: ${at}/webhook: is required`);
        const state: EntryState = {};
        if (spec.signingSecret) {
          state.signingSecret = await ctx.values.secret(spec.signingSecret, `${at}/signingSecret`);
          if (state.signingSecret === "")
            throw new ConfigError(
              `EventSource ${ctx.eventSourceName}: ${at}/signingSecret: the Secret value is empty`,
            );
        }
        routes.push(
          await providerRoute(ctx, eventName, webhook, at, (req, reply, raw) =>
            handle(eventName, spec, state, req, reply, raw, ctx),
          ),
        );
        const log = ctx.log.child({ eventName });
        if (spec.createWebhook) {
          if (!spec.apiKey)
            throw new ConfigError(
              `EventSource ${ctx.eventSourceName}: ${at}/apiKey: api key K8s secret selector not provided`,
            );
          const apiKey = await ctx.values.secret(spec.apiKey, `${at}/apiKey`);
          pending.push(() => registerEndpoint(spec, apiKey, state, log, api));
        } else if (state.signingSecret === undefined) {
          log.warn(
            { endpoint: webhook.endpoint },
            "Stripe deliveries are not verified: set signingSecret (a sensorbus extension) to the endpoint's signing secret, or createWebhook so sensorbus learns it; anyone who can reach the endpoint can send events",
          );
        }
      }
      const running = await serveRoutes(
        routes,
        ctx,
        (eventName) => `/spec/stripe/${eventName}/webhook`,
        "stripe",
      );
      // As Argo's PostActivate: the endpoint is registered once the route serves.
      for (const register of pending) await register();
      return running;
    },
  };
}

/** The registry's entry point. */
export function createAdapter(): EventSourceAdapter<StripeEventSpec> {
  return createStripeAdapter();
}

/**
 * `createWebhook`: the endpoint for `webhook.url` + `webhook.endpoint`, subscribed to
 * `eventFilter` (all events, `*`, when unset). An existing endpoint with the same URL is reused
 * (its `enabled_events` updated when they differ); a new one is created, and its signing secret
 * (returned by Stripe only then) verifies the deliveries. A Stripe API error is logged, with the
 * URL and Stripe's reason, and the route keeps serving (unverified).
 */
async function registerEndpoint(
  spec: StripeEventSpec,
  apiKey: string,
  state: EntryState,
  log: Logger,
  api: StripeApiTarget | undefined,
): Promise<void> {
  const url = hookUrl(spec.webhook);
  const events = spec.eventFilter && spec.eventFilter.length > 0 ? spec.eventFilter : ["*"];
  const stripe = new Stripe(apiKey, {
    maxNetworkRetries: 2,
    timeout: 20_000,
    telemetry: false,
    ...(api ? { host: api.host, port: api.port, protocol: api.protocol } : {}),
  });
  try {
    let existing: Stripe.WebhookEndpoint | undefined;
    for await (const endpoint of stripe.webhookEndpoints.list({ limit: 100 })) {
      if (endpoint.url === url) {
        existing = endpoint;
        break;
      }
    }
    if (!existing) {
      const created = await stripe.webhookEndpoints.create({
        url,
        enabled_events: events as Stripe.WebhookEndpointCreateParams.EnabledEvent[],
      });
      if (created.secret) state.signingSecret = created.secret;
      log.info(
        { endpointId: created.id, url, verified: state.signingSecret !== undefined },
        "new stripe webhook endpoint created",
      );
      return;
    }
    const same =
      existing.enabled_events.length === events.length &&
      events.every((e) => existing.enabled_events.includes(e));
    if (!same)
      await stripe.webhookEndpoints.update(existing.id, {
        enabled_events: events as Stripe.WebhookEndpointUpdateParams.EnabledEvent[],
      });
    if (state.signingSecret !== undefined)
      log.info(
        { endpointId: existing.id, url, updated: !same },
        "stripe webhook endpoint with this URL exists: reused; deliveries verified with signingSecret",
      );
    else
      log.warn(
        { endpointId: existing.id, url, updated: !same },
        "stripe webhook endpoint with this URL exists: reused; Stripe returns its signing secret only when an endpoint is created, so its deliveries are not verified (set signingSecret to verify them)",
      );
  } catch (err) {
    const e = err as { statusCode?: number; requestId?: string; raw?: { message?: string } };
    const reason = e.raw?.message ?? errorMessage(err);
    log.error(
      { url, status: e.statusCode, requestId: e.requestId },
      `stripe webhook endpoint for ${url} not registered: ${redact(reason, apiKey)}; the endpoint keeps serving`,
    );
  }
}

/** Stripe's messages quote part of a rejected key ("sk_test_****1234"): none of it is logged. */
function redact(message: string, apiKey: string): string {
  const out = apiKey === "" ? message : message.split(apiKey).join("<apiKey>");
  return out.replace(/\b[srp]k_(test|live)_[A-Za-z0-9*]+/g, "<apiKey>");
}

/**
 * `Stripe-Signature` as Stripe's libraries check it (`t=<unix seconds>,v1=<hex>[,v1=...]`, the
 * HMAC-SHA256 of `<t>.<raw body>` keyed with the endpoint's signing secret, a timestamp older
 * than 300 s refused), through the stripe package's own verifier.
 */
export function verifyStripeSignature(
  secret: string,
  raw: Buffer,
  header: string | undefined,
  nowMs: number,
): Refusal | undefined {
  if (!header)
    return { status: 401, reason: "missing_signature", message: "missing Stripe-Signature" };
  const parts = header.split(",").map((p) => p.trim());
  if (!parts.some((p) => /^t=\d+$/.test(p)) || !parts.some((p) => /^v1=[0-9a-fA-F]+$/.test(p)))
    return {
      status: 401,
      reason: "malformed_signature",
      message: "malformed Stripe-Signature: expected t=<timestamp>,v1=<hex>",
    };
  try {
    Stripe.webhooks.signature?.verifyHeader(
      raw,
      header,
      secret,
      STRIPE_TOLERANCE_S,
      undefined,
      nowMs,
    );
    return undefined;
  } catch (err) {
    if (/tolerance/i.test(errorMessage(err)))
      return {
        status: 401,
        reason: "stale_timestamp",
        message: `Stripe-Signature timestamp is more than ${STRIPE_TOLERANCE_S} s old: refused as a possible replay`,
      };
    return { status: 403, reason: "signature_mismatch", message: "signature mismatch" };
  }
}

async function handle(
  eventName: string,
  spec: StripeEventSpec,
  state: EntryState,
  req: FastifyRequest,
  reply: FastifyReply,
  raw: Buffer,
  ctx: AdapterContext,
): Promise<FastifyReply> {
  const text = (code: number, body: string) => reply.code(code).type("text/plain").send(body);
  const wrongMethod = refuseMethod(spec.webhook?.method, req, reply);
  if (wrongMethod) return wrongMethod;
  const secret = state.signingSecret;
  if (secret !== undefined) {
    const refused = verifyStripeSignature(
      secret,
      raw,
      firstHeader(req.headers["stripe-signature"]),
      ctx.clock.now(),
    );
    if (refused) return refuseDelivery(ctx, eventName, "Stripe", refused, req, reply, {});
  }
  if (!isUtf8(raw)) return text(400, "failed to parse the event: not valid UTF-8");
  let event: ReturnType<typeof stripeEvent>;
  try {
    event = stripeEvent(raw.toString("utf8"), spec.metadata);
  } catch (err) {
    return text(400, `failed to parse the event: ${errorMessage(err)}`);
  }
  if (event.nil && spec.eventFilter !== undefined) return text(400, "invalid event");
  if (!event.nil && !passesEventFilter(event.type, spec.eventFilter)) {
    ctx.log
      .child({ eventName })
      .info({ stripeEvent: event.id, type: event.type }, "Stripe event type not in eventFilter");
    return text(200, `event type '${event.type}' is not in eventFilter: not recorded`);
  }
  // A verified event's id is the dedupe key: Stripe's retries of one event are stored once.
  return storeEvent({
    ctx,
    eventName,
    reply,
    data: event.data,
    id: trustedDeliveryId(event.id, secret !== undefined, spec.webhook),
    logFields: { stripeEvent: event.id, type: event.type },
  });
}
