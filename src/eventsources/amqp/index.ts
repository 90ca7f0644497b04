import { err, str, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import { checkTlsConfig } from "../../config/tls.js";
import { checkConnectionBackoff } from "../connection-backoff.js";
import type { EventSourceKind } from "../kind.js";
import { BUILTIN_EXCHANGE_TYPES, parseAmqpUrl, parseQueueArguments } from "./options.js";
import { AMQPEventSchema, type AMQPEventSpec } from "./schema.js";

export { AMQPEventSchema, type AMQPEventSpec } from "./schema.js";

/**
 * Argo's amqp/validate.go (its messages), every check reported rather than the first only (Argo
 * returns after the TLS check, so it never checks `auth` when `tls` is set). Then what Argo
 * accepts but can never run: an empty exchange name, a URL that is no AMQP URI, `arguments`
 * that are no YAML mapping, a `connectionBackoff` Go cannot convert. Warnings for what loses or
 * exposes messages.
 */
function validate(entry: AMQPEventSpec, check: EntryCheck): void {
  const { at, report } = check;
  const url = str(entry.url);
  if (url === "" && entry.urlSecret === undefined) {
    report(err(at, "either url or urlSecret must be specified"));
  } else if (url !== "" && entry.urlSecret !== undefined) {
    report(err(at, "only one of url or urlSecret can be specified"));
  }
  if (str(entry.routingKey) === "")
    report(err(`${at}/routingKey`, "routing key must be specified"));
  const type = str(entry.exchangeType);
  if (type === "") report(err(`${at}/exchangeType`, "exchange type must be specified"));
  checkTlsConfig(entry.tls, check);
  if (entry.auth) {
    if (entry.auth.username === undefined) report(err(`${at}/auth`, "username missing"));
    else if (entry.auth.password === undefined) report(err(`${at}/auth`, "password missing"));
  }

  if (str(entry.exchangeName) === "") {
    report(
      err(
        `${at}/exchangeName`,
        'exchange name must be specified: the broker refuses to declare the default exchange ("")',
      ),
    );
  }
  if (type !== "" && !BUILTIN_EXCHANGE_TYPES.has(type) && !type.startsWith("x-")) {
    report(
      warn(
        `${at}/exchangeType`,
        `'${type}' is not one of direct, fanout, topic, headers: the broker refuses it unless a plugin provides it`,
      ),
    );
  }
  if (url !== "" && entry.urlSecret === undefined) {
    const parsed = parseAmqpUrl(url);
    if (typeof parsed === "string") report(err(`${at}/url`, parsed));
    else if (entry.tls && parsed.protocol === "amqp") {
      report(
        warn(
          `${at}/tls`,
          "tls is used only with an amqps:// URL (as in Argo): this connection is not encrypted",
        ),
      );
    }
  }
  try {
    parseQueueArguments(entry.queueDeclare?.arguments);
  } catch (e) {
    report(err(`${at}/queueDeclare/arguments`, (e as Error).message));
  }
  checkConnectionBackoff(entry.connectionBackoff, check);
  if (entry.consume?.autoAck === true) {
    report(
      warn(
        `${at}/consume/autoAck`,
        "autoAck: the broker forgets each message as it sends it, so a message not yet stored on the bus is lost when sensorbus crashes or the bus refuses it (as in Argo); without autoAck sensorbus acknowledges after the bus stored the event",
      ),
    );
  }
}

/** `exchange jobs (topic) -> queue q key orders.*` */
function detail(s: AMQPEventSpec): string {
  const queue = str(s.queueDeclare?.name) || "(broker-named)";
  return `exchange ${str(s.exchangeName) || "?"} (${str(s.exchangeType) || "?"}) -> queue ${queue} key ${str(s.routingKey) || "?"}`;
}

export const amqp: EventSourceKind<AMQPEventSpec> = {
  key: "amqp",
  schema: AMQPEventSchema,
  runs: true,
  recreate: true,
  validate,
  graph: { detail },
  load: () => import("./runtime.js"),
};
