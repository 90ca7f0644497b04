import type { Static } from "typebox";
import {
  EventSourceFilter,
  Int64,
  SecretKeySelector,
  StringMap,
  Struct,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { WebhookContextSchema } from "../webhook/schema.js";

const OwnedRepositories = Struct({
  owner: Type.Optional(Type.String({ description: "organization or user name" })),
  names: Type.Optional(Type.Array(Type.String(), { description: "repository names" })),
});

const GithubAppCreds = Struct({
  privateKey: Type.Optional(SecretKeySelector),
  appID: Type.Optional(Int64("GitHub App ID")),
  installationID: Type.Optional(Int64("installation ID of the App")),
});

/** Argo's GithubEventSource (pkg/apis/events/v1alpha1/eventsource_types.go), field for field. */
export const GithubEventSchema = Struct(
  {
    id: Type.Optional(Int64("deprecated, unused")),
    webhook: Type.Optional(WebhookContextSchema),
    owner: Type.Optional(Type.String({ description: "deprecated: use repositories" })),
    repository: Type.Optional(Type.String({ description: "deprecated: use repositories" })),
    events: Type.Optional(
      Type.Array(Type.String(), {
        description: 'GitHub event names (X-GitHub-Event) to accept; "*" for all',
      }),
    ),
    apiToken: Type.Optional(SecretKeySelector),
    webhookSecret: Type.Optional(SecretKeySelector),
    insecure: Type.Optional(Type.Boolean()),
    active: Type.Optional(Type.Boolean()),
    contentType: Type.Optional(Type.String({ description: '"json" or "form"' })),
    githubBaseURL: Type.Optional(Type.String()),
    githubUploadURL: Type.Optional(Type.String()),
    deleteHookOnFinish: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(StringMap()),
    repositories: Type.Optional(Type.Array(OwnedRepositories)),
    organizations: Type.Optional(Type.Array(Type.String())),
    githubApp: Type.Optional(GithubAppCreds),
    filter: Type.Optional(EventSourceFilter),
  },
  "GitHub webhook deliveries (X-Hub-Signature-256 verified with webhookSecret)",
);

export type GithubEventSpec = Static<typeof GithubEventSchema>;
