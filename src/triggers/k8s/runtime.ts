import { DEFAULTS } from "../../config/defaults.js";
import { TriggerError } from "../../errors.js";
import {
  createOnce,
  firingName,
  type KubeClient,
  type KubeObject,
  pluralize,
  type ResourceInfo,
  splitApiVersion,
  stampFiringIdentity,
  waitForLabels,
} from "../../k8s/client.js";
import type { Logger } from "../../observability/logger.js";
import type { TriggerRegistryOptions } from "../kind.js";
import { loadResource, type SourceContext } from "../source.js";
import type { ExecContext, FiringContext, Rendered, TriggerKind, TriggerResult } from "../types.js";
import type { K8sTrigger } from "./schema.js";

export interface K8sTriggerOptions {
  dryRun: boolean;
  log: Logger;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  source?: Omit<SourceContext, "values" | "field">;
}

/** A Kubernetes label value. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const OPERATIONS = new Set(["create", "update", "patch", "delete"]);
const PATCH_TYPES = new Set([
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/json-patch+json",
  "application/apply-patch+yaml",
]);
/** Argo's list, used only when API discovery cannot be read (no cluster, or RBAC refuses it). */
const CLUSTER_SCOPED = new Set([
  "namespaces",
  "nodes",
  "persistentvolumes",
  "clusterroles",
  "clusterrolebindings",
]);

interface K8sDetail {
  operation: string;
  patchStrategy: string;
  namespaced: boolean;
  resource: string;
  /** ns/name or name, for messages. */
  id: string;
  /** create: the user's generateName the object's name was derived from. */
  generateName?: string;
}

function renderError(field: string, message: string): TriggerError {
  return new TriggerError("SB_ERR_TRIGGER_RENDER", `${field}: ${message}`, { retryable: false });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** mergo's notion of an empty value: such values in the trigger object do not override. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  return false;
}

/**
 * Argo's update merge (mergo.Merge(live, trigger, WithOverride)): objects merge recursively,
 * non-empty trigger values win, lists are replaced, keys missing from the live object are added.
 */
export function deepMerge(
  live: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...live };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    if (isObject(cur) && isObject(v)) out[k] = deepMerge(cur, v);
    else if (!(k in out)) {
      if (v !== undefined && v !== null) out[k] = v;
    } else if (!isEmpty(v)) out[k] = v;
  }
  return out;
}

