import type { Static } from "typebox";
import type * as C from "./schema/common.js";
import type * as S from "./schema/sensor.js";

/**
 * Argo Events v1alpha1 manifests as sensorbus reads them, as far as they are not per kind (each
 * kind's types are derived from its schema in its module). Field names are Argo's, unchanged.
 * Types that mirror a schema in config/schema/ are derived from it (Static<>).
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export type SecretKeySelector = Static<typeof C.SecretKeySelector>;
export type ConfigMapKeySelector = Static<typeof C.ConfigMapKeySelector>;

/** `spec` of an EventSource: generic fields, then `<kind>: { <eventName>: entry }` per kind. */
export interface EventSourceSpec {
  eventBusName?: string;
  replicas?: number;
  [kind: string]: unknown;
}

export interface EventSourceManifest {
  apiVersion: string;
  kind: "EventSource";
  metadata: ObjectMeta;
  spec: EventSourceSpec;
}

export type DataFilter = Static<typeof S.DataFilter>;
export type ExprFilter = Static<typeof S.ExprFilter>;
export type EventContextFilter = Static<typeof S.EventContextFilter>;
export type TimeFilter = Static<typeof S.TimeFilter>;
export type EventDependencyFilter = Static<typeof S.EventDependencyFilter>;
export type EventDependency = Static<typeof S.EventDependency>;
export type TriggerParameterSource = Static<typeof S.TriggerParameterSource>;
/**
 * `dest` is optional in the schema only for `http.payload` (Argo's payload ignores it); everywhere
 * else validate refuses an empty one, so the runtime reads it as a string.
 */
export type TriggerParameter = Omit<Static<typeof S.TriggerParameter>, "dest"> & { dest: string };

/** Narrower than the schema's: `file.path`/`url.path` are required where a source is read. */
export interface ArtifactLocation {
  inline?: string;
  file?: { path: string };
  url?: { path: string; verifyCert?: boolean };
  configmap?: ConfigMapKeySelector;
  resource?: unknown;
  s3?: unknown;
  git?: unknown;
}

/*
 * The types below are the runtime's view, narrower than the schemas they mirror (the schemas accept
 * what Argo's decoder accepts; validate then refuses or warns about what the runtime cannot read:
 * a missing `byTime.cron`, a quoted backoff `factor`): hand-written for that reason.
 */

export interface ConditionsResetCriteria {
  byTime?: { cron: string; timezone?: string };
}

/** sensorbus extension (not in Argo): keyed correlation (docs/correlation.md). */
export type CorrelationConfig = Static<typeof S.Correlation>;

/** `template` of a trigger: generic fields, then `<kind>: spec` (config/kinds.ts selectKind). */
export interface TriggerTemplate {
  name: string;
  conditions?: string;
  conditionsReset?: ConditionsResetCriteria[];
  /** sensorbus extension: keyed correlation. */
  correlation?: CorrelationConfig;
  [kind: string]: unknown;
}

export interface Backoff {
  steps?: number;
  /** A YAML integer is nanoseconds; a string is a Go duration. */
  duration?: number | string;
  factor?: number;
  jitter?: number;
}

export interface TriggerPolicy {
  k8s?: { backoff?: Backoff; labels?: Record<string, string>; errorOnBackoffTimeout?: boolean };
  status?: { allow?: number[] };
}

export interface Trigger {
  template?: TriggerTemplate;
  parameters?: TriggerParameter[];
  policy?: TriggerPolicy;
  retryStrategy?: Backoff;
  rateLimit?: { unit?: string; requestsPerUnit?: number };
  atLeastOnce?: boolean;
  dlqTrigger?: Trigger;
}

export interface SensorSpec {
  dependencies: EventDependency[];
  triggers: Trigger[];
  eventBusName?: string;
  replicas?: number;
  loggingFields?: Record<string, string>;
  errorOnFailedRound?: boolean;
  template?: unknown;
  [k: string]: unknown;
}

export interface SensorManifest {
  apiVersion: string;
  kind: "Sensor";
  metadata: ObjectMeta;
  spec: SensorSpec;
}

export type Manifest = EventSourceManifest | SensorManifest;

/** A manifest plus where it came from (for error messages). */
export interface Loaded<M extends Manifest = Manifest> {
  manifest: M;
  file: string;
  /** 0-based document index within the file. */
  doc: number;
}
