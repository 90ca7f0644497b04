import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { packageVersion } from "../lib/package-version.js";
import { QuantileSummary } from "./summary.js";

/** V8 heap in use right after the last major GC (-1 before the first one). */
let liveHeapBytes = -1;
let gcObserver: PerformanceObserver | undefined;

/**
 * The live heap: heap used as a major (mark-compact) GC leaves it. Plain heap-used also counts
 * garbage V8 has not collected yet, which on a large machine can pile up for minutes and looks
 * like a leak; this is the figure whose trend shows one.
 */
function watchLiveHeap(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR)
        liveHeapBytes = getHeapStatistics().used_heap_size;
    }
  });
  gcObserver.observe({ entryTypes: ["gc"] });
}

/**
 * Argo Events' metric names and labels (semantics §7), so existing dashboards and alerts keep
 * working, plus sensorbus additions under `sensorbus_*` names. Every argo_events_* series carries a
 * constant `namespace` label, as in Argo.
 */
/** One broker-backed EventSource entry and whether its connection is up now. */
export interface SourceConnection {
  eventSource: string;
  eventName: string;
  connected: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  readonly eventServiceRunning: Gauge<"namespace" | "eventsource_name">;
  readonly eventsSent: Counter<"namespace" | "eventsource_name" | "event_name">;
  readonly eventsSentFailed: Counter<"namespace" | "eventsource_name" | "event_name">;
  readonly eventsProcessingFailed: Counter<"namespace" | "eventsource_name" | "event_name">;
  readonly eventProcessingDuration: QuantileSummary<
    "namespace" | "eventsource_name" | "event_name"
  >;
  readonly actionTriggered: Counter<"namespace" | "sensor_name" | "trigger_name">;
  readonly actionFailed: Counter<"namespace" | "sensor_name" | "trigger_name">;
  readonly actionRetriesFailed: Counter<"namespace" | "sensor_name" | "trigger_name">;
  readonly actionDuration: QuantileSummary<"namespace" | "sensor_name" | "trigger_name">;
  readonly eventsFiltered: Counter<
    "namespace" | "sensor_name" | "trigger_name" | "dependency_name"
  >;
  readonly eventsDuplicate: Counter<"namespace" | "eventsource_name" | "event_name">;
  /** Webhook deliveries refused by their kind's verification (GitHub signature, GitLab token). */
  readonly webhookVerificationFailed: Counter<
    "namespace" | "eventsource_name" | "event_name" | "reason"
  >;
  readonly consumerLag: Gauge<"namespace" | "sensor_name">;
  /**
   * Broker-backed EventSource entries (redis, nats, amqp, mqtt, ...): 1 while connected, 0 while
   * down. Read at scrape time from the provider `serve` installs with `watchSourceConnections`.
   */
  readonly eventSourceConnected: Gauge<"namespace" | "eventsource_name" | "event_name">;
  private sourceConnections: () => readonly SourceConnection[] = () => [];
  readonly deadLetters: Counter<"namespace" | "sensor_name" | "trigger_name">;
  /** Keyed correlation: partial matches that expired (`reason`: window | capacity). */
  readonly correlationExpired: Counter<"namespace" | "sensor_name" | "trigger_name" | "reason">;
  readonly conditionReplaced: Counter<
    "namespace" | "sensor_name" | "trigger_name" | "dependency_name"
  >;
  /** Keyed correlation: open partial matches (keys) held per Sensor. */
  readonly correlationOpenKeys: Gauge<"namespace" | "sensor_name">;
  /** Evaluations stopped by the evaluation budget (`name`: the Sensor, or the EventSource). */
  readonly evaluationBudgetExceeded: Counter<"namespace" | "name" | "kind">;
  /** The evaluation budget in force, ms (0: none). */
  readonly evaluationBudget: Gauge<"namespace">;

