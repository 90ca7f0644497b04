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
import { GITLAB_EVENT_HEADERS, GitlabEventSchema, type GitlabEventSpec } from "./schema.js";
import { asksForHooks, hookTargets } from "./targets.js";

export { GITLAB_EVENT_HEADERS, GitlabEventSchema, type GitlabEventSpec } from "./schema.js";

/** Argo's pkg/eventsources/sources/gitlab/validate.go, then the hook registration's needs. */
function validate(entry: GitlabEventSpec, { at, report }: EntryCheck): void {
  if (entry.events === undefined) report(err(join(at, "events"), "events can't be empty"));
  if (str(entry.gitlabBaseURL) === "")
    report(err(join(at, "gitlabBaseURL"), "gitlab base url can't be empty"));
  if (entry.accessToken === undefined)
    report(err(join(at, "accessToken"), "access token can't be nil"));
  validateWebhookContext(entry.webhook, join(at, "webhook"), report);
  (entry.events ?? []).forEach((name, i) => {
    if (!Object.hasOwn(GITLAB_EVENT_HEADERS, name))
      report(
        err(
          join(at, "events", i),
          `unknown event ${name} (one of ${Object.keys(GITLAB_EVENT_HEADERS).join(", ")})`,
        ),
      );
  });
  const base = str(entry.gitlabBaseURL);
  if (base !== "" && !isHttpUrl(base))
    report(err(join(at, "gitlabBaseURL"), `'${base}' is not an absolute http(s) URL`));
  const registers = asksForHooks(entry);
  checkHookRegistration(
    entry,
    {
      provider: "GitLab",
      registers,
      credentials: entry.accessToken !== undefined ? "accessToken" : undefined,
      targets: hookTargets(entry).length,
    },
    at,
    report,
  );
  if (
    registers &&
    entry.enableSSLVerification !== true &&
    str(entry.webhook?.url).startsWith("https:")
  )
    report(
      warn(
        join(at, "enableSSLVerification"),
        "enableSSLVerification is not true: the hook is registered without TLS verification of webhook.url (as in Argo)",
      ),
    );
  warnUnverified({ field: "secretToken", value: entry.secretToken }, at, report);
}

export const gitlab: EventSourceKind<GitlabEventSpec> = {
  key: "gitlab",
  schema: GitlabEventSchema,
  runs: true,
  recreate: false,
  validate,
  graph: {
    detail: (s) =>
      hookDetail("GitLab", s, asksForHooks(s) ? hookTargets(s).map((t) => t.label) : undefined),
  },
  load: () => import("./runtime.js"),
};
