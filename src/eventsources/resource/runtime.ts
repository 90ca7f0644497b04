import { createHash } from "node:crypto";
import { ConfigError, errorMessage } from "../../errors.js";
import type { KubeClient, KubeObject, WatchEventType } from "../../k8s/client.js";
import { KubeApiError, pluralize } from "../../k8s/client.js";
import { BoundedMap } from "../../lib/fifo.js";
import { gjsonGet } from "../../lib/gjson.js";
import { goRegexp } from "../../lib/go-regexp.js";
import { goMarshal, goQuote } from "../../lib/gojson.js";
import type { GoRegexp } from "../../lib/re2.js";
import type { Logger } from "../../observability/logger.js";
import type {
  AdapterContext,
  AdapterRegistryOptions,
  EmitInput,
  EventSourceAdapter,
  RunningAdapter,
} from "../types.js";
import type { ResourceEventSpec } from "./schema.js";

/**
 * Argo's `resource` EventSource (`spec.resource.<eventName>`): an informer over one
 * group/version/resource that turns object changes into `ADD` / `UPDATE` / `DELETE` events with
 * data `{type, body, oldBody, group, version, resource, metadata}`.
 *
 * Informer semantics as client-go gives Argo: the first list reports every existing object as ADD
 * (unless `filter.afterStart` drops it); an ADDED/MODIFIED watch event for a known object is an
 * UPDATE, emitted only when its resourceVersion changed; label filters are sent to the API server
 * as a label selector; prefix, createdBy, afterStart and field filters are applied here.
 * A watch the server ends is resumed from the last resourceVersion seen; `410 Gone` (as a status
 * or an ERROR event) or any other failure relists and reports the difference to the cache.
 *
 * **sensorbus:** the event id is a hash of (EventSource, event, uid, resourceVersion, type), so a
 * relist, a restart or a redelivery never yields two different events for one change (the bus
 * dedupe window and sensors absorb the repeat), and a rejected emit is retried with backoff
 * instead of dropped.
 */

export interface ResourceAdapterOptions {
  /** The cluster client; undefined when no kubeconfig / in-cluster account is available. */
  kube: () => KubeClient | undefined;
  /** Delay after a failed list/watch or emit: starts at `initialMs`, doubles up to `maxMs`. */
  backoff?: { initialMs: number; maxMs: number };
  /** `timeoutSeconds` asked of the API server per watch (default 300 s; it then ends the stream). */
  watchTimeoutSeconds?: number;
}

/** Default backoff after a failed list/watch/emit: 1 s doubling to 30 s. */
export const DEFAULT_BACKOFF = { initialMs: 1_000, maxMs: 30_000 };
/** Default per-watch timeout: 300 s (client-go's reflector uses 5-10 min). */
export const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;
/** Event ids remembered per entry to skip repeats across relists. */
const SEEN_LIMIT = 10_000;

export type ResourceEventType = "ADD" | "UPDATE" | "DELETE";
const EVENT_TYPES = new Set<string>(["ADD", "UPDATE", "DELETE"]);

/** Label selector operators Argo accepts (k8s.io/apimachinery selection.Operator). */
const LABEL_OPS = new Set(["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"]);
const FIELD_OPS = new Set(["=", "==", "!="]);
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export interface Selector {
  key: string;
  operation?: string;
  value?: string;
}

/** One validated entry. */
export interface ResourceEntry {
  eventName: string;
  group: string;
  version: string;
  resource: string;
  apiVersion: string;
  /** undefined: every namespace. */
  namespace: string | undefined;
  eventTypes: ReadonlySet<ResourceEventType>;
  labelSelector: string | undefined;
  prefix: string;
  /** ms since epoch; objects created later are dropped. */
  createdBy: number | undefined;
  afterStart: boolean;
  fields: ReadonlyArray<{ key: string; negate: boolean; re: GoRegexp }>;
  metadata: Record<string, string> | undefined;
}

