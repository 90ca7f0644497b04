import { err, join, str, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import type { EventSourceKind } from "../kind.js";
import {
  hookDetail,
  hookUrl,
  validateWebhookContext,
  warnUnmanagedHook,
} from "../webhook/index.js";
import { GithubEventSchema, type GithubEventSpec } from "./schema.js";

export { GithubEventSchema, type GithubEventSpec } from "./schema.js";

/** Argo's GithubEventSource.GetOwnedRepositories: `repositories`, else the deprecated owner/repository. */
function ownedRepositories(e: GithubEventSpec): unknown[] | undefined {
  if (Array.isArray(e.repositories) && e.repositories.length > 0) return e.repositories;
  if (str(e.owner) !== "" && str(e.repository) !== "") return [{ owner: e.owner }];
  return undefined;
}

/** Argo's NeedToCreateHooks: an API token or App credentials, and `webhook.url`. */
export function asksForHooks(e: GithubEventSpec): boolean {
  const creds = e.apiToken !== undefined || e.githubApp?.privateKey !== undefined;
  return creds && str(e.webhook?.url) !== "";
}

/** Argo's pkg/eventsources/sources/github/validate.go, then what sensorbus does not do. */
function validate(entry: GithubEventSpec, { at, report }: EntryCheck): void {
  const repos = ownedRepositories(entry);
  const orgs = entry.organizations;
  if (repos === undefined && orgs === undefined)
    report(err(join(at, "repositories"), "either repositories or organizations is required"));
  if (repos !== undefined && orgs !== undefined)
    report(err(join(at, "organizations"), "only one of repositories and organizations is allowed"));
  if (asksForHooks(entry) && (entry.events ?? []).length === 0)
    report(err(join(at, "events"), "events must be defined to create a github webhook"));
  const ct = entry.contentType;
  if (ct !== undefined && ct !== "" && ct !== "json" && ct !== "form")
    report(err(join(at, "contentType"), 'content type must be "json" or "form"'));
  const base = str(entry.githubBaseURL);
  const upload = str(entry.githubUploadURL);
  if (base !== "" || upload !== "") {
    if (base === "")
      report(
        err(join(at, "githubBaseURL"), "githubBaseURL is required when githubUploadURL is set"),
      );
    if (upload === "")
      report(
        err(join(at, "githubUploadURL"), "githubUploadURL is required when githubBaseURL is set"),
      );
  }
  validateWebhookContext(entry.webhook, join(at, "webhook"), report);
  if (asksForHooks(entry)) {
    const field = entry.apiToken !== undefined ? "apiToken" : "githubApp";
    report(
      warn(
        join(at, field),
        `${field} with webhook.url asks for the hook to be registered on GitHub: sensorbus does not register hooks; create it in the repository or organization settings (payload URL ${hookUrl(entry.webhook)}, the same secret as webhookSecret)`,
      ),
    );
  }
  warnUnmanagedHook(entry, { field: "webhookSecret", value: entry.webhookSecret }, at, report);
}

export const github: EventSourceKind<GithubEventSpec> = {
  key: "github",
  schema: GithubEventSchema,
  runs: true,
  recreate: false,
  validate,
  graph: {
    detail: (s) => hookDetail("GitHub", s),
  },
  load: () => import("./runtime.js"),
};
