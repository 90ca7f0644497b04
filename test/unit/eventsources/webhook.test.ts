import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { WebhookEventSpec } from "../../../src/config/types.js";
import { EventBusError } from "../../../src/errors.js";
import type { AdapterContext, EmitInput } from "../../../src/eventsources/types.js";
import { systemClock } from "../../../src/eventsources/types.js";
import { buildServer } from "../../../src/eventsources/webhook.js";
import { silentLogger } from "../../../src/observability/logger.js";

function harness(
  spec: Partial<WebhookEventSpec> = {},
  opts: { fail?: Error; token?: string } = {},
) {
  const emitted: Array<{ eventName: string; input: EmitInput }> = [];
  const ctx: AdapterContext = {
    eventSourceName: "webhook",
    namespace: "default",
    log: silentLogger(),
    clock: systemClock,
    signal: new AbortController().signal,
    values: {
      secret: async () => "s3cret",
      configMap: async () => "",
    },
    emit: async (eventName, input) => {
      if (opts.fail) throw opts.fail;
      emitted.push({ eventName, input });
      return { id: input.id ?? "generated-id", status: "published" };
    },
  };
  const full: WebhookEventSpec = { port: "12000", endpoint: "/example", method: "POST", ...spec };
  const route = {
    eventName: "example",
    spec: full,
    ...(opts.token ? { authDigest: createHash("sha256").update(opts.token).digest() } : {}),
  };
  return { app: buildServer([route], ctx), emitted };
}

/** POST {} as JSON to /example. */
function postEmpty(app: ReturnType<typeof harness>["app"]) {
  return app.inject({
    method: "POST",
    url: "/example",
    payload: "{}",
    headers: { "content-type": "application/json" },
  });
}

