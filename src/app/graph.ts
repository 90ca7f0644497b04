import type { LoadResult } from "../config/load.js";
import type { EventSourceManifest, Loaded, SensorManifest } from "../config/types.js";
import { ConfigError } from "../errors.js";
import { pluralize, splitApiVersion } from "../k8s/client.js";

import type { EventFlowGraph, GraphEdge, GraphNode } from "../observability/contracts.js";

export type {
  EventFlowGraph,
  GraphEdge,
  GraphEdgeKind,
  GraphNode,
  GraphNodeKind,
} from "../observability/contracts.js";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;

const TRIGGER_KINDS = [
  "argoWorkflow",
  "k8s",
  "http",
  "log",
  "awsLambda",
  "kafka",
  "nats",
  "slack",
  "openWhisk",
  "azureEventHubs",
  "azureServiceBus",
  "pulsar",
  "custom",
  "email",
] as const;

const NON_ENTRY_KEYS = new Set(["template", "service", "replicas", "eventBusName"]);

interface Entry {
  node: GraphNode;
  type: string;
  spec: Obj;
  namespace: string;
}

/** Builds the graph of everything in `loaded` (problems are ignored: graph what parsed). */
export function buildGraph(loaded: Pick<LoadResult, "eventSources" | "sensors">): EventFlowGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const entries = new Map<string, Entry>();
  for (const es of loaded.eventSources) {
    for (const entry of entriesOf(es)) {
      entries.set(entry.node.id, entry);
      nodes.push(entry.node);
    }
  }
  for (const sensor of loaded.sensors) graphSensor(sensor, entries, nodes, edges);
  return { nodes, edges };
}

function entriesOf(es: Loaded<EventSourceManifest>): Entry[] {
  const m = es.manifest;
  const name = m.metadata.name;
  const namespace = m.metadata.namespace ?? "default";
  const out: Entry[] = [];
  for (const [type, value] of Object.entries(m.spec as Obj)) {
    if (NON_ENTRY_KEYS.has(type) || !isObj(value)) continue;
    for (const [eventName, spec] of Object.entries(value)) {
      const s = isObj(spec) ? spec : {};
      out.push({
        type,
        spec: s,
        namespace,
        node: {
          id: `entry:${name}/${eventName}`,
          kind: "entry",
          label: eventName,
          type,
          detail: entryDetail(type, s),
          group: { kind: "EventSource", name },
        },
      });
    }
  }
  return out;
}

function entryDetail(type: string, s: Obj): string {
  switch (type) {
    case "webhook":
      return `${str(s.method) ?? "POST"} :${str(s.port) ?? "?"}${str(s.endpoint) ?? "/"}`;
    case "pubSub":
      return `topic ${str(s.topic) ?? "?"}`;
    case "calendar":
      return str(s.schedule) ? `schedule ${str(s.schedule)}` : `interval ${str(s.interval) ?? "?"}`;
    case "resource": {
      const gvr = [str(s.group), str(s.version), str(s.resource)].filter(Boolean).join("/");
      return `watch ${gvr}${str(s.namespace) ? ` in ${str(s.namespace)}` : ""}`;
    }
    default:
      return type;
  }
}

