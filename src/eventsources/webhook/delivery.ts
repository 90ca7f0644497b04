import { isUtf8 } from "node:buffer";
import type { FastifyReply, FastifyRequest } from "fastify";
import { EventBusError, errorMessage } from "../../errors.js";
import { isCredentialHeader } from "../../lib/credential-headers.js";
import { goHeaderMap } from "../../lib/goheader.js";
import { goCompact, goMarshal } from "../../lib/gojson.js";
import type { AdapterContext } from "../types.js";
import {
  MASKED,
  type Route,
  type RouteHandler,
  SKIPPED_HEADERS,
  sha256,
  usableId,
} from "./runtime.js";
import type { WebhookContextSpec } from "./schema.js";

/**
 * The route of a provider kind's `webhook` (github, gitlab, bitbucket, bitbucketserver, slack,
 * stripe, gerrit): Argo's bearer `authSecret` resolved (checked from the headers before the body
 * is read), `handle` answering. `at` is the entry's field path (`/spec/github/<name>`).
 */
export async function providerRoute(
  ctx: AdapterContext,
  eventName: string,
  webhook: WebhookContextSpec,
  at: string,
  handle: RouteHandler,
): Promise<Route> {
  const route: Route = { eventName, spec: webhook, handle };
  if (webhook.authSecret)
    route.authDigest = sha256(
      await ctx.values.secret(webhook.authSecret, `${at}/webhook/authSecret`),
    );
  return route;
}

/**
 * A JSON body as Argo keeps it in a json.RawMessage: compacted as Go does, or why not (not UTF-8,
 * empty, invalid), for a 400 `invalid JSON body: <why>`.
 */
export function compactJsonBody(raw: Buffer): { json: string } | { error: string } {
  if (!isUtf8(raw)) return { error: "not valid UTF-8" };
  try {
    return { json: goCompact(raw.toString("utf8")) };
  } catch (err) {
    return { error: raw.length === 0 ? "unexpected end of JSON input" : errorMessage(err) };
  }
}

/**
 * The provider's delivery id as the event id (the dedupe key, so a provider's redelivery is stored
 * once), but only when the sender was authenticated: by the kind's own signature or token
 * (`verified`) or by `webhook.authSecret`. On an open route a sender could choose ids that make
 * other senders' events look like duplicates.
 */
export function trustedDeliveryId(
  id: string | undefined,
  verified: boolean,
  webhook: WebhookContextSpec | undefined,
): string | undefined {
  return (verified || webhook?.authSecret !== undefined) && usableId(id) ? id : undefined;
}

/** The first value of a request header (Node gives repeated headers as an array). */
export const firstHeader = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v[0] : v;

/**
 * A provider route whose `webhook.method` is set answers any other method 405 with `Allow`, as the
 * webhook kind does; `undefined` when the method is fine.
 */
export function refuseMethod(
  method: string | undefined,
  req: FastifyRequest,
  reply: FastifyReply,
): FastifyReply | undefined {
  if (!method || req.method === method) return undefined;
  reply.header("Allow", method);
  return reply
    .code(405)
    .type("text/plain")
    .send(`method ${req.method} not allowed; this endpoint accepts ${method}`);
}

/** Why a provider delivery failed verification, and what the sender is told. */
export interface Refusal {
  /** 401: no usable credential (missing, malformed, stale); 403: one that does not match. */
  status: 401 | 403;
  /** The `reason` label of the refusal metric (`missing_signature`, `signature_mismatch`, ...). */
  reason: string;
  /** Said to the sender and logged; never holds the secret or the signature. */
  message: string;
}

/**
 * Answers a delivery that failed verification: counted (`ctx.verificationFailed`), logged once at
 * warn with `logFields` and the remote address, answered with the refusal's status and message.
 * Nothing is stored.
 */
export function refuseDelivery(
  ctx: AdapterContext,
  eventName: string,
  provider: string,
  refusal: Refusal,
  req: FastifyRequest,
  reply: FastifyReply,
  logFields: Record<string, unknown>,
): FastifyReply {
  ctx.verificationFailed?.(eventName, refusal.reason);
  ctx.log
    .child({ eventName })
    .warn(
      { reason: refusal.reason, ...logFields, remote: req.ip },
      `${provider} delivery refused: ${refusal.message}`,
    );
  return reply.code(refusal.status).type("text/plain").send(refusal.message);
}

/** Events to store from one request, their payloads already built as Argo builds them. */
export interface StoredEvents {
  ctx: AdapterContext;
  eventName: string;
  reply: FastifyReply;
  /** Each event's whole payload (JSON text) and the provider's id for it (the dedupe key). */
  events: ReadonlyArray<{ data: string; id: string | undefined }>;
  /** What the log lines of this delivery carry (e.g. `{ delivery }`). */
  logFields: Record<string, unknown>;
}

