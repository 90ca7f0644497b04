import { buildGraph } from "../../src/app/graph.js";
import type { Finding } from "../../src/config/findings.js";
import type { SensorManifest } from "../../src/config/types.js";
import { checkDocument } from "../../src/config/validate.js";

/** A Sensor with one trigger (`template` merged into `{ name: "t" }`, `extra` into the trigger). */
export function sensorWith(
  template: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): SensorManifest {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "s" },
    spec: {
      dependencies: [{ name: "dep", eventSourceName: "src", eventName: "ev" }],
      triggers: [{ template: { name: "t", ...template }, ...extra }],
    },
  } as SensorManifest;
}

/** `validate`'s findings for the trigger, as `severity pointer: message` lines. */
export function findingsOf(sensor: SensorManifest): string[] {
  return checkDocument(sensor).findings.map(
    (f: Finding) => `${f.severity} ${f.pointer}: ${f.message}`,
  );
}

/** The trigger node's detail line in `sensorbus graph`. */
export function graphDetail(sensor: SensorManifest): string | undefined {
  const g = buildGraph({ eventSources: [], sensors: [{ manifest: sensor, file: "f", doc: 0 }] });
  return g.nodes.find((n) => n.id.startsWith("trigger:"))?.detail;
}
