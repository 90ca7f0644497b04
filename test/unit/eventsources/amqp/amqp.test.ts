import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Finding } from "../../../../src/config/findings.js";
import { amqp } from "../../../../src/eventsources/amqp/index.js";
import {
  amqpSettings,
  describeEndpoint,
  parseAmqpUrl,
  parseQueueArguments,
} from "../../../../src/eventsources/amqp/options.js";
import {
  type AmqpDelivery,
  amqpEventId,
  amqpExtensions,
  amqpTimestamp,
  buildAmqpPayload,
} from "../../../../src/eventsources/amqp/payload.js";
import {
  RECONNECT_MAX_MS,
  reconnectDelayMs,
} from "../../../../src/eventsources/connection-backoff.js";
import { ALL_EVENTSOURCE_KINDS, EVENTSOURCE_KINDS } from "../../../../src/eventsources/registry.js";

function findings(entry: unknown): string[] {
  const out: Finding[] = [];
  amqp.validate?.(entry as never, { at: "/spec/amqp/e", report: (f: Finding) => out.push(f) });
  return out.map((f) => `${f.severity}:${f.pointer} ${f.message}`);
}

const secret = { name: "s", key: "k" };
const minimal = {
  url: "amqp://rabbit:5672",
  exchangeName: "jobs",
  exchangeType: "fanout",
  routingKey: "all",
};

function delivery(over: Partial<AmqpDelivery["properties"]> = {}, content = "hello"): AmqpDelivery {
  return {
    content: Buffer.from(content),
    fields: { exchange: "jobs", routingKey: "a.b", redelivered: false },
    properties: { headers: {}, ...over },
  };
}

describe("amqp kind", () => {
  it("is run (registered once, no longer Argo-only)", () => {
    expect(EVENTSOURCE_KINDS.filter((k) => k.key === "amqp")).toHaveLength(1);
    expect(ALL_EVENTSOURCE_KINDS.filter((k) => k.key === "amqp")).toHaveLength(1);
    expect(amqp.recreate).toBe(true);
  });

  it("validate reports Argo's messages (every one, not only the first)", () => {
    expect(findings({ ...minimal })).toEqual([]);
    expect(findings({ ...minimal, url: undefined })).toEqual([
      "error:/spec/amqp/e either url or urlSecret must be specified",
    ]);
    expect(findings({ ...minimal, urlSecret: secret })).toEqual([
      "error:/spec/amqp/e only one of url or urlSecret can be specified",
    ]);
    expect(findings({ ...minimal, url: undefined, urlSecret: secret })).toEqual([]);
    expect(findings({ ...minimal, routingKey: "", exchangeType: undefined })).toEqual([
      "error:/spec/amqp/e/routingKey routing key must be specified",
      "error:/spec/amqp/e/exchangeType exchange type must be specified",
    ]);
    // Argo returns after the TLS check; sensorbus checks auth as well.
    expect(findings({ ...minimal, url: "amqps://r", tls: {}, auth: { password: secret } })).toEqual(
      [
        "error:/spec/amqp/e/tls invalid tls config, please configure either caCertSecret, or clientCertSecret and clientKeySecret, or both",
        "error:/spec/amqp/e/auth username missing",
      ],
    );
    expect(findings({ ...minimal, auth: { username: secret } })).toEqual([
      "error:/spec/amqp/e/auth password missing",
    ]);
    expect(findings({ ...minimal, url: "amqps://r", tls: { clientCertSecret: secret } })).toEqual([
      "error:/spec/amqp/e/tls invalid tls config, both clientCertSecret and clientKeySecret need to be configured",
    ]);
  });

  it("validate refuses what Argo accepts but can never run", () => {
    expect(findings({ ...minimal, exchangeName: "" })).toEqual([
      'error:/spec/amqp/e/exchangeName exchange name must be specified: the broker refuses to declare the default exchange ("")',
    ]);
    expect(findings({ ...minimal, url: "http://rabbit" })).toEqual([
      "error:/spec/amqp/e/url AMQP scheme must be either 'amqp://' or 'amqps://'",
    ]);
    expect(findings({ ...minimal, url: "amqp://a b" })).toEqual([
      "error:/spec/amqp/e/url URI must not contain whitespace",
    ]);
    expect(findings({ ...minimal, queueDeclare: { arguments: "[1, 2]" } })).toEqual([
      "error:/spec/amqp/e/queueDeclare/arguments not a mapping of x-arguments (got a list)",
    ]);
    expect(findings({ ...minimal, queueDeclare: { arguments: "{a: [" } })[0]).toMatch(
      /^error:\/spec\/amqp\/e\/queueDeclare\/arguments not YAML: /,
    );
    expect(
      findings({ ...minimal, connectionBackoff: { duration: "10", factor: "2", jitter: 0.2 } }),
    ).toEqual([
      'error:/spec/amqp/e/connectionBackoff/duration "10" is not a Go duration (a string needs a unit, e.g. "10s"; a YAML integer means nanoseconds): the source would never connect',
      "error:/spec/amqp/e/connectionBackoff/factor factor must be a YAML number: the source would never connect",
    ]);
  });

  it("validate warns about autoAck, TLS on amqp:// and unknown exchange types", () => {
    expect(findings({ ...minimal, consume: { autoAck: true } })).toEqual([
      "warning:/spec/amqp/e/consume/autoAck autoAck: the broker forgets each message as it sends it, so a message not yet stored on the bus is lost when sensorbus crashes or the bus refuses it (as in Argo); without autoAck sensorbus acknowledges after the bus stored the event",
    ]);
    expect(findings({ ...minimal, tls: { enabled: true } })).toEqual([
      "warning:/spec/amqp/e/tls tls is used only with an amqps:// URL (as in Argo): this connection is not encrypted",
    ]);
    expect(findings({ ...minimal, url: "amqps://r", tls: { enabled: true } })).toEqual([]);
    expect(findings({ ...minimal, exchangeType: "x-delayed-message" })).toEqual([]);
    expect(findings({ ...minimal, exchangeType: "fan-out" })).toEqual([
      "warning:/spec/amqp/e/exchangeType 'fan-out' is not one of direct, fanout, topic, headers: the broker refuses it unless a plugin provides it",
    ]);
  });

  it("an entry with every Argo field validates, with the autoAck warning it asks for", () => {
    const doc = parse(
      readFileSync(
        new URL("../../../fixtures/manifests/valid/es-amqp-all-fields.yaml", import.meta.url),
        "utf8",
      ),
    ) as { spec: { amqp: { orders: unknown; audit: unknown } } };
    expect(findings(doc.spec.amqp.orders)).toEqual([
      expect.stringMatching(/^warning:\/spec\/amqp\/e\/consume\/autoAck /),
    ]);
    expect(findings(doc.spec.amqp.audit)).toEqual([]);
  });

  it("graph detail names exchange, queue and routing key", () => {
    expect(amqp.graph?.detail({ ...minimal, exchangeType: "topic" } as never)).toBe(
      "exchange jobs (topic) -> queue (broker-named) key all",
    );
    expect(amqp.graph?.detail({ ...minimal, queueDeclare: { name: "q1" } } as never)).toBe(
      "exchange jobs (fanout) -> queue q1 key all",
    );
  });
});

