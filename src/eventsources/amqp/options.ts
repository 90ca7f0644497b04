import { parse as parseYaml } from "yaml";
import type { AMQPEventSpec } from "./schema.js";

/*
 * What the amqp kind reads from an entry, without the client: the broker URL as Go's amqp091
 * ParseURI reads it, the `queueDeclare.arguments` table as Argo parses it, and Argo's defaults for
 * absent blocks (start.go `setDefaults`). `validate` and the runtime both call these.
 */

export interface AmqpEndpoint {
  protocol: "amqp" | "amqps";
  hostname: string;
  port: number;
  username: string;
  password: string;
  /** Still percent-encoded, as amqplib expects it (it decodes once); "" means "/". */
  vhost: string;
  /** Heartbeat in seconds (`?heartbeat=`; Argo's 10 s otherwise). */
  heartbeat: number;
}

/** Argo sets a 10 s heartbeat on every connection. */
export const DEFAULT_HEARTBEAT_S = 10;

/**
 * Parses an AMQP URI as amqp091's ParseURI does: scheme amqp or amqps (port 5672 or 5671), host
 * `localhost` when empty, user and password `guest` when absent (a user without password keeps
 * the password `guest`), vhost the path after its leading `/` (`/` when empty). Returns a message
 * (never naming the password) when it cannot.
 */
export function parseAmqpUrl(text: string): AmqpEndpoint | string {
  if (/\s/.test(text)) return "URI must not contain whitespace";
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return "not a URL (amqp://user:password@host:port/vhost)";
  }
  const scheme = u.protocol.replace(/:$/, "");
  if (scheme !== "amqp" && scheme !== "amqps")
    return "AMQP scheme must be either 'amqp://' or 'amqps://'";
  const hostname = u.hostname.replace(/^\[|\]$/g, "") || "localhost";
  const port = u.port === "" ? (scheme === "amqp" ? 5672 : 5671) : Number(u.port);
  // WHATWG URL cannot tell "no user info" from an empty one, Go's url.Parse can: read it raw.
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(text)?.[1] ?? "";
  const at = authority.lastIndexOf("@");
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  let username = "guest";
  let password = "guest";
  if (userinfo !== undefined) {
    username = decodeURIComponent(u.username);
    if (userinfo.includes(":")) password = decodeURIComponent(u.password);
  }
  const path = u.pathname;
  const vhost = path.length > 1 ? path.slice(1) : "";
  const hb = u.searchParams.get("heartbeat");
  const heartbeat = hb !== null && /^\d+$/.test(hb) ? Number(hb) : DEFAULT_HEARTBEAT_S;
  return { protocol: scheme, hostname, port, username, password, vhost, heartbeat };
}

/** `amqp://host:port/vhost` for logs and errors: no credentials. */
export function describeEndpoint(e: AmqpEndpoint): string {
  const host = e.hostname.includes(":") ? `[${e.hostname}]` : e.hostname;
  return `${e.protocol}://${host}:${e.port}/${e.vhost}`;
}

/** An AMQP field table value as amqplib encodes it. */
export type AmqpTable = Record<string, unknown>;

/**
 * `queueDeclare.arguments`: a YAML (or JSON) mapping, as Argo's `parseYamlTable`; "" or an empty
 * document means none. Throws an Error with the reason when it is not a mapping.
 */
export function parseQueueArguments(text: string | undefined): AmqpTable | undefined {
  if (text === undefined || text === "") return undefined;
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    throw new Error(`not YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (value === null || value === undefined) return undefined;
  if (typeof value !== "object" || Array.isArray(value))
    throw new Error(
      `not a mapping of x-arguments (got ${Array.isArray(value) ? "a list" : typeof value})`,
    );
  return value as AmqpTable;
}

/** An entry with Argo's defaults applied (start.go setDefaults), plus sensorbus' ack mode. */
export interface AmqpSettings {
  exchange: { durable: boolean; autoDelete: boolean; internal: boolean };
  queue: { name: string; durable: boolean; autoDelete: boolean; exclusive: boolean };
  consume: { consumerTag: string; autoAck: boolean; exclusive: boolean; noLocal: boolean };
}

/**
 * Argo's defaults where a block is absent: the exchange durable; the queue broker-named, not
 * durable, exclusive; consume with `autoAck: true`. One difference: without a `consume` block
 * sensorbus acknowledges each message itself once the bus stored its event (`autoAck: false`);
 * `consume.autoAck: true` written out is honoured. Inside a present block an absent field is
 * false / "", as Go's zero values.
 */
export function amqpSettings(spec: AMQPEventSpec): AmqpSettings {
  const x = spec.exchangeDeclare;
  const q = spec.queueDeclare;
  const c = spec.consume;
  return {
    exchange: x
      ? {
          durable: x.durable === true,
          autoDelete: x.autoDelete === true,
          internal: x.internal === true,
        }
      : { durable: true, autoDelete: false, internal: false },
    queue: q
      ? {
          name: q.name ?? "",
          durable: q.durable === true,
          autoDelete: q.autoDelete === true,
          exclusive: q.exclusive === true,
        }
      : { name: "", durable: false, autoDelete: false, exclusive: true },
    consume: {
      consumerTag: c?.consumerTag ?? "",
      autoAck: c?.autoAck === true,
      exclusive: c?.exclusive === true,
      noLocal: c?.noLocal === true,
    },
  };
}

/** The exchange types RabbitMQ has built in (plugins add `x-...` ones). */
export const BUILTIN_EXCHANGE_TYPES = new Set(["direct", "fanout", "topic", "headers"]);
