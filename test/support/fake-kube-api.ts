import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parse as parseYaml } from "yaml";

/**
 * A small but faithful Kubernetes API server for tests: discovery, namespaced and cluster-scoped
 * CRUD with resourceVersion and generateName, merge / strategic-merge (treated as merge) / JSON
 * patch, list with label selectors, list+watch (chunked JSON lines), `Status` error objects, bearer
 * token auth, fault injection and a record of every request.
 */

export interface FakeResource {
  group: string;
  version: string;
  /** Plural, as in URLs. */
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
}

export const DEFAULT_RESOURCES: FakeResource[] = [
  { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true },
  { group: "", version: "v1", resource: "secrets", kind: "Secret", namespaced: true },
  { group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false },
  { group: "apps", version: "v1", resource: "deployments", kind: "Deployment", namespaced: true },
  {
    group: "argoproj.io",
    version: "v1alpha1",
    resource: "workflows",
    kind: "Workflow",
    namespaced: true,
  },
  {
    group: "argoproj.io",
    version: "v1alpha1",
    resource: "workflowtemplates",
    kind: "WorkflowTemplate",
    namespaced: true,
  },
  {
    group: "argoproj.io",
    version: "v1alpha1",
    resource: "cronworkflows",
    kind: "CronWorkflow",
    namespaced: true,
  },
];

/** {@link DEFAULT_RESOURCES} and Argo Events' EventSource and Sensor CRDs (controller mode). */
export const ARGO_EVENTS_RESOURCES: FakeResource[] = [
  ...DEFAULT_RESOURCES,
  {
    group: "argoproj.io",
    version: "v1alpha1",
    resource: "eventsources",
    kind: "EventSource",
    namespaced: true,
  },
  {
    group: "argoproj.io",
    version: "v1alpha1",
    resource: "sensors",
    kind: "Sensor",
    namespaced: true,
  },
];

/**
 * One RBAC grant, as a Role/ClusterRole rule bound to one subject: a user name
 * (`system:serviceaccount:<ns>:<name>` for a service account) or a group.
 */
export interface FakeRbacRule {
  subject: string;
  /** `""` is the core group; `*` any. */
  apiGroups: string[];
  /** Plural resource names, `<resource>/<subresource>`, or `*`. */
  resources: string[];
  /** get, list, watch, create, update, patch, delete, impersonate, or `*`. */
  verbs: string[];
  /** Where the grant holds (a RoleBinding); undefined: everywhere, cluster scope too (a ClusterRoleBinding). */
  namespaces?: string[];
  /** Only these object names (never matches create, list or watch, as in Kubernetes). */
  resourceNames?: string[];
}

/**
 * RBAC and impersonation, enforced as the real API server does: the bearer token authenticates
 * `tokenUser`; `Impersonate-User` (and `Impersonate-Group`) need `impersonate` on serviceaccounts /
 * users / groups; a service account impersonated without groups gets `system:serviceaccounts`,
 * `system:serviceaccounts:<ns>` and `system:authenticated`. Discovery is open to every
 * authenticated user. A refusal is 403 with a Status body worded as Kubernetes words it.
 */
export interface FakeRbac {
  tokenUser: string;
  rules: FakeRbacRule[];
}

interface AuthzRequest {
  verb: string;
  group: string;
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

const SA_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

function saGroups(user: string): string[] {
  const m = SA_USER.exec(user);
  return m ? ["system:serviceaccounts", `system:serviceaccounts:${m[1]}`] : [];
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** `performance.now()` when the whole request had arrived (benchmarks measure latency with it). */
  at: number;
}

export interface Fault {
  method?: string;
  /** Exact path, or a RegExp tested against it. */
  path?: string | RegExp;
  status: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  message?: string;
  reason?: string;
}

type Obj = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown> & {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
  };
};

interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: Obj;
  rv: number;
  key: string;
}

interface Watcher {
  res: FakeResource;
  namespace: string | undefined;
  selector: string | null;
  out: http.ServerResponse;
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Gone",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
};

