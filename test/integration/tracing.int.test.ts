import type { Attributes, Context, SpanOptions, SpanStatus, Tracer } from "@opentelemetry/api";
import { trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/app/runtime.js";
import type { LoadResult } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { loadKubeClient } from "../../src/k8s/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import {
  parseTraceparent,
  startReceive,
  tracingObserver,
} from "../../src/observability/tracing.js";
import { FakeKubeApi } from "../support/fake-kube-api.js";
import { HttpSink } from "../support/http-sink.js";
import type { NatsServer } from "../support/nats-server.js";
import { startNatsServer, waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";

const log = silentLogger();

interface RecordedSpan {
  name: string;
  spanId: string;
  parentTraceId: string | undefined;
  parentSpanId: string | undefined;
  attributes: Attributes;
  status?: SpanStatus;
  ended: boolean;
}

/** A minimal OpenTelemetry tracer provider that records spans (what an SDK would export). */
const spans: RecordedSpan[] = [];
const recordingTracer = {
  startSpan(name: string, options: SpanOptions = {}, ctx?: Context) {
    const parent = ctx ? trace.getSpanContext(ctx) : undefined;
    const spanId = (spans.length + 1).toString(16).padStart(16, "0");
    const rec: RecordedSpan = {
      name,
      spanId,
      parentTraceId: parent?.traceId,
      parentSpanId: parent?.spanId,
      attributes: { ...options.attributes },
      ended: false,
    };
    spans.push(rec);
    const span = {
      spanContext: () => ({
        traceId: parent?.traceId ?? "a".repeat(32),
        spanId,
        traceFlags: 1,
      }),
      setAttribute: (k: string, v: unknown) => {
        rec.attributes[k] = v as string;
        return span;
      },
      setAttributes: () => span,
      addEvent: () => span,
      addLink: () => span,
      addLinks: () => span,
      setStatus: (s: SpanStatus) => {
        rec.status = s;
        return span;
      },
      updateName: () => span,
      end: () => {
        rec.ended = true;
      },
      isRecording: () => true,
      recordException: () => undefined,
    };
    return span;
  },
} as unknown as Tracer;

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

function manifests(port: number, sinkUrl: string): LoadResult {
  const source: EventSourceManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "ci" },
    spec: { webhook: { build: { port: String(port), endpoint: "/build", method: "POST" } } },
  };
  const sensor: SensorManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "traced", namespace: "argo" },
    spec: {
      dependencies: [
        {
          name: "build",
          eventSourceName: "ci",
          eventName: "build",
          filters: { data: [{ path: "body.status", type: "string", value: ["^ok$"] }] },
        },
      ],
      triggers: [
        { template: { name: "notify", http: { url: `${sinkUrl}/hook`, method: "POST" } } },
        {
          template: {
            name: "consumer",
            argoWorkflow: {
              operation: "submit",
              source: {
                resource: {
                  apiVersion: "argoproj.io/v1alpha1",
                  kind: "Workflow",
                  metadata: { generateName: "consumer-" },
                  spec: { entrypoint: "main" },
                },
              },
            },
          },
        },
      ],
    },
  };
  return {
    eventSources: [{ manifest: source, file: "test", doc: 0 }],
    sensors: [{ manifest: sensor, file: "test", doc: 0 }],
    problems: [],
  };
}

beforeAll(() => {
  trace.setGlobalTracerProvider({ getTracer: () => recordingTracer });
});

describe("parseTraceparent", () => {
  it("accepts W3C version-00 values and refuses malformed or all-zero ones", () => {
    expect(parseTraceparent(TRACEPARENT)).toEqual({
      traceId: TRACE_ID,
      spanId: PARENT_ID,
      traceFlags: 1,
      isRemote: true,
    });
    expect(parseTraceparent(`00-${"0".repeat(32)}-${PARENT_ID}-01`)).toBeUndefined();
    expect(parseTraceparent("00-xyz-abc-01")).toBeUndefined();
    expect(parseTraceparent(undefined)).toBeUndefined();
  });
});

