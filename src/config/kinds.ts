import type { TSchema } from "typebox";
import { ConfigError } from "../errors.js";
import type { Finding } from "./findings.js";

/*
 * What the generic config code (schema, validate) needs to know about a kind, and the catalog the
 * kinds are registered in. The kinds themselves live above this layer, in
 * src/eventsources/<kind>/index.ts and src/triggers/<kind>/index.ts; their registries
 * (src/eventsources/registry.ts, src/triggers/registry.ts) register them here when imported, so
 * config/ never imports eventsources/ or triggers/ (Telegraf's `inputs.Add` + `all` list pattern).
 */

/** Reports the kind-specific findings of one EventSource entry (`/spec/<key>/<name>`). */
export interface EntryCheck {
  /** JSON pointer of the entry. */
  at: string;
  report(finding: Finding): void;
}

/** Reports the kind-specific findings of `template.<key>` of one trigger. */
export interface TemplateCheck {
  /** JSON pointer of `template.<key>`. */
  at: string;
  report(finding: Finding): void;
  /**
   * Argo's parameter checks on the list under `field` (`label` prefixes Argo's messages;
   * `emptyDest`: its HTTP-payload variant; `argoChecks: false`: warnings only).
   */
  parameters(
    list: unknown,
    field: string,
    label: string,
    options?: { emptyDest?: boolean; argoChecks?: boolean },
  ): void;
  /** A trigger-level parameter rewrites `path` (e.g. `argoWorkflow.args`) or part of it. */
  touches(path: string): boolean;
  /** A trigger-level parameter replaces `path` as a whole. */
  replaces(path: string): boolean;
}

/** What a trigger's firing produces that an EventSource entry may receive (graph cross links). */
export type TriggerOutput =
  | { type: "request"; method: string; port: string; path: string }
  | {
      /** A message published to a broker (the kind that publishes names the broker). */
      type: "message";
      /** The EventSource kind key of the broker (a trigger and a source of one broker agree). */
      broker: string;
      /** Topic or subject, as the source names it. */
      destination: string;
      /** Where the destination lives when the trigger says (Pub/Sub: the project; NATS: the port). */
      scope?: string;
    }
  | {
      type: "object";
      /** The operation creates the object (not update/patch/delete...). */
      creates: boolean;
      apiVersion: string;
      kind: string;
      /** Resolved: the object's own namespace, else the Sensor's. */
      namespace: string;
      namePrefix: string;
      labels: Record<string, string>;
      /** Label keys whose value the trigger's parameters set from the event (any value). */
      dynamicLabels: Set<string>;
      manifest: Record<string, unknown>;
    };

export interface EntryGraph<S> {
  /** One line about the entry: `POST :12000/example`, `topic t`. */
  detail(spec: S): string;
  /** The edge label when this entry receives `output`, else undefined. */
  receives?(spec: S, output: TriggerOutput): string | undefined;
}

export interface TriggerGraph<S> {
  /** One line about the trigger: `POST http://...`, `submit Workflow wf-`. */
  detail(spec: S): string;
  /** What a firing sends or creates (`sensorNamespace`: default for namespaced objects). */
  outputs?(spec: S, sensorNamespace: string): TriggerOutput[];
}

/** The config-level part of an EventSource kind (`spec.<key>`). */
export interface EventSourceKindSpec<S = never> {
  readonly key: string;
  /** Schema of one entry (`spec.<key>.<name>`). */
  readonly schema: TSchema;
  /** false: an Argo kind sensorbus accepts but does not run (warned about). */
  readonly runs: boolean;
  /** Argo's update strategy: recreate kinds cannot share an EventSource with rolling ones. */
  readonly recreate: boolean;
  validate?(entry: S, check: EntryCheck): void;
  readonly graph?: EntryGraph<S>;
}

/** The config-level part of a trigger kind (`template.<key>`). */
export interface TriggerKindSpec<S = never> {
  readonly key: string;
  readonly schema: TSchema;
  /** false: an Argo kind sensorbus accepts but does not execute (every firing fails). */
  readonly runs: boolean;
  /** Which `policy` Argo checks for it: `k8s` (labels, backoff) or `status` (allowed codes). */
  readonly policy?: "k8s" | "status";
  validate?(spec: S, check: TemplateCheck): void;
  readonly graph?: TriggerGraph<S>;
}

// biome-ignore lint/suspicious/noExplicitAny: the catalog holds kinds of every spec type.
type AnyEventSourceKind = EventSourceKindSpec<any>;
// biome-ignore lint/suspicious/noExplicitAny: the catalog holds kinds of every spec type.
type AnyTriggerKind = TriggerKindSpec<any>;

let eventSources: readonly AnyEventSourceKind[] | undefined;
let triggers: readonly AnyTriggerKind[] | undefined;

/** Called once by src/eventsources/registry.ts. */
export function registerEventSourceKinds(kinds: readonly AnyEventSourceKind[]): void {
  eventSources = kinds;
}

/**
 * Called once by src/triggers/registry.ts. The order is Argo's precedence when one template sets
 * several kinds: the first present runs.
 */
export function registerTriggerKinds(kinds: readonly AnyTriggerKind[]): void {
  triggers = kinds;
}

function notRegistered(what: string): never {
  throw new ConfigError(
    `internal: no ${what} kinds registered (import src/${what === "EventSource" ? "eventsources" : "triggers"}/registry.ts before reading manifests)`,
  );
}

/** Every EventSource kind: the ones sensorbus runs, then Argo's others. */
export function eventSourceKinds(): readonly AnyEventSourceKind[] {
  return eventSources ?? notRegistered("EventSource");
}

/** Every trigger kind, in Argo's precedence order. */
export function triggerKinds(): readonly AnyTriggerKind[] {
  return triggers ?? notRegistered("trigger");
}

/**
 * The kind that runs for a trigger template: the first kind in precedence order whose key is set
 * (not null). The one decision used by the runtime, `validate` and `graph`.
 */
export function selectKind(
  template: Record<string, unknown> | undefined,
): { kind: string; spec: unknown } | undefined {
  if (!template) return undefined;
  for (const { key } of triggerKinds()) {
    const spec = template[key];
    if (spec !== undefined && spec !== null) return { kind: key, spec };
  }
  return undefined;
}