/**
 * The label selector string Argo builds (labels.NewSelector().Add(...).String()): requirements
 * sorted by key, `in`/`notin` values split on commas and sorted, empty operation meaning `=`.
 * Throws a ConfigError naming the bad selector.
 */
export function labelSelector(selectors: readonly Selector[]): string {
  const parts = selectors.map((sel, i) => {
    const at = `labels[${i}]`;
    const key = String(sel.key ?? "");
    const op = sel.operation ? String(sel.operation) : "=";
    const value = sel.value === undefined || sel.value === null ? "" : String(sel.value);
    if (!key) throw new ConfigError(`${at}.key: key can't be empty for selector`);
    if (!QUALIFIED_NAME.test(key) || key.length > 317) {
      throw new ConfigError(`${at}.key: '${key}' is not a valid label key`);
    }
    if (!LABEL_OPS.has(op)) {
      throw new ConfigError(
        `${at}.operation: unknown selection operation '${op}' (want one of ${[...LABEL_OPS].join(" ")})`,
      );
    }
    const checkValue = (v: string) => {
      if (v.length > 63 || !LABEL_VALUE.test(v)) {
        throw new ConfigError(`${at}.value: '${v}' is not a valid label value`);
      }
    };
    switch (op) {
      case "exists":
      case "!":
        if (value !== "") {
          throw new ConfigError(
            `${at}.value: values set must be empty for exists and does not exist`,
          );
        }
        return { key, text: op === "!" ? `!${key}` : key };
      case "in":
      case "notin": {
        const values = value.split(",");
        values.forEach(checkValue);
        const sorted = [...new Set(values)].sort();
        return { key, text: `${key} ${op} (${sorted.join(",")})` };
      }
      case "gt":
      case "lt":
        if (!/^-?\d+$/.test(value)) {
          throw new ConfigError(`${at}.value: '${value}' must be an integer for operator ${op}`);
        }
        return { key, text: `${key}${op === "gt" ? ">" : "<"}${value}` };
      default:
        checkValue(value);
        return { key, text: `${key}${op}${value}` };
    }
  });
  return parts
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((p) => p.text)
    .join(",");
}

/** Validates one `spec.resource.<eventName>` entry; ConfigError lists every problem. */
export function compileResourceEntry(
  eventSourceName: string,
  eventName: string,
  raw: ResourceEventSpec,
): ResourceEntry {
  const at = `EventSource ${eventSourceName}: /spec/resource/${eventName}`;
  const problems: string[] = [];
  const spec = (raw ?? {}) as Partial<ResourceEventSpec>;
  const group = spec.group ? String(spec.group) : "";
  const version = spec.version ? String(spec.version) : "";
  const resource = spec.resource ? String(spec.resource) : "";
  if (!version) problems.push(`${at}/version: version must be specified`);
  if (!resource) problems.push(`${at}/resource: resource must be specified`);
  const types = new Set<ResourceEventType>();
  if (!Array.isArray(spec.eventTypes)) {
    problems.push(`${at}/eventTypes: event types must be specified (ADD, UPDATE, DELETE)`);
  } else {
    spec.eventTypes.forEach((t, i) => {
      if (EVENT_TYPES.has(String(t))) types.add(String(t) as ResourceEventType);
      else
        problems.push(
          `${at}/eventTypes/${i}: unknown event type '${t}' (want ADD, UPDATE or DELETE)`,
        );
    });
  }
  const filter = spec.filter ?? {};
  let selector: string | undefined;
  if (filter.labels?.length) {
    try {
      selector = labelSelector(filter.labels);
    } catch (err) {
      problems.push(`${at}/filter/${errorMessage(err)}`);
    }
  }
  const fields: Array<{ key: string; negate: boolean; re: GoRegexp }> = [];
  (filter.fields ?? []).forEach((sel, i) => {
    const key = String(sel?.key ?? "");
    // Argo documents "defaults to ==" for fields; its code rejects an empty operation. We default.
    const op = sel?.operation ? String(sel.operation) : "=";
    if (!key) problems.push(`${at}/filter/fields/${i}/key: key can't be empty for selector`);
    if (!FIELD_OPS.has(op)) {
      problems.push(
        `${at}/filter/fields/${i}/operation: '${op}' is not supported for fields (want =, == or !=)`,
      );
    }
    const re = goRegexp(String(sel?.value ?? ""));
    if (typeof re === "string") problems.push(`${at}/filter/fields/${i}/value: ${re}`);
    else if (key) fields.push({ key, negate: op === "!=", re });
  });
  let createdBy: number | undefined;
  if (filter.createdBy !== undefined && filter.createdBy !== null && filter.createdBy !== "") {
    const t = Date.parse(String(filter.createdBy));
    if (Number.isNaN(t)) {
      problems.push(`${at}/filter/createdBy: '${filter.createdBy}' is not an RFC 3339 time`);
    } else {
      createdBy = t;
    }
  }
  if (
    spec.metadata !== undefined &&
    (typeof spec.metadata !== "object" || Array.isArray(spec.metadata))
  ) {
    problems.push(`${at}/metadata: must be a map of strings`);
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `invalid resource entry '${eventName}': ${problems.join("; ")}`,
      problems,
    );
  }
  const metadata =
    spec.metadata && Object.keys(spec.metadata).length > 0
      ? Object.fromEntries(Object.entries(spec.metadata).map(([k, v]) => [k, String(v)]))
      : undefined;
  return {
    eventName,
    group,
    version,
    resource,
    apiVersion: group ? `${group}/${version}` : version,
    namespace: spec.namespace ? String(spec.namespace) : undefined,
    eventTypes: types,
    labelSelector: selector,
    prefix: filter.prefix ? String(filter.prefix) : "",
    createdBy,
    afterStart: filter.afterStart === true,
    fields,
    metadata,
  };
}

