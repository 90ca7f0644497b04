import { describe, expect, it } from "vitest";
import {
  buildPubSubPayload,
  defaultSubscriptionId,
  PubSubPayloadError,
  pubSubEventId,
  pubSubExtensions,
  validatePubSubSpec,
} from "../../../src/eventsources/pubsub.js";
import { fnv32a } from "../../../src/lib/hash.js";

/** A Date carrying PreciseDate's extra digits, the way the client library hands publishTime over. */
function preciseDate(iso: string, micros: number, nanos: number): Date {
  return Object.assign(new Date(iso), {
    getMicroseconds: () => micros,
    getNanoseconds: () => nanos,
  });
}

const utf8 = (s: string) => new TextEncoder().encode(s);

describe("buildPubSubPayload", () => {
  const publishTime = new Date("2024-05-15T12:00:00.123Z");

  it("writes Argo's struct order with a base64 body and null attributes", () => {
    const text = buildPubSubPayload(
      { id: "1104", data: utf8('{"orderId":42}'), attributes: {}, publishTime },
      {},
    );
    expect(text).toBe(
      `{"id":"1104","body":"${Buffer.from('{"orderId":42}').toString("base64")}","attributes":null,` +
        `"publishTime":"2024-05-15 12:00:00.123 +0000 UTC"}`,
    );
  });

  it("sorts attribute and metadata keys and escapes HTML characters the Go way", () => {
    const text = buildPubSubPayload(
      { id: "7", data: utf8("x"), attributes: { zeta: "a<b", alpha: "c&d" }, publishTime },
      { metadata: { team: "pay>", env: "prod" } },
    );
    expect(text).toBe(
      '{"id":"7","body":"eA==","attributes":{"alpha":"c\\u0026d","zeta":"a\\u003cb"},' +
        '"publishTime":"2024-05-15 12:00:00.123 +0000 UTC","metadata":{"env":"prod","team":"pay\\u003e"}}',
    );
  });

  it("omits empty metadata like Go's omitempty", () => {
    const text = buildPubSubPayload({ id: "1", data: utf8("x"), publishTime }, { metadata: {} });
    expect(text).not.toContain("metadata");
    expect(JSON.parse(text)).toEqual({
      id: "1",
      body: "eA==",
      attributes: null,
      publishTime: "2024-05-15 12:00:00.123 +0000 UTC",
    });
  });

  it("embeds a JSON body compacted, keeping key order and escaping <>&", () => {
    const text = buildPubSubPayload(
      { id: "9", data: utf8('{ "b": "<x>", "a": [1, 2] }\n'), attributes: null, publishTime },
      { jsonBody: true },
    );
    expect(text).toBe(
      '{"id":"9","body":{"b":"\\u003cx\\u003e","a":[1,2]},"attributes":null,' +
        '"publishTime":"2024-05-15 12:00:00.123 +0000 UTC"}',
    );
  });

  it("rejects a non-JSON body when jsonBody is set, naming the message", () => {
    const build = () =>
      buildPubSubPayload({ id: "m-5", data: utf8("not json"), publishTime }, { jsonBody: true });
    expect(build).toThrow(PubSubPayloadError);
    expect(build).toThrow(/message m-5: jsonBody/);
    expect(build).toThrow(
      expect.objectContaining({ code: "SB_ERR_EVENTSOURCE_PAYLOAD", retryable: false }),
    );
  });

  it("writes an empty body as null in both modes (Go sees a nil byte slice)", () => {
    for (const jsonBody of [false, true]) {
      const parsed = JSON.parse(
        buildPubSubPayload(
          { id: "e", data: new Uint8Array(0), attributes: { k: "v" }, publishTime },
          { jsonBody },
        ),
      );
      expect(parsed.body).toBeNull();
      expect(parsed.attributes).toEqual({ k: "v" });
    }
  });

  it("keeps the publish time's sub-millisecond digits and trims trailing zeros", () => {
    const text = buildPubSubPayload(
      { id: "p", data: utf8("x"), publishTime: preciseDate("2024-05-15T12:00:00.029Z", 534, 100) },
      {},
    );
    expect(JSON.parse(text).publishTime).toBe("2024-05-15 12:00:00.0295341 +0000 UTC");
    const whole = buildPubSubPayload(
      { id: "p", data: utf8("x"), publishTime: new Date("2024-05-15T12:00:00Z") },
      {},
    );
    expect(JSON.parse(whole).publishTime).toBe("2024-05-15 12:00:00 +0000 UTC");
  });

  it("reads a Buffer slice without the bytes around it", () => {
    const backing = Buffer.from("xxhelloyy");
    const text = buildPubSubPayload({ id: "s", data: backing.subarray(2, 7), publishTime }, {});
    expect(JSON.parse(text).body).toBe(Buffer.from("hello").toString("base64"));
  });
});

