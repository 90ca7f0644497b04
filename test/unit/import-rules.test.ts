import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import {
  cyclesOf,
  type ImportEdge,
  importsOf,
  LAYERS,
  layerOf,
  layerViolations,
  resolveSpec,
} from "../support/import-graph.js";

const SRC = new URL("../../src/", import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const sources = files(SRC).map((path) => {
  const text = readFileSync(path, "utf8");
  return { path: relative(SRC, path), text, imports: importsOf(text) };
});

/** Every import between files of src/ (static, type-only, re-export and dynamic). */
const edges: ImportEdge[] = sources.flatMap((s) =>
  s.imports
    .filter((i) => i.spec.startsWith("."))
    .map((i) => ({
      from: s.path,
      to: resolveSpec(s.path, i.spec),
      typeOnly: i.typeOnly,
      dynamic: i.dynamic,
    })),
);

/**
 * Vendor SDKs are imported in one place each (house style): a file, or a folder ending in "/".
 * Only the files of eventbus/jetstream/ know NATS.
 */
const VENDORS: Record<string, string> = {
  "@nats-io/": "eventbus/jetstream/",
  "@google-cloud/pubsub": "clients/pubsub.ts",
  "@octokit/": "eventsources/github/hooks.ts",
  "@gitbeaker/rest": "eventsources/gitlab/hooks.ts",
  amqplib: "eventsources/amqp/runtime.ts",
  "@kubernetes/client-node": "k8s/client.ts",
  "@grpc/grpc-js": "triggers/custom/runtime.ts",
  "@grpc/proto-loader": "triggers/custom/runtime.ts",
  re2js: "lib/re2.ts",
  undici: "clients/http.ts",
  redis: "eventsources/redis-shared/client.ts",
  stripe: "eventsources/stripe/runtime.ts",
  mqtt: "eventsources/mqtt/runtime.ts",
  chokidar: "eventsources/file/runtime.ts",
  nodemailer: "triggers/email/runtime.ts",
  "@slack/web-api": "triggers/slack/runtime.ts",
};

/**
 * Edges the layer order forbids that still exist, each named, with why and until when. Nothing
 * else is excused: a new edge against the order fails the test.
 *
 * TEMPORARY (remove after merging branch `kinds`, issue 21 item 1): `validate` checks every kind in
 * config/validate.ts by calling the parsers the kinds' runtimes use, so config/ (below the kinds)
 * imports them. The `kinds` branch moves that validation into the kind modules, which fixes the
 * direction; these lines then go, and the test proves it.
 */
const TEMPORARY_ALLOWANCES: ReadonlyArray<{ from: string; to: string }> = [];

describe("import rules", () => {
  it("finds static, type-only, re-exported and dynamic imports, not ones in comments or strings", () => {
    const found = importsOf(
      [
        'import { a } from "./a.js";',
        'import type { B } from "../b.js";',
        'import {\n  type C,\n  d,\n} from "./c.js";',
        'export { e } from "./e.js";',
        'export type { F } from "./f.js";',
        'import "./side.js";',
        'const g = await import("./g.js");',
        'type H = import("./h.js").H;',
        '// import { x } from "./comment.js";',
        '/* import("./block.js") */',
        'const s = "import { y } from \\"./string.js\\"";',
      ].join("\n"),
    );
    expect(found).toEqual([
      { spec: "./a.js", typeOnly: false, dynamic: false },
      { spec: "../b.js", typeOnly: true, dynamic: false },
      { spec: "./c.js", typeOnly: false, dynamic: false },
      { spec: "./e.js", typeOnly: false, dynamic: false },
      { spec: "./f.js", typeOnly: true, dynamic: false },
      { spec: "./side.js", typeOnly: false, dynamic: false },
      { spec: "./g.js", typeOnly: false, dynamic: true },
      { spec: "./h.js", typeOnly: true, dynamic: true },
    ]);
  });

  it("knows the layer of every file in src/", () => {
    const unplaced = sources.map((s) => s.path).filter((p) => !LAYERS.some((l) => l.owns(p)));
    expect(unplaced).toEqual([]);
  });

  it("follows the layer order cli → app → eventsources / sensors / triggers → config → eventbus → observability → k8s / clients / cloudevents → lib → errors.ts", () => {
    const bad = layerViolations(edges).filter(
      (e) => !TEMPORARY_ALLOWANCES.some((a) => a.from === e.from && a.to === e.to),
    );
    expect(bad.map((e) => `${e.from} -> ${e.to}${e.typeOnly ? " (type)" : ""}`)).toEqual([]);
  });

  it("each temporary allowance still excuses an edge (remove it once the edge is gone)", () => {
    const unused = TEMPORARY_ALLOWANCES.filter(
      (a) => !edges.some((e) => e.from === a.from && e.to === a.to),
    ).map((a) => `${a.from} -> ${a.to}`);
    expect(unused).toEqual([]);
  });

  it("catches what the layer order forbids (rule self-check on made-up edges)", () => {
    const probe = (from: string, to: string) =>
      layerViolations([{ from, to, typeOnly: true, dynamic: false }]).length > 0;
    // The leaks issue 21 names: observability importing app contracts, an EventSource adapter
    // importing Sensor filters, k8s/ built on a trigger error.
    expect(probe("observability/journal.ts", "app/eventsource-runner.ts")).toBe(true);
    expect(probe("observability/console.ts", "app/graph.ts")).toBe(true);
    expect(probe("eventsources/resource.ts", "sensors/filters/go-values.ts")).toBe(true);
    expect(probe("k8s/client.ts", "triggers/types.ts")).toBe(true);
    expect(probe("lib/re2.ts", "observability/logger.ts")).toBe(true);
    expect(probe("eventbus/index.ts", "config/types.ts")).toBe(true);
    // Downwards and within a folder is fine.
    expect(probe("app/host.ts", "eventbus/types.ts")).toBe(false);
    expect(probe("sensors/engine.ts", "sensors/filters/data.ts")).toBe(false);
    expect(probe("eventbus/jetstream/bus.ts", "observability/logger.ts")).toBe(false);
    expect(probe("lib/go-regexp.ts", "errors.ts")).toBe(false);
  });

  it.each(Object.entries(VENDORS))("%s is imported only within %s", (prefix, owner) => {
    const importers = sources
      .filter((s) => s.imports.some((i) => i.spec.startsWith(prefix)))
      .map((s) => s.path);
    expect(importers.length).toBeGreaterThan(0);
    const outside = importers.filter((p) =>
      owner.endsWith("/") ? !p.startsWith(owner) : p !== owner,
    );
    expect(outside).toEqual([]);
  });

  it("lib/ imports nothing from the project but errors.ts, and errors.ts imports nothing", () => {
    const bad = edges
      .filter((e) => e.from.startsWith("lib/") || e.from === "errors.ts")
      .filter((e) => e.from === "errors.ts" || (!e.to.startsWith("lib/") && e.to !== "errors.ts"))
      .map((e) => `${e.from} -> ${e.to}`);
    expect(bad).toEqual([]);
  });

  it("eventsources, sensors and triggers never import the bus implementations or app/", () => {
    const bad = edges
      .filter((e) => /^(eventsources|sensors|triggers)\//.test(e.from))
      .filter(
        (e) =>
          e.to.startsWith("app/") || /^eventbus\/(jetstream\/|memory\.ts|index\.ts)/.test(e.to),
      )
      .map((e) => `${e.from} -> ${e.to}`);
    expect(bad).toEqual([]);
  });

  it("no file outside eventbus/ branches on the bus's kind (ask bus.capabilities)", () => {
    const bad = sources
      .filter((s) => !s.path.startsWith("eventbus/"))
      .filter((s) => /\bbus\.kind\s*[!=]==?|===?\s*[\w.]*bus\.kind\b/.test(s.text))
      .map((s) => s.path);
    expect(bad).toEqual([]);
  });

  it("no error class below triggers/ is a TriggerError (k8s/ errors are EventsErrors of their own)", () => {
    const triggers = LAYERS.find((l) => l.name === "triggers")!.rank;
    const bad = sources
      .filter((s) => (layerOf(s.path)?.rank ?? 0) > triggers)
      .filter((s) => /\bextends\s+TriggerError\b/.test(s.text))
      .map((s) => s.path);
    expect(bad).toEqual([]);
  });

  it("only cli.ts reads process.argv or sets exit codes", () => {
    const bad = sources
      .filter((s) => s.path !== "cli.ts")
      .filter((s) => /process\.(argv|exitCode|exit\()/.test(s.text))
      .map((s) => s.path);
    expect(bad).toEqual([]);
  });

  it("the cycle check finds a cycle (self-check on a made-up graph)", () => {
    const e = (from: string, to: string): ImportEdge => ({
      from,
      to,
      typeOnly: false,
      dynamic: false,
    });
    expect(
      cyclesOf([e("a.ts", "b.ts"), e("b.ts", "c.ts"), e("c.ts", "a.ts"), e("c.ts", "d.ts")]),
    ).toEqual(["a.ts -> b.ts -> c.ts -> a.ts"]);
    expect(cyclesOf([e("a.ts", "b.ts"), e("a.ts", "c.ts"), e("b.ts", "c.ts")])).toEqual([]);
  });

  it("has no import cycles among src/ files (type-only and dynamic imports count)", () => {
    expect(cyclesOf(edges)).toEqual([]);
  });
});
