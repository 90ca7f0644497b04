import { err, join, str, warn } from "../../config/findings.js";
import type { TemplateCheck } from "../../config/kinds.js";
import type { TriggerKindDescriptor } from "../kind.js";
import { setByParameters } from "../set-by-parameters.js";
import { type EmailTrigger, EmailTriggerSchema } from "./schema.js";

export { type EmailTrigger, EmailTriggerSchema } from "./schema.js";

/**
 * Argo's validateEmailTrigger (host, port range, parameters), then what makes every firing fail at
 * run time in Argo as here (warnings: Argo accepts the Sensor): no `to`, `subject` or `body` unless
 * a parameter sets it, a password that is never sent for want of a username.
 */
function validate(spec: EmailTrigger, check: TemplateCheck): void {
  if (str(spec.host) === "") check.report(err(join(check.at, "host"), "host can't be empty"));
  const port = spec.port;
  if (typeof port === "number" && (port < 0 || port > 65535)) {
    check.report(err(join(check.at, "port"), `port: ${port}, port should be between 0-65535`));
  }
  check.parameters(spec.parameters, "parameters", "resource parameter");
  const set = (field: string) => setByParameters(spec.parameters, field, "email", check);
  if ((spec.to ?? []).length === 0 && !set("to")) {
    check.report(
      warn(
        join(check.at, "to"),
        "to can't be empty: every firing fails unless a parameter sets it",
      ),
    );
  }
  for (const field of ["subject", "body"] as const) {
    if (str(spec[field]) === "" && !set(field)) {
      check.report(
        warn(
          join(check.at, field),
          `${field} can't be empty: every firing fails unless a parameter sets it`,
        ),
      );
    }
  }
  if (spec.smtpPassword && str(spec.username) === "" && !set("username")) {
    check.report(
      warn(
        join(check.at, "username"),
        "smtpPassword is set but username is empty: the message is sent without authentication (as in Argo)",
      ),
    );
  }
}

const target = (s: EmailTrigger) => `${str(s.host) || "?"}:${s.port || 587}`;

export const email: TriggerKindDescriptor<EmailTrigger> = {
  key: "email",
  schema: EmailTriggerSchema,
  runs: true,
  validate,
  graph: {
    detail: (s) => {
      const to = (s.to ?? []).filter((a) => typeof a === "string");
      return `mail ${to.length > 0 ? to.join(", ") : "(to from parameters)"} via smtp ${target(s)}`;
    },
  },
  load: () => import("./runtime.js"),
};
