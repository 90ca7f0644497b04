import { ConfigError } from "../../errors.js";
import { type BackoffSpec, exponentialBackoff } from "../../lib/backoff.js";
import { goCompact, goMarshal, goQuote } from "../../lib/gojson.js";
import type { MqttEventSpec } from "./schema.js";

/**
 * What the mqtt kind's descriptor and runtime share without the SDK: the broker URL as paho (Argo's
 * client) reads it, the topic filter rules, the reconnect waits and Argo's payload.
 */

/** paho.mqtt.golang's schemes -> mqtt.js protocol, and whether it is TLS. */
const SCHEMES: Record<string, { protocol: "mqtt" | "mqtts" | "ws" | "wss"; tls: boolean }> = {
  tcp: { protocol: "mqtt", tls: false },
  mqtt: { protocol: "mqtt", tls: false },
  ssl: { protocol: "mqtts", tls: true },
  tls: { protocol: "mqtts", tls: true },
  tcps: { protocol: "mqtts", tls: true },
  mqtts: { protocol: "mqtts", tls: true },
  ws: { protocol: "ws", tls: false },
  wss: { protocol: "wss", tls: true },
};

export interface BrokerUrl {
  scheme: string;
  protocol: "mqtt" | "mqtts" | "ws" | "wss";
  tls: boolean;
  host: string;
  port: number;
  /** Path of a ws:// or wss:// URL. */
  path: string;
}

/** The broker URL, or the reason it cannot be used. */
export function brokerUrl(text: string): BrokerUrl | string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `'${text}' is not a URL (expected e.g. tcp://host:1883)`;
  }
  const scheme = u.protocol.replace(/:$/, "").toLowerCase();
  const s = SCHEMES[scheme];
  if (!s) {
    return `unsupported scheme '${scheme}://' (use ${Object.keys(SCHEMES)
      .map((k) => `${k}://`)
      .join(", ")})`;
  }
  if (u.hostname === "") return `'${text}' has no host`;
  const web = s.protocol === "ws" || s.protocol === "wss";
  const port = u.port ? Number(u.port) : web ? (s.tls ? 443 : 80) : s.tls ? 8883 : 1883;
  return {
    scheme,
    protocol: s.protocol,
    tls: s.tls,
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port,
    path: web ? u.pathname || "/mqtt" : "",
  };
}

/** MQTT 3.1.1 §4.7 topic filter rules (the broker refuses the SUBSCRIBE otherwise). */
export function topicFilterError(topic: string): string | undefined {
  if (topic === "") return "topic must be specified";
  if (Buffer.byteLength(topic, "utf8") > 65535) return "topic is longer than 65535 bytes";
  if (topic.includes("\u0000")) return "topic must not contain NUL";
  const levels = topic.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1))
      return `'${topic}': the multi-level wildcard # must be the whole last level`;
    if (level.includes("+") && level !== "+")
      return `'${topic}': the single-level wildcard + must be a whole level`;
  }
  return undefined;
}

/** The longest wait between two connection attempts, ms. */
export const MAX_RECONNECT_MS = 5 * 60_000;

/**
 * The wait before reconnect attempt `k` (1, 2, ...) from `connectionBackoff` (Argo's defaults:
 * 1 s, factor 1, jitter 1, 5 steps): the wait grows for `steps` attempts, then stays; capped at
 * {@link MAX_RECONNECT_MS}. Argo gives up after `steps`; sensorbus keeps trying at the last wait.
 * Throws ConfigError for a duration, factor or jitter Argo cannot read.
 */
export function reconnectPlan(backoff: BackoffSpec | undefined): (k: number) => number {
  for (const key of ["factor", "jitter"] as const) {
    const v = backoff?.[key];
    if (v !== undefined && typeof v !== "number")
      throw new ConfigError(`invalid ${key}, must be a YAML number, got ${JSON.stringify(v)}`);
  }
  const plan = exponentialBackoff(backoff ?? {});
  return (k) => Math.min(MAX_RECONNECT_MS, plan.delayMs(Math.min(Math.max(1, k), plan.steps)));
}

/**
 * Argo's MQTTEventData as Go's encoding/json writes it: `topic`, `messageId` (0 for QoS 0),
 * `body` (the payload bytes base64-encoded, as Go marshals a []byte; with `jsonBody` the JSON
 * itself, compacted), `metadata` (left out when empty). Throws SyntaxError when `jsonBody` is set
 * and the payload is not JSON (Argo drops such a message: "failed to marshal the event data").
 */
export function buildMqttPayload(
  topic: string,
  messageId: number,
  payload: Buffer,
  spec: Pick<MqttEventSpec, "jsonBody" | "metadata">,
): string {
  const body = spec.jsonBody
    ? goCompact(payload.toString("utf8"))
    : goQuote(payload.toString("base64"));
  const meta =
    spec.metadata && Object.keys(spec.metadata).length > 0
      ? `,"metadata":${goMarshal(spec.metadata)}`
      : "";
  return `{"topic":${goQuote(topic)},"messageId":${messageId},"body":${body}${meta}}`;
}
