import type { IncomingMessage, ServerResponse } from "node:http";
import { FakeJsonApi } from "./fake-json-api.js";

/**
 * A fake GitLab REST API v4 (real HTTP) for hook registration, as GitLab documents it
 * (docs.gitlab.com/api/project_webhooks, /api/group_webhooks, /api/rest#pagination):
 *
 * - `GET|POST /api/v4/projects/:id/hooks`, `PUT|DELETE /api/v4/projects/:id/hooks/:hook_id`, and the
 *   same under `/groups/:id`; `:id` a number or a URL-encoded path (`group%2Fproject`);
 * - `PRIVATE-TOKEN` checked (401 `{"message":"401 Unauthorized"}` otherwise); an unknown project
 *   or group is 404 `{"message":"404 Project Not Found"}` / `404 Group Not Found`;
 * - offset pagination: `page`, `per_page` (default 20, max 100), answered with `X-Page`,
 *   `X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page`, `X-Prev-Page` and a `Link` header;
 * - scripted failures (`failWhen`, matched on the path from `/api/v4`);
 * - a hook without `url` is 400 `{"error":"url is missing"}`; the `token` is kept, never shown.
 */

export type FakeGitlabHook = Record<string, unknown> & { id: number; url: string };

export interface RecordedRequest {
  method: string;
  path: string;
  privateToken: string | undefined;
  body: Record<string, unknown> | undefined;
  query: string;
}

export class FakeGitlabApi extends FakeJsonApi {
  readonly requests: RecordedRequest[] = [];
  /** "project:<id or path>" / "group:<id or path>" → hooks. */
  readonly hooks = new Map<string, FakeGitlabHook[]>();
  private readonly tokens = new Set<string>();
  private nextId = 100;

  addToken(token: string): this {
    this.tokens.add(token);
    return this;
  }

  addProject(id: string, hooks: Array<Partial<FakeGitlabHook>> = []): this {
    this.hooks.set(
      `project:${id}`,
      hooks.map((h) => this.hook(h)),
    );
    return this;
  }

  addGroup(id: string, hooks: Array<Partial<FakeGitlabHook>> = []): this {
    this.hooks.set(
      `group:${id}`,
      hooks.map((h) => this.hook(h)),
    );
    return this;
  }

  private hook(h: Partial<FakeGitlabHook>): FakeGitlabHook {
    return {
      push_events: true,
      enable_ssl_verification: true,
      created_at: new Date().toISOString(),
      ...h,
      id: typeof h.id === "number" ? h.id : this.nextId++,
      url: String(h.url ?? ""),
    };
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) =>
      this.send(res, status, body, headers);
    // GitLab decodes the encoded path of :id; the raw path keeps %2F as one segment.
    const raw = (req.url ?? "/").split("?")[0]!;
    let body: Record<string, unknown> | undefined;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      return send(400, { error: "400 Bad request - JSON parse error" });
    }
    const privateToken = headerValue(req.headers["private-token"]);
    this.requests.push({
      method: req.method ?? "",
      path: raw,
      privateToken,
      body,
      query: url.search,
    });
    const failure = this.failureFor(raw, req.method);
    if (failure) return send(failure.status, failure.body);
    const m = /^\/api\/v4\/(projects|groups)\/([^/]+)\/hooks(?:\/(\d+))?$/.exec(raw);
    if (!m) return send(404, { error: "404 Not Found" });
    if (!privateToken || !this.tokens.has(privateToken))
      return send(401, { message: "401 Unauthorized" });
    const type = m[1] === "projects" ? "project" : "group";
    const id = decodeURIComponent(m[2]!);
    const hooks = this.hooks.get(`${type}:${id}`);
    if (!hooks)
      return send(404, { message: `404 ${type === "project" ? "Project" : "Group"} Not Found` });
    const shown = (h: FakeGitlabHook) => {
      const { token: _token, ...rest } = h;
      return { ...rest, [`${type}_id`]: id };
    };

    if (m[3] === undefined && req.method === "GET") {
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 20) || 20, 100);
      const page = Math.max(Number(url.searchParams.get("page") ?? 1) || 1, 1);
      const total = hooks.length;
      const pages = Math.max(Math.ceil(total / perPage), 1);
      const link = (p: number, rel: string) => {
        const u = new URL(`${this.url}${raw}`);
        u.searchParams.set("page", String(p));
        u.searchParams.set("per_page", String(perPage));
        return `<${u}>; rel="${rel}"`;
      };
      const links = [
        ...(page > 1 ? [link(page - 1, "prev")] : []),
        ...(page < pages ? [link(page + 1, "next")] : []),
        link(1, "first"),
        link(pages, "last"),
      ];
      return send(200, hooks.slice((page - 1) * perPage, page * perPage).map(shown), {
        "x-page": String(page),
        "x-per-page": String(perPage),
        "x-total": String(total),
        "x-total-pages": String(pages),
        "x-next-page": page < pages ? String(page + 1) : "",
        "x-prev-page": page > 1 ? String(page - 1) : "",
        link: links.join(", "),
      });
    }
    if (m[3] === undefined && req.method === "POST") {
      if (!body?.url) return send(400, { error: "url is missing" });
      const hook = this.hook(body as Partial<FakeGitlabHook>);
      hooks.push(hook);
      return send(201, shown(hook));
    }
    const hook = hooks.find((h) => h.id === Number(m[3]));
    if (!hook) return send(404, { message: "404 Not found" });
    if (req.method === "PUT") {
      if (!body?.url) return send(400, { error: "url is missing" });
      Object.assign(hook, body, { id: hook.id });
      return send(200, shown(hook));
    }
    if (req.method === "DELETE") {
      hooks.splice(hooks.indexOf(hook), 1);
      return send(204);
    }
    if (req.method === "GET") return send(200, shown(hook));
    return send(405, { message: "405 Method Not Allowed" });
  }
}

const headerValue = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
