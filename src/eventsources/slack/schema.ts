import type { Static } from "typebox";
import {
  EventSourceFilter,
  SecretKeySelector,
  StringMap,
  Struct,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { WebhookContextSchema } from "../webhook/schema.js";

/** Argo's SlackEventSource (pkg/apis/events/v1alpha1/eventsource_types.go), field for field. */
export const SlackEventSchema = Struct(
  {
    signingSecret: Type.Optional(SecretKeySelector),
    token: Type.Optional(SecretKeySelector),
    webhook: Type.Optional(WebhookContextSchema),
    metadata: Type.Optional(StringMap("accepted; Argo does not add it to Slack events either")),
    filter: Type.Optional(EventSourceFilter),
  },
  "Slack Events API, interactions and slash commands (X-Slack-Signature verified with signingSecret)",
);

export type SlackEventSpec = Static<typeof SlackEventSchema>;
