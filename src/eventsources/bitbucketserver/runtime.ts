import type { FastifyReply, FastifyRequest } from "fastify";
import { ConfigError, errorMessage } from "../../errors.js";
import { parseGoDuration } from "../../lib/duration.js";
import type { Logger } from "../../observability/logger.js";
import {
  type ApiClient,
  type ApiTls,
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
  compactJsonBody,
  firstHeader,
  providerRoute,
  recordDeliveries,
  refuseMethod,
  trustedDeliveryId,
} from "../webhook/delivery.js";
import { hookUrl } from "../webhook/index.js";
import type { Route } from "../webhook/runtime.js";
import { decodeRefsChanged, RefsChangedDecodeError } from "./refs-changed.js";
import {
  type BitbucketServerEventSpec,
  DEFAULT_CHECK_INTERVAL,
  registersServerHooks,
  serverRepositories,
} from "./schema.js";

/** The `name` of the hooks sensorbus registers (Argo: "Argo Events"; found by URL either way). */
export const SERVER_HOOK_NAME = "sensorbus";
/** Page size of the repository and pull request listings (Argo's). */
const PAGE_LIMIT = 500;

interface Entry {
  eventName: string;
  spec: BitbucketServerEventSpec;
  secret: Buffer | undefined;
  /** With accessToken: the REST client (hooks, open pull requests). */
  api: { client: ApiClient; base: string } | undefined;
}

/**
 * Argo's Bitbucket Server EventSource (pkg/eventsources/sources/bitbucketserver/start.go): the
 * route of `webhook` on the webhook kind's server machinery; `X-Hub-Signature` verified with
 * `webhookSecret` before anything is stored; `repo:refs_changed` bodies decoded as Argo does
 * (`skipBranchRefsChangedOnOpenPR`, `oneEventPerChange`); the payload as Argo builds it; with
 * `accessToken` and `webhook.url`, a hook on each repository (and each repository of `projects`),
 * re-checked every `checkInterval`, deleted on stop with `deleteHookOnFinish`.
 */
export const bitbucketServerAdapter: EventSourceAdapter<BitbucketServerEventSpec> = {
  key: "bitbucketserver",
  ceType: "bitbucketserver",
  async start(entries, ctx): Promise<RunningAdapter> {
    const routes: Route[] = [];
    const hooks: Array<() => HookManager> = [];
    const clients: ApiClient[] = [];
    try {
      for (const { eventName, spec } of entries) {
        const entry = await prepare(eventName, spec, ctx);
        if (entry.api) clients.push(entry.api.client);
        routes.push(
          await providerRoute(
            ctx,
            eventName,
            spec.webhook!,
            `/spec/bitbucketserver/${eventName}`,
            (req, reply, raw) => handle(entry, req, reply, raw, ctx),
          ),
        );
        if (entry.api && registersServerHooks(spec)) {
          const provider = serverHooks(spec, entry.api.client, entry.api.base, entry.secret);
          const intervalMs = parseGoDuration(spec.checkInterval || DEFAULT_CHECK_INTERVAL);
          hooks.push(() =>
            manageHooks(provider, {
              ctx,
              eventName,
              deleteOnFinish: spec.deleteHookOnFinish === true,
              intervalMs,
            }),
          );
        } else {
          ctx.log.info(
            { eventName },
            "no accessToken, webhook.url or repositories/projects: the Bitbucket Server hook is not registered",
          );
        }
      }
    } catch (err) {
      await closeClients(clients);
      throw err;
    }
    return serveWithHooks("bitbucketserver", { routes, hooks, clients }, ctx);
  },
};

