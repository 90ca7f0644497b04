import { err, join, str, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import type { EventSourceKind } from "../kind.js";
import { hookDetail, validateWebhookContext } from "../webhook/index.js";
import { StripeEventSchema, type StripeEventSpec } from "./schema.js";

export { StripeEventSchema, type StripeEventSpec } from "./schema.js";

/** Argo's pkg/eventsources/sources/stripe/validate.go, then what sensorbus adds. */
function validate(entry: StripeEventSpec, { at, report }: EntryCheck): void {
  if (entry.createWebhook === true && entry.apiKey === undefined)
    report(err(join(at, "apiKey"), "api key K8s secret selector not provided"));
  validateWebhookContext(entry.webhook, join(at, "webhook"), report);
  if (entry.createWebhook === true && entry.webhook && str(entry.webhook.url) === "")
    report(
      warn(
        join(at, "webhook", "url"),
        "createWebhook without webhook.url: Stripe refuses an endpoint without a public https URL",
      ),
    );
  if (entry.signingSecret !== undefined)
    report(
      warn(
        join(at, "signingSecret"),
        "signingSecret is a sensorbus extension: Argo Events refuses or ignores it",
      ),
    );
  else if (entry.createWebhook !== true)
    report(
      warn(
        join(at, "createWebhook"),
        "deliveries are not verified: set signingSecret (a sensorbus extension) to the endpoint's signing secret, or createWebhook so sensorbus learns it when it creates the endpoint",
      ),
    );
}

export const stripe: EventSourceKind<StripeEventSpec> = {
  key: "stripe",
  schema: StripeEventSchema,
  runs: true,
  recreate: false,
  validate,
  graph: {
    detail: (s) => hookDetail("Stripe", { webhook: s.webhook, events: s.eventFilter }),
  },
  load: () => import("./runtime.js"),
};
