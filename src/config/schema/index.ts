import type { TSchema } from "typebox";
import type { Validator } from "typebox/compile";
import { EventSourceManifestSchema } from "./eventsource.js";
import { SensorManifestSchema } from "./sensor.js";
import { Compile } from "./typebox.js";

export {
  EventSourceManifestSchema,
  OTHER_EVENTSOURCE_TYPES,
  SUPPORTED_EVENTSOURCE_TYPES,
} from "./eventsource.js";
export { OTHER_TRIGGER_KINDS, SensorManifestSchema } from "./sensor.js";

let compiled: { eventSource: Validator; sensor: Validator } | undefined;

/** The compiled validators, built once on first use. */
export function validators(): { eventSource: Validator; sensor: Validator } {
  compiled ??= {
    eventSource: Compile(EventSourceManifestSchema) as unknown as Validator,
    sensor: Compile(SensorManifestSchema) as unknown as Validator,
  };
  return compiled;
}

/** The schema for a manifest kind, or undefined for kinds sensorbus does not read. */
export function schemaFor(kind: string): TSchema | undefined {
  if (kind === "EventSource") return EventSourceManifestSchema;
  if (kind === "Sensor") return SensorManifestSchema;
  return undefined;
}

/**
 * JSON Schemas (draft 2020-12 compatible) for editors, keyed by file name, e.g. for writing to
 * `deploy/schema/`. Unknown fields are flagged by `additionalProperties: false`; Argo ignores
 * them, sensorbus warns.
 */
export function jsonSchemas(): Record<string, unknown> {
  const plain = (s: TSchema): unknown => ({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    ...(JSON.parse(JSON.stringify(s)) as object),
  });
  return {
    "eventsource.schema.json": plain(EventSourceManifestSchema),
    "sensor.schema.json": plain(SensorManifestSchema),
  };
}
