import type { Static } from "typebox";
import { SecretKeySelector, StringMap, Struct } from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { WebhookContextSchema } from "../webhook/schema.js";

/**
 * Argo's StripeEventSource (pkg/apis/events/v1alpha1/eventsource_types.go), field for field, plus
 * one sensorbus extension: `signingSecret`, so deliveries to an endpoint sensorbus did not create
 * in this run (made in the Dashboard, or reused after a restart) are verified too.
 */
export const StripeEventSchema = Struct(
  {
    webhook: Type.Optional(WebhookContextSchema),
    createWebhook: Type.Optional(
      Type.Boolean({ description: "create the webhook endpoint through the Stripe API at start" }),
    ),
    apiKey: Type.Optional(SecretKeySelector),
    eventFilter: Type.Optional(
      Type.Array(Type.String(), { description: "Stripe event types to accept; unset: all" }),
    ),
    metadata: Type.Optional(StringMap()),
    // sensorbus extension (Argo has no such field): the endpoint's signing secret (whsec_...).
    signingSecret: Type.Optional(SecretKeySelector),
  },
  "Stripe webhook events (Stripe-Signature verified with signingSecret, or with the secret of an endpoint sensorbus created)",
);

export type StripeEventSpec = Static<typeof StripeEventSchema>;
