import { selectKind, type TriggerOutput } from "../config/kinds.js";
import type { LoadResult } from "../config/load.js";
import type { EventSourceManifest, Loaded, SensorManifest } from "../config/types.js";
import { ConfigError } from "../errors.js";
import { eventSourceKind, NON_ENTRY_KEYS } from "../eventsources/registry.js";
import type { EventFlowGraph, GraphEdge, GraphNode } from "../observability/contracts.js";
import { ALL_TRIGGER_KINDS } from "../triggers/registry.js";

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

/** The kind's own one-line detail (its `graph.detail`), else the kind's key. */
function entryDetail(type: string, s: Obj): string {
  return eventSourceKind(type)?.graph?.detail(s as never) ?? type;
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
    // The kind that runs (the runtime's own choice, Argo's precedence), not merely the first listed.
    const selected = selectKind(template);
    const kind = selected && isObj(selected.spec) ? selected.kind : "unknown";
    const spec = selected && isObj(selected.spec) ? selected.spec : {};
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

function triggerGraph(kind: string) {
  return ALL_TRIGGER_KINDS.find((k) => k.key === kind)?.graph;
}

/** The kind's own one-line detail (its `graph.detail`), else the kind's key. */
function triggerDetail(kind: string, spec: Obj): string {
  return triggerGraph(kind)?.detail(spec as never) ?? kind;
}

/** Cross links: each entry that receives what the trigger's firing sends or creates. */
function crossLinks(
  kind: string,
  spec: Obj,
  sensorNamespace: string,
  entries: Map<string, Entry>,
): Array<{ to: string; label: string }> {
  const outputs: TriggerOutput[] =
    triggerGraph(kind)?.outputs?.(spec as never, sensorNamespace) ?? [];
  const out: Array<{ to: string; label: string }> = [];
  for (const output of outputs) {
    for (const e of entries.values()) {
      const label = eventSourceKind(e.type)?.graph?.receives?.(e.spec as never, output);
      if (label !== undefined) out.push({ to: e.node.id, label });
    }
  }
  return out;
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
