import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { ConfigError, EventsError, errorMessage } from "../errors.js";
import { type BackoffPlan, type BackoffSpec, exponentialBackoff } from "../lib/backoff.js";
import { sleepUnlessAborted } from "../lib/sleep.js";

/**
 * The one wrapper around @kubernetes/client-node. The library supplies what is hard to get right
 * (kubeconfig parsing and merging, in-cluster service accounts, exec/OIDC/token-file auth, client
 * certificates, proxies); requests are plain JSON over node:http(s) so objects reach the API server
 * exactly as rendered. (KubernetesObjectApi re-serialises bodies through its typed models, which
 * drops unknown fields of known kinds, turns timestamps into Date objects and cannot tell a
 * discovery 404 from an object 404.)
 */

/** Any Kubernetes object, as plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMeta;
  [k: string]: unknown;
}

export interface KubeMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  [k: string]: unknown;
}

/** Names one object. `namespace` is ignored for cluster-scoped resources. */
export interface KubeRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | undefined;
}

export interface KubeList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; [k: string]: unknown };
  items: KubeObject[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Start after this version (usually the list's `metadata.resourceVersion`). */
  resourceVersion?: string;
  /** Ask the server for BOOKMARK events (kept out of `onEvent` unless `bookmarks`). */
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** A resource as the API server serves it (from discovery, or guessed when discovery is refused). */
export interface ResourceInfo {
  group: string;
  version: string;
  /** Lower-case plural, as in the URL. */
  resource: string;
  kind: string;
  namespaced: boolean;
  /** "discovery" or "fallback" (simple English plural; Argo's five cluster-scoped resources). */
  via: "discovery" | "fallback";
}

/**
 * Kubernetes API access for triggers, the resource EventSource and the controller.
 * Failures throw {@link KubeApiError} (an EventsError, code SB_ERR_TRIGGER_K8S) whose `retryable`
 * is true for 429, 5xx, 409 Conflict (stale resourceVersion) and connection errors; final otherwise.
 * Implementations must not retry on their own: the caller's retry policy decides.
 */
export interface KubeClient {
  /** Default namespace of the loaded context (or the pod's own namespace in-cluster). */
  readonly namespace: string;
  /** Where the configuration came from: `kubeconfig <path> context <name>` or `in-cluster`. */
  readonly source: string;
  /** Resource name and scope for apiVersion + kind, via API discovery (cached per apiVersion). */
  resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo>;
  create(obj: KubeObject): Promise<KubeObject>;
  /** undefined when the object does not exist. */
  get(ref: KubeRef): Promise<KubeObject | undefined>;
  /** PUT; `metadata.resourceVersion`, when present, makes it a compare-and-swap (409 Conflict). */
  replace(obj: KubeObject): Promise<KubeObject>;
  /** PATCH with `obj` as body (or `body` when given, e.g. a JSON Patch array). */
  /** `subresource: "status"` patches `<object>/status` (CRDs with a status subresource). */
  patch(
    obj: KubeObject,
    contentType: string,
    body?: unknown,
    subresource?: "status",
  ): Promise<KubeObject>;
  /** false when the object did not exist. */
  delete(ref: KubeRef): Promise<boolean>;
  /** `namespace` undefined lists across all namespaces (or a cluster-scoped resource). */
  list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts?: ListOptions,
  ): Promise<KubeList>;
  /**
   * Streams watch events until the server ends the stream, `timeoutSeconds` passes or `signal`
   * aborts (then it resolves). Rejects with KubeApiError when the watch cannot start; an ERROR
   * event (e.g. 410 Gone) is passed to `onEvent` with the Status as object, and the caller relists.
   */
  watch(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
  ): Promise<void>;
  /** Closes pooled connections. */
  close(): void;
  /**
   * The same cluster, credentials, connection pool and discovery cache, every request sent with
   * `Impersonate-User: user` (the API server then authorizes the request as that user; a service
   * account's groups are derived by the server). Closing the returned client is a no-op.
   */
  impersonate?(user: string): KubeClient;
  /** The user this client impersonates; undefined when it acts as itself. */
  readonly actingAs?: string | undefined;
}

/** The user name of a service account, as the API server spells it for tokens and impersonation. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/**
 * A failed Kubernetes API call, whoever made it (a trigger, the resource EventSource, the
 * controller): an EventsError of the k8s layer, not a TriggerError. Its code stays
 * SB_ERR_TRIGGER_K8S (documented, and what trigger failures report); `retryable` says whether
 * trying again can help (429, 5xx, 409 Conflict, connection errors).
 */
export class KubeApiError extends EventsError {
  /** HTTP status; undefined for connection failures. */
  readonly status: number | undefined;
  /** The Status object's `reason` (AlreadyExists, NotFound, Forbidden, Invalid, ...). */
  readonly reason: string | undefined;
  constructor(
    message: string,
    status: number | undefined,
    reason: string | undefined,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super("SB_ERR_TRIGGER_K8S", message, options);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
  }
}

export function isAlreadyExists(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.status === 409 && err.reason === "AlreadyExists";
}

export function isNotFound(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.status === 404;
}

/** Retryable HTTP statuses: throttling, server errors, and optimistic-concurrency conflicts. */
export function isRetryableStatus(status: number, reason?: string): boolean {
  return status === 429 || status >= 500 || (status === 409 && reason !== "AlreadyExists");
}

export interface LoadOptions {
  /** A kubeconfig file; wins over everything else. */
  kubeconfigPath?: string;
  /** A kubeconfig document (tests); wins over kubeconfigPath. */
  kubeconfigYaml?: string;
  /** Context to use instead of the file's current-context. */
  context?: string;
  /** Environment to read KUBECONFIG / KUBERNETES_SERVICE_HOST from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Home directory for ~/.kube/config (default os.homedir()). */
  home?: string;
  /** Per-request timeout, ms (default 30 s). */
  timeoutMs?: number;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * kubeconfig from the given YAML/path, else KUBECONFIG (a path list, merged), else ~/.kube/config,
 * else the in-cluster service account. undefined when none exists: the caller then renders to the
 * log. Throws a final KubeApiError when a kubeconfig exists but cannot be used.
 * `@kubernetes/client-node` is loaded here, only when there is a kubeconfig to read (it costs a
 * large part of a second to import: `validate`, `replay` and `--dry-run` never load it).
 */
export async function loadKubeClient(opts: LoadOptions = {}): Promise<KubeClient | undefined> {
  const env = opts.env ?? process.env;
  const kubeconfigFiles =
    opts.kubeconfigYaml === undefined && !opts.kubeconfigPath && env.KUBECONFIG
      ? env.KUBECONFIG.split(delimiter).filter((f) => f && existsSync(f))
      : undefined;
  const homeConfig = join(opts.home ?? homedir(), ".kube", "config");
  const fromFile =
    opts.kubeconfigYaml !== undefined ||
    Boolean(opts.kubeconfigPath) ||
    (kubeconfigFiles ? kubeconfigFiles.length > 0 : !env.KUBECONFIG && existsSync(homeConfig));
  if (!fromFile && !canUseInCluster(env)) return undefined;
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  let source: string;
  let namespace: string | undefined;
  try {
    if (opts.kubeconfigYaml !== undefined) {
      kc.loadFromString(opts.kubeconfigYaml);
      source = "kubeconfig (inline)";
    } else if (opts.kubeconfigPath) {
      kc.loadFromFile(opts.kubeconfigPath);
      source = `kubeconfig ${opts.kubeconfigPath}`;
    } else if (env.KUBECONFIG) {
      const files = kubeconfigFiles ?? [];
      if (files.length === 0) return inCluster(kc, env, opts);
      kc.loadFromFile(files[0]!);
      for (const f of files.slice(1)) {
        const more = new KubeConfig();
        more.loadFromFile(f);
        kc.mergeConfig(more);
      }
      source = `kubeconfig ${files.join(delimiter)}`;
    } else {
      const path = homeConfig;
      if (!existsSync(path)) return inCluster(kc, env, opts);
      kc.loadFromFile(path);
      source = `kubeconfig ${path}`;
    }
    if (opts.context) kc.setCurrentContext(opts.context);
    if (!kc.getCurrentCluster()) {
      throw new ConfigError(`context '${kc.getCurrentContext()}' names no cluster`);
    }
    namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
    source += ` context ${kc.getCurrentContext()}`;
  } catch (err) {
    throw new KubeApiError(`cannot load kubeconfig: ${errorMessage(err)}`, undefined, undefined, {
      retryable: false,
      cause: err,
    });
  }
  return new RestKubeClient(kc, namespace || "default", source, opts.timeoutMs ?? 30_000);
}

function canUseInCluster(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(join(SA_DIR, "token"));
}

function inCluster(
  kc: KubeConfig,
  env: NodeJS.ProcessEnv,
  opts: LoadOptions,
): KubeClient | undefined {
  if (!canUseInCluster(env)) return undefined;
  kc.loadFromCluster();
  let namespace = "default";
  try {
    namespace = readFileSync(join(SA_DIR, "namespace"), "utf8").trim() || "default";
  } catch {
    // no namespace file: keep "default"
  }
  return new RestKubeClient(kc, namespace, "in-cluster", opts.timeoutMs ?? 30_000);
}

/** Argo's rule (standard-k8s.go): only these are cluster-scoped when discovery is unavailable. */
const FALLBACK_CLUSTER_SCOPED = new Set([
  "namespaces",
  "nodes",
  "persistentvolumes",
  "clusterroles",
  "clusterrolebindings",
]);

/** Lower-case plural of a kind by simple English rules (`NetworkPolicy` -> `networkpolicies`). */
export function pluralize(kind: string): string {
  const k = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf("/");
  return i < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

interface RawResponse {
  status: number;
  body: string;
}

interface DiscoveredResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** How long kubeconfig credentials (headers, TLS options) are reused before they are read again. */
const CREDENTIALS_TTL_MS = 10_000;

/** What every identity of one kubeconfig shares: credentials, the connection pool, discovery. */
interface Shared {
  kc: KubeConfig;
  base: URL;
  timeoutMs: number;
  agent: http.Agent | undefined;
  cached: { at: number; opts: https.RequestOptions } | undefined;
  discovery: Map<string, DiscoveredResource[] | "forbidden">;
}

class RestKubeClient implements KubeClient {
  readonly namespace: string;
  readonly source: string;
  readonly actingAs: string | undefined;
  private readonly s: Shared;

  constructor(
    kc: KubeConfig | Shared,
    namespace: string,
    source: string,
    timeoutMs: number,
    actingAs?: string,
  ) {
    this.s = !("discovery" in kc)
      ? {
          kc,
          base: new URL(kc.getCurrentCluster()!.server),
          timeoutMs,
          agent: undefined,
          cached: undefined,
          discovery: new Map(),
        }
      : kc;
    this.namespace = namespace;
    this.source = source;
    this.actingAs = actingAs;
  }

  impersonate(user: string): KubeClient {
    return new RestKubeClient(
      this.s,
      this.namespace,
      `${this.source} as ${user}`,
      this.s.timeoutMs,
      user,
    );
  }

  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const { group, version } = splitApiVersion(apiVersion);
    const fallback = (): ResourceInfo => {
      const resource = pluralize(kind);
      return {
        group,
        version,
        resource,
        kind,
        namespaced: !FALLBACK_CLUSTER_SCOPED.has(resource),
        via: "fallback",
      };
    };
    let list = this.s.discovery.get(apiVersion);
    let found = Array.isArray(list) ? list.find((r) => r.kind === kind) : undefined;
    // Refetch on a miss: a CRD may have been installed since the last look.
    if (!found && list !== "forbidden") {
      list = await this.discover(apiVersion, kind);
      this.s.discovery.set(apiVersion, list);
      found = Array.isArray(list) ? list.find((r) => r.kind === kind) : undefined;
    }
    if (list === "forbidden") return fallback();
    if (!found) {
      throw new KubeApiError(
        `kind ${kind} is not served by ${apiVersion} (API discovery lists ${
          (list ?? []).map((r) => r.kind).join(", ") || "no kinds"
        })`,
        404,
        "NotFound",
        { retryable: false },
      );
    }
    return {
      group,
      version,
      resource: found.name,
      kind,
      namespaced: found.namespaced,
      via: "discovery",
    };
  }

  private async discover(
    apiVersion: string,
    kind: string,
  ): Promise<DiscoveredResource[] | "forbidden"> {
    const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const what = `discover ${apiVersion} (for kind ${kind})`;
    const res = await this.send("GET", path, undefined, undefined, what);
    // Discovery is readable by every authenticated user by default; where RBAC refuses it, guess.
    if (res.status === 401 || res.status === 403) return "forbidden";
    if (res.status === 404) {
      throw new KubeApiError(
        `${what}: the API server does not serve ${apiVersion} (is the CRD installed?)`,
        404,
        "NotFound",
        { retryable: false },
      );
    }
    if (res.status !== 200) throw statusError(what, res);
    const doc = parseJson(res.body, what) as { resources?: DiscoveredResource[] };
    return (doc.resources ?? []).filter((r) => !r.name.includes("/"));
  }

  private async path(
    ref: { apiVersion: string; kind: string },
    namespace: string | undefined,
    name?: string,
  ) {
    const info = await this.resourceFor(ref.apiVersion, ref.kind);
    const root = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
    const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
    const tail = name === undefined ? "" : `/${encodeURIComponent(name)}`;
    return { path: `${root}${ns}/${info.resource}${tail}`, info };
  }

  private describe(
    verb: string,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string | undefined,
  ) {
    const res = info.group ? `${info.resource}.${info.group}` : info.resource;
    const ns = info.namespaced ? (namespace ?? this.namespace) : undefined;
    const id = [ns, name].filter(Boolean).join("/");
    return `${verb} ${res}${id ? ` ${id}` : ""}`;
  }

  private nsOf(info: ResourceInfo, namespace: string | undefined): string | undefined {
    return info.namespaced ? namespace || this.namespace : undefined;
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    const probe = await this.resourceFor(obj.apiVersion, obj.kind);
    const ns = this.nsOf(probe, obj.metadata?.namespace);
    const body = ns ? { ...obj, metadata: { ...obj.metadata, namespace: ns } } : obj;
    const { path, info } = await this.path(obj, ns);
    const what = this.describe(
      "create",
      info,
      ns,
      obj.metadata?.name ?? `${obj.metadata?.generateName ?? ""}*`,
    );
    const res = await this.send("POST", path, JSON.stringify(body), "application/json", what);
    if (res.status !== 200 && res.status !== 201 && res.status !== 202)
      throw statusError(what, res);
    return parseJson(res.body, what) as KubeObject;
  }

  async get(ref: KubeRef): Promise<KubeObject | undefined> {
    const probe = await this.resourceFor(ref.apiVersion, ref.kind);
    const ns = this.nsOf(probe, ref.namespace);
    const { path, info } = await this.path(ref, ns, ref.name);
    const what = this.describe("get", info, ns, ref.name);
    const res = await this.send("GET", path, undefined, undefined, what);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw statusError(what, res);
    return parseJson(res.body, what) as KubeObject;
  }

  async replace(obj: KubeObject): Promise<KubeObject> {
    const name = requireName(obj, "replace");
    const probe = await this.resourceFor(obj.apiVersion, obj.kind);
    const ns = this.nsOf(probe, obj.metadata.namespace);
    const body = ns ? { ...obj, metadata: { ...obj.metadata, namespace: ns } } : obj;
    const { path, info } = await this.path(obj, ns, name);
    const what = this.describe("replace", info, ns, name);
    const res = await this.send("PUT", path, JSON.stringify(body), "application/json", what);
    if (res.status !== 200 && res.status !== 201) throw statusError(what, res);
    return parseJson(res.body, what) as KubeObject;
  }

  async patch(
    obj: KubeObject,
    contentType: string,
    body?: unknown,
    subresource?: "status",
  ): Promise<KubeObject> {
    const name = requireName(obj, "patch");
    const probe = await this.resourceFor(obj.apiVersion, obj.kind);
    const ns = this.nsOf(probe, obj.metadata.namespace);
    const { path: objectPath, info } = await this.path(obj, ns, name);
    const path = subresource ? `${objectPath}/${subresource}` : objectPath;
    const what = this.describe(`patch (${contentType})`, info, ns, name);
    const text =
      contentType.includes("yaml") && typeof body === "string" ? body : JSON.stringify(body ?? obj);
    const query = contentType.startsWith("application/apply-patch")
      ? "?fieldManager=sensorbus"
      : "";
    const res = await this.send("PATCH", `${path}${query}`, text, contentType, what);
    if (res.status !== 200 && res.status !== 201) throw statusError(what, res);
    return parseJson(res.body, what) as KubeObject;
  }

  async delete(ref: KubeRef): Promise<boolean> {
    const probe = await this.resourceFor(ref.apiVersion, ref.kind);
    const ns = this.nsOf(probe, ref.namespace);
    const { path, info } = await this.path(ref, ns, ref.name);
    const what = this.describe("delete", info, ns, ref.name);
    const res = await this.send("DELETE", path, undefined, undefined, what);
    if (res.status === 404) return false;
    if (res.status !== 200 && res.status !== 202) throw statusError(what, res);
    return true;
  }

  async list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts: ListOptions = {},
  ): Promise<KubeList> {
    const { path, info } = await this.path({ apiVersion, kind }, namespace);
    const what = this.describe("list", info, namespace ?? "", undefined);
    const q = query({
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      limit: opts.limit,
      continue: opts.continue,
      resourceVersion: opts.resourceVersion,
    });
    const res = await this.send("GET", `${path}${q}`, undefined, undefined, what);
    if (res.status !== 200) throw statusError(what, res);
    return parseJson(res.body, what) as KubeList;
  }

  async watch(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
  ): Promise<void> {
    const { path, info } = await this.path({ apiVersion, kind }, namespace);
    const what = this.describe("watch", info, namespace ?? "", undefined);
    const q = query({
      watch: "true",
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: opts.allowWatchBookmarks ? "true" : undefined,
      timeoutSeconds: opts.timeoutSeconds,
    });
    const req = await this.open("GET", `${path}${q}`, undefined, undefined, undefined);
    const signal = opts.signal;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        req.destroy();
        resolve();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      req.on("error", (err) => {
        signal?.removeEventListener("abort", onAbort);
        if (signal?.aborted) return resolve();
        reject(transportError(what, err));
      });
      req.on("response", (res) => {
        if (res.statusCode !== 200) {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
          });
          res.on("end", () => {
            signal?.removeEventListener("abort", onAbort);
            reject(statusError(what, { status: res.statusCode ?? 0, body }));
          });
          return;
        }
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let nl = buf.indexOf("\n");
          while (nl >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            nl = buf.indexOf("\n");
            if (!line) continue;
            try {
              const ev = JSON.parse(line) as { type: WatchEventType; object: KubeObject };
              onEvent(ev.type, ev.object);
            } catch (err) {
              req.destroy();
              reject(
                new KubeApiError(
                  `${what}: undecodable watch event: ${errorMessage(err)}`,
                  200,
                  undefined,
                  {
                    retryable: true,
                    cause: err,
                  },
                ),
              );
              return;
            }
          }
        });
        res.on("end", done);
        res.on("close", done);
      });
      req.end();
    });
  }

  close(): void {
    // An impersonating client borrows the pool of the client it came from.
    if (this.actingAs !== undefined) return;
    this.s.agent?.destroy();
    this.s.agent = undefined;
  }

  /**
   * The kubeconfig's auth headers and TLS settings, reused for CREDENTIALS_TTL_MS:
   * applyToHTTPSOptions builds a new agent and may read token files on every call (a third of
   * the trigger's CPU at 500 Workflows/s). Rotated tokens are picked up after the TTL, long
   * before the old one expires (kubelet rotates at 80 % of its lifetime).
   */
  private async credentials(
    method: string,
    what: string | undefined,
  ): Promise<https.RequestOptions> {
    const now = Date.now();
    if (this.s.cached && now - this.s.cached.at < CREDENTIALS_TTL_MS) return this.s.cached.opts;
    const opts: https.RequestOptions = { headers: {} };
    try {
      await this.s.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new KubeApiError(
        `${what ?? method}: cannot apply kubeconfig credentials: ${errorMessage(err)}`,
        undefined,
        undefined,
        { retryable: true, cause: err },
      );
    }
    // applyToHTTPSOptions makes a fresh agent every call, without keep-alive: keep the first and
    // make it keep connections, or every request opens a new one (a TLS handshake each against
    // a real API server).
    if (!this.s.agent && opts.agent) {
      this.s.agent = opts.agent as http.Agent;
      const agent = this.s.agent as unknown as { keepAlive: boolean; options: http.AgentOptions };
      agent.keepAlive = true;
      agent.options.keepAlive = true;
    }
    opts.agent = this.s.agent;
    this.s.cached = { at: now, opts };
    return opts;
  }

  /** Builds a request with the kubeconfig's auth headers and TLS settings. */
  private async open(
    method: string,
    pathAndQuery: string,
    body: string | undefined,
    contentType: string | undefined,
    what: string | undefined,
  ): Promise<http.ClientRequest> {
    const opts = await this.credentials(method, what);
    const basePath = this.s.base.pathname.replace(/\/+$/, "");
    const headers: Record<string, string> = {
      ...(opts.headers as Record<string, string>),
      Accept: "application/json",
      "User-Agent": "sensorbus",
    };
    // Only the user: for a service account the API server derives its groups itself
    // (system:serviceaccounts, system:serviceaccounts:<ns>, system:authenticated); sending groups
    // would replace them and need `impersonate` on groups as well.
    if (this.actingAs !== undefined) headers["Impersonate-User"] = this.actingAs;
    if (contentType) headers["Content-Type"] = contentType;
    if (body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(body));
    const isHttps = this.s.base.protocol === "https:";
    const reqOpts: https.RequestOptions = {
      ...opts,
      agent: this.s.agent,
      protocol: this.s.base.protocol,
      hostname: this.s.base.hostname.replace(/^\[|\]$/g, ""),
      port: this.s.base.port || (isHttps ? 443 : 80),
      path: `${basePath}${pathAndQuery}`,
      method,
      headers,
    };
    return isHttps ? https.request(reqOpts) : http.request(reqOpts);
  }

  private async send(
    method: string,
    pathAndQuery: string,
    body: string | undefined,
    contentType: string | undefined,
    what: string,
  ): Promise<RawResponse> {
    const req = await this.open(method, pathAndQuery, body, contentType, what);
    return new Promise<RawResponse>((resolve, reject) => {
      req.setTimeout(this.s.timeoutMs, () => {
        req.destroy(new Error(`no response within ${this.s.timeoutMs} ms`));
      });
      req.on("error", (err) => reject(transportError(what, err)));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => reject(transportError(what, err)));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      });
      req.end(body);
    });
  }
}

