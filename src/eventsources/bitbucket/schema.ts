import type { Static } from "typebox";
import {
  EventSourceFilter,
  SecretKeySelector,
  StringMap,
  Struct,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { WebhookContextSchema } from "../webhook/schema.js";

const BitbucketRepository = Struct({
  owner: Type.Optional(Type.String({ description: "workspace (owner) of the repository" })),
  repositorySlug: Type.Optional(Type.String({ description: "URL-friendly repository name" })),
});

const BitbucketAuth = Struct(
  {
    basic: Type.Optional(
      Struct({
        username: Type.Optional(SecretKeySelector),
        password: Type.Optional(SecretKeySelector),
      }),
    ),
    oauthToken: Type.Optional(SecretKeySelector),
  },
  "API credentials for hook registration: basic (username + app password) or an OAuth token",
);

/**
 * Argo's BitbucketEventSource (pkg/apis/events/v1alpha1/eventsource_types.go), field for field,
 * and `webhookSecret`, a sensorbus extension (named as bitbucketserver's): Bitbucket Cloud signs
 * deliveries of a hook with a secret, which Argo's type cannot hold.
 */
export const BitbucketEventSchema = Struct(
  {
    deleteHookOnFinish: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(StringMap()),
    webhook: Type.Optional(WebhookContextSchema),
    auth: Type.Optional(BitbucketAuth),
    events: Type.Optional(
      Type.Array(Type.String(), {
        description: "Bitbucket Cloud event keys (X-Event-Key), e.g. repo:push",
      }),
    ),
    owner: Type.Optional(Type.String({ description: "deprecated: use repositories" })),
    projectKey: Type.Optional(Type.String({ description: "deprecated, unused" })),
    repositorySlug: Type.Optional(Type.String({ description: "deprecated: use repositories" })),
    repositories: Type.Optional(Type.Array(BitbucketRepository)),
    filter: Type.Optional(EventSourceFilter),
    // sensorbus extension: the hook's secret; each delivery's X-Hub-Signature verified with it.
    webhookSecret: Type.Optional(SecretKeySelector),
  },
  "Bitbucket Cloud webhook deliveries; hooks registered through the Bitbucket API",
);

export type BitbucketEventSpec = Static<typeof BitbucketEventSchema>;
export type BitbucketRepositorySpec = Static<typeof BitbucketRepository>;

/** Argo's GetBitbucketRepositories: `repositories`, else the deprecated owner + repositorySlug. */
export function cloudRepositories(e: BitbucketEventSpec): BitbucketRepositorySpec[] | undefined {
  if (Array.isArray(e.repositories) && e.repositories.length > 0) return e.repositories;
  if (e.owner && e.repositorySlug) return [{ owner: e.owner, repositorySlug: e.repositorySlug }];
  return undefined;
}

/** Argo's HasBitbucketBasicAuth / HasBitbucketOAuthToken: which credentials the entry names. */
export function cloudCredentials(e: BitbucketEventSpec): "basic" | "oauthToken" | undefined {
  const basic = e.auth?.basic;
  if (basic?.username && basic.password) return "basic";
  if (e.auth?.oauthToken) return "oauthToken";
  return undefined;
}

/** Argo's ShouldCreateWebhooks: credentials and `webhook.url`. */
export function registersCloudHooks(e: BitbucketEventSpec): boolean {
  return cloudCredentials(e) !== undefined && !!e.webhook?.url;
}
