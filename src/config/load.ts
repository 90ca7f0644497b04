import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ConfigError, errorMessage } from "../errors.js";
import { schemaFor } from "./schema/index.js";
import type { ValuesLayout } from "./secrets.js";
import type { EventSourceManifest, Loaded, Manifest, SensorManifest } from "./types.js";
import { checkDocument, escapePointer } from "./validate.js";
import { findValueRefs } from "./value-refs.js";

/** One finding, naming the file, the 0-based document index and a JSON pointer into it. */
export interface Problem {
  file: string;
  doc: number;
  pointer: string;
  message: string;
  severity: "error" | "warning";
}

export interface LoadResult {
  eventSources: Loaded<EventSourceManifest>[];
  sensors: Loaded<SensorManifest>[];
  problems: Problem[];
}

/** Files seen by loadManifests that hold several documents (so formatProblem shows `#doc`). */
const multiDocumentFiles = new Set<string>();

/**
 * "sensors/x.yaml: /spec/dependencies/0: eventSourceName is required". The document index is shown
 * ("sensors/x.yaml#2") when the file holds several documents (as seen by `loadManifests`) or the
 * index is not 0; the pointer part is left out when the problem is about the whole file/document.
 */
export function formatProblem(p: Problem): string {
  const where = p.doc > 0 || multiDocumentFiles.has(p.file) ? `${p.file}#${p.doc}` : p.file;
  return p.pointer === "" ? `${where}: ${p.message}` : `${where}: ${p.pointer}: ${p.message}`;
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === "error");
}

/** A ConfigError listing every error (formatted), or undefined when there is none. */
export function problemsToError(problems: readonly Problem[]): ConfigError | undefined {
  const errors = problems.filter((p) => p.severity === "error").map(formatProblem);
  if (errors.length === 0) return undefined;
  const head = errors.length === 1 ? errors[0] : `${errors.length} problems in manifests`;
  return new ConfigError(head ?? "invalid manifests", errors);
}

/** Validate one parsed document (used by load and by the controller). Never throws. */
export function validateManifest(
  doc: unknown,
  file: string,
  index: number,
): { manifest?: Manifest; problems: Problem[] } {
  const result = checkDocument(doc);
  const problems = result.findings.map((f) => ({ file, doc: index, ...f }));
  return result.manifest ? { manifest: result.manifest, problems } : { problems };
}

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/**
 * Files or directories (recursively *.yaml, *.yml, *.json, sorted), several YAML documents per
 * file; JSON files may hold one object or a List (`kind: List, items`). Unreadable path / YAML
 * syntax error => an error Problem with line:col. Documents of other kinds (e.g. a Workflow) are
 * skipped with a warning; empty documents ignored. Never throws for bad input.
 *
 * Two Sensors (or two EventSources) with the same namespace/name are one object in Kubernetes:
 * as with `kubectl apply`, the later document replaces the earlier one, with a warning.
 */
export interface LoadOptions {
  /** Called before each file is read (progress for long runs): 1-based index and total. */
  onFile?: (file: string, index: number, total: number) => void;
  /**
   * Layout of `--secrets-dir`/`--configmaps-dir` (default flat): the flat layout serves one
   * namespace, so manifests of several namespaces that read Secrets or ConfigMaps are refused.
   */
  secretsLayout?: ValuesLayout;
}

export async function loadManifests(
  paths: readonly string[],
  options: LoadOptions = {},
): Promise<LoadResult> {
  const result: LoadResult = { eventSources: [], sensors: [], problems: [] };
  const files: string[] = [];
  for (const path of paths) {
    try {
      const info = await stat(path);
      if (info.isDirectory()) files.push(...(await walk(path)));
      else files.push(path);
    } catch (e) {
      result.problems.push(problem(path, 0, "", `cannot read: ${errorMessage(e)}`));
    }
  }
  const seen = new Map<string, string>();
  for (const [i, file] of files.entries()) {
    options.onFile?.(file, i + 1, files.length);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      result.problems.push(problem(file, 0, "", `cannot read: ${errorMessage(e)}`));
      continue;
    }
    for (const { index, prefix, value } of parseFile(file, text, result.problems)) {
      const { manifest, problems } = validateManifest(value, file, index);
      result.problems.push(
        ...problems.map((p) => (prefix === "" ? p : { ...p, pointer: prefix + p.pointer })),
      );
      if (!manifest) continue;
      const key = `${manifest.kind}/${manifest.metadata.namespace ?? ""}/${manifest.metadata.name}`;
      const here = `${file}#${index}${prefix}`;
      const first = seen.get(key);
      seen.set(key, here);
      if (first !== undefined) {
        // kubectl apply would replace the earlier object with this one; so does sensorbus.
        result.problems.push({
          file,
          doc: index,
          pointer: `${prefix}/metadata/name`,
          message: `duplicate ${manifest.kind} name "${manifest.metadata.name}": replaces the one in ${first}`,
          severity: "warning",
        });
        const same = (l: Loaded) =>
          `${l.manifest.kind}/${l.manifest.metadata.namespace ?? ""}/${l.manifest.metadata.name}` ===
          key;
        result.sensors = result.sensors.filter((l) => !same(l));
        result.eventSources = result.eventSources.filter((l) => !same(l));
      }
      if (manifest.kind === "Sensor") result.sensors.push({ manifest, file, doc: index });
      else result.eventSources.push({ manifest, file, doc: index });
    }
  }
  if ((options.secretsLayout ?? "flat") === "flat")
    result.problems.push(...flatLayoutProblems(result));
  return result;
}