/**
 * Event data as Argo's Go code marshals ResourceEventData: struct order `type, body, oldBody,
 * group, version, resource, metadata` (metadata omitted when empty), `oldBody` null unless UPDATE,
 * objects with sorted keys and HTML characters escaped.
 */
export function buildResourceEventData(
  type: ResourceEventType,
  body: KubeObject,
  oldBody: KubeObject | undefined,
  entry: Pick<ResourceEntry, "group" | "version" | "resource" | "metadata">,
): string {
  const meta = entry.metadata ? `,"metadata":${goMarshal(entry.metadata)}` : "";
  return (
    `{"type":${goQuote(type)},"body":${goMarshal(body)},"oldBody":${oldBody ? goMarshal(oldBody) : "null"},` +
    `"group":${goQuote(entry.group)},"version":${goQuote(entry.version)},"resource":${goQuote(entry.resource)}${meta}}`
  );
}

/** sensorbus: the event id of one change, 32 hex chars, stable across relists and restarts. */
export function resourceEventId(
  eventSourceName: string,
  eventName: string,
  obj: KubeObject,
  type: ResourceEventType,
): string {
  const md = obj.metadata ?? {};
  const identity = md.uid ?? `${md.namespace ?? ""}/${md.name ?? ""}`;
  return createHash("sha256")
    .update([eventSourceName, eventName, identity, md.resourceVersion ?? "", type].join("\u0000"))
    .digest("hex")
    .slice(0, 32);
}

/** The time Argo's afterStart filter compares with the start time (getEventTime). */
function eventTime(obj: KubeObject, type: ResourceEventType, now: number): number {
  const created = Date.parse(String(obj.metadata?.creationTimestamp ?? ""));
  const c = Number.isNaN(created) ? 0 : created;
  if (type === "ADD") return c;
  if (type === "DELETE") {
    const d = Date.parse(String(obj.metadata?.deletionTimestamp ?? ""));
    return Number.isNaN(d) ? now : d;
  }
  let t = c;
  const managed = obj.metadata?.managedFields;
  if (Array.isArray(managed)) {
    for (const f of managed as Array<{ operation?: string; time?: string }>) {
      const ft = Date.parse(String(f?.time ?? ""));
      if (f?.operation === "Update" && !Number.isNaN(ft) && ft > t) t = ft;
    }
  }
  return t;
}

