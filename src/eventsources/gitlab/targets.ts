import { GITLAB_HOOK_FLAGS, type GitlabEventSpec } from "./schema.js";

/** The flags Argo sends false unless `events` names them (start.go's AddProjectHookOptions). */
const ARGO_DEFAULT_OFF = [
  "ConfidentialNoteEvents",
  "PushEvents",
  "IssuesEvents",
  "ConfidentialIssuesEvents",
  "MergeRequestsEvents",
  "TagPushEvents",
  "NoteEvents",
  "JobEvents",
  "PipelineEvents",
  "WikiPageEvents",
  "EmojiEvents",
];

/** The `*_events` flags of the hook Argo registers for `events`: the named ones true. */
export function hookFlags(events: readonly string[] | undefined): Record<string, boolean> {
  const flags: Record<string, boolean> = {};
  for (const name of ARGO_DEFAULT_OFF) flags[GITLAB_HOOK_FLAGS[name]!] = false;
  for (const name of events ?? [])
    if (Object.hasOwn(GITLAB_HOOK_FLAGS, name)) flags[GITLAB_HOOK_FLAGS[name]!] = true;
  return flags;
}

/** Argo's GetProjects (`projects`, else the deprecated `projectID`) and GetGroups. */
export function hookTargets(
  e: GitlabEventSpec,
): Array<{ label: string; type: "project" | "group"; id: string }> {
  const projects = (e.projects ?? []).length > 0 ? e.projects! : e.projectID ? [e.projectID] : [];
  return [
    ...(e.groups ?? []).map((id) => ({ label: `group ${id}`, type: "group" as const, id })),
    ...projects.map((id) => ({ label: `project ${id}`, type: "project" as const, id })),
  ];
}

/** Argo's NeedToCreateHooks: `accessToken` and `webhook.url`. */
export function asksForHooks(e: GitlabEventSpec): boolean {
  return e.accessToken !== undefined && typeof e.webhook?.url === "string" && e.webhook.url !== "";
}
