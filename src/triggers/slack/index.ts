import { err, join, str, warn } from "../../config/findings.js";
import type { TemplateCheck } from "../../config/kinds.js";
import type { TriggerKindDescriptor } from "../kind.js";
import { setByParameters } from "../set-by-parameters.js";
import { jsonArrayProblem } from "./json.js";
import { type SlackTrigger, SlackTriggerSchema } from "./schema.js";

export { type SlackTrigger, SlackTriggerSchema } from "./schema.js";

/**
 * Argo's validateSlackTrigger (token, parameters), then what makes every firing fail at run time
 * in Argo as here (warnings: Argo accepts the Sensor): no channel, nothing to post, attachments or
 * blocks that are not a JSON array.
 */
function validate(spec: SlackTrigger, check: TemplateCheck): void {
  if (spec.slackToken === undefined) {
    check.report(err(join(check.at, "slackToken"), "slack token can't be empty"));
  }
  check.parameters(spec.parameters, "parameters", "resource parameter");
  const set = (field: string) => setByParameters(spec.parameters, field, "slack", check);
  if (str(spec.channel).replace(/^#/, "") === "" && !set("channel")) {
    check.report(
      warn(
        join(check.at, "channel"),
        "no slack channel provided: every firing fails unless a parameter sets it",
      ),
    );
  }
  const fields = ["message", "attachments", "blocks"] as const;
  if (fields.every((f) => str(spec[f]) === "" && !set(f))) {
    check.report(
      warn(
        check.at,
        "no text to post: at least one of message/attachments/blocks should be provided (every firing fails)",
      ),
    );
  }
  for (const field of ["attachments", "blocks"] as const) {
    const text = str(spec[field]);
    if (text === "" || set(field)) continue;
    const problem = jsonArrayProblem(text);
    if (problem) check.report(warn(join(check.at, field), `${problem}: every firing fails`));
  }
}

export const slack: TriggerKindDescriptor<SlackTrigger> = {
  key: "slack",
  schema: SlackTriggerSchema,
  runs: true,
  validate,
  graph: {
    detail: (s) => {
      const channel = str(s.channel).replace(/^#/, "");
      const key = str(s.thread?.messageAggregationKey);
      return `post to slack #${channel || "?"}${key ? ` (thread ${key})` : ""}`;
    },
  },
  load: () => import("./runtime.js"),
};
