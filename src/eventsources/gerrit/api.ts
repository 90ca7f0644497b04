import { request } from "../../clients/http.js";

/** A hook (remote) of Gerrit's webhooks plugin, as Argo's ProjectHookConfigs encodes it. */
export interface ProjectHook {
  url?: string;
  events?: string[];
  connectionTimeout?: string;
  socketTimeout?: string;
  maxTries?: number;
  retryInterval?: string;
  sslVerify?: boolean;
}

/** A Gerrit REST API answer that was not 2xx: the status and what Gerrit said. */
export class GerritApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "GerritApiError";
  }
}

/** Gerrit prefixes JSON answers with `)]}'` against XSSI (REST API docs, "Output"). */
const XSSI_PREFIX = ")]}'";

/** Go's url.QueryEscape, which Argo applies to project and hook names in the path. */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/**
 * The webhooks plugin's project REST API as Argo's hook_util.go calls it (through go-gerrit):
 * `/a/config/server/webhooks~projects/<project>/remotes/[<name>/]` under the base URL, HTTP basic
 * auth (hence the `/a/` prefix), JSON bodies, `)]}'` removed from answers. There is no maintained
 * Gerrit client for Node: this is plain HTTP with undici.
 */
export class GerritHooks {
  private readonly base: string;
  private readonly authorization: string;

  constructor(baseURL: string, username: string, password: string) {
    this.base = baseURL.endsWith("/") ? baseURL : `${baseURL}/`;
    this.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  }

  private path(project: string, name?: string): string {
    const remote = name === undefined ? "" : `${goQueryEscape(name)}/`;
    return `${this.base}a/config/server/webhooks~projects/${goQueryEscape(project)}/remotes/${remote}`;
  }

  private async call(method: string, url: string, body?: ProjectHook): Promise<unknown> {
    const res = await request(url, {
      method: method as "GET",
      headers: {
        accept: "application/json",
        "content-type": "application/json",
        authorization: this.authorization,
      },
      ...(body ? { body: `${JSON.stringify(body)}\n` } : {}),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) {
      const said = text.trim().slice(0, 200);
      throw new GerritApiError(
        res.statusCode,
        `${method} ${new URL(url).pathname} answered ${res.statusCode}${said ? `: ${said}` : ""}`,
      );
    }
    if (method === "DELETE" || text.trim() === "") return undefined;
    const json = text.startsWith(XSSI_PREFIX) ? text.slice(XSSI_PREFIX.length) : text;
    return JSON.parse(json);
  }

  /** The project's hooks by name. */
  async list(project: string): Promise<Record<string, ProjectHook>> {
    const out = await this.call("GET", this.path(project));
    return (out && typeof out === "object" ? out : {}) as Record<string, ProjectHook>;
  }

  /** Creates or replaces the hook `name` (PUT). */
  async put(project: string, name: string, hook: ProjectHook): Promise<void> {
    await this.call("PUT", this.path(project, name), hook);
  }

  async delete(project: string, name: string): Promise<void> {
    await this.call("DELETE", this.path(project, name));
  }
}
