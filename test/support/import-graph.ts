import { join } from "node:path";
import ts from "typescript";

/**
 * The import graph of src/ and the layer order it must follow (test/unit/import-rules.test.ts).
 * Imports are read with the TypeScript parser, so comments and strings never count and type-only,
 * re-exported and dynamic imports (`import("x")`, `import("x").T`) all do.
 */

export interface FoundImport {
  spec: string;
  /** `import type`, `export type`, every specifier `type`, or a type position `import("x").T`. */
  typeOnly: boolean;
  /** `import("x")` (loaded when first used) or `import("x").T`. */
  dynamic: boolean;
}

export interface ImportEdge {
  /** Path relative to src/, e.g. `app/host.ts`. */
  from: string;
  to: string;
  typeOnly: boolean;
  dynamic: boolean;
}

export function importsOf(text: string): FoundImport[] {
  const sf = ts.createSourceFile("x.ts", text, ts.ScriptTarget.Latest, true);
  const out: FoundImport[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allTypes =
        clause !== undefined &&
        clause.name === undefined &&
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      out.push({
        spec: node.moduleSpecifier.text,
        typeOnly: clause?.isTypeOnly === true || allTypes,
        dynamic: false,
      });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.push({ spec: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, dynamic: false });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      out.push({ spec: node.arguments[0].text, typeOnly: false, dynamic: true });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      out.push({ spec: node.argument.literal.text, typeOnly: true, dynamic: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The src/-relative file a relative specifier of `from` names (`.js` → `.ts`). */
export function resolveSpec(from: string, spec: string): string {
  return join(from, "..", spec).replace(/\.js$/, ".ts");
}

export interface Layer {
  name: string;
  /** Lower rank = higher layer. Layers of one rank are peers: neither imports the other. */
  rank: number;
  owns(path: string): boolean;
}

const folder = (name: string, rank: number): Layer => ({
  name,
  rank,
  owns: (p) => p.startsWith(`${name}/`),
});
const file = (name: string, rank: number): Layer => ({ name, rank, owns: (p) => p === name });

/**
 * The layer order of issue 21, highest first: cli → app → eventsources / sensors / triggers →
 * config → eventbus → observability → k8s / clients / cloudevents → lib → errors.ts (the typed
 * errors every layer raises; it imports nothing). A file may import from its own folder and from
 * layers of a higher rank number only; peers (eventsources, sensors, triggers; k8s, clients,
 * cloudevents) do not import each other. `clients/` holds the wrappers of vendor SDKs that more
 * than one kind uses (an EventSource and a trigger of the same broker), as `k8s/client.ts` does
 * for Kubernetes.
 */
export const LAYERS: readonly Layer[] = [
  file("cli.ts", 0),
  folder("app", 1),
  folder("eventsources", 2),
  folder("sensors", 2),
  folder("triggers", 2),
  folder("config", 3),
  folder("eventbus", 4),
  folder("observability", 5),
  folder("k8s", 6),
  folder("clients", 6),
  folder("cloudevents", 6),
  folder("lib", 7),
  file("errors.ts", 8),
];

export function layerOf(path: string): Layer | undefined {
  return LAYERS.find((l) => l.owns(path));
}

/** Edges that go up the order, sideways to a peer, or to/from a file in no layer. */
export function layerViolations(edges: readonly ImportEdge[]): ImportEdge[] {
  return edges.filter((e) => {
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    if (!from || !to) return true;
    if (from === to) return false;
    return to.rank <= from.rank;
  });
}

/** Every import cycle (depth-first search; each reported once, from where the search entered it). */
export function cyclesOf(edges: readonly ImportEdge[]): string[] {
  const graph = new Map<string, string[]>();
  for (const e of edges) {
    graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
    if (!graph.has(e.to)) graph.set(e.to, []);
  }
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (n: string, stack: string[]): void => {
    if (state.get(n) === "done") return;
    if (state.get(n) === "open") {
      cycles.push([...stack.slice(stack.indexOf(n)), n].join(" -> "));
      return;
    }
    state.set(n, "open");
    for (const d of graph.get(n) ?? []) visit(d, [...stack, n]);
    state.set(n, "done");
  };
  for (const n of [...graph.keys()].sort()) visit(n, []);
  return cycles;
}
