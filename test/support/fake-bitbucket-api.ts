import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

/**
 * A fake Bitbucket Cloud REST API (`/2.0`) and Bitbucket Server REST API (`/rest/api/1.0`) on a
 * real loopback HTTP server, speaking what the providers document for hook management:
 *
 * Cloud: `GET|POST /2.0/repositories/{workspace}/{repo_slug}/hooks`, `PUT|DELETE .../hooks/{uid}`
 * (uid with its braces, URL-encoded), pages of `values` linked by a full-URL `next`, HTTP Basic
 * (username + app password) or Bearer auth, errors as `{"type":"error","error":{"message"}}`. A
 * hook's `secret` is taken on POST and PUT (null or empty: none; left out of a PUT: kept) and
 * never answered: hooks come back with `secret_set` only.
 *
 * Server: `GET|POST /rest/api/1.0/projects/{key}/repos/{slug}/webhooks`, `PUT|DELETE
 * .../webhooks/{id}`, `GET /rest/api/1.0/projects/{key}/repos`, `GET .../commits/{id}/pull-requests`,
 * pages `{values, size, limit, start, isLastPage, nextPageStart}` driven by `start`/`limit`,
 * Bearer auth (HTTP access token), errors as `{"errors":[{"context","message","exceptionName"}]}`.
 *
 * Every request is recorded (method, path, query, Authorization, other headers, body).
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  headers: IncomingMessage["headers"];
  body: unknown;
}

export interface CloudHook {
  uuid: string;
  url: string;
  description: string;
  active: boolean;
  events: string[];
  /** Held by the fake, never answered (answers carry `secret_set`). */
  secret?: string;
}

export interface ServerHook {
  id: number;
  name: string;
  url: string;
  active: boolean;
  events: string[];
  configuration: { secret?: string };
}

export interface FakeBitbucketOptions {
  /** Cloud credentials accepted: Basic user:password, or this Bearer token. */
  cloudUser?: { username: string; password: string };
  cloudToken?: string;
  /** Bitbucket Server HTTP access token. */
  serverToken?: string;
  /** Page sizes, small to make listings page. */
  cloudPageLen?: number;
  serverPageLimit?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

/** A Cloud hook as Bitbucket answers it: `secret_set`, never the secret. */
function cloudView(h: CloudHook): Record<string, unknown> {
  const { secret, ...shown } = h;
  return { ...shown, secret_set: secret !== undefined, subject_type: "repository" };
}

export class FakeBitbucketApi {
  readonly requests: RecordedRequest[] = [];
  /** Cloud hooks by "workspace/slug" (a repository exists when it has a list). */
  readonly cloudHooks = new Map<string, CloudHook[]>();
  /** Server hooks by "KEY/slug"; repositories of a project are the keys with its prefix. */
  readonly serverHooks = new Map<string, ServerHook[]>();
  /** Pull requests of a commit, by "KEY/slug/commit". */
  readonly pullRequests = new Map<string, Array<{ id: number; state: string }>>();
  /** Repositories ("workspace/slug" or "KEY/slug") the credentials may read but not administer. */
  readonly forbidden = new Set<string>();
  private server: Server | undefined;
  private nextId = 1;
  url = "";