function requireName(obj: KubeObject, verb: string): string {
  const name = obj.metadata?.name;
  if (!name) {
    throw new KubeApiError(`${verb} ${obj.kind}: metadata.name is required`, undefined, undefined, {
      retryable: false,
    });
  }
  return name;
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new KubeApiError(
      `${what}: the API server sent a body that is not JSON`,
      undefined,
      undefined,
      {
        retryable: true,
        cause: err,
      },
    );
  }
}

function transportError(what: string, err: Error): KubeApiError {
  return new KubeApiError(
    `${what}: cannot reach the Kubernetes API: ${err.message}`,
    undefined,
    undefined,
    {
      retryable: true,
      cause: err,
    },
  );
}

/** Turns a non-2xx response into a KubeApiError carrying the API's Status message and reason. */
function statusError(what: string, res: RawResponse): KubeApiError {
  let reason: string | undefined;
  let message = res.body.trim().slice(0, 500);
  try {
    const st = JSON.parse(res.body) as { kind?: string; message?: string; reason?: string };
    if (st && st.kind === "Status") {
      reason = st.reason || undefined;
      message = st.message ?? message;
    }
  } catch {
    // not a Status object: keep the text
  }
  const label = `${res.status}${reason ? ` ${reason}` : ""}`;
  return new KubeApiError(`${what}: ${label}${message ? `: ${message}` : ""}`, res.status, reason, {
    retryable: isRetryableStatus(res.status, reason),
  });
}

