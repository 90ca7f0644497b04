import type { CloudEvent } from "../../src/cloudevents/event.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";

/**
 * The two-step pipeline of the condition and correlation tests: EventSource `steps` with entries
 * `extract` and `validate`, and a Sensor whose trigger `load` depends on both.
 */

/** EventSource `steps`: webhook entries `extract` and `validate` on `port`. */
export function stepsSource(port: number): EventSourceManifest {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "steps" },
    spec: {
      webhook: {
        extract: { port: String(port), endpoint: "/extract", method: "POST" },
        validate: { port: String(port), endpoint: "/validate", method: "POST" },
      },
    },
  };
}

/** Sensor `name`: dependencies `extract` and `validate` (of `steps`), trigger `load` = `template`. */
export function stepsSensor(name: string, template: Record<string, unknown>): SensorManifest {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name },
    spec: {
      dependencies: [
        { name: "extract", eventSourceName: "steps", eventName: "extract" },
        { name: "validate", eventSourceName: "steps", eventName: "validate" },
      ],
      triggers: [{ template: { name: "load", ...template } }],
    },
  } as SensorManifest;
}

/** A webhook event `{body}` of step `subject` (`extract` or `validate`). */
export function stepEvent(
  id: string,
  subject: string,
  body: unknown,
  extensions?: Record<string, string>,
): CloudEvent {
  return {
    specversion: "1.0",
    id,
    source: "steps",
    subject,
    type: "webhook",
    time: "2026-01-01T00:00:00Z",
    datacontenttype: "application/json",
    data: JSON.stringify({ body }),
    ...(extensions ? { extensions } : {}),
  };
}