/** One event to store (see {@link storeEvents}). */
export interface StoredEvent extends Omit<StoredEvents, "events"> {
  data: string;
  id: string | undefined;
}

/**
 * Stores the events of one verified delivery in order and answers as the webhook kind does: 200
 * `success` with `X-Event-Id` (the ids, comma-separated) once all are stored, 503 with
 * `Retry-After` at the first the bus could not store, 500 otherwise. Those stored before a failure
 * keep their ids, so the sender's retry stores them once.
 */
export async function storeEvents(e: StoredEvents): Promise<FastifyReply> {
  const { ctx, reply } = e;
  const text = (code: number, body: string) => reply.code(code).type("text/plain").send(body);
  const ids: string[] = [];
  try {
    for (const event of e.events) {
      const result = await ctx.emit(e.eventName, {
        data: event.data,
        ...(event.id ? { id: event.id } : {}),
      });
      ids.push(result.id);
    }
    if (ids.length > 0) reply.header("X-Event-Id", ids.join(", "));
    return text(200, "success");
  } catch (err) {
    const log = ctx.log.child({ eventName: e.eventName });
    if (err instanceof EventBusError) {
      log.warn({ err, ...e.logFields }, "event not stored: answering 503");
      reply.header("Retry-After", "1");
      return text(503, `failed to record event: ${errorMessage(err)}`);
    }
    log.error({ err, ...e.logFields }, "failed to record event");
    return text(500, `failed to record event: ${errorMessage(err)}`);
  }
}

export function storeEvent(e: StoredEvent): Promise<FastifyReply> {
  const { data, id, ...rest } = e;
  return storeEvents({ ...rest, events: [{ data, id }] });
}

/** A verified provider delivery (GitHub, GitLab, ...), ready to be stored. */
export interface Delivery {
  ctx: AdapterContext;
  eventName: string;
  req: FastifyRequest;
  reply: FastifyReply;
  /** The payload's `body` member, as JSON text (each provider builds it as Argo does). */
  bodyJson: string;
  metadata: Record<string, string> | undefined;
  /** The provider's delivery id, used as the event id (the dedupe key) when given. */
  id: string | undefined;
  /** What the log lines of this delivery carry (e.g. `{ delivery }`). */
  logFields: Record<string, unknown>;
}

/** One delivery that Argo splits into several events (Bitbucket Server `oneEventPerChange`). */
export interface Deliveries extends Omit<Delivery, "bodyJson" | "id"> {
  /** Each event's `body` and id; none: the delivery is answered 200 with nothing stored. */
  events: ReadonlyArray<{ bodyJson: string; id: string | undefined }>;
}

/**
 * Stores one delivery as Argo's `{"headers": ..., "body": ..., "metadata": ...}` payload, with
 * credential-bearing headers masked, and answers as the webhook kind does: 200 with `X-Event-Id`
 * once the bus stored it, 503 with `Retry-After` when the bus could not, 500 otherwise.
 */
export function recordDelivery(d: Delivery): Promise<FastifyReply> {
  const { bodyJson, id, ...rest } = d;
  return recordDeliveries({ ...rest, events: [{ bodyJson, id }] });
}

/**
 * {@link recordDelivery} of a raw JSON body, which Argo keeps as a json.RawMessage: compacted as Go
 * does, or answered 400 `invalid JSON body: <why>` with nothing stored.
 */
export function recordJsonDelivery(
  d: Omit<Delivery, "bodyJson"> & { raw: Buffer },
): Promise<FastifyReply> | FastifyReply {
  const { raw, ...rest } = d;
  const body = compactJsonBody(raw);
  if ("error" in body)
    return d.reply.code(400).type("text/plain").send(`invalid JSON body: ${body.error}`);
  return recordDelivery({ ...rest, bodyJson: body.json });
}

/** {@link recordDelivery} for several events of one request, stored in order ({@link storeEvents}). */
export function recordDeliveries(d: Deliveries): Promise<FastifyReply> {
  const headers = goHeaderMap(d.req.raw.rawHeaders, SKIPPED_HEADERS);
  for (const name of Object.keys(headers))
    if (isCredentialHeader(name))
      headers[name] = headers[name]!.map((v) => (v === "" ? v : MASKED));
  const head = `{"headers":${goMarshal(headers)},"body":`;
  const tail =
    d.metadata && Object.keys(d.metadata).length > 0
      ? `,"metadata":${goMarshal(d.metadata)}}`
      : "}";
  return storeEvents({
    ctx: d.ctx,
    eventName: d.eventName,
    reply: d.reply,
    logFields: d.logFields,
    events: d.events.map((e) => ({ data: `${head}${e.bodyJson}${tail}`, id: e.id })),
  });
}
