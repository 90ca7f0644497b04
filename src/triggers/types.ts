import type { CloudEvent } from "../cloudevents/event.js";
import type { ValueResolver } from "../config/secrets.js";
import type { TriggerParameter, TriggerPolicy } from "../config/types.js";
import type { Logger } from "../observability/logger.js";

/** Everything a trigger kind needs to render one firing. */
export interface FiringContext {
  sensorName: string;
  /** Sensor namespace: default for namespaced objects without one. */
  namespace: string;
  triggerName: string;
  /** dependency name -> (transformed) event of this firing. */
  events: ReadonlyMap<string, CloudEvent>;
  /** Applies Argo parameters to a JSON document (text in, text out). Throws on unresolvable ones. */
  applyParameters(doc: string, params: readonly TriggerParameter[] | undefined): string;
  values: ValueResolver;
  log: Logger;
  /** Milliseconds since the epoch: the event time in replay, the wall clock in run. */
  now(): number;
  /** Correlation id of the firing's events (CloudEvent `correlationid` extension), if any. */
  correlationId?: string | undefined;
}

/**
 * What `replay` prints for a fired trigger and what `execute` performs.
 * `payload` is the resource object (argoWorkflow/k8s), the JSON body (http) or the dependency map (log).
 */
export interface Rendered {
  kind: string;
  payload?: unknown;
  /** http: a body that is not JSON. */
  payloadText?: string;
  request?: { method: string; url: string; headers: Record<string, string> };
  /** Names of `request.headers` whose values came from a Secret: shown as [redacted] everywhere. */
  secretHeaders?: string[];
  /** Kind-specific data for execute(). */
  detail?: unknown;
}

export interface ExecContext {
  log: Logger;
  signal: AbortSignal;
  policy?: TriggerPolicy | undefined;
  /** W3C trace context of the firing's first event, forwarded to the target. */
  traceparent?: string | undefined;
}

export interface TriggerResult {
  /** One line for the log: what was done ("created Workflow ns/name", "POST url -> 200"). */
  summary: string;
  detail?: Record<string, unknown>;
}

/**
 * One trigger kind (`template.<kind>`), registered in triggers/registry.ts.
 * `render` has no side effects beyond reading the resource source; `execute` performs the action and
 * throws TriggerError: `retryable: true` for failures worth retrying (429, 5xx, transport), false
 * for final ones (403, 422, invalid object).
 */
export interface TriggerKind<T = unknown> {
  readonly kind: string;
  render(template: T, ctx: FiringContext): Promise<Rendered>;
  execute(rendered: Rendered, ctx: ExecContext): Promise<TriggerResult>;
  /** Releases pooled connections. */
  close?(): Promise<void>;
}
