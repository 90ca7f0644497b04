import { DEFAULTS } from "../../config/defaults.js";
import { TriggerError } from "../../errors.js";
import {
  createOnce,
  EVENT_IDS_ANNOTATION,
  FIRING_ANNOTATION,
  firingName,
  KubeApiError,
  type KubeClient,
  type KubeObject,
  SENSOR_ANNOTATION,
  stampFiringIdentity,
  TRIGGER_ANNOTATION,
  waitForLabels,
} from "../../k8s/client.js";
import type { Logger } from "../../observability/logger.js";
import type { TriggerRegistryOptions } from "../kind.js";
import { loadResource, type SourceContext } from "../source.js";
import type { ExecContext, FiringContext, Rendered, TriggerKind, TriggerResult } from "../types.js";
import {
  checkWorkflowArgs,
  type NodeOpArgs,
  parseNodeOpArgs,
  parseRerunArgs,
  parseSubmitArgs,
  type RerunArgs,
  type SubmitArgs,
} from "./args.js";
import { selectorMatches, type WorkflowNode } from "./node-selector.js";
import { formulateResubmit, formulateRetry, resubmitGenerateName } from "./retry.js";
import type { ArgoWorkflowTrigger } from "./schema.js";

export interface ArgoWorkflowTriggerOptions {
  /** Render and log instead of calling the API. */
  dryRun: boolean;
  log: Logger;
  /** policy.k8s polling: injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Source fetching options (allowUrl, attempts, sleep). */
  source?: Omit<SourceContext, "values" | "field">;
}

const WORKFLOW_API = "argoproj.io/v1alpha1";
const OPERATIONS = new Set([
  "submit",
  "submit-from",
  "suspend",
  "resume",
  "terminate",
  "stop",
  "retry",
  "resubmit",
]);

/** What execute() needs besides the payload. */
interface ArgoDetail {
  operation: string;
  namespace: string;
  /** Workflow name (created or acted on). */
  name: string;
  /** submit / submit-from: the Workflow to create. Others: the merge patch. */
  object: KubeObject | undefined;
  patch: Record<string, unknown> | undefined;
  /** submit / submit-from: the user's generateName the Workflow's name was derived from. */
  generateName?: string;
  /** sensorbus `concurrencyPolicy` Forbid/Replace: how to find this trigger's running Workflows. */
  concurrency?: { policy: "Forbid" | "Replace"; labelSelector: string };
  /** retry / resubmit: the parsed `args` and the firing's identity, applied in execute(). */
  rerun?: RerunArgs & { stamp: Record<string, unknown>; key: string };
  /** resume / stop with `--node-field-selector`: act on the matching Suspend nodes only. */
  nodes?: NodeOpArgs & { nodeFieldSelector: string };
}

/** Phases of a Workflow that has not finished (an absent phase is a Workflow not yet started). */
const UNFINISHED_PHASES = new Set(["", "Pending", "Running"]);

/**
 * sensorbus extension `argoWorkflow.concurrencyPolicy`, like a CronWorkflow's: `Allow` (default)
 * always submits; `Forbid` skips the firing while a Workflow this trigger submitted is still
 * running; `Replace` terminates those Workflows, then submits.
 */
function concurrencyOf(
  template: ArgoWorkflowTrigger,
  ctx: FiringContext,
  field: string,
): ArgoDetail["concurrency"] {
  const policy = template.concurrencyPolicy ?? "Allow";
  if (policy === "Allow") return undefined;
  if (policy !== "Forbid" && policy !== "Replace") {
    throw renderError(
      `${field}.concurrencyPolicy`,
      `'${String(policy)}' is not Allow, Forbid or Replace`,
    );
  }
  return {
    policy,
    labelSelector: `events.argoproj.io/sensor=${ctx.sensorName},events.argoproj.io/trigger=${ctx.triggerName}`,
  };
}

