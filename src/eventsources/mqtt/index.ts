import { err, str, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import { checkTlsConfig } from "../../config/tls.js";
import type { EventSourceKind } from "../kind.js";
import { brokerUrl, reconnectPlan, topicFilterError } from "./options.js";
import { MqttEventSchema, type MqttEventSpec } from "./schema.js";

export { MqttEventSchema, type MqttEventSpec } from "./schema.js";

/**
 * Argo's mqtt/validate.go in its order (url, topic, clientId: the first missing one is reported),
 * then `tls` as Argo's ValidateTLSConfig and `auth` as its ValidateBasicAuth. sensorbus also
 * checks what Argo only finds at run time: the URL, the topic filter's wildcards and the backoff.
 */
function validate(entry: MqttEventSpec, check: EntryCheck): void {
  const { at, report } = check;
  const missing =
    str(entry.url) === ""
      ? "url must be specified"
      : str(entry.topic) === ""
        ? "topic must be specified"
        : str(entry.clientId) === ""
          ? "client id must be specified"
          : undefined;
  if (missing) {
    report(err(at, missing));
    return;
  }
  const url = brokerUrl(str(entry.url));
  if (typeof url === "string") report(err(`${at}/url`, url));
  else if (entry.tls && !url.tls)
    report(
      warn(
        `${at}/tls`,
        `tls is ignored for a ${url.scheme}:// url (as in Argo); use ssl://, tls:// or mqtts://`,
      ),
    );
  const topicError = topicFilterError(str(entry.topic));
  if (topicError) report(err(`${at}/topic`, topicError));
  checkTlsConfig(entry.tls, check);
  if (entry.auth) {
    if (!entry.auth.username) report(err(`${at}/auth`, "username missing"));
    else if (!entry.auth.password) report(err(`${at}/auth`, "password missing"));
  }
  if (entry.connectionBackoff) {
    try {
      reconnectPlan(entry.connectionBackoff);
    } catch (e) {
      report(
        err(`${at}/connectionBackoff`, `invalid backoff configuration, ${(e as Error).message}`),
      );
    }
  }
}

export const mqtt: EventSourceKind<MqttEventSpec> = {
  key: "mqtt",
  schema: MqttEventSchema,
  runs: true,
  recreate: true,
  validate,
  graph: {
    detail: (s) =>
      `topic ${str(s.topic) || "?"} on ${str(s.url) || "?"} as ${str(s.clientId) || "?"}`,
  },
  load: () => import("./runtime.js"),
};
