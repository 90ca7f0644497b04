import { err, join, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import type { EventSourceKind } from "../kind.js";
import { hookDetail, validateWebhookContext } from "../webhook/index.js";
import {
  BitbucketEventSchema,
  type BitbucketEventSpec,
  cloudCredentials,
  cloudRepositories,
  registersCloudHooks,
} from "./schema.js";

export { BitbucketEventSchema, type BitbucketEventSpec } from "./schema.js";

/** Argo's pkg/eventsources/sources/bitbucket/validate.go, then what sensorbus says on top. */
function validate(entry: BitbucketEventSpec, { at, report }: EntryCheck): void {
  if (cloudRepositories(entry) === undefined)
    report(err(join(at, "repositories"), "at least one repository is required"));
  // Argo's ShouldCreateWebhooks dereferences `auth`: an entry without it fails there.
  if (!entry.auth || typeof entry.auth !== "object")
    report(err(join(at, "auth"), "auth is required: basic (username, password) or oauthToken"));
  else if (cloudCredentials(entry) === undefined)
    report(
      warn(
        join(at, "auth"),
        "auth names neither basic.username + basic.password nor oauthToken: no hook is registered",
      ),
    );
  if (registersCloudHooks(entry) && (entry.events ?? []).length === 0)
    report(err(join(at, "events"), "events must be defined to create a bitbucket webhooks"));
  (entry.repositories ?? []).forEach((r, i) => {
    if (!r?.owner || !r.repositorySlug)
      report(
        warn(
          join(at, "repositories", i),
          "owner and repositorySlug are both needed: registering a hook here fails",
        ),
      );
  });
  validateWebhookContext(entry.webhook, join(at, "webhook"), report);
  if (entry.webhookSecret !== undefined)
    report(
      warn(
        join(at, "webhookSecret"),
        "webhookSecret is a sensorbus extension: Argo Events refuses or ignores it",
      ),
    );
  else if (entry.webhook?.authSecret === undefined)
    report(
      warn(
        join(at, "webhook"),
        "Bitbucket Cloud deliveries are not verified (Argo's bitbucket type has no webhook secret): anyone who can reach the endpoint can send events; set webhookSecret (a sensorbus extension) to verify X-Hub-Signature",
      ),
    );
}

export const bitbucket: EventSourceKind<BitbucketEventSpec> = {
  key: "bitbucket",
  schema: BitbucketEventSchema,
  runs: true,
  recreate: false,
  validate,
  graph: {
    detail: (s) => hookDetail("Bitbucket", s),
  },
  load: () => import("./runtime.js"),
};
