import type { Static } from "typebox";
import {
  EventSourceFilter,
  SecretKeySelector,
  StringMap,
  Struct,
  TLSConfig,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { WebhookContextSchema } from "../webhook/schema.js";

const BitbucketServerRepository = Struct({
  projectKey: Type.Optional(Type.String({ description: "key of the project" })),
  repositorySlug: Type.Optional(Type.String({ description: "slug of the repository" })),
});

/** Argo's BitbucketServerEventSource (pkg/apis/events/v1alpha1/eventsource_types.go). */
export const BitbucketServerEventSchema = Struct(
  {
    webhook: Type.Optional(WebhookContextSchema),
    projectKey: Type.Optional(Type.String({ description: "deprecated: use repositories" })),
    repositorySlug: Type.Optional(Type.String({ description: "deprecated: use repositories" })),
    projects: Type.Optional(
      Type.Array(Type.String(), {
        description: "project keys: the hook goes on every repository of each project",
      }),
    ),
    repositories: Type.Optional(Type.Array(BitbucketServerRepository)),
    events: Type.Optional(
      Type.Array(Type.String(), {
        description: "Bitbucket Server event keys (X-Event-Key), e.g. repo:refs_changed",
      }),
    ),
    skipBranchRefsChangedOnOpenPR: Type.Optional(Type.Boolean()),
    oneEventPerChange: Type.Optional(Type.Boolean()),
    accessToken: Type.Optional(SecretKeySelector),
    webhookSecret: Type.Optional(SecretKeySelector),
    bitbucketserverBaseURL: Type.Optional(
      Type.String({ description: "REST base URL, with /rest: https://bitbucket.example.com/rest" }),
    ),
    deleteHookOnFinish: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(StringMap()),
    filter: Type.Optional(EventSourceFilter),
    tls: Type.Optional(TLSConfig),
    checkInterval: Type.Optional(
      Type.String({ description: "Go duration between hook checks; default 1m" }),
    ),
  },
  "Bitbucket Server / Data Center webhook deliveries (X-Hub-Signature verified with webhookSecret)",
);

export type BitbucketServerEventSpec = Static<typeof BitbucketServerEventSchema>;
export type BitbucketServerRepositorySpec = Static<typeof BitbucketServerRepository>;

/** Argo's GetBitbucketServerRepositories: `repositories`, else projectKey + repositorySlug. */
export function serverRepositories(
  e: BitbucketServerEventSpec,
): BitbucketServerRepositorySpec[] | undefined {
  if (Array.isArray(e.repositories) && e.repositories.length > 0) return e.repositories;
  if (e.projectKey && e.repositorySlug)
    return [{ projectKey: e.projectKey, repositorySlug: e.repositorySlug }];
  return undefined;
}

/** Argo's ShouldCreateWebhooks: accessToken, `webhook.url`, and repositories or projects. */
export function registersServerHooks(e: BitbucketServerEventSpec): boolean {
  return (
    e.accessToken !== undefined &&
    !!e.webhook?.url &&
    ((serverRepositories(e) ?? []).length > 0 || (e.projects ?? []).length > 0)
  );
}

/** Argo's default `checkInterval`: 1 minute. */
export const DEFAULT_CHECK_INTERVAL = "1m";