// ---------------------------------------------------------------------------------------------
// policy.k8s: wait until the created object carries the wanted labels

export type { BackoffSpec } from "../lib/backoff.js";

export interface WaitForLabelsOptions {
  backoff?: BackoffSpec | undefined;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  signal?: AbortSignal;
}

export interface WaitForLabelsResult {
  matched: boolean;
  attempts: number;
  labels: Record<string, string>;
}

/**
 * Polls `ref` until every wanted label has the wanted value, the way Argo's resource-labels policy
 * does (k8s.io wait.ExponentialBackoff, `lib/backoff.ts`: `steps` checks, a sleep of
 * duration*(1+rand*jitter) between them, duration multiplied by `factor` each time; default 5
 * steps, 1 s, factor 1, jitter 1).
 * An API error or the object vanishing ends the wait with a KubeApiError.
 */
export async function waitForLabels(
  client: KubeClient,
  ref: KubeRef,
  want: Record<string, string>,
  opts: WaitForLabelsOptions = {},
): Promise<WaitForLabelsResult> {
  const plan = backoffPlan(opts.backoff, opts.random);
  const sleep = opts.sleep ?? sleepUnlessAborted;
  let attempts = 0;
  let labels: Record<string, string> = {};
  while (attempts < plan.steps) {
    attempts++;
    const obj = await client.get(ref);
    if (!obj) {
      throw new KubeApiError(
        `policy.k8s: ${ref.kind} ${[ref.namespace, ref.name].filter(Boolean).join("/")} no longer exists`,
        404,
        "NotFound",
        { retryable: false },
      );
    }
    labels = obj.metadata?.labels ?? {};
    if (Object.entries(want).every(([k, v]) => labels[k] === v)) {
      return { matched: true, attempts, labels };
    }
    if (attempts === plan.steps) break;
    await sleep(plan.delayMs(attempts), opts.signal);
  }
  return { matched: false, attempts, labels };
}

