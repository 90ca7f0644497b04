import { createPublicKey, createVerify, type KeyObject, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { FakeJsonApi } from "./fake-json-api.js";

/**
 * A fake GitHub REST API (real HTTP) for hook registration, speaking what GitHub documents
 * (docs.github.com/rest/repos/webhooks, /rest/orgs/webhooks, /rest/apps/apps#create-an-installation-
 * access-token-for-an-app, /rest/using-the-rest-api/using-pagination-in-the-rest-api):
 *
 * - `GET|POST /repos/{owner}/{repo}/hooks`, `PATCH|DELETE /repos/{owner}/{repo}/hooks/{id}`, and the
 *   same under `/orgs/{org}/hooks`; `per_page` (default 30, max 100) and `page`, with a `Link`
 *   header (`rel="next"`, `"last"`, `"first"`, `"prev"`);
 * - `Authorization: token <t>` or `Bearer <t>` checked against the tokens it knows (401 `Bad
 *   credentials` otherwise); an unknown repository or organization is 404 `Not Found`;
 * - `POST /app/installations/{id}/access_tokens` verifies the App's RS256 JWT (`iss` = app id,
 *   `exp` at most 10 minutes after `iat`) with the public key of the key pair the test generated,
 *   and answers an installation token (`ghs_...`) that the other endpoints then accept;
 * - 422 `Validation Failed` with `errors` for a hook without `config.url` or a duplicate URL.
 *
 * `prefix` serves it under a path, as GitHub Enterprise Server does (`/api/v3`).
 */

export interface FakeHook {
  type: "Repository" | "Organization";
  id: number;
  name: "web";
  active: boolean;
  events: string[];
  config: { url?: string; content_type?: string; insecure_ssl?: string; secret?: string };
  created_at: string;
  updated_at: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

const DOCS = "https://docs.github.com/rest";

export class FakeGithubApi extends FakeJsonApi {
  readonly requests: RecordedRequest[] = [];
  /** "owner/repo" or "org" → hooks (the secret is kept as sent, shown masked). */
  readonly repos = new Map<string, FakeHook[]>();
  readonly orgs = new Map<string, FakeHook[]>();
  private readonly tokens = new Set<string>();
  private readonly apps = new Map<number, { key: KeyObject; installations: Set<number> }>();
  /** Installation tokens issued, with the installation they belong to. */
  readonly issued = new Map<string, number>();
  private nextId = 1;

  addToken(token: string): this {
    this.tokens.add(token);
    return this;
  }

  addRepo(fullName: string, hooks: Array<Partial<FakeHook>> = []): this {
    this.repos.set(
      fullName,
      hooks.map((h) => this.hook("Repository", h)),
    );
    return this;
  }

  addOrg(org: string, hooks: Array<Partial<FakeHook>> = []): this {
    this.orgs.set(
      org,
      hooks.map((h) => this.hook("Organization", h)),
    );
    return this;
  }

  /** A GitHub App whose JWTs verify with `publicKeyPem`, installed as `installationId`. */
  addApp(appId: number, publicKeyPem: string, installationId: number): this {
    this.apps.set(appId, {
      key: createPublicKey(publicKeyPem),
      installations: new Set([installationId]),
    });
    return this;
  }

  private hook(type: FakeHook["type"], h: Partial<FakeHook>): FakeHook {
    const now = new Date().toISOString();
    return {
      type,
      id: h.id ?? this.nextId++,
      name: "web",
      active: h.active ?? true,
      events: h.events ?? ["push"],
      config: { content_type: "form", insecure_ssl: "0", ...h.config },
      created_at: now,
      updated_at: now,
    };
  }

  /** What the API answers with for a hook: the secret masked, as GitHub shows it. */
  private shown(h: FakeHook, base: string): unknown {
    const config = { ...h.config, ...(h.config.secret ? { secret: "********" } : {}) };
    return { ...h, config, url: `${base}/${h.id}`, ping_url: `${base}/${h.id}/pings` };
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) =>
      this.send(res, status, body, { "x-github-media-type": "github.v3; format=json", ...headers });
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      return send(400, { message: "Problems parsing JSON", documentation_url: DOCS });
    }
    if (!url.pathname.startsWith(this.prefix))
      return send(404, { message: "Not Found", documentation_url: DOCS });
    const path = url.pathname.slice(this.prefix.length);
    const authorization = req.headers.authorization;
    this.requests.push({ method: req.method ?? "", path, authorization, body });
    const failure = this.failureFor(path, req.method);
    if (failure) return send(failure.status, failure.body);

    const tokenExchange = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (tokenExchange && req.method === "POST")
      return this.exchange(Number(tokenExchange[1]), authorization, send);

    const m = /^\/(?:repos\/([^/]+)\/([^/]+)|orgs\/([^/]+))\/hooks(?:\/(\d+))?$/.exec(path);
    if (!m) return send(404, { message: "Not Found", documentation_url: DOCS });
    const token = /^(?:token|bearer) (\S+)$/i.exec(authorization ?? "")?.[1];
    if (!token || !(this.tokens.has(token) || this.issued.has(token)))
      return send(401, { message: "Bad credentials", documentation_url: DOCS, status: "401" });
    const [, owner, repo, org, idText] = m;
    const hooks = org ? this.orgs.get(org) : this.repos.get(`${owner}/${repo}`);
    if (!hooks) return send(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
    const base = `${this.url}${path.replace(/\/\d+$/, "")}`;
    const type = org ? "Organization" : "Repository";
    const where = org ? "organization" : "repository";

    if (idText === undefined && req.method === "GET") {
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 30) || 30, 100);
      const page = Math.max(Number(url.searchParams.get("page") ?? 1) || 1, 1);
      const last = Math.max(Math.ceil(hooks.length / perPage), 1);
      const link = (p: number, rel: string) => {
        const u = new URL(`${base}`);
        u.searchParams.set("per_page", String(perPage));
        u.searchParams.set("page", String(p));
        return `<${u}>; rel="${rel}"`;
      };
      const links = [
        ...(page > 1 ? [link(page - 1, "prev")] : []),
        ...(page < last ? [link(page + 1, "next"), link(last, "last")] : []),
        ...(page > 1 ? [link(1, "first")] : []),
      ];
      const slice = hooks.slice((page - 1) * perPage, page * perPage);
      return send(
        200,
        slice.map((h) => this.shown(h, base)),
        links.length > 0 ? { link: links.join(", ") } : {},
      );
    }
    if (idText === undefined && req.method === "POST") {
      const b = (body ?? {}) as Partial<FakeHook>;
      const invalid = this.invalid(b, hooks, where);
      if (invalid) return send(422, invalid);
      const hook = this.hook(type, b);
      hooks.push(hook);
      return send(201, this.shown(hook, base));
    }
    const hook = hooks.find((h) => h.id === Number(idText));
    if (!hook) return send(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
    if (req.method === "PATCH") {
      const b = (body ?? {}) as Partial<FakeHook>;
      const others = hooks.filter((h) => h !== hook);
      const invalid = b.config ? this.invalid(b, others, where) : undefined;
      if (invalid) return send(422, invalid);
      if (b.config) hook.config = { ...b.config };
      if (b.events) hook.events = b.events;
      if (typeof b.active === "boolean") hook.active = b.active;
      hook.updated_at = new Date().toISOString();
      return send(200, this.shown(hook, base));
    }
    if (req.method === "DELETE") {
      hooks.splice(hooks.indexOf(hook), 1);
      return send(204);
    }
    if (req.method === "GET") return send(200, this.shown(hook, base));
    return send(404, { message: "Not Found", documentation_url: DOCS });
  }

  private invalid(b: Partial<FakeHook>, hooks: FakeHook[], where: string): unknown {
    const error = (message: string) => ({
      message: "Validation Failed",
      errors: [{ resource: "Hook", code: "custom", message }],
      documentation_url: `${DOCS}/repos/webhooks#create-a-repository-webhook`,
      status: "422",
    });
    if (!b.config?.url) return error("Config must contain URL for webhooks");
    if (hooks.some((h) => h.config.url === b.config!.url))
      return error(`Hook already exists on this ${where}`);
    return undefined;
  }

  /** GitHub's installation token exchange: the App's JWT in `Authorization: Bearer`. */
  private exchange(
    installationId: number,
    authorization: string | undefined,
    send: (status: number, body?: unknown) => void,
  ): void {
    const jwt = /^bearer (\S+)$/i.exec(authorization ?? "")?.[1];
    const claims = jwt ? this.verifyJwt(jwt) : undefined;
    if (!claims) {
      send(401, {
        message: "A JSON web token could not be decoded",
        documentation_url: DOCS,
        status: "401",
      });
      return;
    }
    const app = this.apps.get(Number(claims.iss));
    if (!app?.installations.has(installationId)) {
      send(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
      return;
    }
    const token = `ghs_${randomBytes(18).toString("hex")}`;
    this.issued.set(token, installationId);
    send(201, {
      token,
      expires_at: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z"),
      permissions: { organization_hooks: "write", repository_hooks: "write" },
      repository_selection: "all",
    });
  }

  /** RS256 JWT signed by a known App's key, `iss` its id, now within [iat, exp], exp-iat <= 600. */
  private verifyJwt(jwt: string): { iss: number | string; iat: number; exp: number } | undefined {
    const parts = jwt.split(".");
    if (parts.length !== 3) return undefined;
    const [h, p, s] = parts as [string, string, string];
    let header: { alg?: string };
    let claims: { iss?: number | string; iat?: number; exp?: number };
    try {
      header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
      claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    } catch {
      return undefined;
    }
    if (header.alg !== "RS256" || claims.iss === undefined) return undefined;
    const app = this.apps.get(Number(claims.iss));
    if (!app) return undefined;
    const ok = createVerify("RSA-SHA256")
      .update(`${h}.${p}`)
      .verify(app.key, Buffer.from(s, "base64url"));
    const now = Math.floor(Date.now() / 1000);
    if (!ok || typeof claims.iat !== "number" || typeof claims.exp !== "number") return undefined;
    if (claims.iat > now + 60 || claims.exp < now || claims.exp - claims.iat > 600)
      return undefined;
    return claims as { iss: number | string; iat: number; exp: number };
  }
}
