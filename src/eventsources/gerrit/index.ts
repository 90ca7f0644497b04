import { err, join, str, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import type { EventSourceKind } from "../kind.js";
import { hookDetail, validateWebhookContext } from "../webhook/index.js";
import { GerritEventSchema, type GerritEventSpec, needsHooks } from "./schema.js";

export { GerritEventSchema, type GerritEventSpec, needsHooks } from "./schema.js";

/** Argo's pkg/eventsources/sources/gerrit/validate.go, then what would fail at run time. */
function validate(entry: GerritEventSpec, { at, report }: EntryCheck): void {
  if ((entry.projects ?? []).length === 0)
    report(err(join(at, "projects"), "projects cannot be empty"));
  if (entry.events === undefined) report(err(join(at, "events"), "events can't be empty"));
  if (str(entry.gerritBaseURL) === "")
    report(err(join(at, "gerritBaseURL"), "gerrit base url can't be empty"));
  if (entry.auth === undefined)
    report(err(join(at, "auth"), "username and password can't be empty"));
  validateWebhookContext(entry.webhook, join(at, "webhook"), report);
  const base = str(entry.gerritBaseURL);
  if (base !== "" && !/^https?:\/\/[^/]/.test(base))
    report(
      warn(
        join(at, "gerritBaseURL"),
        `'${base}' is not an http(s) URL: hooks cannot be registered`,
      ),
    );
  if (entry.auth !== undefined && (!entry.auth.username || !entry.auth.password))
    report(
      warn(join(at, "auth"), "auth needs username and password: the start fails without both"),
    );
  if (needsHooks(entry) && str(entry.hookName) === "")
    report(warn(join(at, "hookName"), "hookName is empty: Gerrit refuses a hook without a name"));
  if (entry.webhook && str(entry.webhook.url) === "")
    report(
      warn(
        join(at, "webhook", "url"),
        "no webhook.url: hooks are not registered (as in Argo); add them in Gerrit yourself",
      ),
    );
}

export const gerrit: EventSourceKind<GerritEventSpec> = {
  key: "gerrit",
  schema: GerritEventSchema,
  runs: true,
  recreate: false,
  validate,
  graph: {
    detail: (s) => hookDetail("Gerrit", s),
  },
  load: () => import("./runtime.js"),
};
