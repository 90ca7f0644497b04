import { GroupHooks, ProjectHooks } from "@gitbeaker/rest";
import type { HookAction, HookTarget, ProviderHooks } from "../webhook/hook-manager.js";

/** The one place the GitLab SDK (@gitbeaker/rest) is imported. */

export interface GitlabTarget extends HookTarget {
  type: "project" | "group";
  /** A numeric id or a path (`group/project`), as Argo's projects/groups. */
  id: string;
}

/** The hook as Argo's start.go builds it (go-gitlab's AddProjectHookOptions). */
export interface GitlabHookConfig {
  url: string;
  /** `push_events`, `merge_requests_events`, ...: each GitLab flag Argo sends, true or false. */
  flags: Record<string, boolean>;
  enableSSLVerification: boolean;
  token?: string;
}

const TIMEOUT_MS = 10_000;

type Hook = Record<string, unknown> & { id: number; url?: string };

/**
 * Registration through the GitLab REST API v4 at `gitlabBaseURL` (`https://gitlab.com`, or a
 * self-managed host; a trailing `/api/v4` is accepted), with the access token in `PRIVATE-TOKEN`.
 */
export function gitlabHooks(options: {
  token: string;
  baseUrl: string;
  hook: GitlabHookConfig;
}): ProviderHooks<GitlabTarget> {
  const { hook } = options;
  const host = options.baseUrl.replace(/\/+$/, "").replace(/\/api\/v4$/, "");
  const sdk = { host, token: options.token, queryTimeout: TIMEOUT_MS };
  const projects = new ProjectHooks(sdk);
  const groups = new GroupHooks(sdk);
  const api = (t: GitlabTarget) => (t.type === "project" ? projects : groups);
  const body = {
    ...hook.flags,
    enable_ssl_verification: hook.enableSSLVerification,
    ...(hook.token ? { token: hook.token } : {}),
  };

  /** What GitLab shows of a hook (never its token) differs from the entry's. */
  const differs = (h: Hook) =>
    h.enable_ssl_verification !== hook.enableSSLVerification ||
    Object.entries(hook.flags).some(([flag, on]) => flag in h && h[flag] !== on);

  return {
    async ensure(t, refresh): Promise<{ id: number; action: HookAction }> {
      // `all` follows GitLab's pagination (Link rel="next", the X-Next-Page page) to the end.
      const hooks = (await api(t).all(t.id, { perPage: 100 })) as unknown as Hook[];
      const existing = hooks.find((h) => h.url === hook.url);
      if (existing && !refresh && !differs(existing))
        return { id: existing.id, action: "unchanged" };
      if (existing) {
        await api(t).edit(t.id, existing.id, hook.url, body);
        return { id: existing.id, action: "updated" };
      }
      const created = (await api(t).add(t.id, hook.url, body)) as unknown as Hook;
      return { id: created.id, action: "created" };
    },
    async remove(t, id) {
      await api(t).remove(t.id, id);
    },
    describe: describeGitlabError,
  };
}

/**
 * `HTTP 404 404 Project Not Found (GET /api/v4/projects/a%2Fb/hooks)`: the status and GitLab's
 * message, the request it answered; never a header, so never the token.
 */
export function describeGitlabError(err: unknown): string {
  const e = err as {
    name?: string;
    message?: string;
    cause?: {
      description?: string;
      request?: { method?: string; url?: string };
      response?: { status?: number };
      code?: string;
      message?: string;
    };
  };
  const req = e.cause?.request;
  const where = req?.url ? ` (${req.method ?? ""} ${new URL(req.url).pathname})` : "";
  if (e.name === "GitbeakerTimeoutError") return `no answer within ${TIMEOUT_MS / 1000}s`;
  const status = e.cause?.response?.status;
  if (e.name === "GitbeakerRequestError" && typeof status === "number")
    return `HTTP ${status} ${(e.cause?.description ?? e.message ?? "").slice(0, 300)}${where}`;
  if (e.name === "GitbeakerRetryError") return String(e.message);
  // fetch: TypeError "fetch failed" with the socket error (ECONNREFUSED, ENOTFOUND) as cause.
  const cause = e.cause?.code ?? e.cause?.message;
  return `request failed: ${e.message ?? String(err)}${cause ? ` (${cause})` : ""}`;
}