/** Reads an entry's secrets and checks what start needs, naming the field that is wrong. */
async function prepare(
  eventName: string,
  spec: BitbucketServerEventSpec,
  ctx: AdapterContext,
): Promise<Entry> {
  const at = `/spec/bitbucketserver/${eventName}`;
  const fail = (field: string, why: string) =>
    new ConfigError(`EventSource ${ctx.eventSourceName}: ${at}/${field}: ${why}`);
  if (!spec.webhook) throw fail("webhook", "is required");
  let intervalOk = true;
  try {
    intervalOk = parseGoDuration(spec.checkInterval || DEFAULT_CHECK_INTERVAL) > 0;
  } catch (err) {
    throw fail(
      "checkInterval",
      `failed to parse webhook check interval duration: ${errorMessage(err)}`,
    );
  }
  if (!intervalOk) throw fail("checkInterval", `'${spec.checkInterval}' must be positive`);
  const secret = await readWebhookSecret(ctx, spec.webhookSecret, at);
  let api: Entry["api"];
  if (spec.accessToken) {
    const base = trimBase(spec.bitbucketserverBaseURL ?? "");
    if (!/^https?:\/\/[^/]/i.test(base))
      throw fail("bitbucketserverBaseURL", `'${base}' is not an http(s) URL`);
    const token = await ctx.values.secret(spec.accessToken, `${at}/accessToken`);
    const tls = await tlsMaterial(spec, at, ctx);
    api = {
      base,
      client: apiClient({
        authorization: `Bearer ${token}`,
        // What Argo's client (gfleury/go-bitbucket-v1) sends: Bitbucket's XSRF check opt-out.
        headers: { "x-atlassian-token": "no-check", "x-requested-with": "XMLHttpRequest" },
        ...(tls ? { tls } : {}),
      }),
    };
  }
  return {
    eventName,
    spec,
    secret,
    api,
  };
}

/** `tls` of the API client (Argo: the bitbucketserver client's TLS configuration). */
async function tlsMaterial(
  spec: BitbucketServerEventSpec,
  at: string,
  ctx: AdapterContext,
): Promise<ApiTls | undefined> {
  const tls = spec.tls;
  if (!tls) return undefined;
  const out: ApiTls = { insecureSkipVerify: tls.insecureSkipVerify === true };
  if (tls.caCertSecret)
    out.ca = await ctx.values.secret(tls.caCertSecret, `${at}/tls/caCertSecret`);
  if (tls.clientCertSecret)
    out.cert = await ctx.values.secret(tls.clientCertSecret, `${at}/tls/clientCertSecret`);
  if (tls.clientKeySecret)
    out.key = await ctx.values.secret(tls.clientKeySecret, `${at}/tls/clientKeySecret`);
  if ((out.cert === undefined) !== (out.key === undefined))
    throw new ConfigError(
      `EventSource ${ctx.eventSourceName}: ${at}/tls: invalid tls config, both clientCertSecret and clientKeySecret need to be configured`,
    );
  return out;
}

interface ServerRepo extends HookRepo {
  projectKey: string;
  slug: string;
}

/** A webhook as Bitbucket Server lists it (fields sensorbus reads). */
interface ServerHook {
  id?: unknown;
  url?: unknown;
  events?: unknown;
  configuration?: { secret?: unknown } | null;
}

/** A page of a Bitbucket Server listing. */
interface Page {
  values?: unknown;
  isLastPage?: unknown;
  nextPageStart?: unknown;
}

/**
 * Every value of a Bitbucket Server listing: pages of `values` until `isLastPage`, the next one
 * at `start=<nextPageStart>`. A page that does not move forward ends it with an error.
 */
async function listAll<T>(
  client: ApiClient,
  url: string,
  signal: AbortSignal,
  limit?: number,
): Promise<T[]> {
  const out: T[] = [];
  let start = 0;
  for (;;) {
    const page = new URL(url);
    page.searchParams.set("start", String(start));
    if (limit !== undefined) page.searchParams.set("limit", String(limit));
    const body = (await client.call("GET", page.toString(), undefined, signal)) as Page;
    if (!Array.isArray(body?.values))
      throw new ProviderApiError(`GET ${url}: the answer has no "values" list`);
    out.push(...(body.values as T[]));
    if (body.isLastPage !== false) return out;
    const next = body.nextPageStart;
    if (typeof next !== "number" || next <= start)
      throw new ProviderApiError(
        `GET ${url}: isLastPage is false but nextPageStart does not advance`,
      );
    start = next;
  }
}

