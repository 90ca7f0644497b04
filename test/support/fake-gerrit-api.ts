import type { IncomingMessage, ServerResponse } from "node:http";
import { LoopbackHttp } from "./loopback-http.js";

/** One request the fake received. */
export interface GerritCall {
  method: string;
  /** The raw request path, as sent (escapes kept). */
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  accept: string | undefined;
  body: string;
}

const PREFIX = ")]}'\n";
const ROUTE = /^\/a\/config\/server\/webhooks~projects\/([^/]+)\/remotes\/(?:([^/]+)\/)?$/;

/** Gerrit decodes path segments as URL-encoded form text ("+" is a space). */
const decode = (segment: string) => decodeURIComponent(segment.replace(/\+/g, " "));

/**
 * The webhooks plugin's project REST API of a Gerrit server, over real HTTP as Gerrit documents
 * it: authenticated calls under `/a/` with HTTP basic auth (401 with `WWW-Authenticate` otherwise),
 * JSON answers behind the `)]}'` XSSI line; `GET .../remotes/` (the hooks by name), `PUT
 * .../remotes/<name>/` with a JSON body (201 created, 200 replaced), `DELETE .../remotes/<name>/`
 * (204); an unknown project 404 `Not found: <project>`, a project in `forbidden` 403.
 */
export class FakeGerritApi {
  /** project -> hook name -> config. */
  readonly hooks = new Map<string, Map<string, Record<string, unknown>>>();
  readonly calls: GerritCall[] = [];
  readonly forbidden = new Set<string>();
  private readonly http = new LoopbackHttp((req, body, res) => this.handle(req, body, res));

  constructor(
    private readonly username: string,
    private readonly password: string,
    projects: string[],
  ) {
    for (const p of projects) this.hooks.set(p, new Map());
  }

  get baseURL(): string {
    return `http://127.0.0.1:${this.http.port}`;
  }

  async start(): Promise<this> {
    await this.http.listen();
    return this;
  }

  async stop(): Promise<void> {
    await this.http.close();
  }

  private handle(req: IncomingMessage, body: string, res: ServerResponse): ServerResponse {
    const path = req.url ?? "/";
    this.calls.push({
      method: req.method ?? "",
      path,
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      accept: req.headers.accept,
      body,
    });
    const text = (status: number, message: string) => {
      res.writeHead(status, { "content-type": "text/plain; charset=ISO-8859-1" });
      return res.end(message);
    };
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
      return res.end(PREFIX + JSON.stringify(value));
    };
    const expected = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString("base64")}`;
    if (req.headers.authorization !== expected) {
      res.setHeader("WWW-Authenticate", 'Basic realm="Gerrit Code Review"');
      return text(401, "Unauthorized");
    }
    const m = ROUTE.exec(path);
    if (!m) return text(404, "Not Found");
    const project = decode(m[1]!);
    const hooks = this.hooks.get(project);
    if (!hooks) return text(404, `Not found: ${project}`);
    if (this.forbidden.has(project)) return text(403, `not permitted: write on ${project}`);
    const name = m[2] === undefined ? undefined : decode(m[2]);
    if (name === undefined) {
      if (req.method !== "GET") return text(405, "Method Not Allowed");
      return json(200, Object.fromEntries(hooks));
    }
    if (req.method === "PUT") {
      if (!String(req.headers["content-type"]).startsWith("application/json"))
        return text(415, "Unsupported Media Type");
      let config: Record<string, unknown>;
      try {
        config = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return text(400, "Invalid JSON");
      }
      const existed = hooks.has(name);
      hooks.set(name, config);
      return json(existed ? 200 : 201, config);
    }
    if (req.method === "DELETE") {
      if (!hooks.delete(name)) return text(404, `Not found: ${name}`);
      res.writeHead(204);
      return res.end();
    }
    if (req.method === "GET") {
      const hook = hooks.get(name);
      return hook ? json(200, hook) : text(404, `Not found: ${name}`);
    }
    return text(405, "Method Not Allowed");
  }
}
