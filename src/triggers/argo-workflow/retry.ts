import { gunzipSync } from "node:zlib";
import { TriggerError } from "../../errors.js";
import type { KubeObject } from "../../k8s/client.js";
import { selectorMatches, type WorkflowNode } from "./node-selector.js";

export type { WorkflowNode } from "./node-selector.js";

/**
 * What `argo resubmit` and `argo retry` do to a Workflow, ported from Argo Workflows v3.7
 * (workflow/util/util.go: FormulateResubmitWorkflow, FormulateRetryWorkflow and their helpers; the
 * argo CLI that Argo Events ships is v3.7) onto plain JSON. Pure: the trigger reads the Workflow,
 * calls these, and writes the result. Where Go iterates a map, these iterate sorted ids, so the
 * result is deterministic.
 */

const LABEL = {
  creator: "workflows.argoproj.io/creator",
  creatorEmail: "workflows.argoproj.io/creator-email",
  creatorUsername: "workflows.argoproj.io/creator-preferred-username",
  actor: "workflows.argoproj.io/actor",
  actorEmail: "workflows.argoproj.io/actor-email",
  actorUsername: "workflows.argoproj.io/actor-preferred-username",
  action: "workflows.argoproj.io/action",
  phase: "workflows.argoproj.io/phase",
  completed: "workflows.argoproj.io/completed",
  archiving: "workflows.argoproj.io/workflow-archiving-status",
  resubmittedFrom: "workflows.argoproj.io/resubmitted-from-workflow",
} as const;

/**
 * Labels a resubmitted Workflow does not inherit. Argo then labels the creator from the caller's
 * credentials; sensorbus has no caller identity to put there, as Argo without claims.
 */
const NOT_INHERITED = new Set<string>([
  LABEL.creator,
  LABEL.creatorEmail,
  LABEL.creatorUsername,
  LABEL.phase,
  LABEL.completed,
  LABEL.archiving,
]);

/** Argo's isGroupNodeType. */
const GROUP_TYPES = new Set(["DAG", "TaskGroup", "StepGroup", "Steps"]);
/** Argo's isExecutionNodeType: only these are restart points of a retry. */
const EXECUTION_TYPES = new Set(["Container", "Pod", "HTTP", "Plugin"]);

type Nodes = Record<string, WorkflowNode>;
type Json = Record<string, unknown>;

function retryError(message: string): TriggerError {
  return new TriggerError("SB_ERR_TRIGGER_K8S", message, { retryable: false });
}

const obj = (v: unknown): Json =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {};

function rfc3339(now: number): string {
  return new Date(now).toISOString().replace(/\.\d+Z$/, "Z");
}

const failedOrError = (n: WorkflowNode | undefined): boolean =>
  n?.phase === "Failed" || n?.phase === "Error";

const nameOf = (n: WorkflowNode | undefined): string => String(n?.name ?? "");

/** Sets a node's id list; an empty one is left out, as Go's omitempty does. */
function setList(n: WorkflowNode, key: "children" | "outboundNodes", list: string[]): void {
  if (list.length > 0) n[key] = list;
  else delete n[key];
}

/**
 * The Workflow's nodes, as Argo's hydrator gives them: `status.compressedNodes` (base64 gzip) is
 * unpacked; nodes offloaded to Argo's database cannot be read without Argo's server.
 */
export function workflowNodes(wf: KubeObject, operation: string): Nodes {
  const status = obj(wf.status);
  const nodes = obj(status.nodes) as Nodes;
  if (Object.keys(nodes).length > 0) return nodes;
  const name = wf.metadata?.name ?? "";
  if (typeof status.compressedNodes === "string" && status.compressedNodes !== "") {
    try {
      const text = gunzipSync(Buffer.from(status.compressedNodes, "base64")).toString("utf8");
      return obj(JSON.parse(text)) as Nodes;
    } catch (err) {
      throw retryError(
        `argoWorkflow ${operation}: Workflow ${name}: status.compressedNodes is not base64 gzip JSON (${(err as Error).message})`,
      );
    }
  }
  if (typeof status.offloadNodeStatusVersion === "string" && status.offloadNodeStatusVersion) {
    throw retryError(
      `argoWorkflow ${operation}: Workflow ${name} keeps its node status in Argo's database (status.offloadNodeStatusVersion); sensorbus reads only the Kubernetes API, use argo ${operation}`,
    );
  }
  return nodes;
}