function graphSensor(
  loaded: Loaded<SensorManifest>,
  entries: Map<string, Entry>,
  nodes: GraphNode[],
  edges: GraphEdge[],
): void {
  const m = loaded.manifest;
  const sensor = m.metadata.name;
  const namespace = m.metadata.namespace ?? "default";
  const group = { kind: "Sensor" as const, name: sensor };
  const deps = (m.spec.dependencies ?? []) as unknown as Obj[];
  for (const dep of deps) {
    const depName = str(dep.name) ?? "?";
    const entryId = `entry:${str(dep.eventSourceName) ?? "?"}/${str(dep.eventName) ?? "?"}`;
    if (!entries.has(entryId)) {
      const node: GraphNode = {
        id: entryId,
        kind: "entry",
        label: str(dep.eventName) ?? "?",
        type: "unknown",
        detail: "not among these manifests",
        group: { kind: "EventSource", name: str(dep.eventSourceName) ?? "?" },
        missing: true,
      };
      entries.set(entryId, { node, type: "unknown", spec: {}, namespace });
      nodes.push(node);
    }
    const filters = isObj(dep.filters) ? Object.keys(dep.filters) : [];
    nodes.push({
      id: `dep:${sensor}/${depName}`,
      kind: "dependency",
      label: depName,
      type: "dependency",
      detail: filters.length > 0 ? `filters: ${filters.join(", ")}` : "no filters",
      group,
    });
    edges.push({ from: entryId, to: `dep:${sensor}/${depName}`, kind: "dependency" });
  }
  const triggers = (m.spec.triggers ?? []) as unknown as Obj[];
  triggers.forEach((t, i) => {
    const template = isObj(t.template) ? t.template : {};
    const name = str(template.name) ?? `trigger-${i}`;
    const kind = TRIGGER_KINDS.find((k) => isObj(template[k])) ?? "unknown";
    const spec = isObj(template[kind]) ? (template[kind] as Obj) : {};
    const id = `trigger:${sensor}/${name}`;
    nodes.push({
      id,
      kind: "trigger",
      label: name,
      type: kind,
      detail: triggerDetail(kind, spec),
      group,
    });
    const conditions = str(template.conditions);
    const used = conditions
      ? deps.filter((d) => conditionMentions(conditions, str(d.name) ?? ""))
      : deps;
    for (const d of used) {
      edges.push({
        from: `dep:${sensor}/${str(d.name) ?? "?"}`,
        to: id,
        kind: "trigger",
        ...(conditions ? { label: conditions } : {}),
      });
    }
    for (const link of crossLinks(kind, spec, namespace, entries)) {
      edges.push({ from: id, to: link.to, kind: "cross", label: link.label });
    }
  });
}

/** Whether a conditions expression names a dependency (Argo folds `-` and `_` there). */
function conditionMentions(conditions: string, dep: string): boolean {
  const fold = (s: string) => s.replaceAll("-", "_");
  const words: string[] = fold(conditions).match(/[A-Za-z0-9_.]+/g) ?? [];
  return words.includes(fold(dep));
}

function triggerDetail(kind: string, spec: Obj): string {
  if (kind === "http") return `${str(spec.method) ?? "POST"} ${str(spec.url) ?? "?"}`;
  if (kind === "argoWorkflow" || kind === "k8s") {
    const obj = createdObject(kind, spec);
    const op = str(spec.operation) ?? (kind === "argoWorkflow" ? "submit" : "create");
    return obj ? `${op} ${obj.kind} ${obj.namePrefix}` : op;
  }
  return kind;
}

interface CreatedObject {
  apiVersion: string;
  kind: string;
  namespace: string | undefined;
  namePrefix: string;
  labels: Record<string, string>;
  /** Label keys whose value the trigger's parameters set from the event (any value). */
  dynamicLabels: Set<string>;
  manifest: Obj;
}

/** The object an argoWorkflow/k8s trigger creates, as far as its inline source tells. */
function createdObject(kind: string, spec: Obj): CreatedObject | undefined {
  const source = isObj(spec.source) ? spec.source : {};
  const resource = isObj(source.resource) ? source.resource : undefined;
  if (!resource) return undefined;
  const meta = isObj(resource.metadata) ? resource.metadata : {};
  const labels: Record<string, string> = {};
  if (isObj(meta.labels)) {
    for (const [k, v] of Object.entries(meta.labels)) labels[k] = str(v) ?? "";
  }
  const dynamicLabels = new Set<string>();
  for (const p of Array.isArray(spec.parameters) ? (spec.parameters as unknown[]) : []) {
    const dest = isObj(p) ? str(p.dest) : undefined;
    if (dest?.startsWith("metadata.labels.")) dynamicLabels.add(dest.slice(16));
  }
  let objKind = str(resource.kind) ?? "";
  let namePrefix = str(meta.generateName) ?? str(meta.name) ?? "";
  const resSpec = isObj(resource.spec) ? resource.spec : {};
  const operation = str(spec.operation) ?? (kind === "argoWorkflow" ? "submit" : "create");
  const fromTemplate = objKind === "WorkflowTemplate" || objKind === "CronWorkflow";
  if (kind === "argoWorkflow" && fromTemplate && operation.startsWith("submit")) {
    // `argo submit --from <kind>/<name>`: a Workflow named <name>-xxxxx, labelled by Argo.
    const template = str(meta.name) ?? namePrefix;
    const label = objKind === "CronWorkflow" ? "cron-workflow" : "workflow-template";
    objKind = "Workflow";
    namePrefix = `${template}-`;
    labels[`workflows.argoproj.io/${label}`] = template;
  }
  const ref = isObj(resSpec.workflowTemplateRef)
    ? str(resSpec.workflowTemplateRef.name)
    : undefined;
  if (objKind === "Workflow" && ref) labels["workflows.argoproj.io/workflow-template"] = ref;
  return {
    apiVersion: str(resource.apiVersion) ?? "",
    kind: objKind,
    namespace: str(meta.namespace),
    namePrefix,
    labels,
    dynamicLabels,
    manifest: resource,
  };
}

