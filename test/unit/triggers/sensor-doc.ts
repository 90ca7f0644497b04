import { checkDocument } from "../../../src/config/validate.js";

/** The findings `validate` reports for a Sensor with one trigger template (`name: t`). */
export function templateFindings(template: Record<string, unknown>, parameters?: unknown[]) {
  const doc = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "s" },
    spec: {
      dependencies: [{ name: "d", eventSourceName: "src", eventName: "e" }],
      triggers: [{ template: { name: "t", ...template }, ...(parameters ? { parameters } : {}) }],
    },
  };
  return checkDocument(doc).findings.map((f) => `${f.severity} ${f.pointer}: ${f.message}`);
}
