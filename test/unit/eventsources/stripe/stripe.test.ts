import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { checkDocument } from "../../../../src/config/validate.js";
import { passesEventFilter, stripeEvent } from "../../../../src/eventsources/stripe/payload.js";
import { verifyStripeSignature } from "../../../../src/eventsources/stripe/runtime.js";

describe("stripeEvent: the body as stripe-go v70.15.0 decodes and Argo re-encodes it", () => {
  it("writes Go's zero values for absent fields and drops members the Event has no field for", () => {
    const out = stripeEvent(
      '{"id":"evt_1","type":"charge.refunded","object":"event","api_version":"2020-08-27","data":{"object":{"b":1,"a":[1.50,1e3]},"previous_attributes":{"z":1,"amount_refunded":0}}}',
      undefined,
    );
    expect(out).toEqual({
      id: "evt_1",
      type: "charge.refunded",
      nil: false,
      data:
        '{"event":{"account":"","created":0,"data":{"previous_attributes":{"amount_refunded":0,"z":1},' +
        '"object":{"b":1,"a":[1.50,1e3]}},"id":"evt_1","livemode":false,"pending_webhooks":0,' +
        '"request":null,"type":"charge.refunded"}}',
    });
  });

  it("keeps an explicit null data and a null body as Go does", () => {
    expect(stripeEvent('{"data":null}', { a: "b" }).data).toBe(
      '{"event":{"account":"","created":0,"data":null,"id":"","livemode":false,"pending_webhooks":0,"request":null,"type":""},"metadata":{"a":"b"}}',
    );
    expect(stripeEvent("null", undefined)).toMatchObject({ nil: true, data: '{"event":null}' });
  });

  it("throws where stripe-go fails to decode", () => {
    for (const bad of [
      "[]",
      '"x"',
      '{"created":"1"}',
      '{"created":1.5}',
      '{"livemode":"no"}',
      '{"request":"req_1"}',
      '{"data":{}}',
      '{"data":{"object":[1]}}',
      '{"data":{"object":{},"previous_attributes":3}}',
      "{",
    ])
      expect(() => stripeEvent(bad, undefined), bad).toThrow();
  });

  it("eventFilter: unset passes everything, a list only its types", () => {
    expect(passesEventFilter("a", undefined)).toBe(true);
    expect(passesEventFilter("a", ["a", "b"])).toBe(true);
    expect(passesEventFilter("c", ["a", "b"])).toBe(false);
    expect(passesEventFilter("a", [])).toBe(false);
  });
});

describe("verifyStripeSignature", () => {
  const secret = "whsec_test_secret";
  const body = Buffer.from('{"id":"evt_1"}');
  const now = 1_700_000_000_000;
  const header = (t: number, s = secret) =>
    Stripe.webhooks.generateTestHeaderString({ payload: body.toString(), secret: s, timestamp: t });

  it("accepts the stripe library's test header, within 300 s", () => {
    expect(verifyStripeSignature(secret, body, header(now / 1000), now)).toBeUndefined();
    expect(verifyStripeSignature(secret, body, header(now / 1000 - 300), now)).toBeUndefined();
  });

  it("refuses stale, mismatching, malformed and missing signatures", () => {
    expect(verifyStripeSignature(secret, body, header(now / 1000 - 301), now)).toMatchObject({
      status: 401,
      reason: "stale_timestamp",
    });
    expect(verifyStripeSignature(secret, body, header(now / 1000, "whsec_other"), now)).toEqual({
      status: 403,
      reason: "signature_mismatch",
      message: "signature mismatch",
    });
    expect(verifyStripeSignature(secret, body, "t=1,v0=ab", now)?.reason).toBe(
      "malformed_signature",
    );
    expect(verifyStripeSignature(secret, body, undefined, now)?.reason).toBe("missing_signature");
  });
});

function doc(entry: Record<string, unknown>) {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "pay" },
    spec: { stripe: { ev: entry } },
  };
}

describe("validate: Argo's stripe validate.go, and the unverified warning", () => {
  const findings = (entry: Record<string, unknown>) =>
    checkDocument(doc(entry)).findings.map((f) => `${f.severity} ${f.pointer}: ${f.message}`);
  const HOOK = { port: "12000", endpoint: "/stripe", method: "POST", url: "https://x.example" };

  it("accepts createWebhook with apiKey without findings", () => {
    expect(
      findings({ webhook: HOOK, createWebhook: true, apiKey: { name: "s", key: "k" } }),
    ).toEqual([]);
  });

  it("reports createWebhook without apiKey, webhook errors, and unverified deliveries", () => {
    const f = findings({ webhook: { ...HOOK, url: "", port: "x" }, createWebhook: true });
    expect(f).toContain("error /spec/stripe/ev/apiKey: api key K8s secret selector not provided");
    expect(f.some((x) => x.startsWith("error /spec/stripe/ev/webhook/port"))).toBe(true);
    expect(f.some((x) => x.startsWith("warning /spec/stripe/ev/webhook/url"))).toBe(true);
    const plain = findings({ webhook: HOOK });
    expect(plain).toHaveLength(1);
    expect(plain[0]).toMatch(
      /^warning \/spec\/stripe\/ev\/createWebhook: deliveries are not verified/,
    );
  });

  it("signingSecret (extension): no unverified warning, but a warning that Argo does not know it", () => {
    const f = findings({ webhook: HOOK, signingSecret: { name: "s", key: "whsec" } });
    expect(f).toEqual([
      "warning /spec/stripe/ev/signingSecret: signingSecret is a sensorbus extension: Argo Events refuses or ignores it",
    ]);
  });
});
