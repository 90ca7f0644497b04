import { err, join } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import type { EventSourceKind } from "../kind.js";
import { hookDetail, validateWebhookContext } from "../webhook/index.js";
import { SlackEventSchema, type SlackEventSpec } from "./schema.js";

export { SlackEventSchema, type SlackEventSpec } from "./schema.js";

/** Argo's pkg/eventsources/sources/slack/validate.go. */
function validate(entry: SlackEventSpec, { at, report }: EntryCheck): void {
  if (entry.token === undefined) report(err(join(at, "token"), "token not provided"));
  if (entry.signingSecret === undefined)
    report(err(join(at, "signingSecret"), "signingSecret not provided"));
  validateWebhookContext(entry.webhook, join(at, "webhook"), report);
}

export const slack: EventSourceKind<SlackEventSpec> = {
  key: "slack",
  schema: SlackEventSchema,
  runs: true,
  recreate: false,
  validate,
  graph: {
    detail: (s) => hookDetail("Slack", s),
  },
  load: () => import("./runtime.js"),
};
