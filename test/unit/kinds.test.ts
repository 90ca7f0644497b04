import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { eventSourceKinds, triggerKinds } from "../../src/config/kinds.js";
import { EVENTSOURCE_KINDS } from "../../src/eventsources/registry.js";
import { TRIGGER_KINDS } from "../../src/triggers/registry.js";

/**
 * Issue 21: a kind is one module (src/{eventsources,triggers}/<kind>/), listed once in its
 * registry, documented in docs/kinds/<layer>/<kind>.md, and named nowhere else in src/.
 */

const ROOT = new URL("../../", import.meta.url).pathname;
const SRC = join(ROOT, "src");

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** The kind module folders: every subfolder of eventsources/ and triggers/ with an index.ts. */
function moduleFolders(layer: "eventsources" | "triggers"): string[] {
  return readdirSync(join(SRC, layer)).filter(
    (name) =>
      statSync(join(SRC, layer, name)).isDirectory() &&
      readdirSync(join(SRC, layer, name)).includes("index.ts"),
  );
}

async function keyOf(layer: string, folder: string): Promise<string> {
  const mod = (await import(/* @vite-ignore */ join(SRC, layer, folder, "index.ts"))) as Record<
    string,
    unknown
  >;
  const found = Object.values(mod).find(
    (v): v is { key: string; load: unknown } =>
      typeof v === "object" && v !== null && "key" in v && "load" in v,
  );
  if (!found) throw new Error(`${layer}/${folder}/index.ts exports no kind descriptor`);
  return found.key;
}

describe.each(["eventsources", "triggers"] as const)("%s kind modules", (layer) => {
  const registered = (layer === "eventsources" ? EVENTSOURCE_KINDS : TRIGGER_KINDS).map(
    (k) => k.key,
  );

  it("each module is in the registry, and the registry lists only modules", async () => {
    const keys = await Promise.all(moduleFolders(layer).map((f) => keyOf(layer, f)));
    expect(keys.sort()).toEqual([...registered].sort());
  });

  it("config/ sees exactly the registered kinds (schema and validate iterate them)", () => {
    const all = (layer === "eventsources" ? eventSourceKinds() : triggerKinds()).map((k) => k.key);
    for (const key of registered) expect(all).toContain(key);
  });

  it.each(moduleFolders(layer))("%s has its docs page listing every field", async (folder) => {
    const key = await keyOf(layer, folder);
    // The layer's own kind: a key may name both an EventSource and a trigger kind (`nats`).
    const kind = (layer === "eventsources" ? EVENTSOURCE_KINDS : TRIGGER_KINDS).find(
      (k) => k.key === key,
    );
    const doc = readFileSync(join(ROOT, "docs/kinds", layer, `${folder}.md`), "utf8");
    expect(kind).toBeDefined();
    const fields = Object.keys((kind!.schema as { properties?: object }).properties ?? {});
    expect(fields.length).toBeGreaterThan(0);
    for (const f of fields) expect(doc).toContain(`\`${f}\``);
  });
});

/**
 * Files outside the kind modules and registries that may quote a kind's key, each for a reason
 * that is not about the kind: Argo's `policy.k8s` field (a policy, not the trigger kind) and the
 * `resource` location of a trigger source (an ArtifactLocation field), a `log` option (a logger).
 */
const ALLOWED: Record<string, string[]> = {
  "app/diagnostics.ts": ["log"],
  "config/validate.ts": ["k8s"],
  "config/kinds.ts": ["k8s"],
  "triggers/source.ts": ["resource"],
};

it("no file outside the kind modules and registries quotes a kind's key", async () => {
  const keys = [...EVENTSOURCE_KINDS, ...TRIGGER_KINDS].map((k) => k.key);
  const isKindFile = (rel: string) =>
    /^(eventsources|triggers)\/([^/]+)\//.test(rel) ||
    /^(eventsources|triggers)\/(registry|argo-only)\.ts$/.test(rel);
  const offenders: string[] = [];
  for (const file of walk(SRC)) {
    const rel = relative(SRC, file);
    if (isKindFile(rel)) continue;
    const text = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    for (const key of keys) {
      if (ALLOWED[rel]?.includes(key)) continue;
      const named = new RegExp(`"${key}"|\\b(template|spec)\\??\\.${key}\\b`);
      if (named.test(text)) offenders.push(`${rel}: ${key}`);
    }
  }
  expect(offenders).toEqual([]);
});