  constructor(private readonly options: FakeBitbucketOptions = {}) {}

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.route(req, res, Buffer.concat(chunks).toString("utf8")));
    };
    const tls = this.options.tls;
    this.server = tls ? createHttpsServer(tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** The Cloud API base to give sensorbus (SENSORBUS_BITBUCKET_API_URL). */
  get cloudBase(): string {
    return `${this.url}/2.0`;
  }

  /** The Bitbucket Server REST base (`bitbucketserverBaseURL`, with /rest). */
  get serverBase(): string {
    return `${this.url}/rest`;
  }

  addCloudHook(repo: string, hook: Omit<CloudHook, "uuid">): CloudHook {
    const full = { uuid: `{${randomUUID()}}`, ...hook };
    this.cloudHooks.get(repo)!.push(full);
    return full;
  }

  addServerHook(repo: string, hook: Omit<ServerHook, "id">): ServerHook {
    const full = { id: this.nextId++, ...hook };
    this.serverHooks.get(repo)!.push(full);
    return full;
  }

  private route(req: IncomingMessage, res: ServerResponse, text: string): void {
    const u = new URL(req.url ?? "/", this.url);
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const method = req.method ?? "GET";
    this.requests.push({
      method,
      path: u.pathname,
      query: u.searchParams,
      authorization: req.headers.authorization,
      headers: req.headers,
      body,
    });
    const send = (status: number, value?: unknown) => {
      if (value === undefined) {
        res.writeHead(status).end();
        return;
      }
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    };
    const segments = u.pathname.split("/").slice(1).map(decodeURIComponent);
    if (segments[0] === "2.0") this.cloud(method, segments.slice(1), u, req, body, send);
    else if (segments[0] === "rest" && segments[1] === "api" && segments[2] === "1.0")
      this.bbs(method, segments.slice(3), u, req, body, send);
    else send(404, { message: `no route ${method} ${u.pathname}` });
  }

  private cloud(
    method: string,
    seg: string[],
    u: URL,
    req: IncomingMessage,
    body: unknown,
    send: (status: number, value?: unknown) => void,
  ): unknown {
    const error = (status: number, message: string) =>
      send(status, { type: "error", error: { message } });
    const auth = req.headers.authorization ?? "";
    const { cloudUser, cloudToken } = this.options;
    const basic = cloudUser
      ? `Basic ${Buffer.from(`${cloudUser.username}:${cloudUser.password}`).toString("base64")}`
      : undefined;
    if (auth !== basic && (cloudToken === undefined || auth !== `Bearer ${cloudToken}`))
      return error(401, "Invalid credentials");
    // repositories/{workspace}/{slug}/hooks[/{uid}]
    if (seg[0] !== "repositories" || seg[3] !== "hooks" || seg.length > 5)
      return error(404, "Resource not found");
    const repo = `${seg[1]}/${seg[2]}`;
    const hooks = this.cloudHooks.get(repo);
    if (!hooks) return error(404, `Repository ${repo} not found`);
    if (this.forbidden.has(repo))
      return error(403, "Your credentials lack one or more required privilege scopes.");
    const uid = seg[4];
    if (uid === undefined && method === "GET") {
      const pagelen = this.options.cloudPageLen ?? 10;
      const page = Number(u.searchParams.get("page") ?? "1");
      const values = hooks.slice((page - 1) * pagelen, page * pagelen);
      const last = page * pagelen >= hooks.length;
      return send(200, {
        pagelen,
        size: hooks.length,
        page,
        values: values.map(cloudView),
        ...(last ? {} : { next: `${this.url}${u.pathname}?page=${page + 1}` }),
      });
    }
    const b = body as (Partial<Omit<CloudHook, "secret">> & { secret?: unknown }) | undefined;
    if (b?.secret !== undefined && b.secret !== null && typeof b.secret !== "string")
      return error(400, "secret: expected a string");
    const secret = typeof b?.secret === "string" && b.secret !== "" ? b.secret : undefined;
    if (uid === undefined && method === "POST") {
      if (!b?.url || !Array.isArray(b.events) || b.events.length === 0)
        return error(400, "url and events are required");
      const hook = this.addCloudHook(repo, {
        url: b.url,
        description: b.description ?? "",
        active: b.active ?? true,
        events: b.events,
        ...(secret ? { secret } : {}),
      });
      return send(201, cloudView(hook));
    }
    const i = hooks.findIndex((h) => h.uuid === uid);
    if (uid !== undefined && i < 0) return error(404, `Webhook ${uid} not found`);
    if (uid !== undefined && method === "PUT") {
      const { secret: _sent, ...rest } = b ?? {};
      const next = { ...hooks[i]!, ...rest, uuid: hooks[i]!.uuid } as CloudHook;
      if (b && "secret" in b) {
        if (secret) next.secret = secret;
        else delete next.secret;
      }
      hooks[i] = next;
      return send(200, cloudView(next));
    }
    if (uid !== undefined && method === "DELETE") {
      hooks.splice(i, 1);
      return send(204);
    }
    return error(405, `method ${method} not allowed`);
  }

  private bbs(
    method: string,
    seg: string[],
    u: URL,
    req: IncomingMessage,
    body: unknown,
    send: (status: number, value?: unknown) => void,
  ): unknown {
    const error = (status: number, message: string, exceptionName: string) =>
      send(status, { errors: [{ context: null, message, exceptionName }] });
    if (req.headers.authorization !== `Bearer ${this.options.serverToken}`)
      return error(
        401,
        "Authentication failed. Please check your credentials and try again.",
        "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException",
      );
    const page = <T>(values: T[]) => {
      const limit = Math.min(
        Number(u.searchParams.get("limit") ?? "25"),
        this.options.serverPageLimit ?? 25,
      );
      const start = Number(u.searchParams.get("start") ?? "0");
      const slice = values.slice(start, start + limit);
      const isLastPage = start + limit >= values.length;
      return send(200, {
        size: slice.length,
        limit,
        start,
        isLastPage,
        values: slice,
        ...(isLastPage ? {} : { nextPageStart: start + limit }),
      });
    };
    // projects/{key}/repos[/{slug}/(webhooks[/{id}] | commits/{hash}/pull-requests)]
    if (seg[0] !== "projects" || seg[2] !== "repos")
      return error(404, "not found", "com.atlassian.bitbucket.NoSuchEntityException");
    const key = seg[1]!;
    if (seg.length === 3 && method === "GET") {
      const slugs = [...this.serverHooks.keys()]
        .filter((k) => k.startsWith(`${key}/`))
        .map((k) => k.slice(key.length + 1));
      if (slugs.length === 0)
        return error(
          404,
          `Project ${key} does not exist.`,
          "com.atlassian.bitbucket.project.NoSuchProjectException",
        );
      return page(slugs.map((slug, i) => ({ slug, id: i + 1, name: slug, project: { key } })));
    }
    const repo = `${key}/${seg[3]}`;
    const hooks = this.serverHooks.get(repo);
    if (!hooks)
      return error(
        404,
        `Repository ${seg[3]} does not exist.`,
        "com.atlassian.bitbucket.repository.NoSuchRepositoryException",
      );
    if (seg[4] === "commits" && seg[6] === "pull-requests" && method === "GET")
      return page(this.pullRequests.get(`${repo}/${seg[5]}`) ?? []);
    if (seg[4] !== "webhooks" || seg.length > 6)
      return error(404, "not found", "com.atlassian.bitbucket.NoSuchEntityException");
    if (this.forbidden.has(repo))
      return error(
        403,
        `You are not permitted to access this resource`,
        "com.atlassian.bitbucket.AuthorisationException",
      );
    const b = body as Partial<ServerHook> | undefined;
    if (seg.length === 5 && method === "GET") return page(hooks);
    if (seg.length === 5 && method === "POST") {
      const hook = this.addServerHook(repo, {
        name: b?.name ?? "",
        url: b?.url ?? "",
        active: b?.active ?? true,
        events: b?.events ?? [],
        configuration: b?.configuration ?? {},
      });
      return send(201, { ...hook, createdDate: 1, updatedDate: 1 });
    }
    const i = hooks.findIndex((h) => String(h.id) === seg[5]);
    if (i < 0)
      return error(
        404,
        `Webhook ${seg[5]} does not exist.`,
        "com.atlassian.bitbucket.webhook.NoSuchWebhookException",
      );
    if (method === "PUT") {
      hooks[i] = { ...hooks[i]!, ...b, configuration: b?.configuration ?? {}, id: hooks[i]!.id };
      return send(200, hooks[i]);
    }
    if (method === "DELETE") {
      hooks.splice(i, 1);
      return send(204);
    }
    return error(405, `method ${method} not allowed`, "MethodNotAllowed");
  }
}
