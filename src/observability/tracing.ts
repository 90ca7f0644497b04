import type { Attributes, Context, SpanContext } from "@opentelemetry/api";
import {
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { CloudEvent } from "../cloudevents/event.js";
import { redactString } from "../lib/redact.js";
import type { EventSourceObserver, SensorObserver } from "./contracts.js";

/**
 * OpenTelemetry spans for receive (EventSource publish) -> filter (a dependency's decision) and
 * trigger (one firing attempt): the receive span is a child of the W3C `traceparent` the event
 * arrived with (webhook header, Pub/Sub attribute) and its own context travels through the bus as
 * the event's `traceparent` extension, so the filter and trigger spans are its children.
 *
 * Only the OpenTelemetry API is used: without an SDK registered in the process every call is a
 * no-op, so spans are exported only when the user configures an SDK, e.g.
 * `NODE_OPTIONS="--import ./otel.mjs" sensorbus run ...` with an `otel.mjs` that starts
 * `@opentelemetry/sdk-node` and an OTLP exporter.
 */
export const TRACER_NAME = "sensorbus";

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The remote span context of a W3C traceparent, or undefined when it is malformed. */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  const m = value === undefined ? null : TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (version === "ff" || /^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & 1, isRemote: true };
}

function parentContext(traceparent: string | undefined): Context {
  const sc = parseTraceparent(traceparent);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT;
}

function firstTraceparent(events: ReadonlyMap<string, CloudEvent>): string | undefined {
  for (const ev of events.values()) {
    const tp = ev.extensions?.traceparent;
    if (tp) return tp;
  }
  return undefined;
}

/** Records a span that already happened: [now - ms, now]. */
function pastSpan(
  name: string,
  kind: SpanKind,
  traceparent: string | undefined,
  ms: number,
  attributes: Attributes,
  error?: string,
): void {
  const tracer = trace.getTracer(TRACER_NAME);
  const end = Date.now();
  const span = tracer.startSpan(
    name,
    { kind, attributes, startTime: end - Math.max(0, ms) },
    parentContext(traceparent),
  );
  if (error !== undefined)
    span.setStatus({ code: SpanStatusCode.ERROR, message: redactString(error) });
  span.end(end);
}

/** Spans for the filter and trigger stages (combine with the metrics and journal observers). */
export function tracingObserver(): SensorObserver {
  return {
    rejected: ({ sensor, trigger, dependency, event, reason }) =>
      pastSpan("sensorbus.filter", SpanKind.INTERNAL, event.extensions?.traceparent, 0, {
        "sensorbus.sensor": sensor,
        "sensorbus.trigger": trigger,
        "sensorbus.dependency": dependency,
        "sensorbus.event_id": event.id,
        "sensorbus.outcome": "rejected",
        "sensorbus.reason": reason,
      }),
    fired: ({ sensor, trigger, events, ms, summary }) =>
      pastSpan("sensorbus.trigger", SpanKind.PRODUCER, firstTraceparent(events), ms, {
        "sensorbus.sensor": sensor,
        "sensorbus.trigger": trigger,
        "sensorbus.dependencies": [...events.keys()],
        "sensorbus.event_ids": [...events.values()].map((e) => e.id),
        "sensorbus.outcome": "fired",
        "sensorbus.result": summary,
      }),
    failed: ({ sensor, trigger, events, ms, error, final }) =>
      pastSpan(
        "sensorbus.trigger",
        SpanKind.PRODUCER,
        firstTraceparent(events),
        ms,
        {
          "sensorbus.sensor": sensor,
          "sensorbus.trigger": trigger,
          "sensorbus.dependencies": [...events.keys()],
          "sensorbus.event_ids": [...events.values()].map((e) => e.id),
          "sensorbus.outcome": final ? "failed" : "retrying",
        },
        error,
      ),
  };
}

/** W3C `traceparent` (version 00) of a span context. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/**
 * The receive span of one event (EventSourceRunner `startReceive`), child of the trace context
 * the event arrived with. Its own context becomes the event's `traceparent`, so the filter and
 * trigger spans, and the trace context triggers forward, descend from it. Without an SDK the
 * span is a no-op that carries the incoming context on unchanged (or none).
 */
export const startReceive: NonNullable<EventSourceObserver["startReceive"]> = ({
  eventSource,
  eventName,
  id,
  traceparent,
}) => {
  const span = trace.getTracer(TRACER_NAME).startSpan(
    "sensorbus.receive",
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        "sensorbus.event_source": eventSource,
        "sensorbus.event_name": eventName,
        "sensorbus.event_id": id,
      },
    },
    parentContext(traceparent),
  );
  const sc = span.spanContext();
  return {
    // Not recording (no SDK, or not sampled): the incoming value goes on exactly as it came.
    traceparent: span.isRecording() && isSpanContextValid(sc) ? formatTraceparent(sc) : traceparent,
    end(outcome) {
      span.setAttribute("sensorbus.outcome", outcome);
      if (outcome === "failed")
        span.setStatus({ code: SpanStatusCode.ERROR, message: "the bus did not store the event" });
      span.end();
    },
  };
};
