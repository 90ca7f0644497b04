import type { FastifyReply, FastifyRequest } from "fastify";
import { ConfigError } from "../../errors.js";
import { registerSecret } from "../../lib/redact.js";
import {
  type ApiClient,
  apiClient,
  ProviderApiError,
  segment,
  trimBase,
} from "../bitbucket-shared/api.js";
import { refuseUnlistedEvent, sameEvents } from "../bitbucket-shared/delivery.js";
import {
  closeClients,
  type HookManager,
  type HookProvider,
  type HookRepo,
  manageHooks,
  serveWithHooks,
} from "../bitbucket-shared/hooks.js";
import { readWebhookSecret, refuseUnsigned } from "../bitbucket-shared/signature.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import {
  firstHeader,
  providerRoute,
  recordJsonDelivery,
  refuseMethod,
  trustedDeliveryId,
} from "../webhook/delivery.js";
import { hookUrl } from "../webhook/index.js";
import type { Route } from "../webhook/runtime.js";
import {
  type BitbucketEventSpec,
  cloudCredentials,
  cloudRepositories,
  registersCloudHooks,
} from "./schema.js";

/** Where the Bitbucket Cloud API is (Argo hard-codes it); tests and proxies point it elsewhere. */
export const CLOUD_API_ENV = "SENSORBUS_BITBUCKET_API_URL";
export const DEFAULT_CLOUD_API = "https://api.bitbucket.org/2.0";
/** The `description` of the hooks sensorbus registers. */
export const CLOUD_HOOK_DESCRIPTION = "webhook managed by sensorbus";

/**
 * Argo's Bitbucket (Cloud) EventSource (pkg/eventsources/sources/bitbucket/start.go): the route
 * of `webhook` on the webhook kind's server machinery; with the `webhookSecret` extension,
 * `X-Hub-Signature` verified before anything is stored; the payload as Argo builds it,
 * `{"headers": <request headers>, "body": <the raw JSON body>, "metadata": ...}`; with `auth`
 * and `webhook.url`, a hook on each repository through the Bitbucket API (created, or updated in
 * place when one with the same URL exists; with the secret when set), deleted on stop with
 * `deleteHookOnFinish`.
 */
export const bitbucketAdapter: EventSourceAdapter<BitbucketEventSpec> = {
  key: "bitbucket",
  ceType: "bitbucket",
  async start(entries, ctx): Promise<RunningAdapter> {
    const routes: Route[] = [];
    const hooks: Array<() => HookManager> = [];
    const clients: ApiClient[] = [];
    try {
      for (const { eventName, spec } of entries) {
        const at = `/spec/bitbucket/${eventName}`;
        const webhook = spec.webhook;
        if (!webhook)
          throw new ConfigError(`EventSource ${ctx.eventSourceName}: ${at}/webhook: is required`);
        const secret = await readWebhookSecret(ctx, spec.webhookSecret, at);
        routes.push(
          await providerRoute(ctx, eventName, webhook, at, (req, reply, raw) =>
            handle(eventName, spec, secret, req, reply, raw, ctx),
          ),
        );
        if (registersCloudHooks(spec)) {
          const client = apiClient({ authorization: await cloudAuthorization(spec, at, ctx) });
          clients.push(client);
          const provider = cloudHooks(spec, client, cloudApiBase(), secret);
          hooks.push(() =>
            manageHooks(provider, {
              ctx,
              eventName,
              deleteOnFinish: spec.deleteHookOnFinish === true,
            }),
          );
        } else {
          ctx.log.info(
            { eventName },
            "no auth credentials or webhook.url: the Bitbucket hook is not registered",
          );
        }
      }
    } catch (err) {
      await closeClients(clients);
      throw err;
    }
    return serveWithHooks("bitbucket", { routes, hooks, clients }, ctx);
  },
};

/** The Cloud API base: SENSORBUS_BITBUCKET_API_URL, else api.bitbucket.org/2.0. */
export function cloudApiBase(): string {
  const v = process.env[CLOUD_API_ENV]?.trim();
  return trimBase(v ? v : DEFAULT_CLOUD_API);
}

/** Argo's chooseAuthStrategy: basic (username + app password) first, else the OAuth token. */
async function cloudAuthorization(
  spec: BitbucketEventSpec,
  at: string,
  ctx: AdapterContext,
): Promise<string> {
  const basic = spec.auth?.basic;
  if (cloudCredentials(spec) === "basic" && basic?.username && basic.password) {
    const user = await ctx.values.secret(basic.username, `${at}/auth/basic/username`);
    const pass = await ctx.values.secret(basic.password, `${at}/auth/basic/password`);
    const header = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    registerSecret(header.slice("Basic ".length));
    return header;
  }
  const token = await ctx.values.secret(spec.auth!.oauthToken!, `${at}/auth/oauthToken`);
  return `Bearer ${token}`;
}

interface CloudRepo extends HookRepo {
  owner: string;
  slug: string;
}

/**
 * A hook subscription as the Cloud API lists it (fields sensorbus reads). Bitbucket never answers
 * the secret itself, only `secret_set`.
 */
interface CloudHook {
  uuid?: unknown;
  url?: unknown;
  active?: unknown;
  events?: unknown;
  secret_set?: unknown;
}