describe("fnv32a", () => {
  // Published FNV-1a 32-bit test vectors (Landon Curt Noll's FNV test suite).
  it.each([
    ["", 0x811c9dc5],
    ["a", 0xe40c292c],
    ["foobar", 0xbf9cf968],
  ])("hashes %j", (input, expected) => {
    expect(fnv32a(input)).toBe(expected);
  });
});

describe("defaultSubscriptionId", () => {
  it("hashes the event name plus Go's JSON of the defaulted spec, subscriptionID empty", () => {
    const spec = { projectID: "proj", topicProjectID: "proj", topic: "orders" };
    const json =
      '{"projectID":"proj","topicProjectID":"proj","topic":"orders","subscriptionID":""}';
    expect(defaultSubscriptionId("order-created", spec)).toBe(
      `order-created-${fnv32a(`order-created${json}`)}`,
    );
  });

  it("includes set optional fields in declaration order and skips false booleans", () => {
    const spec = {
      projectID: "p",
      topicProjectID: "tp",
      topic: "t",
      credentialSecret: { name: "gcp", key: "sa.json" },
      deleteSubscriptionOnFinish: true,
      jsonBody: false,
      metadata: { z: "1", a: "2" },
      filter: { expression: "body.x == 1" },
    };
    const json =
      '{"projectID":"p","topicProjectID":"tp","topic":"t","subscriptionID":"",' +
      '"credentialSecret":{"name":"gcp","key":"sa.json"},"deleteSubscriptionOnFinish":true,' +
      '"metadata":{"a":"2","z":"1"},"filter":{"expression":"body.x == 1"}}';
    expect(defaultSubscriptionId("ev", spec)).toBe(`ev-${fnv32a(`ev${json}`)}`);
  });

  it("changes when any part of the spec changes", () => {
    const base = { projectID: "p", topicProjectID: "p", topic: "t" };
    const ids = new Set([
      defaultSubscriptionId("ev", base),
      defaultSubscriptionId("ev", { ...base, jsonBody: true }),
      defaultSubscriptionId("ev", { ...base, topic: "u" }),
      defaultSubscriptionId("ev2", base),
    ]);
    expect(ids.size).toBe(4);
    for (const id of ids) expect(id).toMatch(/^ev2?-\d{1,10}$/);
  });
});

describe("pubSubEventId", () => {
  it("is 32 hex chars, stable for a redelivery and distinct per message and subscription", () => {
    const sub = "projects/p/subscriptions/s";
    const a = pubSubEventId(sub, "1104");
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(pubSubEventId(sub, "1104")).toBe(a);
    expect(pubSubEventId(sub, "1105")).not.toBe(a);
    expect(pubSubEventId("projects/p/subscriptions/t", "1104")).not.toBe(a);
  });
});

describe("pubSubExtensions", () => {
  it("maps trace and correlation attributes to CloudEvent extensions", () => {
    expect(
      pubSubExtensions({ googclient_traceparent: "00-abc-def-01", correlation_id: "c-1" }),
    ).toEqual({
      traceparent: "00-abc-def-01",
      correlationid: "c-1",
    });
    expect(
      pubSubExtensions({ traceparent: "t1", googclient_traceparent: "t2", correlationid: "c" }),
    ).toEqual({
      traceparent: "t1",
      correlationid: "c",
    });
    expect(pubSubExtensions({ other: "x" })).toBeUndefined();
    expect(pubSubExtensions(null)).toBeUndefined();
  });
});

describe("validatePubSubSpec", () => {
  it("reports Argo's two validation rules with the field at fault", () => {
    expect(validatePubSubSpec("ev", { topic: "t" })).toEqual([]);
    expect(validatePubSubSpec("ev", { subscriptionID: "s" })).toEqual([]);
    expect(validatePubSubSpec("ev", {})).toEqual([
      "spec.pubSub.ev: must specify topic or subscriptionID",
    ]);
    expect(validatePubSubSpec("ev", { subscriptionID: "s", topicProjectID: "x" })).toEqual([
      "spec.pubSub.ev.topicProjectID: can't be set without topic",
    ]);
  });
});