  constructor(readonly namespace = "default") {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    watchLiveHeap();
    new Gauge({
      name: "sensorbus_heap_live_bytes",
      help: "V8 heap in use right after the last major garbage collection (-1 before the first)",
      registers,
      collect() {
        this.set(liveHeapBytes);
      },
    });
    new Gauge({
      name: "build_info",
      help: "A metric with a constant '1' value labeled by version, goversion (the Node.js version), goarch and commit",
      labelNames: ["version", "goversion", "goarch", "commit"],
      registers,
    }).set(
      {
        version: packageVersion(),
        goversion: process.version,
        goarch: process.arch,
        commit: process.env.SENSORBUS_COMMIT ?? "",
      },
      1,
    );
    const esLabels = ["namespace", "eventsource_name", "event_name"] as const;
    const triggerLabels = ["namespace", "sensor_name", "trigger_name"] as const;
    this.eventServiceRunning = new Gauge({
      name: "argo_events_event_service_running_total",
      help: "How many event services are running",
      labelNames: ["namespace", "eventsource_name"],
      registers,
    });
    this.eventsSent = new Counter({
      name: "argo_events_events_sent_total",
      help: "How many events have been sent successfully",
      labelNames: esLabels,
      registers,
    });
    this.eventsSentFailed = new Counter({
      name: "argo_events_events_sent_failed_total",
      help: "How many events failed to send",
      labelNames: esLabels,
      registers,
    });
    this.eventsProcessingFailed = new Counter({
      name: "argo_events_events_processing_failed_total",
      help: "How many events failed to process",
      labelNames: esLabels,
      registers,
    });
    this.eventProcessingDuration = new QuantileSummary({
      name: "argo_events_event_processing_duration_milliseconds",
      help: "Summary of durations of event processing",
      labelNames: esLabels,
      percentiles: [0.5, 0.9, 0.99],
      registers,
    });
    this.actionTriggered = new Counter({
      name: "argo_events_action_triggered_total",
      help: "How many actions have been triggered successfully",
      labelNames: triggerLabels,
      registers,
    });
    this.actionFailed = new Counter({
      name: "argo_events_action_failed_total",
      help: "How many actions failed",
      labelNames: triggerLabels,
      registers,
    });
    this.actionRetriesFailed = new Counter({
      name: "argo_events_action_retries_failed_total",
      help: "How many actions failed after the retries have been exhausted",
      labelNames: triggerLabels,
      registers,
    });
    this.actionDuration = new QuantileSummary({
      name: "argo_events_action_duration_milliseconds",
      help: "Summary of durations of trigging actions",
      labelNames: triggerLabels,
      percentiles: [0.5, 0.9, 0.99],
      registers,
    });
    this.eventsFiltered = new Counter({
      name: "sensorbus_events_rejected_total",
      help: "Events a dependency rejected (transform or filter failure, or filters not passing)",
      labelNames: ["namespace", "sensor_name", "trigger_name", "dependency_name"],
      registers,
    });
    this.webhookVerificationFailed = new Counter({
      name: "sensorbus_webhook_verification_failed_total",
      help: "Webhook requests refused because their signature or token did not verify, by reason",
      labelNames: ["namespace", "eventsource_name", "event_name", "reason"],
      registers,
    });
    this.eventsDuplicate = new Counter({
      name: "sensorbus_events_duplicate_total",
      help: "Events the bus dropped as a repeated id within the dedupe window",
      labelNames: esLabels,
      registers,
    });
    const connections = () => this.sourceConnections();
    const ns = this.namespace;
    this.eventSourceConnected = new Gauge({
      name: "sensorbus_eventsource_connected",
      help: "Broker-backed EventSource entries: 1 while the connection to the broker is up, 0 while it is down",
      labelNames: esLabels,
      registers,
      collect() {
        this.reset();
        for (const c of connections()) {
          this.set(
            { namespace: ns, eventsource_name: c.eventSource, event_name: c.eventName },
            c.connected ? 1 : 0,
          );
        }
      },
    });
    this.consumerLag = new Gauge({
      name: "sensorbus_bus_consumer_lag",
      help: "Events stored on the bus and not yet acknowledged by the sensor's consumers",
      labelNames: ["namespace", "sensor_name"],
      registers,
    });
    this.deadLetters = new Counter({
      name: "sensorbus_dead_letters_total",
      help: "Firings that failed for good and were stored as dead letters",
      labelNames: triggerLabels,
      registers,
    });
    this.correlationExpired = new Counter({
      name: "sensorbus_correlation_expired_total",
      help: "Correlated partial matches that expired without firing (window passed, or capacity)",
      labelNames: [...triggerLabels, "reason"],
      registers,
    });
    this.conditionReplaced = new Counter({
      name: "sensorbus_condition_replaced_total",
      help: "Stored dependency events replaced by a newer event of the same dependency before the trigger's condition held",
      labelNames: [...triggerLabels, "dependency_name"],
      registers,
    });
    this.correlationOpenKeys = new Gauge({
      name: "sensorbus_correlation_open_keys",
      help: "Correlation keys with an open partial match, per Sensor",
      labelNames: ["namespace", "sensor_name"],
      registers,
    });
    this.evaluationBudgetExceeded = new Counter({
      name: "sensorbus_evaluation_budget_exceeded_total",
      help: "Filter, transform, template and filter.expression evaluations stopped by the evaluation budget (the event rejected, or the firing failed)",
      labelNames: ["namespace", "name", "kind"],
      registers,
    });
    this.evaluationBudget = new Gauge({
      name: "sensorbus_evaluation_budget_milliseconds",
      help: "The time one filter, transform or template evaluation may take (--evaluation-budget; 0: none)",
      labelNames: ["namespace"],
      registers,
    });
  }

  /** Where `sensorbus_eventsource_connected` reads the broker connections from at scrape time. */
  watchSourceConnections(provider: () => readonly SourceConnection[]): void {
    this.sourceConnections = provider;
  }
}