export class FakeKubeApi {
  readonly token: string;
  readonly requests: RecordedRequest[] = [];
  /** TCP connections accepted so far (keep-alive checks). */
  connections = 0;
  /** Called with every request as it is recorded. */
  onRequest: ((r: RecordedRequest) => void) | undefined;
  private readonly resources: FakeResource[];
  private readonly store = new Map<string, Obj>();
  private readonly faults: Fault[] = [];
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 1000;
  /** RBAC and impersonation checks; undefined: every authenticated request is allowed. */
  rbac: FakeRbac | undefined;
  private server: http.Server | undefined;
  private baseUrl = "";

  constructor(opts: { token?: string; resources?: FakeResource[]; rbac?: FakeRbac } = {}) {
    this.rbac = opts.rbac;
    this.token = opts.token ?? `fake-${randomBytes(8).toString("hex")}`;
    this.resources = [...(opts.resources ?? DEFAULT_RESOURCES)];
  }

  get url(): string {
    return this.baseUrl;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          this.handle(req, res, Buffer.concat(chunks).toString("utf8"));
        } catch (err) {
          this.status(res, 500, `fake-kube-api: ${(err as Error).message}`);
        }
      });
    });
    server.on("connection", () => {
      this.connections++;
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.out.end();
    this.watchers.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  /** A kubeconfig for `loadKubeClient({ kubeconfigYaml })`. */
  kubeconfigYaml(namespace = "default", token = this.token): string {
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: fake",
      "  cluster:",
      `    server: ${this.baseUrl}`,
      "    insecure-skip-tls-verify: true",
      "users:",
      "- name: fake-user",
      "  user:",
      `    token: ${token}`,
      "contexts:",
      "- name: fake",
      "  context:",
      "    cluster: fake",
      "    user: fake-user",
      `    namespace: ${namespace}`,
      "current-context: fake",
      "",
    ].join("\n");
  }

  addResource(r: FakeResource): void {
    this.resources.push(r);
  }

  /** The next `times` requests matching method and path answer `status` with a Status body. */
  fail(fault: Fault): void {
    this.faults.push({ times: 1, ...fault });
  }

  /** Requests other than discovery (paths naming a resource). */
  apiRequests(): RecordedRequest[] {
    return this.requests.filter((r) => !this.isDiscovery(r.path));
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Stores an object directly (no request recorded), filling server-side metadata. */
  seed(obj: Obj): Obj {
    const res = this.resourceOfKind(obj.apiVersion ?? "v1", obj.kind ?? "");
    if (!res) throw new Error(`fake-kube-api: unknown kind ${obj.apiVersion} ${obj.kind}`);
    const md = obj.metadata ?? {};
    const ns = res.namespaced ? (md.namespace ?? "default") : undefined;
    const stored = this.finish(structuredClone(obj), res, ns, md.name ?? "");
    this.put(res, ns, stored, "ADDED");
    return structuredClone(stored);
  }

  /** A stored object, or undefined. */
  object(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Obj | undefined {
    const res = this.resourceOfKind(apiVersion, kind);
    if (!res) return undefined;
    const o = this.store.get(this.key(res, res.namespaced ? namespace : undefined, name));
    return o ? structuredClone(o) : undefined;
  }

  /** Stored objects of one kind (all namespaces). */
  objects(apiVersion: string, kind: string): Obj[] {
    const res = this.resourceOfKind(apiVersion, kind);
    if (!res) return [];
    const prefix = `${res.group}/${res.resource}/`;
    return [...this.store.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, v]) => structuredClone(v));
  }

  /** Changes a stored object in place (as a controller would), bumping its resourceVersion. */
  mutate(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    fn: (o: Obj) => void,
  ): void {
    const res = this.resourceOfKind(apiVersion, kind);
    if (!res) throw new Error(`fake-kube-api: unknown kind ${apiVersion} ${kind}`);
    const ns = res.namespaced ? namespace : undefined;
    const cur = this.store.get(this.key(res, ns, name));
    if (!cur) throw new Error(`fake-kube-api: no ${kind} ${namespace}/${name}`);
    const next = structuredClone(cur);
    fn(next);
    next.metadata = { ...next.metadata, resourceVersion: String(++this.rv) };
    this.put(res, ns, next, "MODIFIED");
  }

  // -------------------------------------------------------------------------------------------

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string) {
    const url = new URL(req.url ?? "/", "http://x");
    const method = (req.method ?? "GET").toUpperCase();
    const path = url.pathname.replace(/\/+$/, "") || "/";
    this.requests.push({
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      body,
      at: performance.now(),
    });
    this.onRequest?.(this.requests[this.requests.length - 1]!);

    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return this.status(res, 401, "Unauthorized");
    }
    const fault = this.faults.find(
      (f) =>
        (f.times ?? 1) > 0 &&
        (!f.method || f.method.toUpperCase() === method) &&
        (f.path === undefined ||
          (typeof f.path === "string" ? f.path === path : f.path.test(path))),
    );
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
      return this.status(
        res,
        fault.status,
        fault.message ?? `injected ${fault.status}`,
        fault.reason,
      );
    }

    if (this.isDiscovery(path)) return this.discovery(res, path);

    const route = this.route(path);
    if (!route) return this.status(res, 404, `the server could not find the requested resource`);
    const { resource: r, namespace: ns, name, sub } = route;
    if (this.rbac) {
      const verb =
        method === "GET"
          ? name !== undefined
            ? "get"
            : url.searchParams.get("watch") === "true"
              ? "watch"
              : "list"
          : ({ POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" }[method] ?? "");
      const denied = this.authorize(req.headers, {
        verb,
        group: r.group,
        resource: sub ? `${r.resource}/${sub}` : r.resource,
        namespace: ns,
        name,
      });
      if (denied) return this.status(res, 403, denied.message, "Forbidden", denied.details);
    }
    if (sub === "status" && name !== undefined) {
      // The status subresource: reads the object; a patch changes `status` and nothing else.
      if (method === "GET") return this.getOne(res, r, ns, name);
      if (method === "PATCH" || method === "PUT") {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          return this.status(res, 400, "the status patch body is not JSON");
        }
        const status = (parsed as { status?: unknown } | null)?.status ?? {};
        return this.patch(
          res,
          r,
          ns,
          name,
          JSON.stringify({ status }),
          "application/merge-patch+json",
        );
      }
      return this.status(res, 405, `${method} is not supported on status`);
    }
    if (sub) return this.status(res, 404, `subresource ${sub} is not served by fake-kube-api`);

    if (name === undefined) {
      if (method === "GET" && url.searchParams.get("watch") === "true") {
        return this.watch(res, r, ns, url.searchParams);
      }
      if (method === "GET") return this.list(res, r, ns, url.searchParams.get("labelSelector"));
      if (method === "POST") return this.create(res, r, ns, body);
      return this.status(res, 405, `${method} is not supported on a collection`);
    }
    if (r.namespaced && ns === undefined) {
      return this.status(res, 404, `the server could not find the requested resource`);
    }
    switch (method) {
      case "GET":
        return this.getOne(res, r, ns, name);
      case "PUT":
        return this.replace(res, r, ns, name, body);
      case "PATCH":
        return this.patch(res, r, ns, name, body, String(req.headers["content-type"] ?? ""));
      case "DELETE":
        return this.remove(res, r, ns, name);
      default:
        return this.status(res, 405, `${method} is not supported`);
    }
  }

  /** undefined when allowed; otherwise the 403 message and details. */
  private authorize(
    headers: http.IncomingHttpHeaders,
    want: AuthzRequest,
  ): { message: string; details: unknown } | undefined {
    const rbac = this.rbac!;
    let user = rbac.tokenUser;
    let groups = [...saGroups(user), "system:authenticated"];
    const asUser = headers["impersonate-user"];
    const asGroupsRaw = headers["impersonate-group"];
    const asGroups =
      asGroupsRaw === undefined
        ? []
        : (Array.isArray(asGroupsRaw) ? asGroupsRaw : [asGroupsRaw]).flatMap((g) =>
            g.split(",").map((x) => x.trim()),
          );
    if (typeof asUser === "string" && asUser !== "") {
      const sa = SA_USER.exec(asUser);
      const checks: AuthzRequest[] = [
        sa
          ? {
              verb: "impersonate",
              group: "",
              resource: "serviceaccounts",
              namespace: sa[1],
              name: sa[2],
            }
          : {
              verb: "impersonate",
              group: "",
              resource: "users",
              namespace: undefined,
              name: asUser,
            },
        ...asGroups.map((g) => ({
          verb: "impersonate",
          group: "",
          resource: "groups",
          namespace: undefined,
          name: g,
        })),
      ];
      for (const c of checks) {
        if (!this.allowed(user, groups, c)) return forbidden(user, c);
      }
      user = asUser;
      groups = asGroups.length > 0 ? asGroups : [...saGroups(asUser), "system:authenticated"];
    } else if (asGroups.length > 0) {
      return {
        message: "requested impersonation of groups without impersonating a user",
        details: {},
      };
    }
    return this.allowed(user, groups, want) ? undefined : forbidden(user, want);
  }

  private allowed(user: string, groups: string[], want: AuthzRequest): boolean {
    const has = (list: string[] | undefined, v: string) =>
      list !== undefined && (list.includes("*") || list.includes(v));
    return this.rbac!.rules.some(
      (rule) =>
        (rule.subject === user || groups.includes(rule.subject)) &&
        has(rule.apiGroups, want.group) &&
        has(rule.resources, want.resource) &&
        has(rule.verbs, want.verb) &&
        (rule.namespaces === undefined ||
          (want.namespace !== undefined && rule.namespaces.includes(want.namespace))) &&
        (rule.resourceNames === undefined ||
          (want.name !== undefined && rule.resourceNames.includes(want.name))),
    );
  }

  private isDiscovery(path: string): boolean {
    return /^\/(api|apis)(\/[^/]+)?(\/[^/]+)?$/.test(path) && !/^\/api\/[^/]+\/[^/]+$/.test(path);
  }

  private discovery(res: http.ServerResponse, path: string) {
    const parts = path.split("/").filter(Boolean);
    if (path === "/api") {
      return this.json(res, 200, {
        kind: "APIVersions",
        versions: ["v1"],
        serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1" }],
      });
    }
    if (path === "/apis") {
      const groups = new Map<string, Set<string>>();
      for (const r of this.resources) {
        if (!r.group) continue;
        const set = groups.get(r.group) ?? new Set<string>();
        set.add(r.version);
        groups.set(r.group, set);
      }
      return this.json(res, 200, {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: [...groups].map(([name, versions]) => {
          const vs = [...versions].map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
          return { name, versions: vs, preferredVersion: vs[0] };
        }),
      });
    }
    const [root, a, b] = parts;
    const group = root === "api" ? "" : (a ?? "");
    const version = root === "api" ? a : b;
    if (root === "apis" && version === undefined) {
      const versions = [
        ...new Set(this.resources.filter((r) => r.group === group).map((r) => r.version)),
      ];
      if (versions.length === 0)
        return this.status(res, 404, "the server could not find the requested resource");
      const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
      return this.json(res, 200, {
        kind: "APIGroup",
        apiVersion: "v1",
        name: group,
        versions: vs,
        preferredVersion: vs[0],
      });
    }
    const served = this.resources.filter((r) => r.group === group && r.version === version);
    if (served.length === 0)
      return this.status(res, 404, "the server could not find the requested resource");
    return this.json(res, 200, {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: group ? `${group}/${version}` : version,
      resources: served.flatMap((r) => [
        {
          name: r.resource,
          singularName: r.kind.toLowerCase(),
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
          ...(r.shortNames ? { shortNames: r.shortNames } : {}),
        },
        {
          name: `${r.resource}/status`,
          singularName: "",
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ["get", "patch", "update"],
        },
      ]),
    });
  }

  private route(
    path: string,
  ): { resource: FakeResource; namespace?: string; name?: string; sub?: string } | undefined {
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string | undefined;
    let rest: string[];
    if (parts[0] === "api") {
      group = "";
      version = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === "apis") {
      group = parts[1] ?? "";
      version = parts[2];
      rest = parts.slice(3);
    } else {
      return undefined;
    }
    const served = this.resources.filter((r) => r.group === group && r.version === version);
    let namespace: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const resource = served.find((r) => r.resource === rest[0]);
    if (!resource) return undefined;
    if (namespace !== undefined && !resource.namespaced) return undefined;
    return { resource, namespace, name: rest[1], sub: rest[2] };
  }

  private resourceOfKind(apiVersion: string, kind: string): FakeResource | undefined {
    const i = apiVersion.indexOf("/");
    const group = i < 0 ? "" : apiVersion.slice(0, i);
    const version = i < 0 ? apiVersion : apiVersion.slice(i + 1);
    return this.resources.find(
      (r) => r.group === group && r.version === version && r.kind === kind,
    );
  }

  private key(r: FakeResource, ns: string | undefined, name: string): string {
    return `${r.group}/${r.resource}/${ns ?? ""}/${name}`;
  }

  private put(r: FakeResource, ns: string | undefined, obj: Obj, type: WatchEvent["type"]): void {
    const key = this.key(r, ns, obj.metadata?.name ?? "");
    if (type === "DELETED") this.store.delete(key);
    else this.store.set(key, obj);
    const ev: WatchEvent = { type, object: structuredClone(obj), rv: this.rv, key };
    this.history.push(ev);
    for (const w of this.watchers) {
      if (
        w.res === r &&
        (w.namespace === undefined || w.namespace === ns) &&
        matches(obj, w.selector)
      ) {
        w.out.write(`${JSON.stringify({ type, object: ev.object })}\n`);
      }
    }
  }

  private finish(obj: Obj, r: FakeResource, ns: string | undefined, name: string): Obj {
    const md = { ...(obj.metadata ?? {}) };
    md.name = name;
    if (ns !== undefined) md.namespace = ns;
    else delete md.namespace;
    md.uid ??= randomUUID();
    md.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, "Z");
    md.resourceVersion = String(++this.rv);
    obj.metadata = md;
    obj.apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
    obj.kind = r.kind;
    return obj;
  }

  private parseBody(res: http.ServerResponse, body: string): Obj | undefined {
    try {
      const v = JSON.parse(body) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) return v as Obj;
    } catch {
      // fall through
    }
    this.status(res, 400, "the request body is not a JSON object");
    return undefined;
  }

  private checkKind(res: http.ServerResponse, r: FakeResource, obj: Obj): boolean {
    const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
    if (obj.kind !== r.kind || obj.apiVersion !== apiVersion) {
      this.status(
        res,
        400,
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion}) or kind ${obj.kind} is not ${r.kind}`,
      );
      return false;
    }
    return true;
  }

  private create(res: http.ServerResponse, r: FakeResource, ns: string | undefined, body: string) {
    const obj = this.parseBody(res, body);
    if (!obj || !this.checkKind(res, r, obj)) return;
    const md = obj.metadata ?? {};
    if (r.namespaced && md.namespace && md.namespace !== ns) {
      return this.status(
        res,
        400,
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    let name = md.name;
    if (!name && md.generateName)
      name = `${md.generateName}${randomBytes(3).toString("hex").slice(0, 5)}`;
    if (!name) {
      return this.status(
        res,
        422,
        `${r.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
        undefined,
        { kind: r.kind },
      );
    }
    if (this.store.has(this.key(r, ns, name))) {
      return this.status(
        res,
        409,
        `${r.resource}${r.group ? `.${r.group}` : ""} "${name}" already exists`,
        "AlreadyExists",
        {
          name,
          group: r.group,
          kind: r.resource,
        },
      );
    }
    delete md.resourceVersion;
    obj.metadata = md;
    const stored = this.finish(obj, r, ns, name);
    this.put(r, ns, stored, "ADDED");
    this.json(res, 201, stored);
  }

  private getOne(res: http.ServerResponse, r: FakeResource, ns: string | undefined, name: string) {
    const o = this.store.get(this.key(r, ns, name));
    if (!o) return this.notFound(res, r, name);
    this.json(res, 200, o);
  }

  private list(
    res: http.ServerResponse,
    r: FakeResource,
    ns: string | undefined,
    selector: string | null,
  ) {
    const prefix = `${r.group}/${r.resource}/${ns === undefined ? "" : `${ns}/`}`;
    const items = [...this.store.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, v]) => v)
      .filter((o) => matches(o, selector));
    this.json(res, 200, {
      apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
      kind: `${r.kind}List`,
      metadata: { resourceVersion: String(this.rv) },
      items,
    });
  }

  private watch(
    res: http.ServerResponse,
    r: FakeResource,
    ns: string | undefined,
    q: URLSearchParams,
  ) {
    const selector = q.get("labelSelector");
    const from = q.get("resourceVersion");
    const oldest = this.history[0]?.rv ?? this.rv;
    if (from && from !== "0" && Number(from) < oldest - 1) {
      return this.status(res, 410, `too old resource version: ${from} (${oldest})`, "Expired");
    }
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    const w: Watcher = { res: r, namespace: ns, selector, out: res };
    if (from && from !== "0") {
      for (const ev of this.history) {
        const evNs = ev.object.metadata?.namespace;
        if (
          ev.rv > Number(from) &&
          ev.key.startsWith(`${r.group}/${r.resource}/`) &&
          (ns === undefined || evNs === ns) &&
          matches(ev.object, selector)
        ) {
          res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
        }
      }
    } else {
      // No version: the current state as ADDED events, as the API server does.
      const prefix = `${r.group}/${r.resource}/${ns === undefined ? "" : `${ns}/`}`;
      for (const [k, o] of this.store) {
        if (k.startsWith(prefix) && matches(o, selector))
          res.write(`${JSON.stringify({ type: "ADDED", object: o })}\n`);
      }
    }
    this.watchers.add(w);
    const timeout = Number(q.get("timeoutSeconds") ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on("close", () => {
      if (timer) clearTimeout(timer);
      this.watchers.delete(w);
    });
  }

  private replace(
    res: http.ServerResponse,
    r: FakeResource,
    ns: string | undefined,
    name: string,
    body: string,
  ) {
    const obj = this.parseBody(res, body);
    if (!obj || !this.checkKind(res, r, obj)) return;
    const cur = this.store.get(this.key(r, ns, name));
    if (!cur) return this.notFound(res, r, name);
    const md = obj.metadata ?? {};
    if (md.name !== name) {
      return this.status(
        res,
        400,
        `the name of the object (${md.name}) does not match the name on the URL (${name})`,
      );
    }
    if (md.resourceVersion && md.resourceVersion !== cur.metadata?.resourceVersion) {
      return this.status(
        res,
        409,
        `Operation cannot be fulfilled on ${r.resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        "Conflict",
      );
    }
    obj.metadata = {
      ...md,
      uid: cur.metadata?.uid,
      creationTimestamp: cur.metadata?.creationTimestamp,
    };
    const stored = this.finish(obj, r, ns, name);
    this.put(r, ns, stored, "MODIFIED");
    this.json(res, 200, stored);
  }

  private patch(
    res: http.ServerResponse,
    r: FakeResource,
    ns: string | undefined,
    name: string,
    body: string,
    contentType: string,
  ) {
    const cur = this.store.get(this.key(r, ns, name));
    const ct = contentType.split(";")[0]!.trim();
    let next: Obj;
    if (ct === "application/json-patch+json") {
      if (!cur) return this.notFound(res, r, name);
      let ops: unknown;
      try {
        ops = JSON.parse(body);
      } catch {
        return this.status(res, 400, "the JSON patch is not JSON");
      }
      if (!Array.isArray(ops))
        return this.status(res, 400, "a JSON patch must be an array of operations");
      try {
        next = jsonPatch(structuredClone(cur), ops as JsonPatchOp[]);
      } catch (err) {
        return this.status(res, 422, `the JSON patch cannot be applied: ${(err as Error).message}`);
      }
    } else if (
      ct === "application/merge-patch+json" ||
      ct === "application/strategic-merge-patch+json" ||
      ct === "application/apply-patch+yaml"
    ) {
      let p: unknown;
      try {
        p = ct === "application/apply-patch+yaml" ? parseYaml(body) : JSON.parse(body);
      } catch {
        return this.status(res, 400, "the patch body cannot be decoded");
      }
      if (!p || typeof p !== "object" || Array.isArray(p))
        return this.status(res, 400, "a merge patch must be an object");
      if (!cur) {
        // Server-side apply creates; the other patch types need an existing object.
        if (ct !== "application/apply-patch+yaml") return this.notFound(res, r, name);
        const obj = p as Obj;
        if (!this.checkKind(res, r, obj)) return;
        const stored = this.finish(obj, r, ns, name);
        this.put(r, ns, stored, "ADDED");
        return this.json(res, 201, stored);
      }
      next = mergePatch(structuredClone(cur), p) as Obj;
    } else {
      return this.status(
        res,
        415,
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
    }
    next.metadata = {
      ...next.metadata,
      uid: cur.metadata?.uid,
      creationTimestamp: cur.metadata?.creationTimestamp,
    };
    const stored = this.finish(next, r, ns, name);
    this.put(r, ns, stored, "MODIFIED");
    this.json(res, 200, stored);
  }

  private remove(res: http.ServerResponse, r: FakeResource, ns: string | undefined, name: string) {
    const cur = this.store.get(this.key(r, ns, name));
    if (!cur) return this.notFound(res, r, name);
    const gone = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(++this.rv) } };
    this.put(r, ns, gone, "DELETED");
    this.json(res, 200, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name, group: r.group, kind: r.resource, uid: cur.metadata?.uid },
    });
  }

  private notFound(res: http.ServerResponse, r: FakeResource, name: string) {
    this.status(
      res,
      404,
      `${r.resource}${r.group ? `.${r.group}` : ""} "${name}" not found`,
      "NotFound",
      {
        name,
        group: r.group,
        kind: r.resource,
      },
    );
  }

  private status(
    res: http.ServerResponse,
    code: number,
    message: string,
    reason?: string,
    details?: unknown,
  ): void {
    this.json(res, code, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason: reason ?? REASONS[code] ?? "",
      ...(details ? { details } : {}),
      code,
    });
  }

  private json(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(text),
    };
    if (code === 429) headers["Retry-After"] = "1";
    res.writeHead(code, headers);
    res.end(text);
  }
}

/** Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated. */
/** The API server's wording of an RBAC refusal. */
function forbidden(user: string, w: AuthzRequest): { message: string; details: unknown } {
  const [resource, sub] = w.resource.split("/");
  const qualified = w.group ? `${resource}.${w.group}` : resource;
  const what = w.name !== undefined ? `${qualified} "${w.name}"` : qualified;
  const where =
    w.namespace !== undefined ? `in the namespace "${w.namespace}"` : "at the cluster scope";
  return {
    message: `${what} is forbidden: User "${user}" cannot ${w.verb} resource "${resource}"${
      sub ? ` subresource "${sub}"` : ""
    } in API group "${w.group}" ${where}`,
    details: { ...(w.name !== undefined ? { name: w.name } : {}), group: w.group, kind: resource },
  };
}

function matches(obj: Obj, selector: string | null): boolean {
  if (!selector) return true;
  const labels = obj.metadata?.labels ?? {};
  return selector
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .every((term) => {
      let m = /^([^!=]+)!=(.*)$/.exec(term);
      if (m) return labels[m[1]!.trim()] !== m[2]!.trim();
      m = /^([^!=]+)==?(.*)$/.exec(term);
      if (m) return labels[m[1]!.trim()] === m[2]!.trim();
      if (term.startsWith("!")) return !(term.slice(1) in labels);
      return term in labels;
    });
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === "object" && !Array.isArray(target)
      ? (target as Record<string, unknown>)
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

/** RFC 6902 add / remove / replace / test (enough for tests). */
function jsonPatch(doc: Obj, ops: JsonPatchOp[]): Obj {
  for (const op of ops) {
    const parts = op.path
      .split("/")
      .slice(1)
      .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = parts.pop();
    if (last === undefined) throw new Error(`bad path '${op.path}'`);
    let parent: unknown = doc;
    for (const p of parts) {
      parent = (parent as Record<string, unknown> | undefined)?.[p];
      if (parent === undefined || parent === null || typeof parent !== "object") {
        throw new Error(`path '${op.path}' does not exist`);
      }
    }
    const container = parent as Record<string, unknown>;
    const arr = Array.isArray(parent) ? (parent as unknown[]) : undefined;
    switch (op.op) {
      case "add":
        if (arr) arr.splice(last === "-" ? arr.length : Number(last), 0, op.value);
        else container[last] = op.value;
        break;
      case "replace":
        if (!(last in container)) throw new Error(`path '${op.path}' does not exist`);
        container[last] = op.value;
        break;
      case "remove":
        if (!(last in container)) throw new Error(`path '${op.path}' does not exist`);
        if (arr) arr.splice(Number(last), 1);
        else delete container[last];
        break;
      case "test":
        if (JSON.stringify(container[last]) !== JSON.stringify(op.value)) {
          throw new Error(`test failed at '${op.path}'`);
        }
        break;
      default:
        throw new Error(`unsupported op '${op.op}'`);
    }
  }
  return doc;
}
