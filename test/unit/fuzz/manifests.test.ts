import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { validateManifest } from "../../../src/config/load.js";
import { realisticJson, runs, timed } from "./support.js";

const VALID_DIR = join(import.meta.dirname, "../../fixtures/manifests/valid");

/** Every EventSource and Sensor of the valid fixtures (List items unpacked). */
function validDocuments(): unknown[] {
  const docs: unknown[] = [];
  for (const name of readdirSync(VALID_DIR).sort()) {
    const text = readFileSync(join(VALID_DIR, name), "utf8");
    const parsed = name.endsWith(".json")
      ? [JSON.parse(text) as unknown]
      : parseAllDocuments(text).map((d) => d.toJS() as unknown);
    for (const d of parsed) {
      const items = (d as { kind?: string; items?: unknown[] } | null)?.items;
      if ((d as { kind?: string } | null)?.kind === "List" && Array.isArray(items))
        docs.push(...items);
      else if (d !== null && d !== undefined) docs.push(d);
    }
  }
  const kind = (d: unknown) => (d as { kind?: unknown }).kind;
  return docs.filter((d) => kind(d) === "EventSource" || kind(d) === "Sensor");
}
const DOCS = validDocuments();
// The first call compiles the schemas; the hang bound is about each validation after that.
validateManifest(DOCS[0], "warm-up.yaml", 0);

type Path = Array<string | number>;
function allPaths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) allPaths(x, [...prefix, i], out);
  } else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) allPaths(x, [...prefix, k], out);
  return out;
}

interface Mutation {
  at: number;
  kind: "replace" | "delete" | "addKey" | "wrapArray" | "stringify";
  value: unknown;
  key: string;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("replace", "replace", "delete", "addKey", "wrapArray", "stringify"),
  value: fc.oneof(
    realisticJson,
    fc.constantFrom(
      "",
      "0",
      "-1",
      "99999999999",
      "1.5",
      "a.b",
      "*",
      "POST",
      "12000",
      "notACron",
      "@every 1s",
      "5s",
      "||",
      "{{ .Input",
      "body.#(",
      "argoproj.io/v1alpha1",
      "EventSource",
      "Sensor",
      2 ** 53,
      -1,
      1e300,
      true,
      null,
    ),
  ),
  key: fc.constantFrom(
    "extra",
    "hmac",
    "authSecret",
    "filters",
    "conditions",
    "dependencies",
    "template",
  ),
});

function mutate(doc: unknown, mutations: readonly Mutation[]): unknown {
  let root = structuredClone(doc);
  for (const m of mutations) {
    const paths = allPaths(root);
    const path = paths[m.at % paths.length]!;
    if (path.length === 0) {
      if (m.kind === "replace") root = m.value;
      continue;
    }
    const parent = path
      .slice(0, -1)
      .reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], root) as
      | Record<string | number, unknown>
      | unknown[];
    const last = path.at(-1)!;
    const current = (parent as Record<string | number, unknown>)[last];
    switch (m.kind) {
      case "replace":
        (parent as Record<string | number, unknown>)[last] = m.value;
        break;
      case "delete":
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete (parent as Record<string, unknown>)[last];
        break;
      case "addKey":
        if (current !== null && typeof current === "object" && !Array.isArray(current)) {
          (current as Record<string, unknown>)[m.key] = m.value;
        }
        break;
      case "wrapArray":
        (parent as Record<string | number, unknown>)[last] = [current];
        break;
      case "stringify":
        (parent as Record<string | number, unknown>)[last] = JSON.stringify(current) ?? "";
        break;
    }
  }
  return root;
}

function checkValidate(doc: unknown): ReturnType<typeof validateManifest> {
  const out = timed("validateManifest", () => validateManifest(doc, "fuzz.yaml", 0));
  if (!out.ok) throw out.error;
  expect(Array.isArray(out.value.problems)).toBe(true);
  for (const p of out.value.problems) {
    expect(p.file).toBe("fuzz.yaml");
    expect(typeof p.pointer).toBe("string");
    expect(typeof p.message).toBe("string");
    expect(p.message.length).toBeGreaterThan(0);
    expect(["error", "warning"]).toContain(p.severity);
  }
  // A manifest is returned only when there is no error.
  if (out.value.manifest)
    expect(out.value.problems.every((p) => p.severity !== "error")).toBe(true);
  return out.value;
}

describe("fuzz: manifest validation", () => {
  it("the valid fixtures validate without errors (the seeds of the mutations)", () => {
    expect(DOCS.length).toBeGreaterThan(5);
    for (const d of DOCS) expect(checkValidate(d).manifest).toBeDefined();
  });

  it("mutated valid manifests: never throw, every problem names a field", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DOCS),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (doc, mutations) => {
          checkValidate(mutate(doc, mutations));
        },
      ),
      { numRuns: runs(1200) },
    );
  });

  it("random objects shaped like manifests: never throw", () => {
    const shaped = fc.record({
      apiVersion: fc.constantFrom("argoproj.io/v1alpha1", "v1", "", 1),
      kind: fc.constantFrom("EventSource", "Sensor", "Workflow", "List", null),
      metadata: fc.oneof(
        fc.record({ name: fc.constantFrom("x", "", "a.b", "UPPER") }),
        realisticJson,
      ),
      spec: realisticJson,
    });
    fc.assert(
      fc.property(fc.oneof(shaped, realisticJson), (doc) => {
        checkValidate(doc);
      }),
      { numRuns: runs(800) },
    );
  });
});
