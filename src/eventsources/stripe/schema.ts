import type { Static } from "typebox";
import { SecretKeySelector, StringMap, Struct } from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { WebhookContextSchema } from "../webhook/schema.js";

/** Argo's StripeEventSource (pkg/apis/events/v1alpha1/eventsource_types.go), field for field. */
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
  },
  "Stripe webhook events (Stripe-Signature verified when sensorbus created the endpoint)",
);

export type StripeEventSpec = Static<typeof StripeEventSchema>;
