import { err, join, str, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";

import type { EventSourceKind } from "../kind.js";
import {
  hookDetail,
  hookUrl,
  validateWebhookContext,
  warnUnmanagedHook,
} from "../webhook/index.js";
import { GITLAB_EVENT_HEADERS, GitlabEventSchema, type GitlabEventSpec } from "./schema.js";

export { GITLAB_EVENT_HEADERS, GitlabEventSchema, type GitlabEventSpec } from "./schema.js";

/** Argo's pkg/eventsources/sources/gitlab/validate.go, then what sensorbus does not do. */
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
  if (entry.accessToken !== undefined && str(entry.webhook?.url) !== "")
    report(
      warn(
        join(at, "accessToken"),
        `accessToken with webhook.url asks for the hook to be registered on GitLab: sensorbus does not register hooks; add it in the project or group settings (URL ${hookUrl(entry.webhook)}, the secretToken value as its secret token)`,
      ),
    );
  warnUnmanagedHook(entry, { field: "secretToken", value: entry.secretToken }, at, report);
}

export const gitlab: EventSourceKind<GitlabEventSpec> = {
  key: "gitlab",
  schema: GitlabEventSchema,
  runs: true,
  recreate: false,
  validate,
  graph: {
    detail: (s) => hookDetail("GitLab", s),
  },
  load: () => import("./runtime.js"),
};
