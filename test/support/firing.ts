import { expect } from "vitest";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { TriggerError } from "../../src/errors.js";
import { KubeApiError } from "../../src/k8s/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import { applyParameters } from "../../src/triggers/params.js";
import type { FiringContext } from "../../src/triggers/types.js";

export const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/**
 * A webhook event `{body: {run: "r-7", size: 3}}` with a correlation ID and a traceparent, for the
 * trigger tests (each call a new id, so the bus never drops one as a duplicate).
 */
let n = 0;
export function triggerEvent(): CloudEvent {
  n++;
  return {
    specversion: "1.0",
    id: `trigger-event-${n}`,
    source: "hooks",
    subject: "done",
    type: "webhook",
    time: "2026-11-24T10:00:00Z",
    datacontenttype: "application/json",
    data: JSON.stringify({ body: { run: "r-7", size: 3, team: "data" } }),
    extensions: { traceparent: TRACEPARENT, correlationid: "corr-7" },
  } as CloudEvent;
}

/**
 * A webhook event `{header: {}, body}` from EventSource `src`, event `ev` (each call a new id unless
 * `id` is given).
 */
export function webhookEvent(body: unknown, id = `webhook-event-${++n}`): CloudEvent {
  return {
    specversion: "1.0",
    id,
    source: "src",
    subject: "ev",
    type: "webhook",
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: JSON.stringify({ header: {}, body }),
  };
}

/**
 * What a kind's `render` gets for one firing of trigger `t` on `event` (dependency `d` unless
 * `dependency`); every Secret reads as `secret` (default empty).
 */
export function firingContext(
  event: CloudEvent,
  options: Partial<FiringContext> & { dependency?: string; secret?: string } = {},
): FiringContext {
  const { dependency = "d", secret = "", ...extra } = options;
  const events = new Map([[dependency, event]]);
  return {
    sensorName: "s",
    namespace: "default",
    triggerName: "t",
    events,
    applyParameters: (doc, params) => applyParameters(doc, params, events),
    values: {
      secret: async () => secret,
      configMap: async () => "",
    } as unknown as FiringContext["values"],
    log: silentLogger(),
    now: () => 0,
    ...extra,
  };
}

/** What `execute` gets: a quiet logger and a signal that is never aborted. */
export const execContext = () => ({ log: silentLogger(), signal: new AbortController().signal });

/**
 * A trigger's failure: a TriggerError, or the KubeApiError of the API call that failed (its own
 * EventsError of the k8s layer since issue 21, with the same code and `retryable`).
 */
export async function rejection(p: Promise<unknown>): Promise<TriggerError | KubeApiError> {
  try {
    await p;
  } catch (err) {
    expect(err instanceof TriggerError || err instanceof KubeApiError).toBe(true);
    return err as TriggerError | KubeApiError;
  }
  throw new Error("expected a rejection");
}
