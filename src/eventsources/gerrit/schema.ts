import type { Static } from "typebox";
import {
  BasicAuth,
  EventSourceFilter,
  Int64,
  StringMap,
  Struct,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { WebhookContextSchema } from "../webhook/schema.js";

/** Argo's GerritEventSource (pkg/apis/events/v1alpha1/eventsource_types.go), field for field. */
export const GerritEventSchema = Struct(
  {
    webhook: Type.Optional(WebhookContextSchema),
    hookName: Type.Optional(
      Type.String({ description: "name of the hook (remote) on each project" }),
    ),
    events: Type.Optional(
      Type.Array(Type.String(), { description: "Gerrit event types the hook subscribes to" }),
    ),
    auth: Type.Optional(BasicAuth),
    gerritBaseURL: Type.Optional(Type.String({ description: "base URL of the Gerrit server" })),
    deleteHookOnFinish: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(StringMap()),
    projects: Type.Optional(
      Type.Array(Type.String(), { description: 'projects, e.g. "team/repo"' }),
    ),
    sslVerify: Type.Optional(
      Type.Boolean({ description: "the hook's sslVerify: Gerrit verifies the endpoint's TLS" }),
    ),
    filter: Type.Optional(EventSourceFilter),
    maxTries: Type.Optional(Int64("the hook's maxTries: Gerrit's attempts per event")),
  },
  "Gerrit webhooks-plugin deliveries (hooks registered through the Gerrit REST API)",
);

export type GerritEventSpec = Static<typeof GerritEventSchema>;

/** Argo's GerritEventSource.NeedToCreateHooks: `auth` and a non-empty `webhook.url`. */
export function needsHooks(e: GerritEventSpec): boolean {
  return e.auth !== undefined && typeof e.webhook?.url === "string" && e.webhook.url !== "";
}
