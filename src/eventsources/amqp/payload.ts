import { createHash } from "node:crypto";
import { EventsError, errorMessage } from "../../errors.js";
import { goCompact, goMarshal, goQuote } from "../../lib/gojson.js";
import { GoTime } from "../../lib/gotime.js";

/**
 * One delivered message, as the runtime hands it over (the fields of amqplib's ConsumeMessage that
 * the payload reads; absent properties are undefined).
 */
export interface AmqpDelivery {
  content: Buffer;
  fields: { exchange: string; routingKey: string; redelivered: boolean };
  properties: {
    contentType?: unknown;
    contentEncoding?: unknown;
    headers?: Record<string, unknown> | undefined;
    deliveryMode?: unknown;
    priority?: unknown;
    correlationId?: unknown;
    replyTo?: unknown;
    expiration?: unknown;
    messageId?: unknown;
    timestamp?: unknown;
    type?: unknown;
    appId?: unknown;
  };
}

const str = (v: unknown): string => goQuote(typeof v === "string" ? v : "");
const int = (v: unknown): string =>
  typeof v === "number" && Number.isFinite(v) ? String(Math.trunc(v)) : "0";

/**
 * Go's `time.Unix(sec, 0).String()` of the `timestamp` property (in UTC, the zone of Argo's
 * container), or the zero time when the message has none.
 */
export function amqpTimestamp(ts: unknown): string {
  return typeof ts === "number" && Number.isFinite(ts)
    ? GoTime.unix(Math.trunc(ts)).toString()
    : GoTime.zero().toString();
}

/**
 * Argo's AMQPEventData as `json.Marshal` writes it: the struct's field order, every property
 * (empty string / 0 when absent), `body` as the raw JSON (compacted) when `jsonBody`, else
 * base64 (Go's encoding of []byte), `metadata` left out when empty. Argo has no `headers` field.
 * Throws EventsError SB_ERR_EVENTSOURCE_PAYLOAD when `jsonBody` is set and the body is not JSON
 * (Argo's Marshal fails and it drops the message).
 */
export function buildAmqpPayload(
  msg: AmqpDelivery,
  jsonBody: boolean,
  metadata?: Record<string, string>,
): string {
  const p = msg.properties;
  let body: string;
  if (!jsonBody) body = goQuote(msg.content.toString("base64"));
  else {
    try {
      body = goCompact(msg.content.toString("utf8"));
    } catch (err) {
      throw new EventsError(
        "SB_ERR_EVENTSOURCE_PAYLOAD",
        `jsonBody is set but the message body is not JSON (${errorMessage(err)})`,
        { retryable: false, cause: err },
      );
    }
  }
  const meta =
    metadata && Object.keys(metadata).length > 0 ? `,"metadata":${goMarshal(metadata)}` : "";
  return (
    `{"contentType":${str(p.contentType)},"contentEncoding":${str(p.contentEncoding)}` +
    `,"deliveryMode":${int(p.deliveryMode)},"priority":${int(p.priority)}` +
    `,"correlationId":${str(p.correlationId)},"replyTo":${str(p.replyTo)}` +
    `,"expiration":${str(p.expiration)},"messageId":${str(p.messageId)}` +
    `,"timestamp":${goQuote(amqpTimestamp(p.timestamp))},"type":${str(p.type)}` +
    `,"appId":${str(p.appId)},"exchange":${goQuote(msg.fields.exchange)}` +
    `,"routingKey":${goQuote(msg.fields.routingKey)},"body":${body}${meta}}`
  );
}

/**
 * The CloudEvent id of a message with a `message_id` property: the same for every delivery of it
 * to this entry (a redelivery after a lost ack, a requeue), so the bus drops the repeat; distinct
 * per EventSource entry (a fanout to two entries is two events). No message id: undefined (a
 * random id; a redelivered message then fires again).
 */
export function amqpEventId(
  eventSource: string,
  eventName: string,
  messageId: unknown,
): string | undefined {
  if (typeof messageId !== "string" || messageId === "") return undefined;
  return createHash("sha256")
    .update(`amqp\u0000${eventSource}\u0000${eventName}\u0000${messageId}`)
    .digest("hex")
    .slice(0, 32);
}

/**
 * Trace and correlation context carried over as CloudEvent extensions, from the headers the
 * Pub/Sub source reads as attributes: `traceparent`, and `correlation_id` (or `correlationid`) as
 * `correlationid`. The AMQP `correlationId` property is request/reply matching, not this: it stays
 * in the payload (the `sensorbus.io/correlation-id-path` annotation can point at it).
 */
export function amqpExtensions(msg: AmqpDelivery): Record<string, string> | undefined {
  const ext: Record<string, string> = {};
  const h = msg.properties.headers ?? {};
  const text = (v: unknown): string | undefined =>
    typeof v === "string" && v !== ""
      ? v
      : Buffer.isBuffer(v) && v.length > 0
        ? v.toString("utf8")
        : undefined;
  const tp = text(h.traceparent);
  if (tp) ext.traceparent = tp;
  const corr = text(h.correlation_id) ?? text(h.correlationid);
  if (corr) ext.correlationid = corr;
  return Object.keys(ext).length > 0 ? ext : undefined;
}