/** Argo's passFilters: prefix, afterStart, createdBy, then fields (all must hold). */
export function passesFilters(
  entry: ResourceEntry,
  obj: KubeObject,
  type: ResourceEventType,
  startTime: number,
  now: number,
): { pass: true } | { pass: false; reason: string } {
  const name = obj.metadata?.name ?? "";
  if (entry.prefix && !name.startsWith(entry.prefix)) {
    return { pass: false, reason: `name '${name}' does not start with '${entry.prefix}'` };
  }
  if (entry.afterStart && eventTime(obj, type, now) < startTime) {
    return { pass: false, reason: "happened before the EventSource started (afterStart)" };
  }
  if (entry.createdBy !== undefined) {
    const created = Date.parse(String(obj.metadata?.creationTimestamp ?? ""));
    if (!Number.isNaN(created) && created > entry.createdBy) {
      return { pass: false, reason: "created after filter.createdBy" };
    }
  }
  if (entry.fields.length > 0) {
    const json = goMarshal(obj);
    for (const f of entry.fields) {
      const r = gjsonGet(json, f.key);
      if (!r.exists) return { pass: false, reason: `field '${f.key}' does not exist` };
      // sensorbus: numbers and booleans match by their text (Argo's gjson .Str is "" for them).
      const text =
        r.type === "JSON" || r.type === "Null" ? (r.type === "Null" ? "" : r.raw) : r.text;
      if (f.re.matchString(text) === f.negate) {
        return {
          pass: false,
          reason: `field '${f.key}' ${f.negate ? "matches" : "does not match"} ${f.re.source}`,
        };
      }
    }
  }
  return { pass: true };
}

/** Lower-case plural -> kind for resources whose kind is not the capitalised singular. */
const KNOWN_KINDS: Record<string, string> = {
  configmaps: "ConfigMap",
  serviceaccounts: "ServiceAccount",
  persistentvolumeclaims: "PersistentVolumeClaim",
  persistentvolumes: "PersistentVolume",
  replicasets: "ReplicaSet",
  statefulsets: "StatefulSet",
  daemonsets: "DaemonSet",
  cronjobs: "CronJob",
  endpoints: "Endpoints",
  endpointslices: "EndpointSlice",
  networkpolicies: "NetworkPolicy",
  rolebindings: "RoleBinding",
  clusterroles: "ClusterRole",
  clusterrolebindings: "ClusterRoleBinding",
  storageclasses: "StorageClass",
  horizontalpodautoscalers: "HorizontalPodAutoscaler",
  poddisruptionbudgets: "PodDisruptionBudget",
  customresourcedefinitions: "CustomResourceDefinition",
  resourcequotas: "ResourceQuota",
  limitranges: "LimitRange",
  workflowtemplates: "WorkflowTemplate",
  clusterworkflowtemplates: "ClusterWorkflowTemplate",
  cronworkflows: "CronWorkflow",
  workflowtaskresults: "WorkflowTaskResult",
  workfloweventbindings: "WorkflowEventBinding",
  eventsources: "EventSource",
  eventbus: "EventBus",
};

function singular(resource: string): string {
  if (/(ches|shes|sses|xes|zes)$/.test(resource)) return resource.slice(0, -2);
  if (/[^aeiou]ies$/.test(resource)) return `${resource.slice(0, -3)}y`;
  if (resource.endsWith("s")) return resource.slice(0, -1);
  return resource;
}

/**
 * The kind served as `resource` in `apiVersion` (KubeClient addresses collections by kind). Tries
 * the known spelling or the capitalised singular, then the kinds API discovery lists.
 */
