import { isUtf8 } from "node:buffer";
import type { FastifyReply, FastifyRequest } from "fastify";
import { EventBusError, errorMessage } from "../../errors.js";
import { isCredentialHeader } from "../../lib/credential-headers.js";
import { goHeaderMap } from "../../lib/goheader.js";
import { goCompact, goMarshal } from "../../lib/gojson.js";
import type { AdapterContext } from "../types.js";
import { MASKED, SKIPPED_HEADERS } from "./runtime.js";

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
 * {@link recordDelivery} for several events of one request, stored in order: 200 once all are
 * stored (`X-Event-Id` lists their ids, comma-separated), 503/500 at the first that is not (the
 * ones before it keep their ids, so the sender's retry stores them once).
 */
export async function recordDeliveries(d: Deliveries): Promise<FastifyReply> {
  const { ctx, reply } = d;
  const text = (code: number, body: string) => reply.code(code).type("text/plain").send(body);
  const headers = goHeaderMap(d.req.raw.rawHeaders, SKIPPED_HEADERS);
  for (const name of Object.keys(headers))
    if (isCredentialHeader(name))
      headers[name] = headers[name]!.map((v) => (v === "" ? v : MASKED));
  const head = `{"headers":${goMarshal(headers)},"body":`;
  const tail =
    d.metadata && Object.keys(d.metadata).length > 0
      ? `,"metadata":${goMarshal(d.metadata)}}`
      : "}";
  const ids: string[] = [];
  try {
    for (const event of d.events) {
      const data = `${head}${event.bodyJson}${tail}`;
      const result = await ctx.emit(d.eventName, { data, ...(event.id ? { id: event.id } : {}) });
      ids.push(result.id);
    }
    if (ids.length > 0) reply.header("X-Event-Id", ids.join(", "));
    return text(200, "success");
  } catch (err) {
    const log = ctx.log.child({ eventName: d.eventName });
    if (err instanceof EventBusError) {
      log.warn({ err, ...d.logFields }, "event not stored: answering 503");
      reply.header("Retry-After", "1");
      return text(503, `failed to record event: ${errorMessage(err)}`);
    }
    log.error({ err, ...d.logFields }, "failed to record event");
    return text(500, `failed to record event: ${errorMessage(err)}`);
  }
}

/**
 * A request body as Argo embeds it (a json.RawMessage: any JSON value, compacted as Go does), or
 * the 400 text when it is not JSON (or not UTF-8, which the event could only alter).
 */
export function compactJsonBody(raw: Buffer): { json: string } | { invalid: string } {
  if (!isUtf8(raw)) return { invalid: "invalid JSON body: not valid UTF-8" };
  try {
    return { json: goCompact(raw.toString("utf8")) };
  } catch (err) {
    const detail = raw.length === 0 ? "unexpected end of JSON input" : errorMessage(err);
    return { invalid: `invalid JSON body: ${detail}` };
  }
}
