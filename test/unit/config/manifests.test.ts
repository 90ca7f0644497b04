import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatProblem, hasErrors, loadManifests } from "../../../src/config/load.js";

const ROOT = join(import.meta.dirname, "../../fixtures/manifests");

/** Expectations live in `# expect-error:` / `# expect-warning:` comments (JSON: in this table). */
const JSON_EXPECT: Record<string, string[]> = {
  "invalid/list-item.json": ["/items/1/spec/dependencies/0: eventName is required"],
  "valid/list.json": [],
};

function expectations(rel: string, kind: "error" | "warning"): string[] {
  if (rel.endsWith(".json")) return kind === "error" ? (JSON_EXPECT[rel] ?? []) : [];
  const prefix = `# expect-${kind}: `;
  return readFileSync(join(ROOT, rel), "utf8")
    .split("\n")
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

const files = (dir: string) => readdirSync(join(ROOT, dir)).map((f) => `${dir}/${f}`);

describe.each(files("valid"))("valid fixture %s", (rel) => {
  it("loads without errors and reports the expected warnings", async () => {
    const result = await loadManifests([join(ROOT, rel)]);
    const errors = result.problems.filter((p) => p.severity === "error").map(formatProblem);
    expect(errors).toEqual([]);
    expect(result.eventSources.length + result.sensors.length).toBeGreaterThan(0);
    const warnings = result.problems.filter((p) => p.severity === "warning").map(formatProblem);
    for (const w of expectations(rel, "warning")) {
      expect(
        warnings.some((x) => x.includes(w)),
        `${w}\n in ${warnings.join("\n")}`,
      ).toBe(true);
    }
  });
});

describe.each(files("invalid"))("invalid fixture %s", (rel) => {
  it("is refused with the expected message", async () => {
    const expected = rel.endsWith(".json") ? JSON_EXPECT[rel] : expectations(rel, "error");
    expect(expected?.length, "fixture declares its expected error").toBeGreaterThan(0);
    const result = await loadManifests([join(ROOT, rel)]);
    expect(hasErrors(result.problems)).toBe(true);
    const errors = result.problems.filter((p) => p.severity === "error").map(formatProblem);
    for (const e of expected ?? []) {
      expect(
        errors.some((x) => x.includes(e)),
        `${e}\n in ${errors.join("\n")}`,
      ).toBe(true);
    }
  });
});

describe("Argo's own examples", () => {
  it("load the webhook, pubsub, calendar and resource EventSources and four trigger kinds", async () => {
    const result = await loadManifests([join(ROOT, "valid")]);
    const names = (l: { manifest: { metadata: { name: string } } }[]) =>
      l.map((x) => x.manifest.metadata.name);
    expect(names(result.eventSources)).toEqual(
      expect.arrayContaining(["calendar", "gcp-pubsub", "resource", "webhook", "json-webhook"]),
    );
    const kinds = result.sensors.flatMap((s) =>
      s.manifest.spec.triggers.flatMap((t) => Object.keys(t.template ?? {})),
    );
    expect(kinds).toEqual(expect.arrayContaining(["http", "argoWorkflow", "k8s", "log"]));
  });
});
