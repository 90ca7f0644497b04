import { err, join, str, warn } from "../../config/findings.js";
import type { TemplateCheck, TriggerOutput } from "../../config/kinds.js";
import { checkNatsConnection, natsPort } from "../../config/nats-connection.js";
import { subjectProblem } from "../../lib/nats-subject.js";
import type { TriggerKindDescriptor } from "../kind.js";
import { type NatsTrigger, NatsTriggerSchema } from "./schema.js";

export { type NatsTrigger, NatsTriggerSchema } from "./schema.js";

/**
 * Argo's validateNATSTrigger (pkg/reconciler/sensor/validate.go): url, subject, payload present,
 * payload parameters checked; plus the TLS check Argo's EventSource makes, and warnings for what
 * the server would refuse (a subject with wildcards) or Argo ignores (several auth methods).
 */
function validate(spec: NatsTrigger, check: TemplateCheck): void {
  const { at, report } = check;
  if (str(spec.url) === "") report(err(at, "nats server url can't be empty"));
  if (str(spec.subject) === "") report(err(at, "nats subject can't be empty"));
  else if (!check.touches("nats.subject") && !spec.parameters?.some((p) => p.dest === "subject")) {
    const problem = subjectProblem(str(spec.subject), false);
    if (problem) report(warn(join(at, "subject"), `'${spec.subject}' ${problem}`));
  }
  if (spec.payload === undefined) report(err(at, "payload can't be nil"));
  check.parameters(spec.payload, "payload", "payload");
  // Argo's validateNATSTrigger does not check these: warnings only.
  check.parameters(spec.parameters, "parameters", "", { argoChecks: false });
  checkNatsConnection(spec, check);
}

/** The message a firing publishes (graph: a nats EventSource entry whose subject matches it). */
function outputs(spec: NatsTrigger): TriggerOutput[] {
  const subject = str(spec.subject);
  const port = natsPort(spec.url);
  if (subject === "" || port === undefined) return [];
  return [{ type: "message", broker: "nats", destination: subject, scope: port }];
}

export const nats: TriggerKindDescriptor<NatsTrigger> = {
  key: "nats",
  schema: NatsTriggerSchema,
  runs: true,
  validate,
  graph: {
    detail: (s) => `publish ${str(s.subject) || "?"}`,
    outputs,
  },
  load: () => import("./runtime.js"),
};