/** Hook management on Bitbucket Server: /api/1.0/projects/{key}/repos/{slug}/webhooks. */
export function serverHooks(
  spec: BitbucketServerEventSpec,
  client: ApiClient,
  base: string,
  secret: Buffer | undefined,
): HookProvider<ServerRepo> {
  const url = hookUrl(spec.webhook);
  const events = spec.events ?? [];
  const secretText = secret?.toString("utf8") ?? "";
  const repoPath = (projectKey: string, slug: string) =>
    `${base}/api/1.0/projects/${segment(projectKey)}/repos/${segment(slug)}`;
  const repo = (projectKey: string, slug: string): ServerRepo => ({
    key: `${projectKey},${slug}`,
    label: `${projectKey}/${slug}`,
    projectKey,
    slug,
  });
  // Argo leaves `configuration` out without a secret (Bitbucket answers 500 to an empty one).
  const desired = {
    name: SERVER_HOOK_NAME,
    url,
    active: true,
    events,
    ...(secretText !== "" ? { configuration: { secret: secretText } } : {}),
  };
  return {
    name: "Bitbucket Server",
    async repositories(signal) {
      const out = new Map<string, ServerRepo>();
      for (const r of serverRepositories(spec) ?? []) {
        const one = repo(r.projectKey ?? "", r.repositorySlug ?? "");
        out.set(one.key, one);
      }
      for (const project of spec.projects ?? []) {
        const listed = await listAll<{ slug?: unknown; project?: { key?: unknown } }>(
          client,
          `${base}/api/1.0/projects/${segment(project)}/repos`,
          signal,
          PAGE_LIMIT,
        ).catch((err: unknown) => {
          throw new ProviderApiError(
            `listing the repositories of project ${project}: ${errorMessage(err)}`,
          );
        });
        for (const r of listed) {
          const key = typeof r.project?.key === "string" ? r.project.key : project;
          if (typeof r.slug === "string") {
            const one = repo(key, r.slug);
            out.set(one.key, one);
          }
        }
      }
      return [...out.values()];
    },
    async apply(r, signal) {
      const hooksUrl = `${repoPath(r.projectKey, r.slug)}/webhooks`;
      const existing = (await listAll<ServerHook>(client, hooksUrl, signal)).find(
        (h) => h.url === url,
      );
      if (existing && (typeof existing.id === "number" || typeof existing.id === "string")) {
        const id = String(existing.id);
        // Argo's shouldUpdateWebhook: other events, or another secret.
        const same =
          sameEvents(existing.events as unknown[], events) &&
          String(existing.configuration?.secret ?? "") === secretText;
        if (same) return { id, action: "unchanged" };
        await client.call("PUT", `${hooksUrl}/${segment(id)}`, desired, signal);
        return { id, action: "updated" };
      }
      const created = (await client.call("POST", hooksUrl, desired, signal)) as ServerHook;
      if (typeof created?.id !== "number" && typeof created?.id !== "string")
        throw new ProviderApiError("the created webhook's answer has no id");
      return { id: String(created.id), action: "created" };
    },
    async remove(r, id, signal) {
      try {
        await client.call(
          "DELETE",
          `${repoPath(r.projectKey, r.slug)}/webhooks/${segment(id)}`,
          undefined,
          signal,
        );
      } catch (err) {
        if (!(err instanceof ProviderApiError && err.status === 404)) throw err;
      }
    },
  };
}

/** Argo's refsChangedHasOpenPullRequest: any pull request of the commit in state OPEN. */
async function hasOpenPullRequest(
  api: NonNullable<Entry["api"]>,
  projectKey: string,
  slug: string,
  commit: string,
  signal: AbortSignal,
): Promise<boolean> {
  const prs = await listAll<{ state?: unknown }>(
    api.client,
    `${api.base}/api/1.0/projects/${segment(projectKey)}/repos/${segment(slug)}/commits/${segment(commit)}/pull-requests`,
    signal,
    PAGE_LIMIT,
  );
  return prs.some((pr) => typeof pr.state === "string" && pr.state.toUpperCase() === "OPEN");
}

