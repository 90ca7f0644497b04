import { describe, expect, it } from "vitest";
import { formatProblem, validateManifest } from "../../../src/config/load.js";

/** Argo's pod template: only serviceAccountName means something to sensorbus (issue 20.6). */

const sensor = (template: Record<string, unknown>) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Sensor",
  metadata: { name: "s" },
  spec: {
    template,
    dependencies: [{ name: "d", eventSourceName: "es", eventName: "e" }],
    triggers: [{ template: { name: "t", log: {} } }],
  },
});

const eventSource = (template: Record<string, unknown>) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "EventSource",
  metadata: { name: "es" },
  spec: { template, webhook: { e: { port: "12000", endpoint: "/e", method: "POST" } } },
});

describe("spec.template", () => {
  it("serviceAccountName alone validates clean", () => {
    const { manifest, problems } = validateManifest(
      sensor({ serviceAccountName: "team-sa" }),
      "s.yaml",
      0,
    );
    expect(manifest).toBeDefined();
    expect(problems).toEqual([]);
  });

  it.each([
    ["Sensor", sensor],
    ["EventSource", eventSource],
  ])("%s: every other pod-template field is warned about by name, not refused", (_kind, make) => {
    const { manifest, problems } = validateManifest(
      make({
        serviceAccountName: "sa",
        container: { env: [{ name: "DEBUG_LOG", value: "true" }] },
        nodeSelector: { disk: "ssd" },
        volumes: [],
      }),
      "m.yaml",
      0,
    );
    expect(manifest).toBeDefined();
    const lines = problems.map(formatProblem);
    expect(problems.every((p) => p.severity === "warning")).toBe(true);
    for (const field of ["container", "nodeSelector", "volumes"]) {
      expect(lines).toContain(
        `m.yaml: /spec/template/${field}: template.${field} is ignored: sensorbus runs this in its own process, not in a pod of its own (only serviceAccountName is used, as the identity of its Kubernetes calls)`,
      );
    }
    expect(lines.some((l) => l.includes("serviceAccountName is ignored"))).toBe(false);
  });
});