/**
 * The flat `--secrets-dir`/`--configmaps-dir` layout (`DIR/<name>/<key>`) holds one namespace's
 * values: when the manifests that read Secrets or ConfigMaps span several namespaces, each of
 * them is an error (run and validate alike), naming the namespaces and the namespaced layout.
 */
function flatLayoutProblems(result: LoadResult): Problem[] {
  const readers = [...result.eventSources, ...result.sensors].filter((l) => {
    const schema = schemaFor(l.manifest.kind);
    return schema !== undefined && findValueRefs(l.manifest, schema).length > 0;
  });
  const namespaces = [...new Set(readers.map((l) => l.manifest.metadata.namespace ?? "default"))];
  if (namespaces.length < 2) return [];
  const list = namespaces.sort().join(", ");
  return readers.map((l) => ({
    file: l.file,
    doc: l.doc,
    pointer: "/metadata/namespace",
    message: `reads Secrets/ConfigMaps, as do manifests of namespaces ${list}: the flat --secrets-dir/--configmaps-dir layout (DIR/<name>/<key>) serves one namespace; use --secrets-layout namespaced (DIR/<namespace>/<name>/<key>)`,
    severity: "error" as const,
  }));
}

function problem(file: string, doc: number, pointer: string, message: string): Problem {
  return { file, doc, pointer, message, severity: "error" };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(path)));
    else if (e.isFile() && EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(path);
  }
  return out;
}

interface ParsedDocument {
  /** document index in the file */
  index: number;
  /** pointer prefix for items of a List ("/items/3"), else "" */
  prefix: string;
  value: unknown;
}

/** YAML (JSON is YAML) documents of one file, with List items expanded. Syntax errors -> problems. */
function parseFile(file: string, text: string, problems: Problem[]): ParsedDocument[] {
  const out: ParsedDocument[] = [];
  const docs = parseAllDocuments(text, { merge: true, prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length > 1) multiDocumentFiles.add(file);
  else multiDocumentFiles.delete(file);
  list.forEach((d, index) => {
    const bad = [...d.errors];
    for (const w of d.warnings) {
      problems.push({
        file,
        doc: index,
        pointer: "",
        message: syntaxMessage(w),
        severity: "warning",
      });
    }
    if (bad.length > 0) {
      for (const e of bad) problems.push(problem(file, index, "", syntaxMessage(e)));
      return;
    }
    let value: unknown;
    try {
      value = d.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      problems.push(problem(file, index, "", `YAML error: ${errorMessage(e)}`));
      return;
    }
    if (value === null || value === undefined) return;
    if (isList(value)) {
      const items = value.items;
      if (!Array.isArray(items)) {
        problems.push(problem(file, index, "/items", "a List needs an items sequence"));
        return;
      }
      items.forEach((item, i) => {
        out.push({ index, prefix: `/items/${escapePointer(String(i))}`, value: item });
      });
      return;
    }
    out.push({ index, prefix: "", value });
  });
  return out;
}

function isList(v: unknown): v is { kind: string; items: unknown } {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as { kind?: unknown }).kind === "string" &&
    /^(List|EventSourceList|SensorList)$/.test((v as { kind: string }).kind)
  );
}

function syntaxMessage(e: {
  message: string;
  linePos?: [{ line: number; col: number }, { line: number; col: number }?] | undefined;
}): string {
  const pos = e.linePos?.[0];
  const first = e.message.split("\n")[0] ?? e.message;
  const text = first.replace(/ at line \d+, column \d+:?$/, "");
  return pos
    ? `YAML syntax error at line ${pos.line}:${pos.col}: ${text}`
    : `YAML syntax error: ${text}`;
}
