import { describe, expect, it } from "vitest";
import type { PubSubTrigger } from "../../../../src/triggers/pubsub/index.js";
import { pubSubTrigger } from "../../../../src/triggers/pubsub/runtime.js";
import { firingContext, triggerEvent } from "../../../support/firing.js";
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

describe("pubSub trigger render", () => {
  it("builds the payload as the http trigger does, attributes static and from parameters, and the correlation ID", async () => {
    const template: PubSubTrigger = {
      projectID: "p",
      topic: "work",
      attributes: { origin: "sensorbus" },
      payload: [{ src: { dependencyName: "d", dataKey: "body.run" }, dest: "run" }],
      parameters: [{ src: { dependencyName: "d", dataKey: "body.team" }, dest: "attributes.team" }],
    };
    const rendered = await pubSubTrigger().render(
      template,
      firingContext(triggerEvent(), { correlationId: "corr-1" }),
    );
    expect(rendered.payload).toEqual({ run: "r-7" });
    expect(rendered.detail).toMatchObject({
      projectID: "p",
      topic: "work",
      data: '{"run":"r-7"}',
      attributes: { origin: "sensorbus", team: "data", correlation_id: "corr-1" },
    });
    expect(template.attributes).toEqual({ origin: "sensorbus" }); // the template is not modified
  });

  it("keeps a correlation attribute the trigger sets itself", async () => {
    const rendered = await pubSubTrigger().render(
      { topic: "work", attributes: { correlationid: "mine" }, payload: [] },
      firingContext(triggerEvent(), { correlationId: "corr-1" }),
    );
    expect((rendered.detail as { attributes: object }).attributes).toEqual({
      correlationid: "mine",
    });
  });

  it("fails to render an empty topic", async () => {
    await expect(
      pubSubTrigger().render({ topic: "", payload: [] }, firingContext(triggerEvent())),
    ).rejects.toThrow("pubSub trigger: topic is empty");
  });
});
