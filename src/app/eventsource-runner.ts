import type { CloudEvent } from "../cloudevents/event.js";
import { newEventId, rfc3339Millis } from "../cloudevents/event.js";
import type { ValueResolver } from "../config/secrets.js";
import { inNamespace } from "../config/secrets.js";
import type { EventSourceManifest, Loaded } from "../config/types.js";
import { ConfigError } from "../errors.js";
import type { EventBus } from "../eventbus/types.js";
import { evaluateEntryFilter } from "../eventsources/filter-expression.js";
import { NON_ENTRY_KEYS } from "../eventsources/registry.js";
import type {
  Clock,
  EmitInput,
  EmitResult,
  EventSourceAdapter,
  RunningAdapter,
} from "../eventsources/types.js";
import type { EmitOutcome, EventSourceObserver } from "../observability/contracts.js";
import type { Logger } from "../observability/logger.js";
import type { SourceConnection } from "../observability/metrics.js";
import { CORRELATION_PATH_ANNOTATION } from "../observability/trace.js";
import { correlationIdAt } from "../sensors/correlation.js";

export interface EventSourceRunnerOptions extends EventSourceObserver {
  bus: EventBus;
  adapters: ReadonlyMap<string, EventSourceAdapter<unknown>>;
  values: ValueResolver;
  clock: Clock;
  log: Logger;
  /** A webhook-style request refused by verification (metrics). */
  onVerificationFailed?: (info: { eventSource: string; eventName: string; reason: string }) => void;
}

export type { EmitOutcome, ReceiveSpan } from "../observability/contracts.js";

/**
 * Runs one EventSource: starts an adapter per `spec.<type>` map and turns what adapters emit into
 * CloudEvents on the bus (Argo §1): filter.expression -> envelope -> publish.
 */
export class EventSourceRunner {
  private readonly running: RunningAdapter[] = [];
  /** Adapters that report their broker connection, with the entries each one runs. */
  private readonly connected: Array<{ adapter: RunningAdapter; eventNames: string[] }> = [];
  private readonly abort = new AbortController();
  readonly name: string;

  constructor(
    readonly loaded: Loaded<EventSourceManifest>,
    private readonly options: EventSourceRunnerOptions,
  ) {
    this.name = loaded.manifest.metadata.name;
  }

  async start(): Promise<void> {
    const spec = this.loaded.manifest.spec;
    const log = this.options.log.child({ eventSourceName: this.name });
    for (const [key, value] of Object.entries(spec)) {
      if (NON_ENTRY_KEYS.has(key) || value === null || typeof value !== "object") continue;
      const adapter = this.options.adapters.get(key);
      if (!adapter) {
        log.warn(
          { type: key },
          `EventSource type '${key}' is not supported by sensorbus; its entries are not run`,
        );
        continue;
      }
      const entries = Object.entries(value as Record<string, unknown>).map(([eventName, s]) => ({
        eventName,
        spec: s,
      }));
      const specs = new Map(
        entries.map((e) => [e.eventName, e.spec as { filter?: { expression?: string } }]),
      );
      const emit = (eventName: string, input: EmitInput) =>
        this.emit(adapter, eventName, specs.get(eventName)?.filter?.expression, input);
      try {
        const started = await adapter.start(entries, {
          eventSourceName: this.name,
          namespace: this.loaded.manifest.metadata.namespace ?? "default",
          emit,
          log: log.child({ eventSourceType: key }),
          values: inNamespace(
            this.options.values,
            this.loaded.manifest.metadata.namespace ?? "default",
          ),
          clock: this.options.clock,
          signal: this.abort.signal,
          verificationFailed: (eventName, reason) =>
            this.options.onVerificationFailed?.({ eventSource: this.name, eventName, reason }),
        });
        this.running.push(started);
        if (started.disconnected)
          this.connected.push({ adapter: started, eventNames: entries.map((e) => e.eventName) });
      } catch (err) {
        await this.stop();
        if (err instanceof ConfigError) throw err;
        throw new ConfigError(
          `${this.loaded.file}: EventSource ${this.name}: ${key} failed to start: ${(err as Error).message}`,
          [],
          {
            cause: err,
          },
        );
      }
    }
  }

  private async emit(
    adapter: EventSourceAdapter<unknown>,
    eventName: string,
    expression: string | undefined,
    input: EmitInput,
  ): Promise<EmitResult> {
    const started = performance.now();
    const id = input.id ?? newEventId();
    // sensorbus.io/correlation-id-path: the correlation ID from the data, where none came with it.
    const corrPath = this.loaded.manifest.metadata.annotations?.[CORRELATION_PATH_ANNOTATION];
    if (corrPath && input.extensions?.correlationid === undefined) {
      const corr = correlationIdAt({ data: input.data } as CloudEvent, corrPath);
      if (corr !== undefined)
        input = { ...input, extensions: { ...input.extensions, correlationid: corr } };
    }
    const inbound = input.extensions?.traceparent;
    const span = this.options.startReceive?.({
      eventSource: this.name,
      eventName,
      id,
      traceparent: inbound,
    });
    const report = (outcome: EmitOutcome) => {
      span?.end(outcome);
      this.options.onEmit?.({
        eventSource: this.name,
        eventName,
        id,
        traceparent: inbound,
        correlationId: input.extensions?.correlationid,
        ...(input.object ? { object: input.object } : {}),
        outcome,
        ms: performance.now() - started,
      });
    };
    if (expression) {
      const verdict = evaluateEntryFilter(expression, input.data, this.name);
      if (verdict !== true) {
        this.options.log.info(
          { eventSourceName: this.name, eventName, eventID: id, reason: verdict.drop },
          "event dropped by filter.expression",
        );
        report("filtered");
        return { id, status: "filtered" };
      }
    }
    const event: CloudEvent = {
      specversion: "1.0",
      id,
      source: this.name,
      subject: eventName,
      type: adapter.ceType,
      time: rfc3339Millis(this.options.clock.now()),
      datacontenttype: "application/json",
      data: input.data,
      extensions:
        span?.traceparent !== undefined && span.traceparent !== inbound
          ? { ...input.extensions, traceparent: span.traceparent }
          : input.extensions,
    };
    try {
      const res = await this.options.bus.publish(event);
      if (res.duplicate) {
        this.options.log.info(
          { eventSourceName: this.name, eventName, eventID: id },
          "duplicate event id: the bus already stored this event within its dedupe window, dropped",
        );
      }
      report(res.duplicate ? "duplicate" : "published");
      return { id, status: res.duplicate ? "duplicate" : "published" };
    } catch (err) {
      report("failed");
      throw err;
    }
  }

  /** `<eventSource>/<eventName>` of entries whose broker connection is down now (/readyz). */
  disconnected(): string[] {
    return this.connections()
      .filter((c) => !c.connected)
      .map((c) => `${this.name}/${c.eventName}`);
  }

  /** Every broker-backed entry and whether its connection is up (sensorbus_eventsource_connected). */
  connections(): SourceConnection[] {
    return this.connected.flatMap(({ adapter, eventNames }) => {
      const down = new Set(adapter.disconnected?.() ?? []);
      return eventNames.map((eventName) => ({
        eventSource: this.name,
        eventName,
        connected: !down.has(eventName),
      }));
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.connected.length = 0;
    const all = this.running.splice(0);
    await Promise.allSettled(all.map((r) => r.stop()));
  }
}