/**
 * Hook management on Bitbucket Cloud: /2.0/repositories/{owner}/{slug}/hooks. With `secret`
 * (webhookSecret), the hook's `secret` is sent in the create and update bodies; without it the
 * field is left out, as in Argo's bodies (sensorbus never asks to clear a secret set by hand).
 */
export function cloudHooks(
  spec: BitbucketEventSpec,
  client: ApiClient,
  base: string,
  secret?: Buffer,
): HookProvider<CloudRepo> {
  const url = hookUrl(spec.webhook);
  const events = spec.events ?? [];
  const hooksPath = (r: CloudRepo) =>
    `${base}/repositories/${segment(r.owner)}/${segment(r.slug)}/hooks`;
  const desired = {
    description: CLOUD_HOOK_DESCRIPTION,
    url,
    active: true,
    events,
    ...(secret ? { secret: secret.toString("utf8") } : {}),
  };
  return {
    name: "Bitbucket",
    repositories: async () =>
      (cloudRepositories(spec) ?? []).map((r) => ({
        key: `${r.owner},${r.repositorySlug}`,
        label: `${r.owner}/${r.repositorySlug}`,
        owner: r.owner ?? "",
        slug: r.repositorySlug ?? "",
      })),
    async apply(repo, signal) {
      const existing = (await listCloudHooks(client, hooksPath(repo), base, signal)).find(
        (h) => h.url === url,
      );
      if (existing && typeof existing.uuid === "string") {
        // With a secret the hook is always updated: Bitbucket answers only `secret_set`, so a
        // hook without one and a hook with another (the Secret changed) look the same as ours.
        const same =
          existing.active === true &&
          sameEvents(existing.events as unknown[], events) &&
          secret === undefined;
        if (same) return { id: existing.uuid, action: "unchanged" };
        await client.call("PUT", `${hooksPath(repo)}/${segment(existing.uuid)}`, desired, signal);
        return { id: existing.uuid, action: "updated" };
      }
      const created = (await client.call("POST", hooksPath(repo), desired, signal)) as CloudHook;
      if (typeof created?.uuid !== "string")
        throw new ProviderApiError("the created hook's answer has no uuid");
      return { id: created.uuid, action: "created" };
    },
    async remove(repo, id, signal) {
      try {
        await client.call("DELETE", `${hooksPath(repo)}/${segment(id)}`, undefined, signal);
      } catch (err) {
        // Already deleted (by hand, or by another replica): what stop wanted.
        if (!(err instanceof ProviderApiError && err.status === 404)) throw err;
      }
    },
  };
}

/**
 * Every hook of a repository: Bitbucket Cloud pages its lists (`values`, and `next` with the
 * full URL of the next page). A `next` on another origin is not followed (it would get the
 * credentials).
 */
async function listCloudHooks(
  client: ApiClient,
  first: string,
  base: string,
  signal: AbortSignal,
): Promise<CloudHook[]> {
  const origin = new URL(base).origin;
  const out: CloudHook[] = [];
  let next: string | undefined = first;
  for (let page = 0; next !== undefined; page++) {
    if (page >= 100) throw new ProviderApiError("more than 100 pages of hooks: stopped listing");
    const body = (await client.call("GET", next, undefined, signal)) as {
      values?: unknown;
      next?: unknown;
    };
    if (!Array.isArray(body?.values))
      throw new ProviderApiError(`GET ${first}: the answer has no "values" list`);
    out.push(...(body.values as CloudHook[]));
    next = typeof body.next === "string" && body.next !== "" ? body.next : undefined;
    if (next !== undefined && new URL(next, base).origin !== origin)
      throw new ProviderApiError(`GET ${first}: "next" points to another origin: not followed`);
    if (next !== undefined) next = new URL(next, base).toString();
  }
  return out;
}

async function handle(
  eventName: string,
  spec: BitbucketEventSpec,
  secret: Buffer | undefined,
  req: FastifyRequest,
  reply: FastifyReply,
  raw: Buffer,
  ctx: AdapterContext,
): Promise<FastifyReply> {
  const log = () => ctx.log.child({ eventName });
  const h = req.headers;
  const eventKey = firstHeader(h["x-event-key"]) ?? "";
  const request = firstHeader(h["x-request-uuid"]) ?? "";
  const wrongMethod = refuseMethod(spec.webhook?.method, req, reply);
  if (wrongMethod) return wrongMethod;
  const logFields = { request, eventKey };
  const unsigned = refuseUnsigned(secret, {
    ctx,
    eventName,
    provider: "Bitbucket",
    req,
    reply,
    raw,
    logFields,
  });
  if (unsigned) return unsigned;
  const unlisted = refuseUnlistedEvent(spec.events, eventKey, reply, log, { request });
  if (unlisted) return unlisted;
  // A verified delivery's X-Request-UUID is the event id (the same delivery is stored once). On an
  // unverified route the sender picks it, so it is not trusted, as for the other webhook kinds.
  return recordJsonDelivery({
    ctx,
    eventName,
    req,
    reply,
    raw,
    metadata: spec.metadata,
    id: trustedDeliveryId(request, secret !== undefined, spec.webhook),
    logFields,
  });
}

/** The registry's entry point. */
export function createAdapter(): EventSourceAdapter<BitbucketEventSpec> {
  return bitbucketAdapter;
}
