import type { CloudEvent } from "../../src/cloudevents/event.js";
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

/** What a kind's `render` gets for one firing of trigger `t` on `event` (dependency `d`). */
export function firingContext(
  event: CloudEvent,
  extra: Partial<FiringContext> = {},
): FiringContext {
  const events = new Map([["d", event]]);
  return {
    sensorName: "s",
    namespace: "default",
    triggerName: "t",
    events,
    applyParameters: (doc, params) => applyParameters(doc, params, events),
    values: {
      secret: async () => "",
      configMap: async () => "",
    } as unknown as FiringContext["values"],
    log: silentLogger(),
    now: () => 0,
    ...extra,
  };
}
