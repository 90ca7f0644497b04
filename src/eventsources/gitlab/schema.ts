import type { Static } from "typebox";
import {
  EventSourceFilter,
  SecretKeySelector,
  StringMap,
  Struct,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";
import { WebhookContextSchema } from "../webhook/schema.js";

/** Argo's GitlabEventSource (pkg/apis/events/v1alpha1/eventsource_types.go), field for field. */
export const GitlabEventSchema = Struct(
  {
    webhook: Type.Optional(WebhookContextSchema),
    projectID: Type.Optional(Type.String({ description: "deprecated: use projects" })),
    events: Type.Optional(
      Type.Array(Type.String(), {
        description: "hook event fields, e.g. PushEvents, MergeRequestsEvents",
      }),
    ),
    accessToken: Type.Optional(SecretKeySelector),
    enableSSLVerification: Type.Optional(Type.Boolean()),
    gitlabBaseURL: Type.Optional(Type.String()),
    deleteHookOnFinish: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(StringMap()),
    projects: Type.Optional(Type.Array(Type.String())),
    secretToken: Type.Optional(SecretKeySelector),
    filter: Type.Optional(EventSourceFilter),
    groups: Type.Optional(Type.Array(Type.String())),
  },
  "GitLab webhook deliveries (X-Gitlab-Token checked against secretToken)",
);

export type GitlabEventSpec = Static<typeof GitlabEventSchema>;

/**
 * `events` names (the hook option fields Argo sets, go-gitlab's AddProjectHookOptions) and the
 * `X-Gitlab-Event` values GitLab sends for each (GitLab docs, "Webhook events").
 */
export const GITLAB_EVENT_HEADERS: Readonly<Record<string, readonly string[]>> = {
  PushEvents: ["Push Hook"],
  TagPushEvents: ["Tag Push Hook"],
  IssuesEvents: ["Issue Hook"],
  ConfidentialIssuesEvents: ["Confidential Issue Hook"],
  MergeRequestsEvents: ["Merge Request Hook"],
  NoteEvents: ["Note Hook"],
  ConfidentialNoteEvents: ["Confidential Note Hook"],
  JobEvents: ["Job Hook", "Build Hook"],
  PipelineEvents: ["Pipeline Hook"],
  WikiPageEvents: ["Wiki Page Hook"],
  DeploymentEvents: ["Deployment Hook"],
  ReleasesEvents: ["Release Hook"],
  EmojiEvents: ["Emoji Hook"],
  FeatureFlagEvents: ["Feature Flag Hook"],
  ResourceAccessTokenEvents: ["Resource Access Token Hook"],
  MemberEvents: ["Member Hook"],
  SubGroupEvents: ["Subgroup Hook"],
};

/** The GitLab hook attribute (REST API v4) each `events` name sets, as go-gitlab sends it. */
export const GITLAB_HOOK_FLAGS: Readonly<Record<string, string>> = {
  PushEvents: "push_events",
  TagPushEvents: "tag_push_events",
  IssuesEvents: "issues_events",
  ConfidentialIssuesEvents: "confidential_issues_events",
  MergeRequestsEvents: "merge_requests_events",
  NoteEvents: "note_events",
  ConfidentialNoteEvents: "confidential_note_events",
  JobEvents: "job_events",
  PipelineEvents: "pipeline_events",
  WikiPageEvents: "wiki_page_events",
  DeploymentEvents: "deployment_events",
  ReleasesEvents: "releases_events",
  EmojiEvents: "emoji_events",
  FeatureFlagEvents: "feature_flag_events",
  ResourceAccessTokenEvents: "resource_access_token_events",
  MemberEvents: "member_events",
  SubGroupEvents: "subgroup_events",
};
