import type { Static } from "typebox";
import {
  EventSourceFilter,
  SecretKeySelector,
  StringMap,
  Struct,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";

export const PubSubEventSchema = Struct(
  {
    projectID: Type.Optional(Type.String()),
    topicProjectID: Type.Optional(Type.String()),
    topic: Type.Optional(Type.String()),
    subscriptionID: Type.Optional(Type.String()),
    credentialSecret: Type.Optional(SecretKeySelector),
    deleteSubscriptionOnFinish: Type.Optional(Type.Boolean()),
    jsonBody: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(StringMap()),
    filter: Type.Optional(EventSourceFilter),
  },
  "One Google Cloud Pub/Sub subscription",
);

export type PubSubEventSpec = Static<typeof PubSubEventSchema>;
