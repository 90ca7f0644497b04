import { describe, expect, it } from "vitest";
import { buildGraph } from "../../../../src/app/graph.js";
import type { CloudEvent } from "../../../../src/cloudevents/event.js";
import type { LoadResult } from "../../../../src/config/load.js";
import type { EventSourceManifest, SensorManifest } from "../../../../src/config/types.js";
import { silentLogger } from "../../../../src/observability/logger.js";
import { applyParameters } from "../../../../src/triggers/params.js";
import type { PubSubTrigger } from "../../../../src/triggers/pubsub/index.js";
import { pubSubTrigger } from "../../../../src/triggers/pubsub/runtime.js";
import type { FiringContext } from "../../../../src/triggers/types.js";
import { templateFindings } from "../sensor-doc.js";

const AT = "/spec/triggers/0/template/pubSub";
const EXTENSION = `warning ${AT}: pubSub is a sensorbus extension: Argo Events refuses a Sensor with this trigger, so it runs on sensorbus only`;
const payload = [{ src: { dependencyName: "d", dataKey: "body" }, dest: "body" }];

describe("pubSub trigger validate", () => {
  it("warns that the kind runs on sensorbus only, and nothing else for a complete trigger", () => {
    expect(templateFindings({ pubSub: { projectID: "p", topic: "work-items", payload } })).toEqual([
      EXTENSION,
    ]);
  });

  it("refuses a missing topic and a missing payload", () => {
    expect(templateFindings({ pubSub: { projectID: "p" } })).toEqual([
      EXTENSION,
      `error ${AT}: topic can't be empty`,
      `error ${AT}: payload can't be nil`,
    ]);
  });

  it("refuses a malformed topic ID and reserved or oversized attributes", () => {
    expect(
      templateFindings({
        pubSub: {
          topic: "9x",
          payload,
          attributes: { googThing: "x", ok: "v".repeat(1025) },
          timeout: -1,
        },
      }),
    ).toEqual([
      EXTENSION,
      `error ${AT}/topic: '9x' is not a valid Pub/Sub topic ID`,
      `error ${AT}/attributes/googThing: attribute keys starting with 'goog' are reserved by Google`,
      `error ${AT}/attributes/ok: an attribute value is at most 1024 bytes`,
      `error ${AT}/timeout: timeout can't be negative`,
    ]);
  });

  it("leaves a topic that a parameter writes to the firing", () => {
    expect(
      templateFindings({
        pubSub: {
          payload,
          parameters: [{ src: { dependencyName: "d", dataKey: "body.topic" }, dest: "topic" }],
        },
      }),
    ).toEqual([EXTENSION]);
  });
});

const event: CloudEvent = {
  specversion: "1.0",
  id: "e-1",
  source: "webhook",
  subject: "done",
  type: "webhook",
  time: "2026-11-24T10:00:00Z",
  datacontenttype: "application/json",
  data: JSON.stringify({ body: { run: "r-9", team: "data" } }),
};

function firing(correlationId?: string): FiringContext {
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
    correlationId,
  };
}

describe("pubSub trigger render", () => {
  it("builds the payload as the http trigger does, attributes static and from parameters, and the correlation ID", async () => {
    const template: PubSubTrigger = {
      projectID: "p",
      topic: "work",
      attributes: { origin: "sensorbus" },
      payload: [{ src: { dependencyName: "d", dataKey: "body.run" }, dest: "run" }],
      parameters: [{ src: { dependencyName: "d", dataKey: "body.team" }, dest: "attributes.team" }],
    };
    const rendered = await pubSubTrigger().render(template, firing("corr-1"));
    expect(rendered.payload).toEqual({ run: "r-9" });
    expect(rendered.detail).toMatchObject({
      projectID: "p",
      topic: "work",
      data: '{"run":"r-9"}',
      attributes: { origin: "sensorbus", team: "data", correlation_id: "corr-1" },
    });
    expect(template.attributes).toEqual({ origin: "sensorbus" }); // the template is not modified
  });

  it("keeps a correlation attribute the trigger sets itself", async () => {
    const rendered = await pubSubTrigger().render(
      { topic: "work", attributes: { correlationid: "mine" }, payload: [] },
      firing("corr-1"),
    );
    expect((rendered.detail as { attributes: object }).attributes).toEqual({
      correlationid: "mine",
    });
  });

  it("fails to render an empty topic", async () => {
    await expect(pubSubTrigger().render({ topic: "", payload: [] }, firing())).rejects.toThrow(
      "pubSub trigger: topic is empty",
    );
  });
});

function loaded(...manifests: Array<EventSourceManifest | SensorManifest>): LoadResult {
  return {
    eventSources: manifests
      .filter((m): m is EventSourceManifest => m.kind === "EventSource")
      .map((manifest) => ({ manifest, file: "test", doc: 0 })),
    sensors: manifests
      .filter((m): m is SensorManifest => m.kind === "Sensor")
      .map((manifest) => ({ manifest, file: "test", doc: 0 })),
    problems: [],
  };
}

describe("pubSub trigger in the graph", () => {
  it("is drawn dashed to each pubSub EventSource entry on the same topic (and project)", () => {
    const es = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventSource",
      metadata: { name: "topics" },
      spec: {
        pubSub: {
          same: { topic: "work" },
          sameProject: { projectID: "p", topic: "work" },
          otherProject: { projectID: "q", topic: "work" },
          otherTopic: { topic: "other" },
        },
      },
    } as unknown as EventSourceManifest;
    const sensor = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "s", namespace: "argo" },
      spec: {
        dependencies: [{ name: "d", eventSourceName: "topics", eventName: "other" }],
        triggers: [{ template: { name: "hand-off", pubSub: { projectID: "p", topic: "work" } } }],
      },
    } as unknown as SensorManifest;
    const g = buildGraph(loaded(es, sensor));
    const cross = g.edges.filter((e) => e.kind === "cross");
    expect(cross.map((e) => `${e.from} -> ${e.to} (${e.label})`).sort()).toEqual([
      "trigger:s/hand-off -> entry:topics/same (publishes to work)",
      "trigger:s/hand-off -> entry:topics/sameProject (publishes to work)",
    ]);
    expect(g.nodes.find((n) => n.id === "trigger:s/hand-off")?.detail).toBe("publish to work");
  });
});
