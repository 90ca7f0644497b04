import { formatProblem, validateManifest } from "../config/load.js";
import type { ObjectMeta } from "../config/types.js";
import type { KubeClient, KubeObject, WatchEventType } from "../k8s/client.js";
import { KubeApiError } from "../k8s/client.js";
import { sleepUnlessAborted } from "../lib/sleep.js";
import type { Logger } from "../observability/logger.js";
import type { ManifestHost, ManifestKind } from "./host.js";
import { ManifestReconciler, splitKey } from "./host.js";

export type { ManifestHost, ManifestKind } from "./host.js";
export { fingerprint, ManifestReconciler, RunnerHost } from "./host.js";

/** The API group and version of Argo Events' custom resources. */
export const ARGO_EVENTS_API = "argoproj.io/v1alpha1";

// ---------------------------------------------------------------------------------------------
// Controller mode

export interface StatusCondition {
  type: "Deployed" | "Ready";
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** Writes `status` of one custom resource (a merge patch of `{ status }`). */
export type StatusWriter = (
  target: { apiVersion: string; kind: string; name: string; namespace: string },
  status: { conditions: StatusCondition[] },
) => Promise<void>;

/**
 * Merge-patches `{ status }` onto the object. KubeClient has no subresource parameter yet, so
 * this patches the main resource: that persists where the CRD has no status subresource (and on
 * the test API server); where it has one (Argo Events' CRDs), the API server ignores the change,
 * which this writer detects and reports once.
 */
export function mergePatchStatusWriter(kube: KubeClient, log: Logger): StatusWriter {
  let mainResource = false;
  return async (target, status) => {
    const obj = {
      apiVersion: target.apiVersion,
      kind: target.kind,
      metadata: { name: target.name, namespace: target.namespace },
    };
    if (!mainResource) {
      try {
        // Argo Events' CRDs serve status as a subresource: a main-resource patch would be ignored.
        await kube.patch(obj, "application/merge-patch+json", { status }, "status");
        return;
      } catch (err) {
        if (!(err instanceof KubeApiError) || err.status !== 404) throw err;
        // The object exists (we are reconciling it) but /status does not: a CRD without the subresource.
        mainResource = true;
        log.info(
          { kind: target.kind },
          "no status subresource: writing status on the main resource",
        );
      }
    }
    await kube.patch(obj, "application/merge-patch+json", { status });
  };
}

export interface ControllerOptions {
  kube: KubeClient;
  /** Namespace whose EventSources and Sensors this controller runs. */
  namespace: string;
  /** Builds the host that runs manifests (called once, before the first list). */
  runtimeFactory: () => ManifestHost | Promise<ManifestHost>;
  log: Logger;
  /** Aborting stops the watches, then the host (drained within `drainTimeoutMs`). */
  signal: AbortSignal;
  drainTimeoutMs?: number;
  /** Each watch request ends after this long and resumes from the last resourceVersion (300 s). */
  watchTimeoutSeconds?: number;
  /** Pause before re-opening a failed list or watch: doubles from this (1 s) up to 30 s. */
  retryDelayMs?: number;
  /** Sleeps between retries; resolves false when `signal` aborted (tests gate retries). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<boolean>;
  /** Default: {@link mergePatchStatusWriter}. */
  writeStatus?: StatusWriter;
  now?: () => Date;
}

const KINDS: ManifestKind[] = ["EventSource", "Sensor"];

/**
 * `sensorbus controller`: lists and watches `argoproj.io/v1alpha1` EventSources and Sensors in one
 * namespace, runs each valid one in-process through the host, reloads it when its spec changes,
 * stops it when it is deleted, and writes `Deployed` and `Ready` conditions to its status.
 *
 * Watches resume from the last resourceVersion seen (events, bookmarks); `410 Gone` (as an HTTP
 * status or an ERROR event) relists and reconciles the difference, so nothing that changed while
 * disconnected is missed. An invalid update leaves the previous valid version running, as Argo
 * Events' controller leaves the previous Deployment. Resolves after `signal` aborts and the host
 * has stopped.
 */
export async function runController(options: ControllerOptions): Promise<void> {
  const log = options.log.child({ component: "controller", namespace: options.namespace });
  const host = await options.runtimeFactory();
  const reconciler = new ManifestReconciler(host, log);
  const writeStatus = options.writeStatus ?? mergePatchStatusWriter(options.kube, log);
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? sleepUnlessAborted;
  const lastStatus = new Map<string, StatusCondition[]>();

  // One queue for every change: apply/remove never overlap (ports, durables), in watch order.
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (task: () => Promise<void>) => {
    queue = queue.then(task).catch((err: unknown) => {
      log.error({ err }, "controller task failed");
    });
  };

  const report = async (
    obj: KubeObject,
    conditions: Array<Omit<StatusCondition, "lastTransitionTime">>,
  ) => {
    const name = obj.metadata.name ?? "";
    const key = `${obj.kind}/${name}`;
    const previous =
      lastStatus.get(key) ??
      (obj.status as { conditions?: StatusCondition[] } | undefined)?.conditions ??
      [];
    const at = now()
      .toISOString()
      .replace(/\.\d+Z$/, "Z");
    const next: StatusCondition[] = conditions.map((c) => {
      const old = previous.find((p) => p.type === c.type);
      return {
        ...c,
        lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : at,
      };
    });
    const same =
      previous.length === next.length &&
      next.every((c) => {
        const p = previous.find((x) => x.type === c.type);
        return p && p.status === c.status && p.reason === c.reason && p.message === c.message;
      });
    if (same) return;
    try {
      await writeStatus(
        { apiVersion: ARGO_EVENTS_API, kind: obj.kind, name, namespace: options.namespace },
        { conditions: next },
      );
      lastStatus.set(key, next);
    } catch (err) {
      log.warn({ kind: obj.kind, name, err }, "cannot write status");
    }
  };

  const upsert = async (obj: KubeObject) => {
    const kind = obj.kind as ManifestKind;
    const name = obj.metadata.name ?? "";
    if (obj.metadata.deletionTimestamp) return remove(obj);
    const file = `kube:${kind === "EventSource" ? "eventsources" : "sensors"}/${options.namespace}/${name}`;
    const { manifest, problems } = validateManifest(asDocument(obj), file, 0);
    const errors = problems.filter((p) => p.severity === "error").map(formatProblem);
    const warnings = problems.filter((p) => p.severity !== "error").map(formatProblem);
    if (!manifest || errors.length > 0) {
      const running = host.isRunning?.(kind, name) ?? false;
      log.error({ kind, name, problems: errors }, `${kind} ${name} is invalid; not deployed`);
      const message = errors.join("; ") || "the manifest is invalid";
      await report(obj, [
        { type: "Deployed", status: "False", reason: "InvalidSpec", message },
        running
          ? {
              type: "Ready",
              status: "True",
              reason: "PreviousSpecRunning",
              message: "the last valid spec keeps running",
            }
          : { type: "Ready", status: "False", reason: "InvalidSpec", message },
      ]);
      return;
    }
    for (const w of warnings) log.warn({ kind, name }, w);
    const outcome = await reconciler.upsert({ manifest, file, doc: 0 });
    if (outcome.result === "failed") {
      await report(obj, [
        { type: "Deployed", status: "False", reason: "StartFailed", message: outcome.error },
        outcome.stillRunning
          ? {
              type: "Ready",
              status: "True",
              reason: "PreviousSpecRunning",
              message: "the last valid spec keeps running",
            }
          : { type: "Ready", status: "False", reason: "StartFailed", message: outcome.error },
      ]);
      return;
    }
    const note = warnings.length > 0 ? ` (warnings: ${warnings.join("; ")})` : "";
    await report(obj, [
      {
        type: "Deployed",
        status: "True",
        reason: "Running",
        message: `running in-process by sensorbus${note}`,
      },
      { type: "Ready", status: "True", reason: "Running", message: "" },
    ]);
  };

  const remove = async (obj: KubeObject) => {
    const name = obj.metadata.name ?? "";
    lastStatus.delete(`${obj.kind}/${name}`);
    await reconciler.remove(obj.kind as ManifestKind, name);
  };

  const relisted = async (kind: ManifestKind, items: KubeObject[]) => {
    const present = new Set(items.map((o) => o.metadata.name));
    for (const key of reconciler.names()) {
      const [k, name] = splitKey(key);
      if (k === kind && !present.has(name)) {
        await remove({ apiVersion: ARGO_EVENTS_API, kind, metadata: { name } });
      }
    }
    for (const o of items) await upsert({ ...o, apiVersion: ARGO_EVENTS_API, kind });
  };

  // Sensors first: their durable subscriptions must exist before EventSources publish, or the
  // first events after a fresh start would reach no one (the same order as `sensorbus run`).
  let sensorsListed: () => void = () => undefined;
  const sensorsFirst = new Promise<void>((resolve) => {
    sensorsListed = resolve;
    options.signal.addEventListener("abort", () => resolve(), { once: true });
  });

  const informer = async (kind: ManifestKind) => {
    const klog = log.child({ kind });
    let rv: string | undefined;
    let delay = options.retryDelayMs ?? 1000;
    const resetDelay = () => {
      delay = options.retryDelayMs ?? 1000;
    };
    if (kind === "EventSource") await sensorsFirst;
    while (!options.signal.aborted) {
      try {
        if (rv === undefined) {
          const list = await options.kube.list(ARGO_EVENTS_API, kind, options.namespace);
          rv = list.metadata.resourceVersion;
          klog.info({ items: list.items.length, resourceVersion: rv }, "listed");
          const items = list.items;
          enqueue(() => relisted(kind, items));
          if (kind === "Sensor") sensorsListed();
        }
        const stream = new AbortController();
        const onAbort = () => stream.abort();
        options.signal.addEventListener("abort", onAbort, { once: true });
        let gone = false;
        let received = 0;
        const opened = Date.now();
        try {
          await options.kube.watch(
            ARGO_EVENTS_API,
            kind,
            options.namespace,
            {
              resourceVersion: rv,
              allowWatchBookmarks: true,
              timeoutSeconds: options.watchTimeoutSeconds ?? 300,
              signal: stream.signal,
            },
            (type: WatchEventType, obj: KubeObject) => {
              if (gone) return;
              received++;
              if (type === "ERROR") {
                const st = obj as unknown as { code?: number; message?: string; reason?: string };
                if (st.code === 410 || st.reason === "Expired" || st.reason === "Gone") gone = true;
                klog.warn(
                  { status: st.code, reason: st.reason, message: st.message },
                  "watch error",
                );
                stream.abort();
                return;
              }
              const next = obj.metadata?.resourceVersion;
              if (next) rv = next;
              if (type === "BOOKMARK") return;
              const o = { ...obj, apiVersion: ARGO_EVENTS_API, kind };
              if (type === "DELETED") enqueue(() => remove(o));
              else enqueue(() => upsert(o));
            },
          );
        } finally {
          options.signal.removeEventListener("abort", onAbort);
        }
        if (gone) {
          klog.info({ resourceVersion: rv }, "resourceVersion expired (410 Gone); relisting");
          rv = undefined;
        } else if (stream.signal.aborted && !options.signal.aborted) {
          throw new KubeApiError("watch ended by an ERROR event", undefined, undefined, {
            retryable: true,
          });
        } else if (received === 0 && Date.now() - opened < 1000 && !options.signal.aborted) {
          // A server that closes watches at once would otherwise make this loop spin.
          throw new KubeApiError("the watch stream closed immediately", undefined, undefined, {
            retryable: true,
          });
        }
        resetDelay();
      } catch (err) {
        if (options.signal.aborted) break;
        if (err instanceof KubeApiError && err.status === 410 && rv !== undefined) {
          klog.info({ resourceVersion: rv }, "resourceVersion expired (410 Gone); relisting");
          rv = undefined;
          continue;
        }
        // Sensors that cannot be listed must not hold EventSources back for good.
        if (kind === "Sensor") sensorsListed();
        klog.warn({ err, retryInMs: delay, resourceVersion: rv }, "list/watch failed; retrying");
        if (!(await sleep(delay, options.signal))) break;
        delay = Math.min(delay * 2, 30_000);
      }
    }
  };

  log.info({ kinds: KINDS }, "controller watching EventSources and Sensors");
  try {
    await Promise.all(KINDS.map((k) => informer(k)));
  } finally {
    await queue;
    await host.close?.(options.drainTimeoutMs ?? 30_000);
    log.info("controller stopped");
  }
}

/** The parts of an API object that make a manifest (server-side metadata and status dropped). */
function asDocument(obj: KubeObject): Record<string, unknown> {
  const md = obj.metadata;
  const metadata: ObjectMeta = { name: md.name ?? "" };
  if (md.namespace) metadata.namespace = md.namespace;
  if (md.labels) metadata.labels = md.labels;
  if (md.annotations) metadata.annotations = md.annotations;
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata, spec: obj.spec };
}