async function handle(
  entry: Entry,
  req: FastifyRequest,
  reply: FastifyReply,
  raw: Buffer,
  ctx: AdapterContext,
): Promise<FastifyReply> {
  const { eventName, spec } = entry;
  const text = (code: number, body: string) => reply.code(code).type("text/plain").send(body);
  const log = (): Logger => ctx.log.child({ eventName });
  const h = req.headers;
  const eventKey = firstHeader(h["x-event-key"]) ?? "";
  const request = firstHeader(h["x-request-id"]) ?? "";
  const wrongMethod = refuseMethod(spec.webhook?.method, req, reply);
  if (wrongMethod) return wrongMethod;
  const unsigned = refuseUnsigned(entry.secret, {
    ctx,
    eventName,
    provider: "Bitbucket Server",
    req,
    reply,
    raw,
    logFields: { request, eventKey },
  });
  if (unsigned) return unsigned;
  const unlisted = refuseUnlistedEvent(spec.events, eventKey, reply, log, { request });
  if (unlisted) return unlisted;
  const body = compactJsonBody(raw);
  if ("error" in body) return text(400, `invalid JSON body: ${body.error}`);
  // A verified delivery's X-Request-Id is the dedupe key (the same delivery is stored once).
  const id = trustedDeliveryId(request, entry.secret !== undefined, spec.webhook);
  let events: Array<{ bodyJson: string; id: string | undefined }> = [{ bodyJson: body.json, id }];
  if (eventKey === "repo:refs_changed") {
    const split = await refsChangedEvents(entry, body.json, id, log, ctx.signal);
    if ("status" in split) return text(split.status, split.message);
    events = split.events;
  }
  return recordDeliveries({
    ctx,
    eventName,
    req,
    reply,
    events,
    metadata: spec.metadata,
    logFields: { request, eventKey },
  });
}

/**
 * Argo's processBitbucketServerWebhook for `repo:refs_changed`: the body decoded into its struct
 * (a type mismatch is an error); with skipBranchRefsChangedOnOpenPR, branch changes (not deletes)
 * whose new commit has an open pull request are dropped, and no change left means no event; with
 * oneEventPerChange, one event per change left, re-encoded as Go does; otherwise the body as sent
 * (with every change, as Argo does, even when some were dropped).
 */
async function refsChangedEvents(
  entry: Entry,
  bodyJson: string,
  id: string | undefined,
  log: () => Logger,
  signal: AbortSignal,
): Promise<
  | { events: Array<{ bodyJson: string; id: string | undefined }> }
  | { status: number; message: string }
> {
  const { spec } = entry;
  let refs: ReturnType<typeof decodeRefsChanged>;
  try {
    refs = decodeRefsChanged(JSON.parse(bodyJson));
  } catch (err) {
    if (!(err instanceof RefsChangedDecodeError)) throw err;
    return { status: 400, message: `decoding repo:refs_changed webhook: ${err.message}` };
  }
  let kept = refs.changes.map((_, i) => i);
  if (spec.skipBranchRefsChangedOnOpenPR === true) {
    const api = entry.api;
    if (!api) {
      log().error(
        "skipBranchRefsChangedOnOpenPR needs accessToken to look up pull requests: delivery not recorded",
      );
      return {
        status: 500,
        message: "skipBranchRefsChangedOnOpenPR needs accessToken: delivery not recorded",
      };
    }
    const next: number[] = [];
    for (const i of kept) {
      const c = refs.changes[i]!;
      if (c.ref.type !== "BRANCH" || c.type === "DELETE") {
        next.push(i);
        continue;
      }
      try {
        if (
          !(await hasOpenPullRequest(api, refs.projectKey, refs.repositorySlug, c.toHash, signal))
        )
          next.push(i);
      } catch (err) {
        const why = `checking open pull requests of ${refs.projectKey}/${refs.repositorySlug} commit ${c.toHash} failed: ${errorMessage(err)}`;
        log().error({ repository: `${refs.projectKey}/${refs.repositorySlug}` }, why);
        return { status: 502, message: `${why}; delivery not recorded` };
      }
    }
    kept = next;
    if (kept.length === 0) return { events: [] };
  }
  if (spec.oneEventPerChange === true)
    return {
      events: kept.map((i) => ({
        bodyJson: refs.encodeWith([i]),
        id: id === undefined ? undefined : `${id}/${i}`,
      })),
    };
  return { events: [{ bodyJson, id }] };
}

/** The registry's entry point. */
export function createAdapter(): EventSourceAdapter<BitbucketServerEventSpec> {
  return bitbucketServerAdapter;
}
