import type { CloudEvent } from "../cloudevents/event.js";

/*
 * What the application layer hands to observability (metrics, journal, tracing, console): the
 * observer hooks the runners call and the event-flow graph the console serves. They live here, below
 * app/, so observability/ never imports app/ (test/unit/import-rules.test.ts); app/ re-exports them.
 */

/**
 * What a trigger rendered, as observability sees it (triggers/types.ts `Rendered` extends it with
 * the kind's own data for execute()).
 */
export interface RenderedView {
  kind: string;
  payload?: unknown;
  /** http: a body that is not JSON. */
  payloadText?: string;
  request?: { method: string; url: string; headers: Record<string, string> };
  /** Names of `request.headers` whose values came from a Secret: shown as [redacted] everywhere. */
  secretHeaders?: string[];
}

export interface SensorObserver {
  rejected?(info: {
    sensor: string;
    trigger: string;
    dependency: string;
    event: CloudEvent;
    reason: string;
  }): void;
  fired?(info: {
    sensor: string;
    trigger: string;
    events: ReadonlyMap<string, CloudEvent>;
    ms: number;
    summary: string;
    /** What was executed: the rendered object, HTTP request and body, or log payload. */
    rendered?: RenderedView;
    /** The trigger kind's result detail (object name given by the API server, HTTP status). */
    detail?: Record<string, unknown>;
  }): void;
  /** A firing failed for good and its events were stored as a dead letter. */
  deadLettered?(info: {
    sensor: string;
    trigger: string;
    events: ReadonlyMap<string, CloudEvent>;
    error: string;
  }): void;
  failed?(info: {
    sensor: string;
    trigger: string;
    events: ReadonlyMap<string, CloudEvent>;
    ms: number;
    error: string;
    final: boolean;
  }): void;
  /** An event was stored as a dependency's entry: the trigger's condition does not hold yet. */
  stored?(info: { sensor: string; trigger: string; dependency: string; event: CloudEvent }): void;
  /**
   * A dependency's stored event was replaced by a newer event of the same dependency before the
   * condition held (Argo keeps the latest): `event` will not take part in a firing.
   */
  replaced?(info: {
    sensor: string;
    trigger: string;
    dependency: string;
    event: CloudEvent;
    by: CloudEvent;
  }): void;
  /** Keyed correlation: a partial match expired (window passed, or evicted at the open-key cap). */
  expired?(info: {
    sensor: string;
    trigger: string;
    key: string;
    reason: "window" | "capacity";
    events: ReadonlyMap<string, CloudEvent>;
  }): void;
}

/** The EventSource runner's observer hooks (see app/eventsource-runner.ts). */
export interface EventSourceObserver {
  /** Called after every publish attempt (metrics). */
  onEmit?: (info: {
    eventSource: string;
    eventName: string;
    /** The event id (the CloudEvent `id` when published). */
    id: string;
    /** W3C trace context the event arrived with (tracing). */
    traceparent?: string | undefined;
    /** The event's correlation ID (`correlationid` extension), if any. */
    correlationId?: string | undefined;
    /** The Kubernetes object a resource EventSource saw change. */
    object?: { kind: string; namespace?: string; name: string; change?: string; phase?: string };
    outcome: EmitOutcome;
    ms: number;
  }) => void;
  /**
   * Starts the receive span of one event (tracing): its W3C trace context, child of the one the
   * event arrived with, travels on the event as its `traceparent`, so the Sensor's spans and the
   * triggers' forwarded trace context continue from it. Ended with the publish outcome.
   */
  startReceive?: (info: {
    eventSource: string;
    eventName: string;
    id: string;
    traceparent: string | undefined;
  }) => ReceiveSpan;
}

export type EmitOutcome = "published" | "duplicate" | "filtered" | "failed";

/** See {@link EventSourceObserver.startReceive}. */
export interface ReceiveSpan {
  /** The trace context to carry on the event (undefined: none). */
  readonly traceparent: string | undefined;
  end(outcome: EmitOutcome): void;
}

/**
 * An append-only log of records in named partitions (eventbus/types.ts `RecordLog`): where the
 * journal mirrors its entries.
 */
export interface JournalRecords {
  /** Resolves once the record is stored. */
  append(partition: string, record: string): Promise<void>;
  /** Every record of `partition` still kept, oldest first. */
  read(partition: string): Promise<string[]>;
  /** Many records in one round trip, without a per-record acknowledgement (the trace index). */
  appendBatch?(records: ReadonlyArray<readonly [partition: string, record: string]>): Promise<void>;
}

/** What the journal needs of the event bus (eventbus/types.ts `EventBus` satisfies it). */
export interface JournalBus {
  /** `journalStream`: record logs are kept by the bus across restarts (the journal mirrors then). */
  readonly capabilities: { readonly journalStream: boolean };
  recordLog(name: string, options: { maxAgeMs: number; maxBytes: number }): Promise<JournalRecords>;
}

/**
 * The event flow of a set of manifests: EventSource entries -> Sensor dependencies -> triggers,
 * plus the cross-workflow links sensorbus can infer from the manifests alone (a trigger whose
 * target is another EventSource's input). Pure: no network, no cluster.
 */
export interface EventFlowGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export type GraphNodeKind = "entry" | "dependency" | "trigger";

export interface GraphNode {
  /** Stable id: `entry:<eventSource>/<event>`, `dep:<sensor>/<dependency>`, `trigger:<sensor>/<trigger>`. */
  id: string;
  kind: GraphNodeKind;
  /** The entry, dependency or trigger name. */
  label: string;
  /** EventSource type (`webhook`, `pubSub`, ...) or trigger kind (`argoWorkflow`, `http`, ...). */
  type: string;
  /** One line about what it is: `:12000/example`, `topic workflow-events`, `POST http://...`. */
  detail: string;
  /** The EventSource (entries) or Sensor (dependencies, triggers) the node belongs to. */
  group: { kind: "EventSource" | "Sensor"; name: string };
  /** A dependency names an EventSource entry that is not among the manifests given. */
  missing?: boolean;
}

export type GraphEdgeKind = "dependency" | "trigger" | "cross";

export interface GraphEdge {
  from: string;
  to: string;
  /** dependency: entry -> dependency; trigger: dependency -> trigger; cross: trigger -> entry. */
  kind: GraphEdgeKind;
  label?: string;
}
