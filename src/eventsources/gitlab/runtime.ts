import { timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ConfigError } from "../../errors.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import {
  firstHeader,
  providerRoute,
  recordJsonDelivery,
  refuseDelivery,
  refuseMethod,
  trustedDeliveryId,
} from "../webhook/delivery.js";
import { type HookPlan, serveWithHooks } from "../webhook/hook-manager.js";
import { hookUrl } from "../webhook/index.js";
import { type Route, sha256 } from "../webhook/runtime.js";
import type { GitlabTarget } from "./hooks.js";
import { GITLAB_EVENT_HEADERS, type GitlabEventSpec } from "./schema.js";
import { asksForHooks, hookFlags, hookTargets } from "./targets.js";

/** The `X-Gitlab-Event` values an entry's `events` accept; undefined: every value. */
export function acceptedGitlabEvents(
  events: readonly string[] | undefined,
): Set<string> | undefined {
  if (!events || events.length === 0) return undefined;
  return new Set(
    events.flatMap((e) => (Object.hasOwn(GITLAB_EVENT_HEADERS, e) ? GITLAB_EVENT_HEADERS[e]! : [])),
  );
}

/**
 * Argo's GitLab EventSource, webhook side (pkg/eventsources/sources/gitlab/start.go): the route
 * of `webhook` on the webhook kind's server machinery; `X-Gitlab-Token` checked against
 * `secretToken` before anything is stored; the payload as Argo builds it, `{"headers": <request
 * headers>, "body": <the raw JSON body>, "metadata": ...}`. With `accessToken` and `webhook.url`,
 * the hook is registered on each project and group once the route serves (gitlab/hooks.ts, loaded
 * only then), with `secretToken` as its token, and deleted on stop if asked.
 */
export const gitlabAdapter: EventSourceAdapter<GitlabEventSpec> = {
  key: "gitlab",
  ceType: "gitlab",
  async start(entries, ctx): Promise<RunningAdapter> {
    const routes: Route[] = [];
    const plans: Array<HookPlan<GitlabTarget>> = [];
    for (const { eventName, spec } of entries) {
      const at = `/spec/gitlab/${eventName}`;
      const webhook = spec.webhook;
      if (!webhook)
        throw new ConfigError(`EventSource ${ctx.eventSourceName}: ${at}/webhook: is required`);
      const tokenText = spec.secretToken
        ? await ctx.values.secret(spec.secretToken, `${at}/secretToken`)
        : undefined;
      // Argo skips the check for an empty token; sensorbus refuses to start unverified instead.
      if (tokenText === "")
        throw new ConfigError(
          `EventSource ${ctx.eventSourceName}: ${at}/secretToken: the Secret value is empty`,
        );
      const token = tokenText === undefined ? undefined : sha256(tokenText);
      const accepted = acceptedGitlabEvents(spec.events);
      routes.push(
        await providerRoute(ctx, eventName, webhook, at, (req, reply, raw) =>
          handle(eventName, spec, token, accepted, req, reply, raw, ctx),
        ),
      );
      if (asksForHooks(spec)) plans.push(await hookPlan(eventName, spec, tokenText, ctx));
    }
    return serveWithHooks("gitlab", routes, plans, ctx);
  },
};

/**
 * Argo's registration for one entry (start.go): the access token read now (a missing Secret
 * stops the start, naming the field, as Argo does); the SDK loaded and the hooks registered when
 * called.
 */
async function hookPlan(
  eventName: string,
  spec: GitlabEventSpec,
  secretToken: string | undefined,
  ctx: AdapterContext,
): Promise<HookPlan<GitlabTarget>> {
  const at = `/spec/gitlab/${eventName}`;
  const token = await ctx.values.secret(spec.accessToken!, `${at}/accessToken`);
  if (token.trim() === "")
    throw new ConfigError(
      `EventSource ${ctx.eventSourceName}: ${at}/accessToken: the Secret value is empty`,
    );
  const url = hookUrl(spec.webhook);
  return {
    provider: "GitLab",
    eventName,
    url,
    targets: hookTargets(spec),
    deleteOnFinish: spec.deleteHookOnFinish === true,
    hooks: async () =>
      (await import("./hooks.js")).gitlabHooks({
        token,
        baseUrl: spec.gitlabBaseURL ?? "",
        hook: {
          url,
          flags: hookFlags(spec.events),
          enableSSLVerification: spec.enableSSLVerification === true,
          ...(secretToken ? { token: secretToken } : {}),
        },
      }),
  };
}

async function handle(
  eventName: string,
  spec: GitlabEventSpec,
  token: Buffer | undefined,
  accepted: Set<string> | undefined,
  req: FastifyRequest,
  reply: FastifyReply,
  raw: Buffer,
  ctx: AdapterContext,
): Promise<FastifyReply> {
  const text = (code: number, body: string) => reply.code(code).type("text/plain").send(body);
  const log = () => ctx.log.child({ eventName });
  const h = req.headers;
  const type = firstHeader(h["x-gitlab-event"]) ?? "";
  const uuid = firstHeader(h["x-gitlab-event-uuid"]) ?? "";
  const wrongMethod = refuseMethod(spec.webhook?.method, req, reply);
  if (wrongMethod) return wrongMethod;
  if (token) {
    const given = firstHeader(h["x-gitlab-token"]);
    // Digests of equal length: the comparison takes the same time whatever the token.
    const refusal =
      given === undefined || given === ""
        ? { status: 401 as const, reason: "missing_token", message: "missing X-Gitlab-Token" }
        : timingSafeEqual(sha256(given), token)
          ? undefined
          : { status: 403 as const, reason: "token_mismatch", message: "token mismatch" };
    if (refusal)
      return refuseDelivery(ctx, eventName, "GitLab", refusal, req, reply, {
        uuid,
        gitlabEvent: type,
      });
  }
  if (accepted && !accepted.has(type)) {
    log().info({ uuid, gitlabEvent: type }, "GitLab event type not in events: not recorded");
    return text(200, `event type '${type}' is not in events: not recorded`);
  }
  return recordJsonDelivery({
    ctx,
    eventName,
    req,
    reply,
    raw,
    metadata: spec.metadata,
    id: trustedDeliveryId(uuid, token !== undefined, spec.webhook),
    logFields: { uuid },
  });
}

/** The registry's entry point. */
export function createAdapter(): EventSourceAdapter<GitlabEventSpec> {
  return gitlabAdapter;
}
