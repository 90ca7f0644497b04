import { createHmac } from "node:crypto";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBusError } from "../../src/errors.js";
import type { StripeEventSpec } from "../../src/eventsources/stripe/index.js";
import { createStripeAdapter } from "../../src/eventsources/stripe/runtime.js";
import type { RunningAdapter } from "../../src/eventsources/types.js";
import { type Harness, webhookHarness } from "../support/adapter-harness.js";
import { FakeStripeApi } from "../support/fake-stripe-api.js";
import { freePort } from "../support/ports.js";

/**
 * Issue 22, Stripe: the endpoint registered through a fake Stripe API (create, reuse across
 * pages, update, errors), deliveries signed as Stripe signs them (t=..,v1=.. over "{t}.{body}")
 * and every refusal path, Argo's payload and eventFilter.
 */

const API_KEY = "sk_test_51FakeKeyForSensorbus0000abcd";
const sign = (body: string, secret: string, t = Math.floor(Date.now() / 1000)) =>
  `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;

const EVENT = {
  id: "evt_1NG8Du2eZvKYlo2CUI79vXWy",
  object: "event",
  api_version: "2023-10-16",
  created: 1686089970,
  data: {
    object: {
      id: "pi_3NG8Du2eZvKYlo2C0qX5mVgR",
      object: "payment_intent",
      amount: 2000,
      currency: "usd",
      metadata: { order: "A<1>&2" },
      status: "succeeded",
    },
  },
  livemode: false,
  pending_webhooks: 1,
  request: { id: "req_abc", idempotency_key: "idem-1" },
  type: "payment_intent.succeeded",
};

function deliver(
  port: number,
  path: string,
  body: string,
  signature: string | undefined,
  method = "POST",
): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
      ...(signature !== undefined ? { "stripe-signature": signature } : {}),
    },
    ...(method === "GET" ? {} : { body }),
  });
}

describe("stripe: createWebhook creates the endpoint and verifies its deliveries", () => {
  const api = new FakeStripeApi(API_KEY);
  const rec = webhookHarness({ "stripe/key": API_KEY }, "pay");
  let port: number;
  let running: RunningAdapter;
  let secret: string;

  beforeAll(async () => {
    await api.start();
    port = await freePort();
    const spec: StripeEventSpec = {
      webhook: {
        port: String(port),
        endpoint: "/stripe",
        method: "POST",
        url: "https://hooks.example.com",
        maxPayloadSize: 4096,
      },
      createWebhook: true,
      apiKey: { name: "stripe", key: "key" },
      eventFilter: ["payment_intent.succeeded", "charge.refunded"],
      metadata: { team: "billing" },
    };
    running = await createStripeAdapter({
      host: "127.0.0.1",
      port: api.port,
      protocol: "http",
    }).start([{ eventName: "payments", spec }], rec.ctx);
    secret = api.endpoints[0]!.secret;
  });

  afterAll(async () => {
    await running?.stop();
    await api.stop();
  });

  it("listed the endpoints, then created one with the URL and eventFilter, form-encoded, Bearer auth", () => {
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET /v1/webhook_endpoints",
      "POST /v1/webhook_endpoints",
    ]);
    const create = api.calls[1]!;
    expect(create.authorization).toBe(`Bearer ${API_KEY}`);
    expect(create.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect(create.form.get("url")).toBe("https://hooks.example.com/stripe");
    expect([...create.form.entries()].filter(([k]) => k.startsWith("enabled_events"))).toEqual([
      ["enabled_events[0]", "payment_intent.succeeded"],
      ["enabled_events[1]", "charge.refunded"],
    ]);
    expect(api.endpoints).toHaveLength(1);
    const logged = rec.logs.text();
    expect(logged).toContain("new stripe webhook endpoint created");
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain(API_KEY);
  });

  it("stores a delivery signed by the stripe library with Argo's payload and the event id", async () => {
    const body = JSON.stringify(EVENT, null, 2);
    const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
    const res = await deliver(port, "/stripe", body, header);
    expect(await res.text()).toBe("success");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-event-id")).toBe(EVENT.id);
    const input = rec.emitted.at(-1)!;
    const eventName = rec.eventNames.at(-1);
    expect(eventName).toBe("payments");
    expect(input.id).toBe(EVENT.id);
    // stripe-go v70.15.0's Event, field order and zero values as Go marshals it; `object` raw.
    expect(input.data).toBe(
      '{"event":{"account":"","created":1686089970,"data":{"previous_attributes":null,' +
        '"object":{"id":"pi_3NG8Du2eZvKYlo2C0qX5mVgR","object":"payment_intent","amount":2000,' +
        '"currency":"usd","metadata":{"order":"A\\u003c1\\u003e\\u00262"},"status":"succeeded"}},' +
        '"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","livemode":false,"pending_webhooks":1,' +
        '"request":{"id":"req_abc","idempotency_key":"idem-1"},"type":"payment_intent.succeeded"},' +
        '"metadata":{"team":"billing"}}',
    );
    // Stripe's retry of the same event (a fresh signature) carries the same id: stored once.
    const retry = await deliver(port, "/stripe", body, sign(body, secret));
    expect(retry.status).toBe(200);
    expect(rec.emitted.at(-1)!.id).toBe(EVENT.id);
  });

  it("refuses missing, malformed, wrong, tampered and stale signatures: counted, nothing stored", async () => {
    const before = rec.emitted.length;
    rec.refused.length = 0;
    const body = JSON.stringify(EVENT);
    const old = Math.floor(Date.now() / 1000) - 301;
    const answers = [
      await deliver(port, "/stripe", body, undefined),
      await deliver(port, "/stripe", body, "v1=abc"),
      await deliver(port, "/stripe", body, `t=${old}`),
      await deliver(port, "/stripe", body, sign(body, "whsec_not_the_secret")),
      await deliver(port, "/stripe", body.replace("2000", "1"), sign(body, secret)),
      // A captured delivery replayed after the 300 s tolerance: signed right, refused.
      await deliver(port, "/stripe", body, sign(body, secret, old)),
    ];
    expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 403, 403, 401]);
    expect(await answers[5]!.text()).toContain("more than 300 s old");
    expect(rec.refused.map((r) => r.reason)).toEqual([
      "missing_signature",
      "malformed_signature",
      "malformed_signature",
      "signature_mismatch",
      "signature_mismatch",
      "stale_timestamp",
    ]);
    expect(rec.emitted.length).toBe(before);
    const logged = rec.logs.text();
    expect(logged).toContain("Stripe delivery refused: signature mismatch");
    expect(logged).not.toContain(secret);
  });

  it("does not store a type outside eventFilter; 400 for a body stripe-go cannot decode", async () => {
    const before = rec.emitted.length;
    const other = JSON.stringify({ ...EVENT, id: "evt_2", type: "customer.created" });
    const res = await deliver(port, "/stripe", other, sign(other, secret));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(
      "event type 'customer.created' is not in eventFilter: not recorded",
    );
    const bad = JSON.stringify({ ...EVENT, created: "yesterday" });
    const badRes = await deliver(port, "/stripe", bad, sign(bad, secret));
    expect(badRes.status).toBe(400);
    expect(await badRes.text()).toContain("failed to parse the event");
    const noObject = JSON.stringify({ ...EVENT, data: {} });
    expect((await deliver(port, "/stripe", noObject, sign(noObject, secret))).status).toBe(400);
    expect(rec.emitted.length).toBe(before);
  });

  it("answers 405 for another method, 413 over maxPayloadSize, 503 when the bus refused", async () => {
    const get = await deliver(port, "/stripe", "", undefined, "GET");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const big = JSON.stringify({ ...EVENT, pad: "x".repeat(5000) });
    expect((await deliver(port, "/stripe", big, sign(big, secret))).status).toBe(413);
    rec.failNext = new EventBusError("SB_ERR_BUS_UNAVAILABLE", "nats: disconnected");
    const body = JSON.stringify({ ...EVENT, id: "evt_503" });
    const res = await deliver(port, "/stripe", body, sign(body, secret));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
  });
});

/** Starts one createWebhook entry against `api`, runs `whileRunning`, stops both. */
async function runOnce(
  api: FakeStripeApi,
  endpoint: string,
  extra: Partial<StripeEventSpec>,
  whileRunning: (port: number, rec: Harness) => Promise<void>,
): Promise<void> {
  const port = await freePort();
  const rec = webhookHarness({ "stripe/key": API_KEY }, "pay");
  const running = await createStripeAdapter({
    host: "127.0.0.1",
    port: api.port,
    protocol: "http",
  }).start(
    [
      {
        eventName: endpoint.slice(1),
        spec: {
          webhook: {
            port: String(port),
            endpoint,
            method: "POST",
            url: "https://hooks.example.com",
          },
          createWebhook: true,
          apiKey: { name: "stripe", key: "key" },
          ...extra,
        },
      },
    ],
    rec.ctx,
  );
  try {
    await whileRunning(port, rec);
  } finally {
    await running.stop();
  }
}

describe("stripe: an existing endpoint, API errors, no createWebhook", () => {
  it("reuses the endpoint with the same URL found on a later page, updating its events", async () => {
    const api = await new FakeStripeApi(API_KEY).start();
    const mine = api.seed("https://hooks.example.com/reuse", ["charge.succeeded"]);
    for (let i = 0; i < 120; i++) api.seed(`https://other.example.com/${i}`);
    await runOnce(api, "/reuse", { eventFilter: ["invoice.paid"] }, async (port, rec) => {
      const lists = api.calls.filter((c) => c.method === "GET");
      expect(lists).toHaveLength(2);
      expect(lists[1]!.query.get("starting_after")).toBe(api.endpoints[99]!.id);
      expect(
        api.calls.filter((c) => c.path === "/v1/webhook_endpoints" && c.method === "POST"),
      ).toEqual([]);
      expect(api.calls.at(-1)!.path).toBe(`/v1/webhook_endpoints/${mine.id}`);
      expect(api.endpoints).toHaveLength(121);
      expect(mine.enabled_events).toEqual(["invoice.paid"]);
      expect(rec.logs.text()).toContain(
        "reused; Stripe returns its signing secret only when an endpoint is created",
      );
      // No secret known: accepted unverified, as Argo; the event id is not trusted.
      const body = JSON.stringify({ ...EVENT, type: "invoice.paid" });
      const res = await deliver(port, "/reuse", body, undefined);
      expect(res.status).toBe(200);
      expect(rec.emitted).toHaveLength(1);
      expect(rec.emitted[0]!.id).toBeUndefined();
    });
    await api.stop();
  });

  it("logs a Stripe API error with the URL and Stripe's reason, no key, and keeps serving", async () => {
    const api = await new FakeStripeApi("sk_test_the_right_key_9999").start();
    await runOnce(api, "/bad", {}, async (port, rec) => {
      const logged = rec.logs.text();
      expect(logged).toContain(
        "stripe webhook endpoint for https://hooks.example.com/bad not registered: Invalid API Key provided: <apiKey>",
      );
      expect(logged).toContain('"status":401');
      expect(logged).not.toContain("sk_test");
      expect(logged).not.toContain("abcd");
      expect(api.endpoints).toHaveLength(0);
      expect((await deliver(port, "/bad", JSON.stringify(EVENT), undefined)).status).toBe(200);
    });
    await api.stop();
  });

  it("creates an endpoint for every event (*) without eventFilter; a create error is logged", async () => {
    const api = await new FakeStripeApi(API_KEY).start();
    await runOnce(api, "/all", {}, async () => {});
    expect(api.endpoints[0]!.enabled_events).toEqual(["*"]);
    api.failNext = {
      status: 400,
      type: "invalid_request_error",
      message: "Invalid URL: must be publicly accessible.",
    };
    await runOnce(api, "/again", {}, async (_port, rec) => {
      expect(rec.logs.text()).toContain(
        "stripe webhook endpoint for https://hooks.example.com/again not registered: Invalid URL: must be publicly accessible.",
      );
    });
    await api.stop();
  });

  it("signingSecret (extension): verifies deliveries to an endpoint made elsewhere, without createWebhook", async () => {
    const port = await freePort();
    const whsec = "whsec_dashboardMadeEndpointSecret0001";
    const rec = webhookHarness({ "stripe/whsec": whsec }, "pay");
    const running = await createStripeAdapter().start(
      [
        {
          eventName: "dash",
          spec: {
            webhook: { port: String(port), endpoint: "/dash", method: "POST" },
            signingSecret: { name: "stripe", key: "whsec" },
          },
        },
      ],
      rec.ctx,
    );
    try {
      expect(rec.logs.text()).not.toContain("not verified");
      const body = JSON.stringify(EVENT);
      expect((await deliver(port, "/dash", body, sign(body, "whsec_someOtherSecret"))).status).toBe(
        403,
      );
      expect((await deliver(port, "/dash", body, undefined)).status).toBe(401);
      expect(rec.emitted).toHaveLength(0);
      expect((await deliver(port, "/dash", body, sign(body, whsec))).status).toBe(200);
      expect(rec.emitted).toHaveLength(1);
      expect(rec.emitted[0]!.id).toBe(EVENT.id);
      expect(rec.logs.text()).not.toContain(whsec);
    } finally {
      await running.stop();
    }
  });

  it("without createWebhook: warns at start that deliveries are not verified, accepts them as Argo", async () => {
    const port = await freePort();
    const rec = webhookHarness({}, "pay");
    const running = await createStripeAdapter().start(
      [
        {
          eventName: "plain",
          spec: { webhook: { port: String(port), endpoint: "/plain", method: "POST" } },
        },
      ],
      rec.ctx,
    );
    try {
      expect(rec.logs.text()).toContain("Stripe deliveries are not verified");
      const body = JSON.stringify(EVENT);
      expect((await deliver(port, "/plain", body, undefined)).status).toBe(200);
      expect(JSON.parse(rec.emitted[0]!.data).event.data.object.amount).toBe(2000);
    } finally {
      await running.stop();
    }
  });
});