describe("webhook EventSource", () => {
  it("builds Argo's payload: canonical headers, compact body, metadata; answers with the event id", async () => {
    const { app, emitted } = harness({ metadata: { team: "pay" } });
    const res = await app.inject({
      method: "POST",
      url: "/example",
      headers: { "content-type": "application/json", "x-correlation-id": "c-77" },
      payload: '{ "orderId": 42, "note": "<b>&" }',
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe("success");
    expect(res.headers["x-event-id"]).toBe("generated-id");
    expect(emitted).toHaveLength(1);
    const data = emitted[0]!.input.data;
    expect(data).toMatch(/^\{"header":\{/);
    expect(data).toContain('"Content-Type":["application/json"]');
    expect(data).toContain('"X-Correlation-Id":["c-77"]');
    expect(data).not.toContain('"Host"');
    expect(data).toContain(
      ',"body":{"orderId":42,"note":"\\u003cb\\u003e\\u0026"},"metadata":{"team":"pay"}}',
    );
    expect(emitted[0]!.input.extensions).toEqual({ correlationid: "c-77" });
  });

  // Issue 19: the id is taken only from an authenticated sender (a bearer route here); the
  // unauthenticated case is in webhook-ids.test.ts.
  it("takes the id, source, type and traceparent of an inbound binary-mode CloudEvent", async () => {
    const { app, emitted } = harness({}, { token: "s3cret" });
    await app.inject({
      method: "POST",
      url: "/example",
      headers: {
        authorization: "Bearer s3cret",
        "content-type": "application/json",
        "ce-id": "evt-1",
        "ce-specversion": "1.0",
        "ce-source": "ci/system",
        "ce-type": "build.done",
        "ce-correlationid": "corr-9",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      },
      payload: "{}",
    });
    expect(emitted[0]!.input.id).toBe("evt-1");
    expect(emitted[0]!.input.extensions).toEqual({
      originsource: "ci/system",
      origintype: "build.done",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      correlationid: "corr-9",
    });
  });

  it("turns a GET query into arrays and a form POST into fields", async () => {
    const get = harness({ method: "GET" });
    await get.app.inject({ method: "GET", url: "/example?a=1&a=2&b=x" });
    expect(get.emitted[0]!.input.data).toContain('"body":{"a":["1","2"],"b":["x"]}');
    const form = harness();
    await form.app.inject({
      method: "POST",
      url: "/example",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "name=build&status=ok",
    });
    expect(form.emitted[0]!.input.data).toContain('"body":{"name":["build"],"status":["ok"]}');
  });

  it.each([
    [
      "invalid JSON",
      { payload: "{oops", headers: { "content-type": "application/json" } },
      400,
      /invalid JSON body/,
    ],
    [
      "empty body",
      { payload: "", headers: { "content-type": "application/json" } },
      400,
      /unexpected end of JSON input/,
    ],
    ["wrong method", { method: "PUT" as const, payload: "{}" }, 405, /not allowed/],
    ["unknown path", { url: "/nope", payload: "{}" }, 404, /./],
  ])("answers %s with %i", async (_name, req, status, body) => {
    const { app, emitted } = harness();
    const res = await app.inject({ method: "POST", url: "/example", ...req });
    expect(res.statusCode).toBe(status);
    expect(res.body).toMatch(body);
    expect(emitted).toHaveLength(0);
  });

  it("answers 413 over maxPayloadSize", async () => {
    const { app, emitted } = harness({ maxPayloadSize: 16 });
    const res = await app.inject({
      method: "POST",
      url: "/example",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ big: "x".repeat(64) }),
    });
    expect(res.statusCode).toBe(413);
    expect(emitted).toHaveLength(0);
  });

  it("answers 503 when the bus did not store the event", async () => {
    const { app } = harness(
      {},
      { fail: new EventBusError("SB_ERR_BUS_UNAVAILABLE", "nats: disconnected") },
    );
    const res = await postEmpty(app);
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain("nats: disconnected");
    expect(res.body).not.toContain("may have been stored");
    expect(res.headers["x-event-id"]).toBeUndefined();
  });

  it("says a 503 may still have been stored when the bus did not answer in time", async () => {
    const fail = new EventBusError("SB_ERR_BUS_UNAVAILABLE", "no acknowledgement within 5000 ms", {
      maybeStored: true,
    });
    // Issue 19: without authentication the sender's ce-id is not the event id, so a retry is new.
    const open = await postEmpty(harness({}, { fail }).app);
    expect(open.body).toBe(
      "failed to record event: no acknowledgement within 5000 ms; it may have been stored all the same (this request's id was minted here: a retry is a new event)",
    );
    const { app } = harness({}, { fail, token: "s3cret" });
    const res = await app.inject({
      method: "POST",
      url: "/example",
      payload: "{}",
      headers: {
        authorization: "Bearer s3cret",
        "content-type": "application/json",
        "ce-id": "retry-1",
        "ce-specversion": "1.0",
      },
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("1");
    expect(res.body).toBe(
      "failed to record event: no acknowledgement within 5000 ms; it may have been stored all the same: a retry with the same ce-id is stored once",
    );
  });

  it("checks bearer tokens and masks Authorization in the payload", async () => {
    const { app, emitted } = harness({}, { token: "s3cret" });
    const none = await app.inject({ method: "POST", url: "/example", payload: "{}" });
    expect(none.statusCode).toBe(401);
    expect(none.body).toBe("Invalid Authorization Header");
    const wrong = await app.inject({
      method: "POST",
      url: "/example",
      payload: "{}",
      headers: { authorization: "Bearer nope" },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toBe("Invalid Auth token");
    const ok = await app.inject({
      method: "POST",
      url: "/example",
      payload: "{}",
      headers: { authorization: "Bearer s3cret", "content-type": "application/json" },
    });
    expect(ok.statusCode).toBe(200);
    expect(emitted[0]!.input.data).toContain('"Authorization":["*** Masked Auth Secret ***"]');
    expect(emitted[0]!.input.data).not.toContain("s3cret");
  });

  it("serves /health", async () => {
    const { app } = harness();
    const res = await app.inject({ method: "GET", url: "/health" });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe("OK");
  });
});