/**
 * `-p name=value` overrides, as Argo's overrideParameters: the given parameters first (also ones
 * the Workflow does not declare), then the Workflow's other `spec.arguments.parameters`; the stored
 * template spec, when there is one, gets the same list.
 */
function overrideParameters(wf: Json, parameters: ReadonlyArray<readonly [string, string]>): void {
  if (parameters.length === 0) return;
  const spec = obj(wf.spec);
  const args = obj(spec.arguments);
  const given = new Set(parameters.map(([name]) => name));
  const old = (Array.isArray(args.parameters) ? args.parameters : []) as unknown[];
  const params = [
    ...parameters.map(([name, value]) => ({ name, value })),
    ...old.filter((p) => !given.has(String(obj(p).name))),
  ];
  spec.arguments = { ...args, parameters: params };
  wf.spec = spec;
  const status = obj(wf.status);
  if (typeof status.storedWorkflowTemplateSpec === "object" && status.storedWorkflowTemplateSpec) {
    const stored = obj(status.storedWorkflowTemplateSpec);
    stored.arguments = { ...obj(stored.arguments), parameters: structuredClone(params) };
  }
}

/** Argo: a terminated Workflow's `activeDeadlineSeconds: 0` is unset, and `shutdown` cleared. */
function reopenSpec(spec: Json): void {
  if (spec.activeDeadlineSeconds === 0) delete spec.activeDeadlineSeconds;
  delete spec.shutdown;
}

