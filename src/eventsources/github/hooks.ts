import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import type { Logger } from "../../observability/logger.js";
import type { HookAction, HookTarget, ProviderHooks } from "../webhook/hook-manager.js";

/** The one place the GitHub SDK (@octokit/rest, @octokit/auth-app) is imported. */

export interface GithubTarget extends HookTarget {
  owner: string;
  /** Absent: the organization `owner`'s hook. */
  repo?: string;
}

/** How the client authenticates: Argo's TokenAuthStrategy or AppsAuthStrategy. */
export type GithubCredentials =
  | { token: string }
  | { appId: number; installationId: number; privateKey: string };

/** The hook as Argo's start.go builds it (go-github's Hook). */
export interface GithubHookConfig {
  url: string;
  events: string[];
  active: boolean;
  contentType?: string;
  insecure: boolean;
  secret?: string;
}

const TIMEOUT_MS = 10_000;

interface Hook {
  id: number;
  events?: string[];
  active?: boolean;
  config?: { url?: string; content_type?: string; insecure_ssl?: string | number };
}

/**
 * Registration through the GitHub REST API: `baseUrl` is `githubBaseURL` (GitHub Enterprise,
 * `https://ghe.example.com/api/v3/`) or api.github.com. A GitHub App's key signs a JWT (RS256)
 * exchanged for an installation token at `POST /app/installations/{id}/access_tokens`, renewed
 * before it expires, by @octokit/auth-app.
 */
export function githubHooks(options: {
  credentials: GithubCredentials;
  baseUrl: string | undefined;
  hook: GithubHookConfig;
  log: Logger;
}): ProviderHooks<GithubTarget> {
  const { credentials, hook } = options;
  const baseUrl = (options.baseUrl || "https://api.github.com").replace(/\/+$/, "");
  const sdkLog = {
    debug: () => {},
    info: () => {},
    // Failures are logged by the hook manager, with the target; auth-app's warnings hold no token.
    warn: (message: string) => options.log.warn(message),
    error: () => {},
  };
  const octokit =
    "token" in credentials
      ? new Octokit({ auth: credentials.token, baseUrl, log: sdkLog, userAgent: "sensorbus" })
      : new Octokit({
          authStrategy: createAppAuth,
          auth: {
            appId: credentials.appId,
            installationId: credentials.installationId,
            privateKey: credentials.privateKey,
          },
          baseUrl,
          log: sdkLog,
          userAgent: "sensorbus",
        });
  const request = () => ({ signal: AbortSignal.timeout(TIMEOUT_MS) });
  const config = {
    url: hook.url,
    ...(hook.contentType ? { content_type: hook.contentType } : {}),
    insecure_ssl: hook.insecure ? "1" : "0",
    ...(hook.secret ? { secret: hook.secret } : {}),
  };
  const body = { config, events: hook.events, active: hook.active };

  async function list(t: GithubTarget): Promise<Hook[]> {
    return t.repo === undefined
      ? ((await octokit.paginate(octokit.rest.orgs.listWebhooks, {
          org: t.owner,
          per_page: 100,
          request: request(),
        })) as Hook[])
      : ((await octokit.paginate(octokit.rest.repos.listWebhooks, {
          owner: t.owner,
          repo: t.repo,
          per_page: 100,
          request: request(),
        })) as Hook[]);
  }

  /** What GitHub shows of a hook (never its secret) differs from the entry's. */
  const differs = (h: Hook) =>
    h.active !== hook.active ||
    String(h.config?.insecure_ssl ?? "0") !== config.insecure_ssl ||
    (hook.contentType !== undefined && h.config?.content_type !== hook.contentType) ||
    !sameSet(h.events ?? [], hook.events);

  return {
    async ensure(t, refresh): Promise<{ id: number; action: HookAction }> {
      const existing = (await list(t)).find((h) => h.config?.url === hook.url);
      if (existing && !refresh && !differs(existing))
        return { id: existing.id, action: "unchanged" };
      if (existing) {
        if (t.repo === undefined)
          await octokit.rest.orgs.updateWebhook({
            org: t.owner,
            hook_id: existing.id,
            ...body,
            request: request(),
          });
        else
          await octokit.rest.repos.updateWebhook({
            owner: t.owner,
            repo: t.repo,
            hook_id: existing.id,
            ...body,
            request: request(),
          });
        return { id: existing.id, action: "updated" };
      }
      const created =
        t.repo === undefined
          ? await octokit.rest.orgs.createWebhook({
              org: t.owner,
              name: "web",
              ...body,
              request: request(),
            })
          : await octokit.rest.repos.createWebhook({
              owner: t.owner,
              repo: t.repo,
              name: "web",
              ...body,
              request: request(),
            });
      return { id: created.data.id, action: "created" };
    },
    async remove(t, id) {
      if (t.repo === undefined)
        await octokit.rest.orgs.deleteWebhook({ org: t.owner, hook_id: id, request: request() });
      else
        await octokit.rest.repos.deleteWebhook({
          owner: t.owner,
          repo: t.repo,
          hook_id: id,
          request: request(),
        });
    },
    describe: describeGithubError,
  };
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));

/**
 * `401 Bad credentials (POST /app/installations/7/access_tokens)`: the status and GitHub's message
 * (with a 422's `errors`), the request it answered; never a header, so never a token.
 */
export function describeGithubError(err: unknown): string {
  const e = err as {
    name?: string;
    status?: number;
    message?: string;
    request?: { method?: string; url?: string };
    response?: { data?: unknown };
  };
  const where = e.request?.url
    ? ` (${e.request.method ?? ""} ${safePath(e.request.url)})`.replace("( ", "(")
    : "";
  if (e.name === "TimeoutError" || e.name === "AbortError")
    return `no answer within ${TIMEOUT_MS / 1000}s${where}`;
  if (e.response && typeof e.status === "number") {
    const data = e.response.data as
      | { message?: unknown; errors?: Array<{ message?: string; code?: string; field?: string }> }
      | string
      | undefined;
    let message = typeof data === "object" && data !== null ? String(data.message ?? "") : "";
    if (typeof data === "string") message = data.slice(0, 200);
    const errors =
      typeof data === "object" && data !== null && Array.isArray(data.errors)
        ? data.errors
            .map((x) => x.message ?? [x.field, x.code].filter(Boolean).join(" "))
            .filter(Boolean)
        : [];
    return `HTTP ${e.status} ${message}${errors.length > 0 ? `: ${errors.join("; ")}` : ""}${where}`.trim();
  }
  return `request failed: ${e.message ?? String(err)}${where}`;
}

/** The path of a request URL, without its query (never holds a credential, but nor is it needed). */
function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split("?")[0] ?? "";
  }
}
