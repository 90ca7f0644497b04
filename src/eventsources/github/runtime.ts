import type { FastifyReply, FastifyRequest } from "fastify";
import { ConfigError, errorMessage } from "../../errors.js";
import { goMarshal } from "../../lib/gojson.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import {
  firstHeader,
  providerRoute,
  recordDelivery,
  refuseDelivery,
  refuseMethod,
  trustedDeliveryId,
} from "../webhook/delivery.js";
import { type HookPlan, serveWithHooks } from "../webhook/hook-manager.js";
import { hookUrl } from "../webhook/index.js";
import type { Route } from "../webhook/runtime.js";
import type { GithubCredentials, GithubTarget } from "./hooks.js";
import type { GithubEventSpec } from "./schema.js";
import { verifyGithubSignature } from "./signature.js";
import { asksForHooks, hookTargets } from "./targets.js";

/**
 * Argo's GitHub EventSource, webhook side (pkg/eventsources/sources/github/start.go): the route
 * of `webhook` on the webhook kind's server machinery; the signature verified before anything is
 * stored; the payload as Argo builds it, `{"headers": <request headers>, "body": <the JSON body
 * with X-GitHub-Event and X-GitHub-Delivery added>, "metadata": ...}`. With `apiToken` or
 * `githubApp` and `webhook.url`, the hook is registered on each repository and organization once
 * the route serves (github/hooks.ts, loaded only then), and deleted on stop if asked.
 */
export const githubAdapter: EventSourceAdapter<GithubEventSpec> = {
  key: "github",
  ceType: "github",
  async start(entries, ctx): Promise<RunningAdapter> {
    const routes: Route[] = [];
    const plans: Array<HookPlan<GithubTarget>> = [];
    for (const { eventName, spec } of entries) {
      const at = `/spec/github/${eventName}`;
      const webhook = spec.webhook;
      if (!webhook)
        throw new ConfigError(`EventSource ${ctx.eventSourceName}: ${at}/webhook: is required`);
      const secret = spec.webhookSecret
        ? Buffer.from(await ctx.values.secret(spec.webhookSecret, `${at}/webhookSecret`), "utf8")
        : undefined;
      // Argo skips verification for an empty secret; sensorbus refuses to start unverified instead.
      if (secret?.length === 0)
        throw new ConfigError(
          `EventSource ${ctx.eventSourceName}: ${at}/webhookSecret: the Secret value is empty`,
        );
      routes.push(
        await providerRoute(ctx, eventName, webhook, at, (req, reply, raw) =>
          handle(eventName, spec, secret, req, reply, raw, ctx),
        ),
      );
      if (asksForHooks(spec))
        plans.push(await hookPlan(eventName, spec, secret?.toString("utf8"), ctx));
    }
    return serveWithHooks("github", routes, plans, ctx);
  },
};

/**
 * Argo's registration for one entry (start.go): the credentials read now (a missing Secret stops
 * the start, naming the field, as Argo does); the SDK loaded and the hooks registered when called.
 * Argo prefers `apiToken` when both it and `githubApp` are set.
 */
async function hookPlan(
  eventName: string,
  spec: GithubEventSpec,
  secret: string | undefined,
  ctx: AdapterContext,
): Promise<HookPlan<GithubTarget>> {
  const at = `/spec/github/${eventName}`;
  const app = spec.githubApp;
  const credentials: GithubCredentials = spec.apiToken
    ? { token: await ctx.values.secret(spec.apiToken, `${at}/apiToken`) }
    : {
        appId: Number(app?.appID ?? 0),
        installationId: Number(app?.installationID ?? 0),
        privateKey: await ctx.values.secret(app!.privateKey!, `${at}/githubApp/privateKey`),
      };
  const value = "token" in credentials ? credentials.token : credentials.privateKey;
  if (value.trim() === "")
    throw new ConfigError(
      `EventSource ${ctx.eventSourceName}: ${at}/${"token" in credentials ? "apiToken" : "githubApp/privateKey"}: the Secret value is empty`,
    );
  const url = hookUrl(spec.webhook);
  const log = ctx.log.child({ eventName });
  return {
    provider: "GitHub",
    eventName,
    url,
    targets: hookTargets(spec),
    deleteOnFinish: spec.deleteHookOnFinish === true,
    hooks: async () =>
      (await import("./hooks.js")).githubHooks({
        credentials,
        baseUrl: spec.githubBaseURL,
        log,
        hook: {
          url,
          events: spec.events ?? [],
          active: spec.active === true,
          ...(spec.contentType ? { contentType: spec.contentType } : {}),
          insecure: spec.insecure === true,
          ...(secret ? { secret } : {}),
        },
      }),
  };
}

/** `events` as sensorbus applies it: empty or "*" accepts every event type. */
export function acceptsEvent(events: readonly string[] | undefined, type: string): boolean {
  if (!events || events.length === 0) return true;
  return events.includes("*") || events.includes(type);
}

async function handle(
  eventName: string,
  spec: GithubEventSpec,
  secret: Buffer | undefined,
  req: FastifyRequest,
  reply: FastifyReply,
  raw: Buffer,
  ctx: AdapterContext,
): Promise<FastifyReply> {
  const text = (code: number, body: string) => reply.code(code).type("text/plain").send(body);
  const log = () => ctx.log.child({ eventName });
  const h = req.headers;
  const type = firstHeader(h["x-github-event"]) ?? "";
  const delivery = firstHeader(h["x-github-delivery"]) ?? "";
  const wrongMethod = refuseMethod(spec.webhook?.method, req, reply);
  if (wrongMethod) return wrongMethod;
  if (secret) {
    const refused = verifyGithubSignature(
      secret,
      raw,
      firstHeader(h["x-hub-signature-256"]),
      firstHeader(h["x-hub-signature"]),
    );
    if (refused)
      return refuseDelivery(ctx, eventName, "GitHub", refused, req, reply, {
        delivery,
        githubEvent: type,
      });
  }
  if (!acceptsEvent(spec.events, type)) {
    log().info({ delivery, githubEvent: type }, "GitHub event type not in events: not recorded");
    return text(200, `event type '${type}' is not in events: not recorded`);
  }
  const contentType = String(h["content-type"] ?? "");
  const media = contentType.split(";")[0]!.trim().toLowerCase();
  let payload: string;
  if (media === "application/json") payload = raw.toString("utf8");
  else if (media === "application/x-www-form-urlencoded")
    payload = new URLSearchParams(raw.toString("utf8")).get("payload") ?? "";
  else return text(400, `webhook request has unsupported Content-Type ${JSON.stringify(media)}`);
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch (err) {
    return text(
      400,
      `invalid JSON body: ${payload === "" ? "unexpected end of JSON input" : errorMessage(err)}`,
    );
  }
  if (body === null || typeof body !== "object" || Array.isArray(body))
    return text(400, "invalid JSON body: not a JSON object");
  // Argo adds the two headers to the body (parseValidateRequest), then re-encodes it.
  const object = body as Record<string, unknown>;
  object["X-GitHub-Event"] = type;
  object["X-GitHub-Delivery"] = delivery;

  // A verified delivery's id is the dedupe key: GitHub's redelivery of it is stored once.
  return recordDelivery({
    ctx,
    eventName,
    req,
    reply,
    bodyJson: goMarshal(object),
    metadata: spec.metadata,
    id: trustedDeliveryId(delivery, secret !== undefined, spec.webhook),
    logFields: { delivery },
  });
}

/** The registry's entry point. */
export function createAdapter(): EventSourceAdapter<GithubEventSpec> {
  return githubAdapter;
}