/** Argo's Workflow.NodeID: the Workflow's name, or `<workflow>-<fnv32a(node name)>`. */
export function nodeId(workflowName: string, nodeName: string): string {
  if (nodeName === workflowName) return workflowName;
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(nodeName, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${workflowName}-${h >>> 0}`;
}

/** Argo's isDescendantNodeSucceeded: a child not being reset succeeded, at any depth. */
function descendantSucceeded(
  nodes: Nodes,
  node: WorkflowNode,
  resetting: ReadonlySet<string>,
  memo = new Map<string, boolean>(),
): boolean {
  for (const child of node.children ?? []) {
    const c = nodes[child];
    if (!c) continue;
    let found = memo.get(child);
    if (found === undefined) {
      memo.set(child, false); // a cycle in broken data ends here
      found =
        (!resetting.has(child) && c.phase === "Succeeded") ||
        descendantSucceeded(nodes, c, resetting, memo);
      memo.set(child, found);
    }
    if (found) return true;
  }
  return false;
}

export interface ResubmitOptions {
  parameters?: ReadonlyArray<readonly [string, string]>;
  /** `--memoized`: keep the succeeded nodes (as Skipped, "original pod: …"); needs `name`. */
  memoized?: boolean;
  /**
   * The new Workflow's name. Argo keeps generateName, except when memoized (the node ids derive
   * from the name, so Argo draws a random suffix); sensorbus always names it from the event ids.
   */
  name?: string;
  now?: number;
}

/** The generateName of a resubmitted Workflow: the original's, or `<name>-`. */
export function resubmitGenerateName(wf: KubeObject): string {
  return wf.metadata?.generateName || `${wf.metadata?.name ?? ""}-`;
}

/**
 * `argo resubmit`: a new Workflow with the old spec, user labels and annotations, owner references
 * and `workflows.argoproj.io/resubmitted-from-workflow`. Memoized: the old nodes under the new
 * name, succeeded Pods turned Skipped so the controller does not run them again.
 */
export function formulateResubmit(wf: KubeObject, opts: ResubmitOptions = {}): KubeObject {
  const meta = wf.metadata ?? {};
  const oldName = meta.name ?? "";
  const phase = String(obj(wf.status).phase ?? "");
  if (opts.memoized && phase !== "Failed" && phase !== "Error") {
    throw retryError(
      `argoWorkflow resubmit: Workflow ${oldName} is ${phase || "not finished"}: it must be Failed or Error to resubmit memoized`,
    );
  }
  if (opts.memoized && !opts.name)
    throw new TriggerError("SB_ERR_TRIGGER_RENDER", "formulateResubmit: memoized needs a name");
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta.labels ?? {})) if (!NOT_INHERITED.has(k)) labels[k] = v;
  labels[LABEL.resubmittedFrom] = oldName;
  const spec = structuredClone(obj(wf.spec));
  reopenSpec(spec);
  const out: KubeObject = {
    apiVersion: wf.apiVersion,
    kind: wf.kind,
    metadata: {
      ...(opts.name ? { name: opts.name } : { generateName: resubmitGenerateName(wf) }),
      namespace: meta.namespace,
      labels,
      annotations: { ...(meta.annotations ?? {}) },
      ...(Array.isArray(meta.ownerReferences) && meta.ownerReferences.length > 0
        ? { ownerReferences: structuredClone(meta.ownerReferences) }
        : {}),
    },
    spec,
  };
  if (opts.parameters) overrideParameters(out as unknown as Json, opts.parameters);
  if (opts.memoized) out.status = memoizedStatus(wf, opts.name!, opts.now ?? Date.now());
  return out;
}

/** FormulateResubmitWorkflow's memoized part: the old nodes renamed onto the new Workflow. */
function memoizedStatus(wf: KubeObject, newName: string, now: number): Json {
  const oldName = wf.metadata?.name ?? "";
  const oldNodes = workflowNodes(wf, "resubmit");
  const rename = (name: string): string =>
    name.startsWith(oldName) ? newName + name.slice(oldName.length) : name;
  const convert = (id: string): string => nodeId(newName, rename(nameOf(oldNodes[id])));
  const at = rfc3339(now);
  const nodes: Nodes = {};
  for (const id of Object.keys(oldNodes).sort()) {
    const old = oldNodes[id]!;
    if (nameOf(old).startsWith(`${oldName}.onExit`)) continue;
    const n = structuredClone(old);
    n.name = rename(nameOf(old));
    n.id = nodeId(newName, n.name);
    if (old.boundaryID) n.boundaryID = convert(old.boundaryID);
    if (failedOrError(n) && n.type === "Pod") {
      delete n.startedAt;
      delete n.finishedAt;
    } else {
      n.startedAt = at;
      n.finishedAt = at;
    }
    setList(n, "children", (old.children ?? []).map(convert));
    setList(n, "outboundNodes", (old.outboundNodes ?? []).map(convert));
    if (!failedOrError(n) && n.type === "Pod") {
      n.phase = "Skipped";
      n.type = "Skipped";
      n.message = `original pod: ${id}`;
    } else if (n.type === "Skipped" && !descendantSucceeded(oldNodes, old, new Set())) {
      delete nodes[n.id];
      continue;
    } else {
      n.phase = "Pending";
      delete n.message;
    }
    nodes[n.id] = n;
  }
  const status = obj(wf.status);
  return {
    nodes,
    ...(typeof status.storedTemplates === "object" && status.storedTemplates
      ? { storedTemplates: structuredClone(status.storedTemplates) }
      : {}),
    conditions: [{ type: "Completed", status: "False" }],
  };
}

export interface RetryOptions {
  /** `--restart-successful`: also re-run the nodes `nodeFieldSelector` matches. */
  restartSuccessful?: boolean;
  /** `--node-field-selector`, e.g. `displayName=build` or `templateName=test,phase!=Skipped`. */
  nodeFieldSelector?: string;
  parameters?: ReadonlyArray<readonly [string, string]>;
  now?: number;
}

export interface RetryResult {
  workflow: KubeObject;
  /** Ids of the Pod nodes whose pods must be deleted before the controller re-runs them. */
  podNodeIds: string[];
  /** Node ids removed from the status (re-run from scratch). */
  deleted: string[];
  /** Node ids kept but reset to Running. */
  reset: string[];
}

interface DagNode {
  n: WorkflowNode;
  parent: DagNode | undefined;
  children: DagNode[];
}

/** Argo's newWorkflowsDag: one parent per node (the last in id order when several list it). */
function buildDag(wfName: string, nodes: Nodes): Map<string, DagNode> {
  const ids = Object.keys(nodes).sort();
  const byId = new Map<string, DagNode>();
  const parentOf = new Map<string, string>();
  for (const id of ids) {
    const n = nodes[id]!;
    byId.set(id, { n: { ...n, id }, parent: undefined, children: [] });
    for (const c of n.children ?? []) parentOf.set(c, id);
  }
  for (const [id, d] of byId) {
    const p = parentOf.get(id);
    const nodeName = nameOf(d.n);
    if (p === undefined && nodeName !== wfName && !nodeName.startsWith(`${wfName}.onExit`)) {
      throw retryError(`argoWorkflow retry: cannot find the parent of node ${id} (${nodeName})`);
    }
    d.parent = p === undefined ? undefined : byId.get(p);
    for (const c of d.n.children ?? []) {
      const child = byId.get(c);
      if (!child) throw retryError(`argoWorkflow retry: node ${id} lists unknown child ${c}`);
      d.children.push(child);
    }
  }
  return byId;
}

/** Argo's dagSortedNodes: breadth first from the root node (named like the Workflow). */
function bfsOrder(wfName: string, dag: Map<string, DagNode>): DagNode[] {
  if (dag.size === 0) return [];
  const root = [...dag.values()].find((d) => nameOf(d.n) === wfName);
  if (!root) throw retryError(`argoWorkflow retry: Workflow ${wfName} has no root node`);
  const out: DagNode[] = [];
  const seen = new Set([root.n.id]);
  for (const queue = [root]; queue.length > 0; ) {
    const d = queue.shift()!;
    out.push(d);
    for (const c of d.children) {
      if (seen.has(c.n.id)) continue;
      seen.add(c.n.id);
      queue.push(c);
    }
  }
  return out;
}

/** Argo's getChildren: every node below `d`. */
function descendants(d: DagNode): Set<string> {
  const out = new Set<string>();
  const queue = [...d.children];
  for (let c = queue.shift(); c; c = queue.shift()) {
    if (out.has(c.n.id)) continue;
    out.add(c.n.id);
    queue.push(...c.children);
  }
  return out;
}

/**
 * Argo's resetPath: to run `start` again it is deleted with everything below it; on its way up,
 * group nodes (DAG, Steps, StepGroup, TaskGroup), failed Retry nodes and the boundaries (the
 * template invocations) that contain them are reset to Running; a Container node takes its Pod
 * (and the Pod's other containers) with it.
 */
function resetPath(start: DagNode, limit: number): { reset: Set<string>; del: Set<string> } {
  const del = descendants(start);
  del.add(start.n.id);
  const reset = new Set<string>();
  if (!start.parent) return { reset, del };
  let steps = 0;
  const tick = (): void => {
    if (++steps > limit) throw retryError("argoWorkflow retry: the node parents form a cycle");
  };
  const up = (d: DagNode | undefined): DagNode | undefined => {
    tick();
    return d?.parent;
  };
  /** resetUntil: up from `d` (itself included) to the first match, which is reset. */
  const resetUntil = (d: DagNode | undefined, match: (x: DagNode) => boolean): DagNode => {
    for (let c = d; c; c = up(c)) {
      if (match(c)) {
        reset.add(c.n.id);
        return c;
      }
    }
    throw retryError(`argoWorkflow retry: no matching ancestor above node ${start.n.id}`);
  };
  const resetBoundaries = (d: DagNode): DagNode | undefined => {
    let c = d;
    for (;;) {
      tick();
      if (c.parent?.n.type === "Retry") {
        reset.add(c.parent.n.id);
        c = c.parent;
      }
      if (c.parent?.n.type === "StepGroup" || c.parent?.n.type === "TaskGroup")
        reset.add(c.parent.n.id);
      const boundary = c.n.boundaryID;
      if (!boundary) return c.parent;
      c = resetUntil(c, (x) => x.n.id === boundary);
    }
  };
  let curr: DagNode | undefined = start;
  while (curr) {
    tick();
    if (GROUP_TYPES.has(curr.n.type)) {
      reset.add(curr.n.id);
      curr = resetBoundaries(curr);
      continue;
    }
    if (curr.n.type === "Retry" && failedOrError(curr.n)) {
      reset.add(curr.n.id);
    } else if (curr.n.type === "Container") {
      // resetPod: the Pod and all of its containers are deleted (deletions win over resets).
      const pod = resetUntil(curr, (x) => x.n.type === "Pod");
      del.add(pod.n.id);
      for (const id of descendants(pod)) del.add(id);
      curr = pod;
      continue;
    }
    curr = up(curr);
  }
  return { reset, del };
}

/** Argo's resetNode: running again from now (Skipped stays Skipped; supplied outputs cleared). */
function resetNode(n: WorkflowNode, now: number): WorkflowNode {
  const out = structuredClone(n);
  if (out.type === "Suspend" && Array.isArray(out.outputs?.parameters)) {
    out.outputs.parameters = out.outputs.parameters.map((p) => ({
      name: p.name,
      valueFrom: { supplied: {} },
    }));
  }
  if (out.phase !== "Skipped") out.phase = "Running";
  delete out.message;
  out.startedAt = rfc3339(now);
  delete out.finishedAt;
  return out;
}

/** Argo's createNewRetryWorkflow: the Workflow no longer finished. */
function reopenWorkflow(wf: KubeObject, now: number): KubeObject & { spec: Json; status: Json } {
  const out = structuredClone(wf) as KubeObject & { spec: Json; status: Json };
  const labels = { ...(out.metadata.labels ?? {}) };
  delete labels[LABEL.completed];
  delete labels[LABEL.archiving];
  labels[LABEL.phase] = "Running";
  // creator.LabelActor without caller claims: the last actor's labels go.
  for (const k of [LABEL.actor, LABEL.actorEmail, LABEL.actorUsername, LABEL.action])
    delete labels[k];
  out.metadata.labels = labels;
  out.spec = obj(out.spec);
  reopenSpec(out.spec);
  const st = obj(out.status);
  const conditions = (Array.isArray(st.conditions) ? [...st.conditions] : []) as Json[];
  const completed = { type: "Completed", status: "False" };
  const at = conditions.findIndex((c) => obj(c).type === "Completed");
  if (at >= 0) conditions[at] = completed;
  else conditions.push(completed);
  st.conditions = conditions;
  st.phase = "Running";
  st.message = "";
  st.startedAt = rfc3339(now);
  delete st.finishedAt;
  delete st.compressedNodes;
  if (typeof st.storedWorkflowTemplateSpec === "object" && st.storedWorkflowTemplateSpec)
    delete obj(st.storedWorkflowTemplateSpec).shutdown;
  st.persistentVolumeClaims = [];
  out.status = st;
  return out;
}

/**
 * `argo retry`: the same Workflow, its failed nodes (and with --restart-successful the selected
 * ones) removed so the controller runs them again, their ancestors reset to Running, phase Running.
 */
export function formulateRetry(wf: KubeObject, opts: RetryOptions = {}): RetryResult {
  const name = wf.metadata?.name ?? "";
  const phase = String(obj(wf.status).phase ?? "");
  const selector = opts.restartSuccessful ? (opts.nodeFieldSelector ?? "") : "";
  if (phase === "Succeeded") {
    if (selector === "")
      throw retryError(
        `argoWorkflow retry: Workflow ${name} Succeeded; to retry a succeeded workflow, set --restart-successful and --node-field-selector`,
      );
  } else if (phase !== "Failed" && phase !== "Error") {
    throw retryError(
      `argoWorkflow retry: cannot retry Workflow ${name} in phase ${phase || "(none)"}: it must be Failed or Error`,
    );
  }
  const now = opts.now ?? Date.now();
  const nodes = workflowNodes(wf, "retry");
  const ids = Object.keys(nodes).sort();
  const out = reopenWorkflow(wf, now);
  if (opts.parameters) overrideParameters(out as unknown as Json, opts.parameters);

  // getNodeIDsToReset: the selected nodes, then every failed execution node that nothing after it
  // compensated (no succeeded descendant; for an attempt of a retried node, of the Retry node).
  const restart = new Set<string>();
  if (selector !== "") {
    for (const id of ids) {
      if (selectorMatches(selector, { ...nodes[id]!, id })) restart.add(id);
    }
  }
  const selected = new Set(restart);
  for (const id of ids) {
    const n = nodes[id]!;
    if (!failedOrError(n) || !EXECUTION_TYPES.has(n.type)) continue;
    const owner = n.nodeFlag?.retried
      ? (Object.values(nodes).find((r) => r.type === "Retry" && r.children?.includes(id)) ?? n)
      : n;
    if (!descendantSucceeded(nodes, owner, selected)) restart.add(id);
  }

  const dag = buildDag(name, nodes);
  const reset = new Set<string>();
  const del = new Set<string>();
  // Top down, so a node already removed with an ancestor is not itself a restart point.
  for (const d of bfsOrder(name, dag)) {
    if (!restart.has(d.n.id) || del.has(d.n.id)) continue;
    const path = resetPath(d, dag.size * 4 + 16);
    for (const r of path.reset) reset.add(r);
    for (const x of path.del) del.add(x);
  }
  // With new parameters a reset StepGroup/TaskGroup is expanded again: its children go (#15802).
  if (opts.parameters && opts.parameters.length > 0) {
    for (const id of [...reset]) {
      const d = dag.get(id);
      if (del.has(id) || !d || (d.n.type !== "TaskGroup" && d.n.type !== "StepGroup")) continue;
      for (const c of descendants(d)) del.add(c);
    }
  }

  const onExit = `${name}.onExit`;
  const newNodes: Nodes = {};
  for (const id of ids) {
    const n = nodes[id]!;
    if (del.has(id) || nameOf(n).startsWith(onExit)) continue;
    const next = reset.has(id) ? resetNode(n, now) : structuredClone(n);
    setList(
      next,
      "children",
      (n.children ?? []).filter((c) => !del.has(c)),
    );
    setList(
      next,
      "outboundNodes",
      (n.outboundNodes ?? []).filter((c) => !del.has(c)),
    );
    newNodes[id] = next;
  }
  out.status.nodes = newNodes;

  // Pods to delete: the removed Pod nodes', and the exit handler's (it runs again).
  const pods = new Set([...del].filter((id) => nodes[id]?.type === "Pod"));
  const exit = ids.find((id) => nameOf(nodes[id]) === onExit);
  if (exit) {
    for (const id of [exit, ...descendants(dag.get(exit)!)])
      if (nodes[id]?.type === "Pod") pods.add(id);
  }
  return {
    workflow: out,
    podNodeIds: [...pods].sort(),
    deleted: [...del].sort(),
    reset: [...reset].filter((id) => !del.has(id)).sort(),
  };
}
