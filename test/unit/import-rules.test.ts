import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = new URL("../../src/", import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const sources = files(SRC).map((path) => {
  const text = readFileSync(path, "utf8");
  const specs = [...text.matchAll(/^(?:import|export)[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]!);
  return { path: relative(SRC, path), specs };
});

/** Vendor SDKs are imported by exactly one file each (house style). */
const VENDORS: Record<string, string> = {
  "@nats-io/": "eventbus/jetstream.ts",
  "@google-cloud/pubsub": "eventsources/pubsub.ts",
  "@kubernetes/client-node": "k8s/client.ts",
  re2js: "lib/re2.ts",
};

describe("import rules", () => {
  it.each(Object.entries(VENDORS))("%s is imported only by %s", (prefix, owner) => {
    const importers = sources
      .filter((s) => s.specs.some((x) => x.startsWith(prefix)))
      .map((s) => s.path);
    expect(importers).toEqual([owner]);
  });

  it("lib/ imports nothing from the project but errors.ts", () => {
    const bad = sources
      .filter((s) => s.path.startsWith("lib/"))
      .flatMap((s) =>
        s.specs
          .filter((x) => x.startsWith("."))
          .map((x) => join(s.path, "..", x))
          .filter((target) => !target.startsWith("lib/") && target !== "errors.js")
          .map((target) => `${s.path} -> ${target}`),
      );
    expect(bad).toEqual([]);
  });

  it("eventsources, sensors and triggers never import the bus implementations or app/", () => {
    const bad = sources
      .filter((s) => /^(eventsources|sensors|triggers)\//.test(s.path))
      .flatMap((s) =>
        s.specs
          .filter((x) => /\/app\//.test(x) || /eventbus\/(jetstream|memory|index)\.js$/.test(x))
          .map((x) => `${s.path} -> ${x}`),
      );
    expect(bad).toEqual([]);
  });

  it("only cli.ts reads process.argv or sets exit codes", () => {
    const bad = sources
      .filter((s) => s.path !== "cli.ts")
      .filter((s) =>
        /process\.(argv|exitCode|exit\()/.test(readFileSync(join(SRC, s.path), "utf8")),
      )
      .map((s) => s.path);
    expect(bad).toEqual([]);
  });

  it("has no import cycles", () => {
    const graph = new Map<string, string[]>();
    for (const s of sources) {
      const deps = s.specs
        .filter((x) => x.startsWith("."))
        .map((x) => join(s.path, "..", x).replace(/\.js$/, ".ts"));
      graph.set(s.path, deps);
    }
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const visit = (n: string, stack: string[]) => {
      if (state.get(n) === 2) return;
      if (state.get(n) === 1) {
        cycles.push([...stack.slice(stack.indexOf(n)), n].join(" -> "));
        return;
      }
      state.set(n, 1);
      for (const d of graph.get(n) ?? []) visit(d, [...stack, n]);
      state.set(n, 2);
    };
    for (const n of graph.keys()) visit(n, []);
    expect(cycles).toEqual([]);
  });
});