describe("amqp URL (amqp091 ParseURI)", () => {
  it("fills Go's defaults", () => {
    expect(parseAmqpUrl("amqp://")).toEqual({
      protocol: "amqp",
      hostname: "localhost",
      port: 5672,
      username: "guest",
      password: "guest",
      vhost: "",
      heartbeat: 10,
    });
    expect(parseAmqpUrl("amqps://h")).toMatchObject({ protocol: "amqps", port: 5671 });
  });

  it("reads user info, port, vhost and heartbeat", () => {
    expect(parseAmqpUrl("amqp://u%40x:p%2Fw@[::1]:5673/v%2Fh?heartbeat=30")).toEqual({
      protocol: "amqp",
      hostname: "::1",
      port: 5673,
      username: "u@x",
      password: "p/w",
      vhost: "v%2Fh",
      heartbeat: 30,
    });
    // A user without password keeps Go's default password; an empty one is empty.
    expect(parseAmqpUrl("amqp://bob@h")).toMatchObject({ username: "bob", password: "guest" });
    expect(parseAmqpUrl("amqp://bob:@h")).toMatchObject({ username: "bob", password: "" });
    expect(parseAmqpUrl("amqp://h/")).toMatchObject({ vhost: "" });
  });

  it("describes the endpoint without credentials", () => {
    const e = parseAmqpUrl("amqp://u:secret-pw@h:1/v");
    expect(typeof e === "object" && describeEndpoint(e)).toBe("amqp://h:1/v");
    const v6 = parseAmqpUrl("amqps://[::1]");
    expect(typeof v6 === "object" && describeEndpoint(v6)).toBe("amqps://[::1]:5671/");
  });
});

describe("amqp queue arguments and defaults", () => {
  it("parses the arguments string as YAML or JSON", () => {
    expect(parseQueueArguments(undefined)).toBeUndefined();
    expect(parseQueueArguments("")).toBeUndefined();
    expect(parseQueueArguments("~")).toBeUndefined();
    expect(parseQueueArguments('{"x-max-length": 10, "x-queue-type": "classic"}')).toEqual({
      "x-max-length": 10,
      "x-queue-type": "classic",
    });
    expect(parseQueueArguments("x-message-ttl: 60000\nx-overflow: reject-publish")).toEqual({
      "x-message-ttl": 60000,
      "x-overflow": "reject-publish",
    });
    expect(() => parseQueueArguments("just text")).toThrow(/not a mapping/);
  });

  it("applies Argo's setDefaults for absent blocks, Go zero values inside present ones", () => {
    expect(amqpSettings({})).toEqual({
      exchange: { durable: true, autoDelete: false, internal: false },
      queue: { name: "", durable: false, autoDelete: false, exclusive: true },
      // Argo: autoAck true without a consume block; sensorbus acknowledges after the bus stored.
      consume: { consumerTag: "", autoAck: false, exclusive: false, noLocal: false },
    });
    expect(
      amqpSettings({
        exchangeDeclare: { autoDelete: true },
        queueDeclare: { name: "q", durable: true },
        consume: { autoAck: true, consumerTag: "t" },
      }),
    ).toEqual({
      exchange: { durable: false, autoDelete: true, internal: false },
      queue: { name: "q", durable: true, autoDelete: false, exclusive: false },
      consume: { consumerTag: "t", autoAck: true, exclusive: false, noLocal: false },
    });
  });
});

