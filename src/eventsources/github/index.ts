import { err, join, str, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import type { EventSourceKind } from "../kind.js";
import {
  checkHookRegistration,
  hookDetail,
  isHttpUrl,
  validateWebhookContext,
  warnUnverified,
} from "../webhook/index.js";
import { GithubEventSchema, type GithubEventSpec } from "./schema.js";
import { asksForHooks, hookTargets, ownedRepositories } from "./targets.js";

export { GithubEventSchema, type GithubEventSpec } from "./schema.js";

/** Argo's pkg/eventsources/sources/github/validate.go, then the hook registration's needs. */
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
  checkHooks(entry, at, report);
  warnUnverified({ field: "webhookSecret", value: entry.webhookSecret }, at, report);
}

/** What registering the hook needs (Argo fails at start or at GitHub without it). */
function checkHooks(entry: GithubEventSpec, at: string, report: EntryCheck["report"]): void {
  const app = entry.githubApp;
  const registers = asksForHooks(entry);
  const credentials =
    entry.apiToken !== undefined
      ? "apiToken"
      : app?.privateKey !== undefined
        ? "githubApp"
        : undefined;
  checkHookRegistration(
    entry,
    { provider: "GitHub", registers, credentials, targets: hookTargets(entry).length },
    at,
    report,
  );
  if (entry.apiToken !== undefined && app !== undefined)
    report(
      warn(
        join(at, "githubApp"),
        "both apiToken and githubApp are set: the hook is registered with apiToken (as in Argo) and githubApp is not used",
      ),
    );
  if (app !== undefined && entry.apiToken === undefined) {
    if (app.privateKey === undefined)
      report(
        err(
          join(at, "githubApp", "privateKey"),
          "githubApp needs privateKey (the App's private key Secret) to register the hook",
        ),
      );
    for (const field of ["appID", "installationID"] as const)
      if (typeof app[field] !== "number" || app[field] <= 0)
        report(
          err(
            join(at, "githubApp", field),
            `githubApp needs ${field} (a positive integer) to get an installation token`,
          ),
        );
  }
  const base = str(entry.githubBaseURL);
  if (base !== "" && !isHttpUrl(base))
    report(err(join(at, "githubBaseURL"), `'${base}' is not an absolute http(s) URL`));
  const upload = str(entry.githubUploadURL);
  if (upload !== "" && !isHttpUrl(upload))
    report(err(join(at, "githubUploadURL"), `'${upload}' is not an absolute http(s) URL`));
  if (!registers) return;
  (ownedRepositories(entry) ?? []).forEach((r, i) => {
    if (str(r.owner) === "")
      report(err(join(at, "repositories", i, "owner"), "owner is required to register the hook"));
    if ((r.names ?? []).length === 0)
      report(err(join(at, "repositories", i, "names"), "names is empty: no hook is registered"));
  });
  if (entry.active !== true)
    report(
      warn(
        join(at, "active"),
        "active is not true: the hook is registered inactive (as in Argo) and GitHub delivers nothing to it",
      ),
    );
}

export const github: EventSourceKind<GithubEventSpec> = {
  key: "github",
  schema: GithubEventSchema,
  runs: true,
  recreate: false,
  validate,
  graph: {
    detail: (s) =>
      hookDetail("GitHub", s, asksForHooks(s) ? hookTargets(s).map((t) => t.label) : undefined),
  },
  load: () => import("./runtime.js"),
};
