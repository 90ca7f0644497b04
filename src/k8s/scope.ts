import { ConfigError, TriggerError } from "../errors.js";
import type {
  KubeClient,
  KubeList,
  KubeObject,
  KubeRef,
  ListOptions,
  ResourceInfo,
  WatchEventType,
  WatchOptions,
} from "./client.js";
import { serviceAccountUser } from "./client.js";

/**
 * Where a Sensor's Kubernetes triggers may act, beyond the Sensor's own namespace. Set by the
 * operator in sensorbus's own configuration (flags), never by a Sensor.
 */
export interface TriggerScope {
  /** Other namespaces triggers may act in; `*` allows every namespace. */
  allowNamespaces: readonly string[];
  /** Kinds of cluster-scoped objects triggers may act on (`ClusterRole`, ...); `*` allows all. */
  allowClusterScoped: readonly string[];
}

/** How sensorbus calls Kubernetes for each Sensor and EventSource. */
export interface KubeAccess {
  /**
   * Every call made for a Sensor (its triggers) or an EventSource (resource watches, calendar
   * ConfigMap) is made as that object's `spec.template.serviceAccountName` (or its namespace's
   * `default` account), through `Impersonate-User`.
   */
  impersonate: boolean;
  /** Confine each Sensor's triggers to its own namespace plus what this allows; undefined: no limit. */
  confine?: TriggerScope | undefined;
}

/** Parses a comma-separated flag value (`team-b,team-c`); empty entries dropped. */
export function parseList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** `spec.template.serviceAccountName` of a Sensor or EventSource spec, or `default` as Argo's pods. */
export function serviceAccountOf(spec: unknown): string {
  const template = (spec as { template?: unknown } | undefined)?.template;
  const name = (template as { serviceAccountName?: unknown } | undefined)?.serviceAccountName;
  return typeof name === "string" && name !== "" ? name : "default";
}

/**
 * The client a Sensor's triggers or an EventSource use: `base`, impersonating the object's
 * service account when `access.impersonate`, confined to `namespace` (plus the allowed) when
 * `access.confine` and `confine` is asked for (Sensors).
 */
export function clientFor(
  base: KubeClient,
  access: KubeAccess | undefined,
  owner: { kind: "Sensor" | "EventSource"; namespace: string; name: string; spec: unknown },
): KubeClient {
  let client = base;
  if (access?.impersonate) {
    if (!base.impersonate) {
      throw new TriggerError(
        "SB_ERR_TRIGGER_K8S",
        `${owner.kind} ${owner.namespace}/${owner.name}: this Kubernetes client cannot impersonate`,
      );
    }
    client = base.impersonate(serviceAccountUser(owner.namespace, serviceAccountOf(owner.spec)));
  }
  if (access?.confine && owner.kind === "Sensor") {
    client = new ConfinedKubeClient(client, owner.namespace, access.confine, owner.name);
  }
  return client;
}

/**
 * A KubeClient that refuses, before sending, every call outside the Sensor's lane: a namespaced
 * object in another namespace (unless allowed), a cluster-scoped object (unless its kind is
 * allowed), a list or watch across all namespaces. Checked on the final object, after parameters
 * were applied, so event data cannot choose another namespace.
 */
export class ConfinedKubeClient implements KubeClient {
  constructor(
    private readonly inner: KubeClient,
    private readonly own: string,
    private readonly scope: TriggerScope,
    private readonly sensor: string,
  ) {}

  get namespace(): string {
    return this.inner.namespace;
  }
  get source(): string {
    return this.inner.source;
  }
  get actingAs(): string | undefined {
    return this.inner.actingAs;
  }

  resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    return this.inner.resourceFor(apiVersion, kind);
  }

  private async check(
    verb: string,
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string | undefined,
    allNamespacesMeansUnset = false,
  ): Promise<void> {
    const info = await this.inner.resourceFor(apiVersion, kind);
    const what = `${verb} ${kind}${name ? ` ${name}` : ""}`;
    const who = `Sensor ${this.own}/${this.sensor}`;
    if (!info.namespaced) {
      const allowed = this.scope.allowClusterScoped;
      if (allowed.includes("*") || allowed.includes(kind)) return;
      throw refused(
        `${who}: ${what} refused: ${kind} is cluster-scoped, and triggers may act on cluster-scoped objects only of the kinds an operator allows (--allow-cluster-scoped-triggers ${kind})`,
      );
    }
    const ns = namespace || (allNamespacesMeansUnset ? undefined : this.inner.namespace);
    const allowed = this.scope.allowNamespaces;
    if (ns === this.own || allowed.includes("*") || (ns !== undefined && allowed.includes(ns)))
      return;
    throw refused(
      `${who}: ${what} in ${ns === undefined ? "all namespaces" : `namespace ${ns}`} refused: a Sensor's triggers act in its own namespace (${this.own})${
        allowed.length > 0 ? ` and ${allowed.join(", ")}` : ""
      } only (an operator allows more with --allow-trigger-namespaces)`,
    );
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    await this.check("create", obj.apiVersion, obj.kind, obj.metadata?.namespace, nameOf(obj));
    return this.inner.create(obj);
  }
  async get(ref: KubeRef): Promise<KubeObject | undefined> {
    await this.check("get", ref.apiVersion, ref.kind, ref.namespace, ref.name);
    return this.inner.get(ref);
  }
  async replace(obj: KubeObject): Promise<KubeObject> {
    await this.check("update", obj.apiVersion, obj.kind, obj.metadata?.namespace, nameOf(obj));
    return this.inner.replace(obj);
  }
  async patch(
    obj: KubeObject,
    contentType: string,
    body?: unknown,
    subresource?: "status",
  ): Promise<KubeObject> {
    await this.check("patch", obj.apiVersion, obj.kind, obj.metadata?.namespace, nameOf(obj));
    return this.inner.patch(obj, contentType, body, subresource);
  }
  async delete(ref: KubeRef): Promise<boolean> {
    await this.check("delete", ref.apiVersion, ref.kind, ref.namespace, ref.name);
    return this.inner.delete(ref);
  }
  async list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts?: ListOptions,
  ): Promise<KubeList> {
    await this.check("list", apiVersion, kind, namespace, undefined, true);
    return this.inner.list(apiVersion, kind, namespace, opts);
  }
  async watch(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
  ): Promise<void> {
    await this.check("watch", apiVersion, kind, namespace, undefined, true);
    return this.inner.watch(apiVersion, kind, namespace, opts, onEvent);
  }
  close(): void {
    // The pool belongs to the client this one wraps.
  }
}

function nameOf(obj: KubeObject): string | undefined {
  return (
    obj.metadata?.name ?? (obj.metadata?.generateName ? `${obj.metadata.generateName}*` : undefined)
  );
}

function refused(message: string): TriggerError {
  return new TriggerError("SB_ERR_TRIGGER_K8S_SCOPE", message, { retryable: false });
}

export interface KubeAccessFlags {
  impersonate?: boolean | undefined;
  "confine-triggers"?: boolean | undefined;
  "allow-trigger-namespaces"?: string | undefined;
  "allow-cluster-scoped-triggers"?: string | undefined;
}

/**
 * The command line's {@link KubeAccess}. `controller`: impersonation and confinement always on
 * (the allow flags widen the lane). `run`: today's behaviour (one identity, no lane) unless
 * `--impersonate` / `--confine-triggers` turn them on; an allow flag without
 * `--confine-triggers` is a usage error rather than a silent no-op.
 */
export function kubeAccessFromFlags(
  mode: "run" | "controller",
  flags: KubeAccessFlags,
): KubeAccess | undefined {
  const allowNamespaces = parseList(flags["allow-trigger-namespaces"]);
  const allowClusterScoped = parseList(flags["allow-cluster-scoped-triggers"]);
  const confine = mode === "controller" || flags["confine-triggers"] === true;
  if (!confine && (allowNamespaces.length > 0 || allowClusterScoped.length > 0)) {
    const flag =
      allowNamespaces.length > 0 ? "--allow-trigger-namespaces" : "--allow-cluster-scoped-triggers";
    throw new ConfigError(
      `${flag} widens the lane --confine-triggers sets; in run mode give --confine-triggers too (controller mode always confines)`,
    );
  }
  const impersonate = mode === "controller" || flags.impersonate === true;
  if (!confine && !impersonate) return undefined;
  return {
    impersonate,
    ...(confine ? { confine: { allowNamespaces, allowClusterScoped } } : {}),
  };
}