describe("startReceive", () => {
  it("starts a receive span under the incoming trace and hands on its own context; an error when the bus failed", () => {
    spans.length = 0;
    const first = startReceive({
      eventSource: "ci",
      eventName: "build",
      id: "e1",
      traceparent: TRACEPARENT,
    });
    expect(first.traceparent).toBe(`00-${TRACE_ID}-${spans[0]!.spanId}-01`);
    first.end("published");
    const second = startReceive({
      eventSource: "ci",
      eventName: "build",
      id: "e2",
      traceparent: undefined,
    });
    second.end("failed");
    expect(
      spans.map((s) => [
        s.name,
        s.parentSpanId,
        s.attributes["sensorbus.event_id"],
        s.attributes["sensorbus.outcome"],
        s.ended,
      ]),
    ).toEqual([
      ["sensorbus.receive", PARENT_ID, "e1", "published", true],
      ["sensorbus.receive", undefined, "e2", "failed", true],
    ]);
    expect(spans[1]!.status?.message).toBe("the bus did not store the event");
  });

  it("without an OpenTelemetry SDK carries the incoming context on unchanged, and none when there was none", () => {
    trace.disable();
    try {
      const kept = startReceive({
        eventSource: "ci",
        eventName: "b",
        id: "e",
        traceparent: TRACEPARENT,
      });
      expect(kept.traceparent).toBe(TRACEPARENT);
      const upper = TRACEPARENT.toUpperCase().replace(/-01$/, "-03");
      expect(
        startReceive({ eventSource: "ci", eventName: "b", id: "e", traceparent: upper })
          .traceparent,
      ).toBe(upper);
      const none = startReceive({
        eventSource: "ci",
        eventName: "b",
        id: "e",
        traceparent: undefined,
      });
      expect(none.traceparent).toBeUndefined();
      none.end("published");
    } finally {
      trace.setGlobalTracerProvider({ getTracer: () => recordingTracer });
    }
  });
});

describe.each(["memory", "jetstream"] as const)(
  "traceparent from a webhook through the %s bus to the triggers",
  (busKind) => {
    let nats: NatsServer | undefined;
    let sink: HttpSink;
    let kube: FakeKubeApi;
    let runtime: Runtime;
    let port: number;

    beforeAll(async () => {
      spans.length = 0;
      if (busKind === "jetstream") nats = await startNatsServer();
      sink = await new HttpSink().start();
      kube = await new FakeKubeApi({ token: "t" }).start();
      port = await freePort();
      runtime = await Runtime.start({
        loaded: manifests(port, sink.url),
        busUrl: nats?.url,
        kube: await loadKubeClient({ kubeconfigYaml: kube.kubeconfigYaml("argo") }),
        dryRun: false,
        values: dirResolver({}),
        log,
        observer: tracingObserver(),
        startReceive,
      });
    });

    afterAll(async () => {
      await runtime?.stop(5_000);
      await sink?.stop();
      await kube?.stop();
      await nats?.stop();
    });

    it("forwards it as an HTTP header and a Workflow annotation, with spans under the caller's trace", async () => {
      for (const status of ["failed", "ok"]) {
        const res = await fetch(`http://127.0.0.1:${port}/build`, {
          method: "POST",
          headers: { "content-type": "application/json", traceparent: TRACEPARENT },
          body: JSON.stringify({ status }),
        });
        await res.text();
        expect(res.status).toBe(200);
      }
      const creates = () =>
        kube.apiRequests().filter((q) => q.method === "POST" && q.path.endsWith("/workflows"));
      await waitUntil(
        () => sink.requests.length === 1 && creates().length === 1,
        "the HTTP and Workflow triggers",
      );
      // One receive span per request, children of the caller's span; the triggers forward the
      // context of the receive span of the event that fired them.
      const receives = spans.filter((s) => s.name === "sensorbus.receive");
      expect(receives.map((s) => [s.parentTraceId, s.parentSpanId, s.ended])).toEqual([
        [TRACE_ID, PARENT_ID, true],
        [TRACE_ID, PARENT_ID, true],
      ]);
      const fired = receives[1]!;
      const forwarded = `00-${TRACE_ID}-${fired.spanId}-01`;
      expect(sink.requests[0]!.headers.traceparent).toBe(forwarded);
      const wf = JSON.parse(creates()[0]!.body) as {
        metadata: { annotations: Record<string, string> };
      };
      expect(wf.metadata.annotations["sensorbus.io/traceparent"]).toBe(forwarded);

      await waitUntil(
        () => spans.filter((s) => s.name === "sensorbus.trigger").length === 2,
        "the trigger spans",
      );
      const triggerSpans = spans.filter((s) => s.name === "sensorbus.trigger");
      expect(triggerSpans.map((s) => s.attributes["sensorbus.trigger"]).sort()).toEqual([
        "consumer",
        "notify",
      ]);
      for (const s of triggerSpans) {
        expect(s).toMatchObject({
          parentTraceId: TRACE_ID,
          parentSpanId: fired.spanId,
          ended: true,
        });
        expect(s.attributes["sensorbus.outcome"]).toBe("fired");
      }
      const filterSpans = spans.filter((s) => s.name === "sensorbus.filter");
      expect(filterSpans).toHaveLength(2);
      // The rejected event's filter span is a child of that event's receive span.
      expect(filterSpans[0]).toMatchObject({
        parentTraceId: TRACE_ID,
        parentSpanId: receives[0]!.spanId,
        ended: true,
      });
      expect(String(filterSpans[0]!.attributes["sensorbus.reason"])).toContain("body.status");
    });
  },
);