/** The standard `k8s` trigger kind (§4.4). */
export function k8sTrigger(
  client: KubeClient | undefined,
  opts: K8sTriggerOptions,
): TriggerKind<K8sTrigger> {
  const live = client !== undefined && !opts.dryRun;

  async function resourceInfo(apiVersion: string, kind: string): Promise<ResourceInfo> {
    if (client) return client.resourceFor(apiVersion, kind);
    const { group, version } = splitApiVersion(apiVersion);
    const resource = pluralize(kind);
    return {
      group,
      version,
      resource,
      kind,
      namespaced: !CLUSTER_SCOPED.has(resource),
      via: "fallback",
    };
  }

  async function render(template: K8sTrigger, ctx: FiringContext): Promise<Rendered> {
    const field = "k8s";
    const operation = template.operation || DEFAULTS.k8s.operation;
    if (!OPERATIONS.has(operation)) {
      throw renderError(
        `${field}.operation`,
        `unknown operation '${operation}' (want create, update, patch or delete)`,
      );
    }
    const patchStrategy = template.patchStrategy || DEFAULTS.k8s.patchStrategy;
    if (operation === "patch" && !PATCH_TYPES.has(patchStrategy)) {
      throw renderError(
        `${field}.patchStrategy`,
        `unknown patch strategy '${patchStrategy}' (want one of ${[...PATCH_TYPES].join(", ")})`,
      );
    }
    let obj: Record<string, unknown> = await loadResource(template.source, {
      ...opts.source,
      values: ctx.values,
      field: `${field}.source`,
    });
    const apiVersion = typeof obj.apiVersion === "string" && obj.apiVersion ? obj.apiVersion : "v1";
    const kind = typeof obj.kind === "string" ? obj.kind : "";
    if (!kind) throw renderError(`${field}.source.kind`, "the resource has no kind");
    const info = await resourceInfo(apiVersion, kind);

    const srcMeta = isObject(obj.metadata) ? obj.metadata : {};
    if (template.liveObject && operation === "update") {
      // Argo starts from the live object; parameters then apply to it.
      const name = typeof srcMeta.name === "string" ? srcMeta.name : "";
      const ns = typeof srcMeta.namespace === "string" ? srcMeta.namespace : "";
      if (!name)
        throw renderError(
          `${field}.source.metadata.name`,
          "resource name must be specified for fetching live object",
        );
      if (!ns && info.namespaced) {
        throw renderError(
          `${field}.source.metadata.namespace`,
          "resource namespace must be specified for fetching live object",
        );
      }
      if (client) {
        const current = await client.get({ apiVersion, kind, name, namespace: ns });
        if (!current) {
          throw new TriggerError(
            "SB_ERR_TRIGGER_K8S",
            `${field}: live object ${kind} ${[ns, name].filter(Boolean).join("/")} not found`,
            {
              retryable: false,
            },
          );
        }
        obj = current;
      }
    }

    const applied = ctx.applyParameters(JSON.stringify(obj), template.parameters);
    let out: unknown;
    try {
      out = JSON.parse(applied);
    } catch {
      throw renderError(
        `${field}.parameters`,
        "the resource is no longer JSON after applying parameters",
      );
    }
    if (!isObject(out)) throw renderError(`${field}.source`, "the resource must be an object");
    const res = out as KubeObject;
    res.apiVersion ||= apiVersion;
    res.metadata = (isObject(res.metadata) ? res.metadata : {}) as KubeObject["metadata"];
    const meta = res.metadata;
    if (info.namespaced) meta.namespace = meta.namespace || ctx.namespace;
    else delete meta.namespace;
    if (operation !== "create" && !meta.name) {
      throw renderError(
        `${field}.source.metadata.name`,
        `operation ${operation} needs metadata.name`,
      );
    }
    let generateName: string | undefined;
    if (operation === "create") {
      if (!meta.name && !meta.generateName) {
        throw renderError(`${field}.source.metadata`, "neither name nor generateName is given");
      }
      meta.labels = {
        ...(isObject(meta.labels) ? meta.labels : {}),
        "events.argoproj.io/sensor": ctx.sensorName,
        "events.argoproj.io/trigger": ctx.triggerName,
        "events.argoproj.io/action-timestamp": String(Math.floor(ctx.now())),
      };
      const ids = [...new Set([...ctx.events.values()].map((e) => e.id))].sort();
      const annotations: Record<string, string> = {
        ...(isObject(meta.annotations) ? (meta.annotations as Record<string, string>) : {}),
      };
      const key = stampFiringIdentity(annotations, {
        namespace: ctx.namespace,
        sensor: ctx.sensorName,
        trigger: ctx.triggerName,
        eventIds: ids,
      });
      meta.annotations = annotations;
      // W3C trace context of the firing's first event, as argoWorkflow stamps it.
      const traceparent = [...ctx.events.values()][0]?.extensions?.traceparent;
      if (traceparent)
        (meta.annotations as Record<string, string>)["sensorbus.io/traceparent"] = traceparent;
      // The correlation ID, as argoWorkflow stamps it: a label (selectable, and what a resource
      // EventSource watching these objects carries on), an annotation when not a label value.
      if (ctx.correlationId) {
        if (ctx.correlationId.length <= 63 && LABEL_VALUE.test(ctx.correlationId))
          (meta.labels as Record<string, string>)["sensorbus.io/correlation-id"] =
            ctx.correlationId;
        else
          (meta.annotations as Record<string, string>)["sensorbus.io/correlation-id"] =
            ctx.correlationId;
      }
      if (!meta.name && meta.generateName) {
        // sensorbus: names derived from the whole firing (namespace, Sensor, trigger, events)
        // make a redelivery harmless (409 on an object of this firing -> already done).
        generateName = meta.generateName;
        meta.name = firingName(meta.generateName, key);
        delete meta.generateName;
      }
    }
    const id = [meta.namespace, meta.name].filter(Boolean).join("/");
    const detail: K8sDetail = {
      operation,
      patchStrategy,
      namespaced: info.namespaced,
      resource: info.group ? `${info.resource}.${info.group}` : info.resource,
      id,
      ...(generateName !== undefined ? { generateName } : {}),
    };
    return { kind: "k8s", payload: res, detail };
  }

  async function execute(r: Rendered, ctx: ExecContext): Promise<TriggerResult> {
    const d = r.detail as K8sDetail;
    const obj = r.payload as KubeObject;
    const what = `${obj.kind} ${d.id}`;
    if (!live || !client) {
      ctx.log.info(
        { operation: d.operation, object: obj },
        `rendered ${obj.kind} (dry run) ${d.operation} ${d.id}${client || opts.dryRun ? "" : " (no Kubernetes configuration)"}`,
      );
      return { summary: `rendered ${d.operation} ${what} (dry run)`, detail: { dryRun: true } };
    }
    const ref = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: obj.metadata.name ?? "",
      namespace: obj.metadata.namespace,
    };
    const detail: Record<string, unknown> = {
      operation: d.operation,
      resource: d.resource,
      id: d.id,
    };
    let summary: string;
    let result: KubeObject | undefined;
    switch (d.operation) {
      case "create": {
        const res = await createOnce(client, obj, { generateName: d.generateName });
        result = res.object;
        detail.alreadyDone = res.alreadyDone;
        const made = `${obj.kind} ${[obj.metadata.namespace, res.object.metadata?.name ?? obj.metadata.name].filter(Boolean).join("/")}`;
        if (made !== what) detail.id = made.slice(obj.kind.length + 1);
        summary = res.alreadyDone
          ? `${made} already exists, created by an earlier delivery of this firing (already done)`
          : made === what
            ? `created ${what}`
            : `created ${made} (${d.id} is held by another object)`;
        break;
      }
      case "update": {
        const current = await client.get(ref);
        if (!current) {
          ctx.log.info(`${what} not found, creating it`);
          result = await client.create(obj);
          summary = `created ${what} (update of a missing object)`;
        } else {
          result = await client.replace(deepMerge(current, obj) as KubeObject);
          summary = `updated ${what}`;
        }
        break;
      }
      case "patch": {
        const current = await client.get(ref);
        if (!current) {
          ctx.log.info(`${what} not found, creating it`);
          result = await client.create(obj);
          summary = `created ${what} (patch of a missing object)`;
        } else {
          result = await client.patch(obj, d.patchStrategy);
          summary = `patched ${what} (${d.patchStrategy})`;
        }
        break;
      }
      default: {
        const existed = (await client.get(ref)) !== undefined && (await client.delete(ref));
        detail.existed = existed;
        summary = existed ? `deleted ${what}` : `${what} not found, nothing to delete`;
      }
    }
    const policy = ctx.policy?.k8s;
    if (result && policy?.labels && Object.keys(policy.labels).length > 0) {
      const target = { ...ref, name: result.metadata?.name ?? ref.name };
      const res = await waitForLabels(client, target, policy.labels, {
        backoff: policy.backoff,
        sleep: opts.sleep,
        random: opts.random,
        signal: ctx.signal,
      });
      detail.policy = res.matched ? "matched" : "timeout";
      if (!res.matched) {
        const msg = `policy.k8s: ${what} did not reach labels ${JSON.stringify(policy.labels)} after ${res.attempts} checks`;
        if (policy.errorOnBackoffTimeout)
          throw new TriggerError("SB_ERR_TRIGGER_K8S", msg, { retryable: false });
        ctx.log.warn({ labels: res.labels }, `${msg}; counting the firing as successful`);
      }
    }
    return { summary, detail };
  }

  return { kind: "k8s", render, execute };
}

/** The registry's entry point. */
export function createTrigger(options: TriggerRegistryOptions): TriggerKind<K8sTrigger> {
  return k8sTrigger(options.kube, {
    dryRun: options.dryRun,
    log: options.log,
    ...(options.source ? { source: options.source } : {}),
  });
}