function renderError(field: string, message: string): TriggerError {
  return new TriggerError("SB_ERR_TRIGGER_RENDER", `${field}: ${message}`, { retryable: false });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Workflow naming: `generateName` + the first 10 hex chars of the firing key, sha256 of (Sensor
 * namespace, Sensor, trigger, sorted event ids). **sensorbus:** a redelivered firing gets the same
 * name, so it can never create a second Workflow (the API answers 409, and the existing Workflow's
 * `sensorbus.io/firing` annotation shows it is this firing's: already done); two Sensors or
 * triggers firing on one event get two names, as Argo's generateName gives two Workflows.
 */
export function idempotentName(generateName: string, key: string): string {
  return firingName(generateName, key);
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * Stamps the firing's identity (event ids, firing key, Sensor and trigger annotations; correlation
 * id label or annotation); returns the firing key.
 */
export function stampFiring(meta: Record<string, unknown>, ctx: FiringContext): string {
  const ids = [...new Set([...ctx.events.values()].map((e) => e.id))].sort();
  const annotations = isObject(meta.annotations)
    ? (meta.annotations as Record<string, string>)
    : {};
  const key = stampFiringIdentity(annotations, {
    namespace: ctx.namespace,
    sensor: ctx.sensorName,
    trigger: ctx.triggerName,
    eventIds: ids,
  });
  // W3C trace context of the firing's first event: the Workflow joins the caller's trace.
  const traceparent = [...ctx.events.values()][0]?.extensions?.traceparent;
  if (typeof traceparent === "string" && traceparent !== "")
    annotations["sensorbus.io/traceparent"] = traceparent;
  if (ctx.correlationId) {
    if (ctx.correlationId.length <= 63 && LABEL_VALUE.test(ctx.correlationId)) {
      const labels = isObject(meta.labels) ? (meta.labels as Record<string, string>) : {};
      labels["sensorbus.io/correlation-id"] = ctx.correlationId;
      meta.labels = labels;
    } else {
      annotations["sensorbus.io/correlation-id"] = ctx.correlationId;
    }
  }
  meta.annotations = annotations;
  return key;
}

/** Applies parsed submit flags to a Workflow (as `argo submit` does). */
function applySubmitArgs(wf: KubeObject, a: SubmitArgs): void {
  const spec = (isObject(wf.spec) ? wf.spec : {}) as Record<string, unknown>;
  wf.spec = spec;
  if (a.parameters.length > 0) {
    const args = (isObject(spec.arguments) ? spec.arguments : {}) as Record<string, unknown>;
    const params = (Array.isArray(args.parameters) ? args.parameters : []) as Array<
      Record<string, unknown>
    >;
    for (const [name, value] of a.parameters) {
      const found = params.find((p) => p.name === name);
      if (found) found.value = value;
      else params.push({ name, value });
    }
    args.parameters = params;
    spec.arguments = args;
  }
  if (a.entrypoint !== undefined) spec.entrypoint = a.entrypoint;
  if (a.priority !== undefined) spec.priority = a.priority;
  if (a.serviceAccount !== undefined) spec.serviceAccountName = a.serviceAccount;
  if (a.labels.length > 0)
    wf.metadata.labels = { ...wf.metadata.labels, ...Object.fromEntries(a.labels) };
  if (a.generateName !== undefined) {
    wf.metadata.generateName = a.generateName;
    delete wf.metadata.name;
  }
  if (a.name !== undefined) wf.metadata.name = a.name;
}

/** The `argoWorkflow` trigger kind, on the Kubernetes API instead of the `argo` CLI (§4.3). */
export function argoWorkflowTrigger(
  client: KubeClient | undefined,
  opts: ArgoWorkflowTriggerOptions,
): TriggerKind<ArgoWorkflowTrigger> {
  const live = client !== undefined && !opts.dryRun;

  async function render(template: ArgoWorkflowTrigger, ctx: FiringContext): Promise<Rendered> {
    const field = "argoWorkflow";
    const operation = template.operation || DEFAULTS.argoWorkflow.operation;
    if (!OPERATIONS.has(operation)) {
      throw renderError(
        `${field}.operation`,
        `unknown operation '${operation}' (want one of ${[...OPERATIONS].join(", ")})`,
      );
    }
    const source = await loadResource(template.source, {
      ...opts.source,
      values: ctx.values,
      field: `${field}.source`,
    });
    const applied = ctx.applyParameters(JSON.stringify(source), template.parameters);
    let obj: unknown;
    try {
      obj = JSON.parse(applied);
    } catch {
      throw renderError(
        `${field}.parameters`,
        "the resource is no longer JSON after applying parameters",
      );
    }
    if (!isObject(obj)) throw renderError(`${field}.source`, "the resource must be an object");
    const meta = (isObject(obj.metadata) ? obj.metadata : {}) as Record<string, unknown>;
    obj.metadata = meta;
    const name = typeof meta.name === "string" ? meta.name : "";
    const namespace =
      typeof meta.namespace === "string" && meta.namespace ? meta.namespace : ctx.namespace;

    const concurrency =
      operation === "submit" || operation === "submit-from"
        ? concurrencyOf(template, ctx, field)
        : undefined;
    if (operation === "submit") {
      const args = parseSubmitArgs(template.args, `${field}.args`);
      const wf = obj as KubeObject;
      wf.apiVersion ||= WORKFLOW_API;
      wf.kind ||= "Workflow";
      if (wf.kind !== "Workflow") {
        throw renderError(
          `${field}.source`,
          `operation submit needs a Workflow, got kind ${wf.kind} (use submit-from for templates)`,
        );
      }
      applySubmitArgs(wf, args);
      if (!wf.metadata.name && !wf.metadata.generateName) {
        throw renderError(`${field}.source.metadata`, "neither name nor generateName is given");
      }
      wf.metadata.namespace = namespace;
      wf.metadata.labels = {
        ...(isObject(wf.metadata.labels) ? wf.metadata.labels : {}),
        "events.argoproj.io/sensor": ctx.sensorName,
        "events.argoproj.io/trigger": ctx.triggerName,
        "events.argoproj.io/action-timestamp": String(Math.floor(ctx.now())),
      };
      const generateName = finishNaming(wf, ctx);
      return rendered(wf, {
        operation,
        namespace,
        name: wf.metadata.name!,
        object: wf,
        patch: undefined,
        ...(generateName !== undefined ? { generateName } : {}),
        ...(concurrency ? { concurrency } : {}),
      });
    }

    if (!name)
      throw renderError(
        `${field}.source.metadata.name`,
        `operation ${operation} needs metadata.name`,
      );

    if (operation === "submit-from") {
      const args = parseSubmitArgs(template.args, `${field}.args`, "submit-from");
      const kind = String(obj.kind ?? "").toLowerCase();
      let wf: KubeObject;
      if (kind === "workflowtemplate") {
        wf = {
          apiVersion: WORKFLOW_API,
          kind: "Workflow",
          metadata: {
            generateName: `${name}-`,
            namespace,
            labels: { "workflows.argoproj.io/workflow-template": name },
          },
          spec: { workflowTemplateRef: { name } },
        };
      } else if (kind === "cronworkflow") {
        wf = await fromCronWorkflow(obj, name, namespace, ctx);
      } else {
        throw renderError(
          `${field}.source.kind`,
          `operation submit-from needs a WorkflowTemplate or CronWorkflow, got '${String(obj.kind ?? "")}'`,
        );
      }
      applySubmitArgs(wf, args);
      wf.metadata.namespace = namespace;
      if (concurrency) {
        // Argo adds no labels to submit-from Workflows; the policy needs them to find them again.
        wf.metadata.labels = {
          ...(isObject(wf.metadata.labels) ? wf.metadata.labels : {}),
          "events.argoproj.io/sensor": ctx.sensorName,
          "events.argoproj.io/trigger": ctx.triggerName,
        };
      }
      const generateName = finishNaming(wf, ctx);
      return rendered(wf, {
        operation,
        namespace,
        name: wf.metadata.name!,
        object: wf,
        patch: undefined,
        ...(generateName !== undefined ? { generateName } : {}),
        ...(concurrency ? { concurrency } : {}),
      });
    }

    /** An operation on the existing Workflow `name` whose `args` execute() applies. */
    const onExisting = (extra: Pick<ArgoDetail, "rerun" | "nodes">): Rendered => ({
      kind: "argoWorkflow",
      payload: { operation, workflow: `${namespace}/${name}`, args: template.args ?? [] },
      detail: {
        operation,
        namespace,
        name,
        object: undefined,
        patch: undefined,
        ...extra,
      } satisfies ArgoDetail,
    });
    if (operation === "retry" || operation === "resubmit") {
      const args = parseRerunArgs(operation, template.args, `${field}.args`);
      const stamp: Record<string, unknown> = {};
      const key = stampFiring(stamp, ctx);
      return onExisting({ rerun: { ...args, stamp, key } });
    }
    if (operation === "resume" || operation === "stop") {
      const nodeOp = parseNodeOpArgs(operation, template.args, `${field}.args`);
      if (nodeOp.nodeFieldSelector !== undefined) {
        // As `argo resume|stop --node-field-selector`: the matching running Suspend nodes are
        // marked Succeeded (resume) or Failed (stop); the Workflow itself is left as it is.
        return onExisting({ nodes: { ...nodeOp, nodeFieldSelector: nodeOp.nodeFieldSelector } });
      }
    }
    checkWorkflowArgs(operation, template.args, `${field}.args`);
    const patch: Record<string, unknown> =
      operation === "suspend"
        ? { spec: { suspend: true } }
        : operation === "resume"
          ? { spec: { suspend: null } }
          : { spec: { shutdown: operation === "terminate" ? "Terminate" : "Stop" } };
    return {
      kind: "argoWorkflow",
      payload: patch,
      detail: { operation, namespace, name, object: undefined, patch } satisfies ArgoDetail,
    };
  }

  /** CronWorkflow -> Workflow as Argo's ConvertCronWorkflowToWorkflow does. */
  async function fromCronWorkflow(
    src: Record<string, unknown>,
    name: string,
    namespace: string,
    ctx: FiringContext,
  ): Promise<KubeObject> {
    // The Workflow is built from the CronWorkflow in the cluster, as `argo submit --from cronwf/` does;
    // without a cluster (dry run, replay) from the source object itself.
    let cron: Record<string, unknown> = src;
    if (client) {
      const liveCron = await client.get({
        apiVersion: WORKFLOW_API,
        kind: "CronWorkflow",
        name,
        namespace,
      });
      if (!liveCron) {
        throw new TriggerError(
          "SB_ERR_TRIGGER_K8S",
          `argoWorkflow: CronWorkflow ${namespace}/${name} not found`,
          {
            retryable: false,
          },
        );
      }
      cron = liveCron;
    } else {
      ctx.log.debug(
        { cronWorkflow: name },
        "no cluster: building the Workflow from the source CronWorkflow",
      );
    }
    const spec = isObject(cron.spec) ? cron.spec : {};
    const wfSpec = isObject(spec.workflowSpec) ? structuredClone(spec.workflowSpec) : {};
    const wfMeta = isObject(spec.workflowMetadata) ? spec.workflowMetadata : {};
    const cronMeta = isObject(cron.metadata) ? cron.metadata : {};
    const wf: KubeObject = {
      apiVersion: WORKFLOW_API,
      kind: "Workflow",
      metadata: {
        generateName: `${name}-`,
        namespace,
        labels: {
          ...(isObject(wfMeta.labels) ? (wfMeta.labels as Record<string, string>) : {}),
          "workflows.argoproj.io/cron-workflow": name,
        },
        ...(isObject(wfMeta.annotations)
          ? { annotations: { ...(wfMeta.annotations as Record<string, string>) } }
          : {}),
      },
      spec: wfSpec,
    };
    if (typeof cronMeta.uid === "string") {
      wf.metadata.ownerReferences = [
        {
          apiVersion: WORKFLOW_API,
          kind: "CronWorkflow",
          name,
          uid: cronMeta.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ];
    }
    return wf;
  }

  /** Returns the generateName the Workflow's name was derived from, if it was. */
  function finishNaming(wf: KubeObject, ctx: FiringContext): string | undefined {
    const key = stampFiring(wf.metadata, ctx);
    if (!wf.metadata.name && wf.metadata.generateName) {
      const gen = wf.metadata.generateName;
      wf.metadata.name = idempotentName(gen, key);
      delete wf.metadata.generateName;
      return gen;
    }
    return undefined;
  }

  function rendered(wf: KubeObject, detail: ArgoDetail): Rendered {
    return { kind: "argoWorkflow", payload: wf, detail };
  }

  async function execute(r: Rendered, ctx: ExecContext): Promise<TriggerResult> {
    const d = r.detail as ArgoDetail;
    const id = `${d.namespace}/${d.name}`;
    if (!live || !client) {
      ctx.log.info(
        { operation: d.operation, object: r.payload },
        `rendered Workflow (dry run) ${d.operation} ${id}${client || opts.dryRun ? "" : " (no Kubernetes configuration)"}`,
      );
      return {
        summary: `rendered Workflow ${d.operation} ${id} (dry run)`,
        detail: { dryRun: true },
      };
    }
    let summary: string;
    const detail: Record<string, unknown> = {
      operation: d.operation,
      namespace: d.namespace,
      name: d.name,
    };
    if (d.object && d.concurrency) {
      const running = (
        await client.list(WORKFLOW_API, "Workflow", d.namespace, {
          labelSelector: d.concurrency.labelSelector,
        })
      ).items.filter(
        (wf) =>
          wf.metadata?.name !== d.name &&
          UNFINISHED_PHASES.has(
            String((wf as { status?: { phase?: string } }).status?.phase ?? ""),
          ),
      );
      const names = running.map((wf) => wf.metadata?.name ?? "");
      if (running.length > 0 && d.concurrency.policy === "Forbid") {
        return {
          summary: `skipped: Workflow ${names.join(", ")} submitted by this trigger is still running (concurrencyPolicy: Forbid)`,
          detail: { ...detail, skipped: true, running: names },
        };
      }
      for (const name of names) {
        await client.patch(
          {
            apiVersion: WORKFLOW_API,
            kind: "Workflow",
            metadata: { name, namespace: d.namespace },
          },
          "application/merge-patch+json",
          { spec: { shutdown: "Terminate" } },
        );
      }
      if (names.length > 0) detail.replaced = names;
    }
    if (d.rerun) {
      const done =
        d.operation === "resubmit"
          ? await resubmit(client, d, d.rerun)
          : await retry(client, d, d.rerun, ctx.log);
      summary = done.summary;
      Object.assign(detail, done.detail);
      if (d.operation === "resubmit" && typeof done.detail.created === "string")
        detail.name = done.detail.created;
    } else if (d.object) {
      const res = await createOnce(client, d.object, { generateName: d.generateName });
      const made = `${d.namespace}/${res.object.metadata?.name ?? d.name}`;
      detail.name = res.object.metadata?.name ?? d.name;
      detail.alreadyDone = res.alreadyDone;
      detail.uid = res.object.metadata?.uid;
      summary = res.alreadyDone
        ? `Workflow ${made} already exists, created by an earlier delivery of this firing (already done)`
        : made === id
          ? `created Workflow ${id}`
          : `created Workflow ${made} (${id} is held by another object)`;
    } else {
      const target: KubeObject = {
        apiVersion: WORKFLOW_API,
        kind: "Workflow",
        metadata: { name: d.name, namespace: d.namespace },
      };
      let patch = d.patch!;
      if (d.nodes) patch = await suspendNodesPatch(client, target, d.operation, d.nodes);
      else if (d.operation === "resume") patch = await resumePatch(client, target, patch);
      await client.patch(target, "application/merge-patch+json", patch);
      summary = `${d.operation} Workflow ${id}`;
    }
    const policy = ctx.policy?.k8s;
    if (policy?.labels && Object.keys(policy.labels).length > 0) {
      const res = await waitForLabels(
        client,
        {
          apiVersion: WORKFLOW_API,
          kind: "Workflow",
          name: String(detail.name),
          namespace: d.namespace,
        },
        policy.labels,
        { backoff: policy.backoff, sleep: opts.sleep, random: opts.random, signal: ctx.signal },
      );
      detail.policy = res.matched ? "matched" : "timeout";
      if (!res.matched) {
        const msg = `policy.k8s: Workflow ${id} did not reach labels ${JSON.stringify(policy.labels)} after ${res.attempts} checks`;
        if (policy.errorOnBackoffTimeout) {
          throw new TriggerError("SB_ERR_TRIGGER_K8S", msg, { retryable: false });
        }
        ctx.log.warn({ labels: res.labels }, `${msg}; counting the firing as successful`);
      }
    }
    return { summary, detail };
  }

  return { kind: "argoWorkflow", render, execute };
}

/**
 * `resume|stop --node-field-selector`, as Argo's updateSuspendedNode: each running Suspend node the
 * selector matches becomes Succeeded (resume) or Failed (stop, with `--message` when given); none
 * matching is a final error, as Argo's "no suspend nodes matching nodeFieldSelector".
 */
async function suspendNodesPatch(
  client: KubeClient,
  target: KubeObject,
  operation: string,
  nodes: NonNullable<ArgoDetail["nodes"]>,
): Promise<Record<string, unknown>> {
  const wf = await client.get({
    apiVersion: target.apiVersion,
    kind: target.kind,
    name: target.metadata.name!,
    namespace: target.metadata.namespace,
  });
  const id = `${target.metadata.namespace}/${target.metadata.name}`;
  if (!wf) {
    throw new TriggerError(
      "SB_ERR_TRIGGER_K8S",
      `argoWorkflow ${operation}: Workflow ${id} not found`,
      {
        retryable: false,
      },
    );
  }
  const status = isObject(wf.status) ? wf.status : {};
  const all = isObject(status.nodes) ? status.nodes : {};
  const finishedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const phase = operation === "resume" ? "Succeeded" : "Failed";
  const changed: Record<string, unknown> = {};
  for (const [nodeId, node] of Object.entries(all)) {
    if (!isObject(node) || node.type !== "Suspend" || node.phase !== "Running") continue;
    const n = { ...node, id: String(node.id ?? nodeId), name: String(node.name ?? "") };
    if (!selectorMatches(nodes.nodeFieldSelector, n as WorkflowNode)) continue;
    changed[nodeId] = {
      phase,
      finishedAt,
      ...(nodes.message ? { message: nodes.message } : {}),
    };
  }
  if (Object.keys(changed).length === 0) {
    throw new TriggerError(
      "SB_ERR_TRIGGER_K8S",
      `argoWorkflow ${operation}: Workflow ${id} has no running Suspend node matching --node-field-selector ${nodes.nodeFieldSelector}`,
      { retryable: false },
    );
  }
  return { status: { nodes: changed } };
}

/** resume also marks running Suspend nodes succeeded, as `argo resume` does. */
async function resumePatch(
  client: KubeClient,
  target: KubeObject,
  base: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const wf = await client.get({
    apiVersion: target.apiVersion,
    kind: target.kind,
    name: target.metadata.name!,
    namespace: target.metadata.namespace,
  });
  if (!wf) return base; // the PATCH then reports the 404
  const status = isObject(wf.status) ? wf.status : {};
  const nodes = isObject(status.nodes) ? status.nodes : {};
  const finishedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const changed: Record<string, unknown> = {};
  for (const [id, node] of Object.entries(nodes)) {
    if (isObject(node) && node.type === "Suspend" && node.phase === "Running") {
      changed[id] = { phase: "Succeeded", finishedAt };
    }
  }
  return Object.keys(changed).length > 0 ? { ...base, status: { nodes: changed } } : base;
}

type Rerun = NonNullable<ArgoDetail["rerun"]>;
type Done = { summary: string; detail: Record<string, unknown> };

async function getWorkflow(client: KubeClient, d: ArgoDetail): Promise<KubeObject> {
  const wf = await client.get({
    apiVersion: WORKFLOW_API,
    kind: "Workflow",
    name: d.name,
    namespace: d.namespace,
  });
  if (!wf) {
    throw new TriggerError(
      "SB_ERR_TRIGGER_K8S",
      `argoWorkflow ${d.operation}: Workflow ${d.namespace}/${d.name} not found`,
      { retryable: false },
    );
  }
  return wf;
}

function applyStamp(meta: KubeObject["metadata"], stamp: Record<string, unknown>): void {
  const labels = (stamp.labels ?? {}) as Record<string, string>;
  const annotations = (stamp.annotations ?? {}) as Record<string, string>;
  if (Object.keys(labels).length > 0) meta.labels = { ...meta.labels, ...labels };
  meta.annotations = { ...meta.annotations, ...annotations };
}

/** The firing identity sensorbus stamps; a resubmitted copy carries its own firing's only. */
const FIRING_KEYS = [
  EVENT_IDS_ANNOTATION,
  FIRING_ANNOTATION,
  SENSOR_ANNOTATION,
  TRIGGER_ANNOTATION,
  "sensorbus.io/traceparent",
  "sensorbus.io/correlation-id",
];

/**
 * `argo resubmit`: a new Workflow from the named one (with --memoized: its succeeded steps kept).
 * Named from the firing's event ids instead of generateName, so a redelivery finds it already
 * created.
 */
async function resubmit(client: KubeClient, d: ArgoDetail, r: Rerun): Promise<Done> {
  const wf = await getWorkflow(client, d);
  const gen = resubmitGenerateName(wf);
  const name = idempotentName(gen, r.key);
  const next = formulateResubmit(wf, { parameters: r.parameters, memoized: r.memoized, name });
  next.metadata.namespace = d.namespace;
  for (const key of FIRING_KEYS) {
    delete next.metadata.labels?.[key];
    delete next.metadata.annotations?.[key];
  }
  applyStamp(next.metadata, r.stamp);
  const res = await createOnce(client, next, { generateName: gen });
  const id = `${d.namespace}/${res.object.metadata?.name ?? next.metadata.name}`;
  return {
    summary: res.alreadyDone
      ? `Workflow ${id} (resubmitted from ${d.name}) already exists, created by an earlier delivery of this firing (already done)`
      : `resubmitted Workflow ${d.namespace}/${d.name} as ${id}`,
    detail: {
      created: res.object.metadata?.name ?? next.metadata.name,
      alreadyDone: res.alreadyDone,
      uid: res.object.metadata?.uid,
    },
  };
}

const RETRY_CONFLICTS = 5;
/**
 * The firing key of the last retry, kept apart from the creation identity
 * (`sensorbus.io/firing`, `sensorbus.io/sensor`, ...): the Sensor that created the Workflow must
 * still recognise it as its own on a redelivery after someone retried it.
 */
export const RETRY_FIRING_ANNOTATION = "sensorbus.io/retry-firing";
const NODE_ID_ANNOTATION = "workflows.argoproj.io/node-id";

/**
 * `argo retry`, as Argo's server runs it: the reset computed (FormulateRetryWorkflow: failed pods
 * and what runs after them removed, their ancestors reset), the removed Pod nodes' and the exit
 * handler's pods deleted, then the Workflow written back with its resourceVersion. A concurrent
 * change answers 409: read again and redo, up to 5 times (Argo's server gives up at once). The
 * firing's key goes into `sensorbus.io/retry-firing`: a redelivery that finds it is already done.
 */
async function retry(client: KubeClient, d: ArgoDetail, r: Rerun, log: Logger): Promise<Done> {
  const id = `${d.namespace}/${d.name}`;
  for (let attempt = 1; ; attempt++) {
    const wf = await getWorkflow(client, d);
    if (wf.metadata.annotations?.[RETRY_FIRING_ANNOTATION] === r.key) {
      return {
        summary: `Workflow ${id} was already retried for these events (already done)`,
        detail: { alreadyDone: true },
      };
    }
    const result = formulateRetry(wf, {
      restartSuccessful: r.restartSuccessful,
      ...(r.nodeFieldSelector !== undefined ? { nodeFieldSelector: r.nodeFieldSelector } : {}),
      parameters: r.parameters,
    });
    const pods = await deleteNodePods(client, d, result.podNodeIds);
    const stamp = structuredClone(r.stamp) as { annotations?: Record<string, string> };
    // The event ids name the last firing that acted on the Workflow (as before); the creation
    // identity stays the creator's.
    for (const key of [FIRING_ANNOTATION, SENSOR_ANNOTATION, TRIGGER_ANNOTATION])
      delete stamp.annotations?.[key];
    stamp.annotations = { ...stamp.annotations, [RETRY_FIRING_ANNOTATION]: r.key };
    applyStamp(result.workflow.metadata, stamp);
    try {
      await client.replace(result.workflow);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 409 && attempt < RETRY_CONFLICTS) {
        log.debug({ workflow: id, attempt }, "Workflow changed meanwhile; retrying the retry");
        continue;
      }
      throw err;
    }
    return {
      summary: `retried Workflow ${id}: ${result.deleted.length} node(s) to run again, ${result.reset.length} reset, ${pods} pod(s) deleted`,
      detail: {
        alreadyDone: false,
        deletedNodes: result.deleted,
        resetNodes: result.reset,
        deletedPods: pods,
      },
    };
  }
}

/** Deletes the pods of the given Pod nodes (found by workflow label and node-id annotation). */
async function deleteNodePods(
  client: KubeClient,
  d: ArgoDetail,
  nodeIds: string[],
): Promise<number> {
  if (nodeIds.length === 0) return 0;
  const wanted = new Set(nodeIds);
  const pods = await client.list("v1", "Pod", d.namespace, {
    labelSelector: `workflows.argoproj.io/workflow=${d.name}`,
  });
  let deleted = 0;
  for (const pod of pods.items) {
    const node = pod.metadata?.annotations?.[NODE_ID_ANNOTATION];
    if (!node || !wanted.has(node) || !pod.metadata?.name) continue;
    if (
      await client.delete({
        apiVersion: "v1",
        kind: "Pod",
        name: pod.metadata.name,
        namespace: d.namespace,
      })
    )
      deleted++;
  }
  return deleted;
}

/** The registry's entry point. */
export function createTrigger(options: TriggerRegistryOptions): TriggerKind<ArgoWorkflowTrigger> {
  return argoWorkflowTrigger(options.kube, {
    dryRun: options.dryRun,
    log: options.log,
    ...(options.source ? { source: options.source } : {}),
  });
}
