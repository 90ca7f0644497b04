import { err, join, str, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import { errorMessage } from "../../errors.js";
import { parseGoDurationNanos } from "../../lib/duration.js";
import type { EventSourceKind } from "../kind.js";
import { hookDetail, validateWebhookContext } from "../webhook/index.js";
import {
  BitbucketServerEventSchema,
  type BitbucketServerEventSpec,
  registersServerHooks,
} from "./schema.js";

export { BitbucketServerEventSchema, type BitbucketServerEventSpec } from "./schema.js";

/** Argo's pkg/eventsources/sources/bitbucketserver/validate.go, then what sensorbus says on top. */
function validate(entry: BitbucketServerEventSpec, { at, report }: EntryCheck): void {
  if (registersServerHooks(entry) && (entry.events ?? []).length === 0)
    report(err(join(at, "events"), "events must be defined to create a bitbucket server webhook"));
  if (str(entry.bitbucketserverBaseURL) === "")
    report(err(join(at, "bitbucketserverBaseURL"), "bitbucket server base url can't be empty"));
  else if (!/^https?:\/\/[^/]/i.test(str(entry.bitbucketserverBaseURL)))
    report(
      warn(
        join(at, "bitbucketserverBaseURL"),
        "not an http(s) URL: hook registration and the pull request lookup fail",
      ),
    );
  if (typeof entry.checkInterval === "string" && entry.checkInterval !== "") {
    try {
      // Go's time.NewTicker panics on a duration <= 0: refused here rather than at start.
      if (parseGoDurationNanos(entry.checkInterval) <= 0n)
        report(err(join(at, "checkInterval"), `'${entry.checkInterval}' must be positive`));
    } catch (e) {
      report(
        err(
          join(at, "checkInterval"),
          `failed to parse webhook check interval duration: ${errorMessage(e)}`,
        ),
      );
    }
  }
  validateWebhookContext(entry.webhook, join(at, "webhook"), report);
  if (entry.skipBranchRefsChangedOnOpenPR === true && entry.accessToken === undefined)
    report(
      warn(
        join(at, "skipBranchRefsChangedOnOpenPR"),
        "needs accessToken to look up open pull requests: without it every repo:refs_changed delivery is refused (500), nothing stored",
      ),
    );
  if (entry.webhookSecret === undefined)
    report(
      warn(
        join(at, "webhookSecret"),
        "no webhookSecret: deliveries are not verified and anyone who can reach the endpoint can send events",
      ),
    );
}

export const bitbucketserver: EventSourceKind<BitbucketServerEventSpec> = {
  key: "bitbucketserver",
  schema: BitbucketServerEventSchema,
  runs: true,
  recreate: false,
  validate,
  graph: {
    detail: (s) => hookDetail("Bitbucket Server", s),
  },
  load: () => import("./runtime.js"),
};