function crossLinks(
  kind: string,
  spec: Obj,
  sensorNamespace: string,
  entries: Map<string, Entry>,
): Array<{ to: string; label: string }> {
  const out: Array<{ to: string; label: string }> = [];
  if (kind === "http") {
    const target = parseUrl(str(spec.url));
    if (!target) return out;
    for (const e of entries.values()) {
      if (e.type !== "webhook") continue;
      const endpoint = normalizePath(str(e.spec.endpoint) ?? "/");
      if (str(e.spec.port) === target.port && endpoint === target.path) {
        out.push({ to: e.node.id, label: `${str(spec.method) ?? "POST"} ${target.path}` });
      }
    }
    return out;
  }
  if (kind !== "argoWorkflow" && kind !== "k8s") return out;
  const obj = createdObject(kind, spec);
  if (!obj) return out;
  const operation = str(spec.operation) ?? (kind === "argoWorkflow" ? "submit" : "create");
  const creates = kind === "argoWorkflow" ? operation.startsWith("submit") : operation === "create";
  const namespace = obj.namespace ?? sensorNamespace;
  for (const e of entries.values()) {
    if (creates && e.type === "resource" && watches(e, obj, namespace)) {
      out.push({ to: e.node.id, label: `creates ${obj.kind} ${obj.namePrefix}` });
    }
    if (e.type === "pubSub") {
      const topic = str(e.spec.topic);
      if (topic && mentionsTopic(obj.manifest.spec, topic))
        out.push({ to: e.node.id, label: `publishes to ${topic}` });
    }
  }
  return out;
}

function parseUrl(url: string | undefined): { port: string; path: string } | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === "https:" ? "443" : "80");
    return { port, path: normalizePath(decodeURIComponent(u.pathname)) };
  } catch {
    return undefined;
  }
}

function normalizePath(p: string): string {
  const withSlash = p.startsWith("/") ? p : `/${p}`;
  return withSlash.length > 1 ? withSlash.replace(/\/+$/, "") : withSlash;
}

/** Whether a `resource` EventSource entry sees the object the trigger creates. */
function watches(e: Entry, obj: CreatedObject, namespace: string): boolean {
  const s = e.spec;
  const { group, version } = splitApiVersion(obj.apiVersion);
  if ((str(s.group) ?? "") !== group) return false;
  if (str(s.version) && str(s.version) !== version) return false;
  if (str(s.resource) !== pluralize(obj.kind)) return false;
  const watchNs = str(s.namespace);
  if (watchNs && watchNs !== namespace) return false;
  const filter = isObj(s.filter) ? s.filter : {};
  const prefix = str(filter.prefix);
  if (prefix && !obj.namePrefix.startsWith(prefix)) return false;
  for (const sel of Array.isArray(filter.labels) ? (filter.labels as unknown[]) : []) {
    if (!isObj(sel)) continue;
    const key = str(sel.key) ?? "";
    if (obj.dynamicLabels.has(key)) continue;
    const op = str(sel.operation) ?? "=";
    const have = obj.labels[key];
    const want = str(sel.value) ?? "";
    if (op === "=" || op === "==" || op === "") {
      if (have !== want) return false;
    } else if (op === "!=") {
      if (have === want) return false;
    } else if (op === "exists") {
      if (have === undefined) return false;
    } else if (op === "!") {
      if (have !== undefined) return false;
    } else {
      return false;
    }
  }
  return true;
}