describe("amqp payload (Argo's AMQPEventData through json.Marshal)", () => {
  it("writes every field in the struct's order, zero values for absent properties", () => {
    expect(buildAmqpPayload(delivery(), false)).toBe(
      '{"contentType":"","contentEncoding":"","deliveryMode":0,"priority":0,"correlationId":"","replyTo":"","expiration":"","messageId":"","timestamp":"0001-01-01 00:00:00 +0000 UTC","type":"","appId":"","exchange":"jobs","routingKey":"a.b","body":"aGVsbG8="}',
    );
  });

  it("carries the properties, escapes HTML as Go does, adds metadata when present", () => {
    const d = delivery(
      {
        contentType: "application/json",
        contentEncoding: "gzip",
        deliveryMode: 2,
        priority: 5,
        correlationId: "c-1",
        replyTo: "replies",
        expiration: "60000",
        messageId: "m<1>",
        timestamp: 1700000000,
        type: "order.created",
        appId: "shop",
        headers: { traceparent: "00-abc-def-01" },
      },
      '{ "id": 42, "note": "a&b" }',
    );
    expect(buildAmqpPayload(d, true, { team: "pay" })).toBe(
      '{"contentType":"application/json","contentEncoding":"gzip","deliveryMode":2,"priority":5,"correlationId":"c-1","replyTo":"replies","expiration":"60000","messageId":"m\\u003c1\\u003e","timestamp":"2023-11-14 22:13:20 +0000 UTC","type":"order.created","appId":"shop","exchange":"jobs","routingKey":"a.b","body":{"id":42,"note":"a\\u0026b"},"metadata":{"team":"pay"}}',
    );
  });

  it("an empty body is an empty base64 string; with jsonBody it is refused, as Go's Marshal does", () => {
    expect(buildAmqpPayload(delivery({}, ""), false)).toContain('"body":""}');
    expect(() => buildAmqpPayload(delivery({}, ""), true)).toThrow(
      expect.objectContaining({ code: "SB_ERR_EVENTSOURCE_PAYLOAD" }),
    );
    expect(() => buildAmqpPayload(delivery({}, "not json"), true)).toThrow(
      /jsonBody is set but the message body is not JSON/,
    );
  });

  it("formats the timestamp property as Go's time.Unix(sec, 0).String()", () => {
    expect(amqpTimestamp(0)).toBe("1970-01-01 00:00:00 +0000 UTC");
    expect(amqpTimestamp(undefined)).toBe("0001-01-01 00:00:00 +0000 UTC");
  });

  it("derives the event id from the message id, per EventSource entry", () => {
    const id = amqpEventId("es", "ev", "m-1");
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(amqpEventId("es", "ev", "m-1")).toBe(id);
    expect(
      new Set([id, amqpEventId("es", "other", "m-1"), amqpEventId("es2", "ev", "m-1")]).size,
    ).toBe(3);
    expect(amqpEventId("es", "ev", undefined)).toBeUndefined();
    expect(amqpEventId("es", "ev", "")).toBeUndefined();
  });

  it("carries traceparent and correlation_id headers as extensions, not the correlationId property", () => {
    expect(amqpExtensions(delivery({ correlationId: "rpc-1" }))).toBeUndefined();
    expect(
      amqpExtensions(
        delivery({
          headers: { traceparent: Buffer.from("00-t-s-01"), correlation_id: "order-7" },
        }),
      ),
    ).toEqual({ traceparent: "00-t-s-01", correlationid: "order-7" });
  });
});

describe("connectionBackoff as a reconnect schedule", () => {
  it("absent: Argo's DefaultBackoff (1 s, factor 1, jitter 1), then the same wait for ever", () => {
    expect(reconnectDelayMs(undefined, 1, () => 0)).toBe(1000);
    expect(reconnectDelayMs(undefined, 1, () => 0.5)).toBe(1500);
    expect(reconnectDelayMs(undefined, 50, () => 0)).toBe(1000);
  });

  it("follows duration and factor for steps - 1 waits, then keeps the last, at most a minute", () => {
    const b = { duration: "1s", factor: 2, jitter: 0, steps: 4 };
    expect([1, 2, 3, 4, 5].map((k) => reconnectDelayMs(b, k))).toEqual([
      1000, 2000, 4000, 4000, 4000,
    ]);
    const big = { duration: "50s", factor: 3, jitter: 0, steps: 3 };
    expect(reconnectDelayMs(big, 2)).toBe(150_000);
    expect(reconnectDelayMs(big, 3)).toBe(RECONNECT_MAX_MS);
    expect(reconnectDelayMs({ duration: 100_000_000, steps: 1, jitter: 0 }, 7)).toBe(100);
  });
});
