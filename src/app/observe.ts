import type { Metrics } from "../observability/metrics.js";
import type { EventSourceRunnerOptions } from "./eventsource-runner.js";
import type { SensorObserver } from "./sensor-runner.js";

/** Feeds sensor outcomes into the Argo-named metrics. */
export function metricsObserver(metrics: Metrics, namespace: string): SensorObserver {
  return {
    rejected: ({ sensor, trigger, dependency }) =>
      metrics.eventsFiltered.inc({
        namespace,
        sensor_name: sensor,
        trigger_name: trigger,
        dependency_name: dependency,
      }),
    fired: ({ sensor, trigger, ms }) => {
      const labels = { namespace, sensor_name: sensor, trigger_name: trigger };
      metrics.actionTriggered.inc(labels);
      metrics.actionDuration.observe(labels, ms);
    },
    failed: ({ sensor, trigger, ms, final }) => {
      const labels = { namespace, sensor_name: sensor, trigger_name: trigger };
      metrics.actionFailed.inc(labels);
      metrics.actionDuration.observe(labels, ms);
      if (final) metrics.actionRetriesFailed.inc(labels);
    },
    replaced: ({ sensor, trigger, dependency }) =>
      metrics.conditionReplaced.inc({
        namespace,
        sensor_name: sensor,
        trigger_name: trigger,
        dependency_name: dependency,
      }),
    expired: ({ sensor, trigger, reason }) =>
      metrics.correlationExpired.inc({
        namespace,
        sensor_name: sensor,
        trigger_name: trigger,
        reason,
      }),
  };
}

/** Feeds EventSource publish outcomes into the Argo-named metrics. */
export function emitReporter(
  metrics: Metrics,
  namespace: string,
): NonNullable<EventSourceRunnerOptions["onEmit"]> {
  return ({ eventSource, eventName, outcome, ms }) => {
    const labels = { namespace, eventsource_name: eventSource, event_name: eventName };
    metrics.eventProcessingDuration.observe(labels, ms);
    if (outcome === "published") metrics.eventsSent.inc(labels);
    else if (outcome === "duplicate") metrics.eventsDuplicate.inc(labels);
    else if (outcome === "failed") {
      metrics.eventsSentFailed.inc(labels);
      metrics.eventsProcessingFailed.inc(labels);
    }
  };
}

/** Chains observers (metrics + journal). */
export function combineObservers(...observers: Array<SensorObserver | undefined>): SensorObserver {
  const list = observers.filter((o): o is SensorObserver => o !== undefined);
  return {
    rejected: (info) => {
      for (const o of list) o.rejected?.(info);
    },
    fired: (info) => {
      for (const o of list) o.fired?.(info);
    },
    failed: (info) => {
      for (const o of list) o.failed?.(info);
    },
    expired: (info) => {
      for (const o of list) o.expired?.(info);
    },
    deadLettered: (info) => {
      for (const o of list) o.deadLettered?.(info);
    },
    replaced: (info) => {
      for (const o of list) o.replaced?.(info);
    },
    stored: (info) => {
      for (const o of list) o.stored?.(info);
    },
  };
}