export async function resolveKind(
  kube: KubeClient,
  apiVersion: string,
  resource: string,
): Promise<string> {
  const guess = KNOWN_KINDS[resource] ?? singular(resource).replace(/^./, (c) => c.toUpperCase());
  let listed: string[] = [];
  try {
    const info = await kube.resourceFor(apiVersion, guess);
    if (info.resource === resource) return guess;
  } catch (err) {
    if (!(err instanceof KubeApiError) || err.status !== 404) throw err;
    const m = /API discovery lists (.*)\)$/.exec(err.message);
    if (!m) throw err;
    listed = m[1] === "no kinds" ? [] : m[1]!.split(", ");
  }
  const want = singular(resource);
  const candidates = [
    ...listed.filter((k) => k.toLowerCase() === want || pluralize(k) === resource),
    ...listed,
  ];
  for (const kind of new Set(candidates)) {
    const info = await kube.resourceFor(apiVersion, kind);
    if (info.resource === resource) return kind;
  }
  throw new KubeApiError(
    `resource '${resource}' is not served by ${apiVersion}${listed.length ? ` (kinds: ${listed.join(", ")})` : ""}`,
    404,
    "NotFound",
    { retryable: false },
  );
}

interface Pending {
  type: ResourceEventType;
  obj: KubeObject;
  old: KubeObject | undefined;
}

