import { err, join, str, warn } from "../../config/findings.js";
import type { EntryCheck, TriggerOutput } from "../../config/kinds.js";
import { checkNatsConnection, natsPort } from "../../config/nats-connection.js";
import { subjectMatches, subjectProblem } from "../../lib/nats-subject.js";
import type { EventSourceKind } from "../kind.js";
import { NatsEventSchema, type NatsEventSpec } from "./schema.js";

export { NatsEventSchema, type NatsEventSpec } from "./schema.js";

/**
 * Argo's nats/validate.go, in its order (url, subject, tls, queue); sensorbus also checks the
 * queue when tls is set (Argo returns after the TLS check) and warns about what Argo accepts but
 * the server refuses (a malformed subject, a URL that is not one, several auth methods).
 */
function validate(entry: NatsEventSpec, check: EntryCheck): void {
  const { at, report } = check;
  if (str(entry.url) === "") {
    report(err(at, "url must be specified"));
    return;
  }
  if (str(entry.subject) === "") {
    report(err(at, "subject must be specified"));
    return;
  }
  const problem = subjectProblem(str(entry.subject), true);
  if (problem) report(warn(join(at, "subject"), `'${entry.subject}' ${problem}`));
  checkNatsConnection(entry, check);
  if (entry.queue !== undefined && entry.queue === "") {
    report(err(join(at, "queue"), "queue group cannot be empty if specified"));
  } else if (entry.queue !== undefined && /[\s]/.test(entry.queue)) {
    report(warn(join(at, "queue"), `'${entry.queue}' contains white space`));
  }
}

/** A nats trigger's message reaches this entry: same server port, subject matched by ours. */
function receives(spec: NatsEventSpec, out: TriggerOutput): string | undefined {
  if (out.type !== "message" || out.broker !== "nats") return undefined;
  const subject = str(spec.subject);
  if (subject === "" || natsPort(spec.url) !== out.scope) return undefined;
  return subjectMatches(subject, out.destination) ? `publish ${out.destination}` : undefined;
}

export const nats: EventSourceKind<NatsEventSpec> = {
  key: "nats",
  schema: NatsEventSchema,
  runs: true,
  recreate: true,
  validate,
  graph: {
    detail: (s) => `subject ${str(s.subject) || "?"}${s.queue ? ` queue ${s.queue}` : ""}`,
    receives,
  },
  load: () => import("./runtime.js"),
};
