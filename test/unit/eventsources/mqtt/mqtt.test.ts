import { describe, expect, it } from "vitest";
import type { Finding } from "../../../../src/config/findings.js";
import { mqtt } from "../../../../src/eventsources/mqtt/index.js";
import {
  brokerUrl,
  buildMqttPayload,
  MAX_RECONNECT_MS,
  reconnectPlan,
  topicFilterError,
} from "../../../../src/eventsources/mqtt/options.js";
import { mqttEventId } from "../../../../src/eventsources/mqtt/runtime.js";
import { ALL_EVENTSOURCE_KINDS, EVENTSOURCE_KINDS } from "../../../../src/eventsources/registry.js";

function findings(entry: unknown): string[] {
  const out: Finding[] = [];
  mqtt.validate?.(entry as never, { at: "/spec/mqtt/e", report: (f: Finding) => out.push(f) });
  return out.map((f) => `${f.severity}:${f.pointer} ${f.message}`);
}

const secret = { name: "s", key: "k" };
const ok = { url: "tcp://broker:1883", topic: "a/b", clientId: "c1" };

describe("mqtt kind", () => {
  it("is run (registered once, no longer Argo-only)", () => {
    expect(EVENTSOURCE_KINDS.filter((k) => k.key === "mqtt")).toHaveLength(1);
    expect(ALL_EVENTSOURCE_KINDS.filter((k) => k.key === "mqtt")).toHaveLength(1);
  });

  it("validate reports Argo's messages in Argo's order", () => {
    expect(findings({})).toEqual(["error:/spec/mqtt/e url must be specified"]);
    expect(findings({ url: "tcp://b:1883" })).toEqual([
      "error:/spec/mqtt/e topic must be specified",
    ]);
    expect(findings({ url: "tcp://b:1883", topic: "t" })).toEqual([
      "error:/spec/mqtt/e client id must be specified",
    ]);
    expect(findings(ok)).toEqual([]);
    expect(findings({ ...ok, tls: {} })).toEqual([
      "warning:/spec/mqtt/e/tls tls is ignored for a tcp:// url (as in Argo); use ssl://, tls:// or mqtts://",
      "error:/spec/mqtt/e/tls invalid tls config, please configure either caCertSecret, or clientCertSecret and clientKeySecret, or both",
    ]);
    expect(findings({ ...ok, url: "ssl://b:8883", tls: { clientCertSecret: secret } })).toEqual([
      "error:/spec/mqtt/e/tls invalid tls config, both clientCertSecret and clientKeySecret need to be configured",
    ]);
    expect(findings({ ...ok, url: "ssl://b:8883", tls: { caCertSecret: secret } })).toEqual([]);
    expect(findings({ ...ok, auth: { password: secret } })).toEqual([
      "error:/spec/mqtt/e/auth username missing",
    ]);
    expect(findings({ ...ok, auth: { username: secret } })).toEqual([
      "error:/spec/mqtt/e/auth password missing",
    ]);
    expect(findings({ ...ok, auth: { username: secret, password: secret } })).toEqual([]);
  });

  it("validate checks what Argo finds only at run time: url, topic wildcards, backoff", () => {
    expect(findings({ ...ok, url: "broker:1883" })).toEqual([
      "error:/spec/mqtt/e/url unsupported scheme 'broker://' (use tcp://, mqtt://, ssl://, tls://, tcps://, mqtts://, ws://, wss://)",
    ]);
    expect(findings({ ...ok, url: "unix:///tmp/s" })[0]).toContain("unsupported scheme 'unix://'");
    expect(findings({ ...ok, topic: "a/#/b" })).toEqual([
      "error:/spec/mqtt/e/topic 'a/#/b': the multi-level wildcard # must be the whole last level",
    ]);
    expect(findings({ ...ok, topic: "a/b+" })).toEqual([
      "error:/spec/mqtt/e/topic 'a/b+': the single-level wildcard + must be a whole level",
    ]);
    expect(findings({ ...ok, connectionBackoff: { duration: "10" } })).toEqual([
      'error:/spec/mqtt/e/connectionBackoff invalid backoff configuration, time: missing unit in duration "10"',
    ]);
    expect(findings({ ...ok, connectionBackoff: { factor: "2" } })).toEqual([
      'error:/spec/mqtt/e/connectionBackoff invalid backoff configuration, invalid factor, must be a YAML number, got "2"',
    ]);
    expect(
      findings({ ...ok, connectionBackoff: { duration: "10s", steps: 5, factor: 2, jitter: 0.2 } }),
    ).toEqual([]);
  });

  it("graph detail names topic, broker and client id", () => {
    expect(mqtt.graph?.detail(ok as never)).toBe("topic a/b on tcp://broker:1883 as c1");
  });

  it("topic filters follow MQTT's wildcard rules", () => {
    for (const t of ["a", "a/b", "+", "#", "a/+/c", "a/#", "+/+/#", "/a", "a//b"])
      expect(topicFilterError(t)).toBeUndefined();
    for (const t of ["", "a#", "#/a", "a/#/b", "a+", "a/+b/c"])
      expect(topicFilterError(t)).toBeDefined();
  });

  it("reads broker URLs with paho's schemes and default ports", () => {
    expect(brokerUrl("tcp://h:1884")).toMatchObject({ protocol: "mqtt", tls: false, port: 1884 });
    expect(brokerUrl("tcp://h")).toMatchObject({ port: 1883 });
    expect(brokerUrl("ssl://h")).toMatchObject({ protocol: "mqtts", tls: true, port: 8883 });
    expect(brokerUrl("wss://h/mqtt")).toMatchObject({ protocol: "wss", port: 443, path: "/mqtt" });
    expect(brokerUrl("tcp://[::1]:1883")).toMatchObject({ host: "::1" });
    expect(typeof brokerUrl("nope")).toBe("string");
  });

  it("reconnect waits grow for `steps` attempts, then stay, capped", () => {
    const d = reconnectPlan({ duration: "1s", factor: 2, jitter: 0, steps: 3 });
    expect([1, 2, 3, 4, 10].map(d)).toEqual([1000, 2000, 4000, 4000, 4000]);
    expect(reconnectPlan({ duration: "1h", jitter: 0 })(1)).toBe(MAX_RECONNECT_MS);
    const argoDefault = reconnectPlan(undefined);
    for (let k = 1; k < 8; k++) {
      expect(argoDefault(k)).toBeGreaterThanOrEqual(1000);
      expect(argoDefault(k)).toBeLessThanOrEqual(2000);
    }
  });

  it("builds Argo's payload: body base64 as Go marshals []byte, or the JSON with jsonBody", () => {
    const raw = buildMqttPayload("a/b", 7, Buffer.from("hi <there>"), {});
    expect(raw).toBe(
      `{"topic":"a/b","messageId":7,"body":"${Buffer.from("hi <there>").toString("base64")}"}`,
    );
    expect(
      buildMqttPayload("t", 0, Buffer.from('{ "x" : "<1>" }'), {
        jsonBody: true,
        metadata: { k: "v" },
      }),
    ).toBe('{"topic":"t","messageId":0,"body":{"x":"\\u003c1\\u003e"},"metadata":{"k":"v"}}');
    expect(buildMqttPayload("t", 1, Buffer.alloc(0), {})).toBe(
      '{"topic":"t","messageId":1,"body":""}',
    );
    expect(() => buildMqttPayload("t", 1, Buffer.from("nope"), { jsonBody: true })).toThrow();
  });

  it("gives a redelivery (DUP) of a message it emitted the first delivery's event id", () => {
    const recent = new Map<string, { digest: string; id: string }>();
    const first = mqttEventId(recent, { topic: "t", messageId: 5, qos: 1, dup: false }, "d");
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(mqttEventId(recent, { topic: "t", messageId: 5, qos: 1, dup: true }, "d")).toBe(first);
    // Same packet id reused for another message, or without DUP: a new event.
    expect(mqttEventId(recent, { topic: "t", messageId: 5, qos: 1, dup: true }, "other")).not.toBe(
      first,
    );
    expect(mqttEventId(recent, { topic: "t", messageId: 6, qos: 1, dup: false }, "d")).not.toBe(
      first,
    );
    expect(
      mqttEventId(recent, { topic: "t", messageId: 0, qos: 0, dup: false }, "d"),
    ).toBeUndefined();
  });
});