function objKey(o: KubeObject): string {
  return `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}

/** One entry's list+watch loop and cache. */
class ResourceWatch {
  private readonly cache = new Map<string, KubeObject>();
  private readonly seen = new BoundedMap<string, true>(SEEN_LIMIT);
  private kind: string | undefined;
  private resourceVersion: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failures = 0;
  private readonly startTime: number;

  constructor(
    private readonly entry: ResourceEntry,
    private readonly kube: KubeClient,
    private readonly ctx: AdapterContext,
    private readonly signal: AbortSignal,
    private readonly log: Logger,
    private readonly backoff: { initialMs: number; maxMs: number },
    private readonly watchTimeoutSeconds: number,
  ) {
    this.startTime = ctx.clock.now();
  }

  async run(): Promise<void> {
    let relist = true;
    // Watches that end without a single event, in a row (a proxy cutting streams): back off.
    let emptyWatches = 0;
    while (!this.signal.aborted) {
      try {
        this.kind ??= await resolveKind(this.kube, this.entry.apiVersion, this.entry.resource);
        if (relist) {
          await this.list();
          relist = false;
        }
        let gone = false;
        let received = 0;
        // Ends this one watch on an ERROR event (the server closes the stream after it anyway).
        const stream = new AbortController();
        const endStream = () => stream.abort();
        this.signal.addEventListener("abort", endStream, { once: true });
        const watching = this.kube.watch(
          this.entry.apiVersion,
          this.kind,
          this.entry.namespace,
          {
            resourceVersion: this.resourceVersion,
            labelSelector: this.entry.labelSelector,
            allowWatchBookmarks: true,
            timeoutSeconds: this.watchTimeoutSeconds,
            signal: stream.signal,
          },
          (type, obj) => {
            received++;
            if (gone) return;
            if (type === "ERROR") {
              gone = true;
              const st = obj as unknown as { code?: number; message?: string };
              this.log.info(
                { code: st.code },
                `watch ended with an error (${st.message ?? "no message"}); relisting`,
              );
              stream.abort();
              return;
            }
            this.onWatchEvent(type, obj);
          },
        );
        try {
          await watching;
        } finally {
          this.signal.removeEventListener("abort", endStream);
        }
        await this.chain;
        this.failures = 0;
        if (gone) relist = true;
        emptyWatches = received === 0 ? emptyWatches + 1 : 0;
        if (emptyWatches >= 3) {
          const delay = this.delay(emptyWatches - 2);
          this.log.warn({ retryInMs: delay }, "watches keep ending without events; backing off");
          await this.ctx.clock.sleep(delay, this.signal);
        }
      } catch (err) {
        await this.chain.catch(() => undefined);
        if (this.signal.aborted) break;
        relist = true;
        if (err instanceof KubeApiError && err.status === 410) {
          this.log.info(
            { resourceVersion: this.resourceVersion },
            "watch resourceVersion expired (410 Gone); relisting",
          );
          continue;
        }
        this.failures++;
        const delay = this.delay(this.failures);
        this.log.warn(
          { err, retryInMs: delay },
          `list/watch of ${this.describe()} failed; retrying`,
        );
        await this.ctx.clock.sleep(delay, this.signal);
      }
    }
  }

  /** Backoff before attempt `n + 1` (n >= 1): initial, doubling, capped. */
  private delay(n: number): number {
    return Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (n - 1));
  }

  private describe(): string {
    const res = this.entry.group
      ? `${this.entry.resource}.${this.entry.group}`
      : this.entry.resource;
    return `${res} in ${this.entry.namespace ? `namespace ${this.entry.namespace}` : "all namespaces"}`;
  }

  /** Full list (paged), then reports what changed against the cache, informer style. */
  private async list(): Promise<void> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = await this.kube.list(this.entry.apiVersion, this.kind!, this.entry.namespace, {
        ...(this.entry.labelSelector ? { labelSelector: this.entry.labelSelector } : {}),
        limit: 500,
        ...(cont ? { continue: cont } : {}),
      });
      // Items of built-in kinds come without apiVersion/kind; client-go's UnstructuredList fills them.
      for (const it of page.items ?? []) {
        items.push({
          ...it,
          apiVersion: it.apiVersion ?? this.entry.apiVersion,
          kind: it.kind ?? this.kind!,
        });
      }
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion;
    } while (cont && !this.signal.aborted);
    const fresh = new Map(items.map((o) => [objKey(o), o]));
    const events: Pending[] = [];
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      if (!old) events.push({ type: "ADD", obj, old: undefined });
      else events.push({ type: "UPDATE", obj, old });
    }
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) events.push({ type: "DELETE", obj: old, old: undefined });
    }
    this.cache.clear();
    for (const [k, v] of fresh) this.cache.set(k, v);
    this.resourceVersion = rv;
    for (const ev of events) this.enqueue(ev);
    await this.chain;
  }

  private onWatchEvent(type: WatchEventType, obj: KubeObject): void {
    const rv = obj.metadata?.resourceVersion;
    if (type === "BOOKMARK") {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const key = objKey(obj);
    const old = this.cache.get(key);
    if (type === "DELETED") {
      this.cache.delete(key);
      this.enqueue({ type: "DELETE", obj, old: undefined });
    } else {
      this.cache.set(key, obj);
      this.enqueue(old ? { type: "UPDATE", obj, old } : { type: "ADD", obj, old: undefined });
    }
    if (rv) this.resourceVersion = rv;
  }

  private enqueue(ev: Pending): void {
    this.chain = this.chain.then(() => this.handle(ev));
  }

  private async handle(ev: Pending): Promise<void> {
    if (!this.entry.eventTypes.has(ev.type)) return;
    if (
      ev.type === "UPDATE" &&
      ev.old?.metadata?.resourceVersion === ev.obj.metadata?.resourceVersion
    ) {
      return;
    }
    const name = objKey(ev.obj);
    const verdict = passesFilters(
      this.entry,
      ev.obj,
      ev.type,
      this.startTime,
      this.ctx.clock.now(),
    );
    if (!verdict.pass) {
      this.log.debug(
        { object: name, type: ev.type, reason: verdict.reason },
        "resource event filtered out",
      );
      return;
    }
    const id = resourceEventId(this.ctx.eventSourceName, this.entry.eventName, ev.obj, ev.type);
    if (this.seen.has(id)) return;
    const data = buildResourceEventData(
      ev.type,
      ev.obj,
      ev.type === "UPDATE" ? ev.old : undefined,
      this.entry,
    );
    let attempt = 0;
    while (!this.signal.aborted) {
      try {
        const res = await this.ctx.emit(this.entry.eventName, {
          data,
          id,
          ...traceInfo(ev.obj, ev.type),
        });
        this.remember(id);
        this.log.debug(
          { object: name, type: ev.type, eventId: res.id, status: res.status },
          "resource event emitted",
        );
        return;
      } catch (err) {
        attempt++;
        const delay = this.delay(attempt);
        this.log.warn(
          { err, object: name, type: ev.type, retryInMs: delay },
          "emit failed; retrying",
        );
        await this.ctx.clock.sleep(delay, this.signal);
      }
    }
  }

  private remember(id: string): void {
    this.seen.set(id, true);
  }
}

/**
 * The `resource` EventSource adapter. `start` validates every entry (ConfigError listing the
 * problems) and fails at once when no cluster is configured; list/watch failures after that are
 * logged and retried with backoff, so a CRD installed later or an API server restart heals.
 */
export function createResourceAdapter(
  opts: ResourceAdapterOptions,
): EventSourceAdapter<ResourceEventSpec> {
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const watchTimeoutSeconds = opts.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS;
  return {
    key: "resource",
    ceType: "resource",
    async start(entries, ctx): Promise<RunningAdapter> {
      const compiled = entries.map((e) =>
        compileResourceEntry(ctx.eventSourceName, e.eventName, e.spec),
      );
      const kube = opts.kube();
      if (!kube) {
        const names = compiled.map((e) => e.eventName).join(", ");
        throw new ConfigError(
          `EventSource ${ctx.eventSourceName}: resource entr${compiled.length === 1 ? "y" : "ies"} ${names} need a Kubernetes cluster, and none is configured (set KUBECONFIG, ~/.kube/config or run in a pod)`,
          compiled.map((e) => `/spec/resource/${e.eventName}: no Kubernetes cluster configured`),
        );
      }
      const abort = new AbortController();
      const onAbort = () => abort.abort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      if (ctx.signal.aborted) abort.abort();
      const loops = compiled.map((entry) => {
        const log = ctx.log.child({ eventName: entry.eventName });
        log.info(
          {
            apiVersion: entry.apiVersion,
            resource: entry.resource,
            namespace: entry.namespace ?? "",
            labelSelector: entry.labelSelector ?? "",
            cluster: kube.source,
          },
          "watching resources",
        );
        const w = new ResourceWatch(
          entry,
          kube,
          ctx,
          abort.signal,
          log,
          backoff,
          watchTimeoutSeconds,
        );
        return w
          .run()
          .catch((err) => log.error({ err }, `resource watch stopped: ${errorMessage(err)}`));
      });
      return {
        async stop() {
          ctx.signal.removeEventListener("abort", onAbort);
          abort.abort();
          await Promise.allSettled(loops);
        },
      };
    },
  };
}

/** The registry's entry point: the adapter watching the host's cluster. */
export function createAdapter(
  options: AdapterRegistryOptions,
): EventSourceAdapter<ResourceEventSpec> {
  return createResourceAdapter({ kube: options.kube ?? (() => undefined) });
}

/**
 * What a resource event tells `sensorbus trace`: the object's correlation ID (the
 * `sensorbus.io/correlation-id` label or annotation a sensorbus trigger stamped) as the event's
 * `correlationid` extension, so the next Sensor carries it on, and the object's kind, name and
 * `status.phase` (a Workflow's Pending, Running, Succeeded...) for the journal.
 */
function traceInfo(obj: KubeObject, change: string): Pick<EmitInput, "extensions" | "object"> {
  const meta = obj.metadata ?? {};
  const corr =
    meta.labels?.["sensorbus.io/correlation-id"] ??
    meta.annotations?.["sensorbus.io/correlation-id"];
  const phase = (obj as { status?: { phase?: unknown } }).status?.phase;
  return {
    ...(corr ? { extensions: { correlationid: corr } } : {}),
    object: {
      kind: obj.kind ?? "",
      name: meta.name ?? "",
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      change,
      ...(typeof phase === "string" && phase !== "" ? { phase } : {}),
    },
  };
}