/** The policy's backoff; a bad duration is a KubeApiError that is not retried. */
function backoffPlan(backoff: BackoffSpec | undefined, random?: () => number): BackoffPlan {
  try {
    return exponentialBackoff(backoff, random);
  } catch (err) {
    const d = backoff?.duration;
    throw new KubeApiError(`invalid duration '${d}': ${errorMessage(err)}`, undefined, undefined, {
      retryable: false,
      cause: err,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// idempotent create

/** Annotation sensorbus stamps on created objects: the sorted CloudEvent ids of the firing. */
export const EVENT_IDS_ANNOTATION = "sensorbus.io/event-ids";
/** Annotation naming the whole firing: sha256 of (namespace, Sensor, trigger, sorted event ids). */
export const FIRING_ANNOTATION = "sensorbus.io/firing";
/** Annotations that say, readably, which Sensor (`<namespace>/<name>`) and trigger created it. */
export const SENSOR_ANNOTATION = "sensorbus.io/sensor";
export const TRIGGER_ANNOTATION = "sensorbus.io/trigger";

/** One firing: the Sensor (with its namespace), the trigger and the events it fired on. */
export interface FiringIdentity {
  namespace: string;
  sensor: string;
  trigger: string;
  eventIds: readonly string[];
}

/**
 * The idempotency key of a firing: two Sensors (or two triggers) that fire on the same event get
 * different keys; a redelivery of the same events to the same trigger gets the same key.
 */
export function firingKey(f: FiringIdentity): string {
  const ids = [...new Set(f.eventIds)].sort();
  return createHash("sha256")
    .update(JSON.stringify([f.namespace, f.sensor, f.trigger, ids]))
    .digest("hex");
}

/**
 * `generateName` + 10 hex characters of the firing key: the name a firing's object gets, the
 * same on every redelivery. `attempt` > 0 gives the next candidates when a foreign object holds
 * the name. At most 63 characters (Argo copies Workflow names into label values).
 */
export function firingName(generateName: string, key: string, attempt = 0): string {
  const hash =
    attempt === 0 ? key : createHash("sha256").update(`${key}\n${attempt}`).digest("hex");
  return `${generateName.slice(0, 53)}${hash.slice(0, 10)}`;
}

/** Writes the firing's identity annotations into `annotations`; returns the firing key. */
export function stampFiringIdentity(
  annotations: Record<string, string>,
  f: FiringIdentity,
): string {
  const key = firingKey(f);
  annotations[EVENT_IDS_ANNOTATION] = [...new Set(f.eventIds)].sort().join(",");
  annotations[FIRING_ANNOTATION] = key;
  annotations[SENSOR_ANNOTATION] = `${f.namespace}/${f.sensor}`;
  annotations[TRIGGER_ANNOTATION] = f.trigger;
  return key;
}

export interface CreateOnceResult {
  object: KubeObject;
  /** true when the object already existed, created by an earlier delivery of the same firing. */
  alreadyDone: boolean;
}

export interface CreateOnceOptions {
  /**
   * The user's `generateName` when `obj`'s name was derived from it (with {@link firingName}):
   * a name held by a foreign object is then resolved as the API server resolves generateName, by
   * another name (the next firing-derived candidates, then a server-generated one).
   */
  generateName?: string | undefined;
}

/** Firing-derived names tried before the API server is asked to generate one. */
const NAME_CANDIDATES = 3;

/**
 * Creates `obj`. On 409 AlreadyExists, reads the existing object: if it carries the same
 * {@link FIRING_ANNOTATION} as `obj`, an earlier delivery of this firing (same namespace, Sensor,
 * trigger and events) created it and the create counts as done. Otherwise the name belongs to
 * something else: with `generateName` another name is taken; with a name the user fixed, the
 * create fails for good, as in Argo (AlreadyExists is a trigger failure there).
 */
export async function createOnce(
  client: KubeClient,
  obj: KubeObject,
  opts: CreateOnceOptions = {},
): Promise<CreateOnceResult> {
  const key = obj.metadata.annotations?.[FIRING_ANNOTATION];
  const gen = opts.generateName;
  let candidate = obj;
  for (let attempt = 0; ; attempt++) {
    try {
      return { object: await client.create(candidate), alreadyDone: false };
    } catch (err) {
      if (!isAlreadyExists(err) || !candidate.metadata.name) throw err;
      const existing = await client.get({
        apiVersion: candidate.apiVersion,
        kind: candidate.kind,
        name: candidate.metadata.name,
        namespace: candidate.metadata.namespace,
      });
      if (!existing) {
        // Deleted between the POST and the GET: trying again will create it.
        throw new KubeApiError(
          `${err.message} (and gone again on read-back)`,
          409,
          "AlreadyExists",
          { retryable: true, cause: err },
        );
      }
      if (key && existing.metadata?.annotations?.[FIRING_ANNOTATION] === key) {
        return { object: existing, alreadyDone: true };
      }
      if (gen === undefined || !key) {
        const by = existing.metadata?.annotations?.[SENSOR_ANNOTATION];
        throw new KubeApiError(
          `${err.message} (the name is held by an object not created by this firing${
            by
              ? `, created by Sensor ${by} trigger ${existing.metadata?.annotations?.[TRIGGER_ANNOTATION] ?? "?"}`
              : ""
          })`,
          409,
          "AlreadyExists",
          { retryable: false, cause: err },
        );
      }
      if (attempt < NAME_CANDIDATES) {
        candidate = {
          ...candidate,
          metadata: { ...candidate.metadata, name: firingName(gen, key, attempt + 1) },
        };
        continue;
      }
      // Every derived name is taken: let the API server pick one, as it would for generateName.
      const { name: _taken, ...meta } = candidate.metadata;
      return {
        object: await client.create({ ...candidate, metadata: { ...meta, generateName: gen } }),
        alreadyDone: false,
      };
    }
  }
}
