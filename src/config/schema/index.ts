import type { TSchema } from "typebox";
import { EventSourceManifestSchema } from "./eventsource.js";
import { SensorManifestSchema } from "./sensor.js";
import { Errors } from "./typebox.js";

export {
  EventSourceManifestSchema,
  OTHER_EVENTSOURCE_TYPES,
  SUPPORTED_EVENTSOURCE_TYPES,
} from "./eventsource.js";
export { OTHER_TRIGGER_KINDS, SensorManifestSchema } from "./sensor.js";

/** Checks one manifest against its schema: every finding, none when the manifest conforms. */
export interface SchemaValidator {
  Errors(value: unknown): ReturnType<typeof Errors>;
}

/**
 * The validators: TypeBox's interpreting `Errors`, the same function a compiled `Validator.Errors`
 * falls back to for any manifest with findings, without compiling the schemas to code first
 * (compiling the Sensor schema took 0.1 to 0.25 s of every `validate` and `replay` start-up, to
 * speed up a check that runs once per manifest).
 */
const VALIDATORS: { eventSource: SchemaValidator; sensor: SchemaValidator } = {
  eventSource: { Errors: (value) => Errors(EventSourceManifestSchema, value) },
  sensor: { Errors: (value) => Errors(SensorManifestSchema, value) },
};

export function validators(): { eventSource: SchemaValidator; sensor: SchemaValidator } {
  return VALIDATORS;
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