/** Whether the Workflow spec (container args, env, parameters...) names the topic as a word. */
function mentionsTopic(spec: unknown, topic: string): boolean {
  const escaped = topic.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`(^|[^A-Za-z0-9_-])${escaped}($|[^A-Za-z0-9_-])`);
  const walk = (v: unknown): boolean =>
    typeof v === "string"
      ? re.test(v)
      : Array.isArray(v)
        ? v.some(walk)
        : isObj(v) && Object.values(v).some(walk);
  return walk(spec);
}

// ---------------------------------------------------------------------------------------------
// Rendering

export type GraphFormat = "mermaid" | "dot" | "json";

/** `--format` of `sensorbus graph` (default mermaid). */
export function parseGraphFormat(value: string | undefined): GraphFormat {
  const format = value ?? "mermaid";
  if (format === "mermaid" || format === "dot" || format === "json") return format;
  throw new ConfigError(`--format: '${format}' is not mermaid, dot or json`);
}

export function renderGraph(graph: EventFlowGraph, format: GraphFormat): string {
  if (format === "json") return `${JSON.stringify(graph, null, 2)}\n`;
  return format === "dot" ? toDot(graph) : toMermaid(graph);
}

function groupsOf(graph: EventFlowGraph): Map<string, GraphNode[]> {
  const groups = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) {
    const key = `${n.group.kind} ${n.group.name}`;
    const list = groups.get(key) ?? [];
    list.push(n);
    groups.set(key, list);
  }
  return groups;
}

function shortIds(graph: EventFlowGraph): Map<string, string> {
  return new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
}

const mermaidText = (s: string) => s.replaceAll('"', "#quot;").replaceAll("<", "#lt;");

export function toMermaid(graph: EventFlowGraph): string {
  const ids = shortIds(graph);
  const lines = ["flowchart LR"];
  let g = 0;
  for (const [title, members] of groupsOf(graph)) {
    lines.push(`  subgraph g${g++}["${mermaidText(title)}"]`);
    for (const n of members) {
      const text = `${mermaidText(n.label)}<br/><small>${mermaidText(n.detail)}</small>`;
      const id = ids.get(n.id);
      if (n.kind === "entry") lines.push(`    ${id}(["${text}"])`);
      else if (n.kind === "dependency") lines.push(`    ${id}{{"${text}"}}`);
      else lines.push(`    ${id}["${text}"]`);
    }
    lines.push("  end");
  }
  for (const e of graph.edges) {
    const arrow = e.kind === "cross" ? "-.->" : "-->";
    const label = e.label ? `|"${mermaidText(e.label)}"|` : "";
    lines.push(`  ${ids.get(e.from)} ${arrow}${label} ${ids.get(e.to)}`);
  }
  return `${lines.join("\n")}\n`;
}

const dotText = (s: string) => s.replaceAll("\\", "\\\\").replaceAll('"', '\\"');

export function toDot(graph: EventFlowGraph): string {
  const ids = shortIds(graph);
  const lines = ["digraph sensorbus {", "  rankdir=LR;", "  node [fontname=Helvetica];"];
  let g = 0;
  for (const [title, members] of groupsOf(graph)) {
    lines.push(`  subgraph cluster_${g++} {`, `    label="${dotText(title)}";`);
    for (const n of members) {
      const shape = n.kind === "entry" ? "ellipse" : n.kind === "dependency" ? "hexagon" : "box";
      lines.push(
        `    ${ids.get(n.id)} [label="${dotText(`${n.label}\n${n.detail}`)}", shape=${shape}${n.missing ? ", style=dashed" : ""}];`,
      );
    }
    lines.push("  }");
  }
  for (const e of graph.edges) {
    const attrs = [
      ...(e.label ? [`label="${dotText(e.label)}"`] : []),
      ...(e.kind === "cross" ? ["style=dashed", "color=blue"] : []),
    ];
    lines.push(
      `  ${ids.get(e.from)} -> ${ids.get(e.to)}${attrs.length > 0 ? ` [${attrs.join(", ")}]` : ""};`,
    );
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
