import { gjsonGet } from "../../lib/gjson.js";
import { goCompact, goMarshal, goQuote } from "../../lib/gojson.js";

/** A Stripe event as Argo reads it: the payload text, and what the handler needs of it. */
export interface StripeEvent {
  /** `{"event": ..., "metadata": ...}` as Argo marshals events.StripeEventData. */
  data: string;
  id: string;
  type: string;
  /** The body was JSON `null`: Argo's event pointer is nil. */
  nil: boolean;
}

type Kind = "string" | "integer" | "boolean" | "object";

function check(v: unknown, raw: string, kind: Kind, field: string): void {
  if (v === null || v === undefined) return;
  const ok =
    kind === "integer"
      ? typeof v === "number" && /^-?\d+$/.test(raw)
      : kind === "object"
        ? typeof v === "object" && !Array.isArray(v)
        : typeof v === kind;
  if (!ok)
    throw new Error(`cannot unmarshal ${JSON.stringify(raw)} into field ${field} of type ${kind}`);
}

const s = (v: unknown) => goQuote(typeof v === "string" ? v : "");
const n = (raw: string) => (/^-?\d+$/.test(raw) ? raw : "0");

/**
 * The body of a Stripe webhook request decoded into stripe-go v70.15.0's `Event` and re-encoded,
 * as Argo does (pkg/eventsources/sources/stripe/start.go): the fields `account`, `created`,
 * `data` (`previous_attributes` re-encoded with sorted keys, `object` kept as the raw JSON Stripe
 * sent), `id`, `livemode`, `pending_webhooks`, `request` (`id`, `idempotency_key`), `type`, in that
 * order, absent ones as Go's zero values; other members are dropped. Throws, worded as Go's decoder,
 * where stripe-go would fail to decode (a field of the wrong type, `data` without `object`).
 */
export function stripeEvent(
  body: string,
  metadata: Record<string, string> | undefined,
): StripeEvent {
  const parsed: unknown = JSON.parse(body);
  const meta =
    metadata && Object.keys(metadata).length > 0 ? `,"metadata":${goMarshal(metadata)}` : "";
  if (parsed === null) return { data: `{"event":null${meta}}`, id: "", type: "", nil: true };
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error("cannot unmarshal a non-object into a Stripe event");
  const e = parsed as Record<string, unknown>;
  const raw = (path: string) => gjsonGet(body, path).raw;
  check(e.account, raw("account"), "string", "account");
  check(e.created, raw("created"), "integer", "created");
  check(e.data, raw("data"), "object", "data");
  check(e.id, raw("id"), "string", "id");
  check(e.livemode, raw("livemode"), "boolean", "livemode");
  check(e.pending_webhooks, raw("pending_webhooks"), "integer", "pending_webhooks");
  check(e.request, raw("request"), "object", "request");
  check(e.type, raw("type"), "string", "type");

  let data = "null";
  if (e.data !== null && e.data !== undefined) {
    const d = e.data as Record<string, unknown>;
    check(
      d.previous_attributes,
      raw("data.previous_attributes"),
      "object",
      "data.previous_attributes",
    );
    if (!("object" in d)) throw new Error("data.object: unexpected end of JSON input");
    check(d.object, raw("data.object"), "object", "data.object");
    const previous = d.previous_attributes === undefined ? null : d.previous_attributes;
    data = `{"previous_attributes":${goMarshal(previous)},"object":${goCompact(raw("data.object"))}}`;
  }
  let request = "null";
  if (e.request !== null && e.request !== undefined) {
    const r = e.request as Record<string, unknown>;
    check(r.id, raw("request.id"), "string", "request.id");
    check(r.idempotency_key, raw("request.idempotency_key"), "string", "request.idempotency_key");
    request = `{"id":${s(r.id)},"idempotency_key":${s(r.idempotency_key)}}`;
  }
  const event =
    `{"account":${s(e.account)},"created":${n(raw("created"))},"data":${data},"id":${s(e.id)},` +
    `"livemode":${e.livemode === true},"pending_webhooks":${n(raw("pending_webhooks"))},` +
    `"request":${request},"type":${s(e.type)}}`;
  return {
    data: `{"event":${event}${meta}}`,
    id: typeof e.id === "string" ? e.id : "",
    type: typeof e.type === "string" ? e.type : "",
    nil: false,
  };
}

/** Argo's filterEvent: no `eventFilter`, every type; else the type must be listed. */
export function passesEventFilter(type: string, filter: readonly string[] | undefined): boolean {
  return filter === undefined || filter.includes(type);
}
