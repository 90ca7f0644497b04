import { createHash, createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventBusError } from "../../../src/errors.js";
import type { AdapterContext } from "../../../src/eventsources/types.js";
import { systemClock } from "../../../src/eventsources/types.js";
import type { WebhookEventSpec } from "../../../src/eventsources/webhook/index.js";
import { buildServer } from "../../../src/eventsources/webhook/runtime.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { realisticJson, runs, timedAsync } from "./support.js";

const HMAC_KEY = "fuzz-hmac-key";
/** A request goes through fastify's whole async pipeline: a looser hang bound than pure code. */
const INJECT_BOUND_MS = 1000;
const TOKEN = "fuzz-token";

function server() {
  const state = { busDown: false, emitted: [] as string[] };
  const ctx: AdapterContext = {
    eventSourceName: "fuzz",
    namespace: "default",
    log: silentLogger(),
    clock: systemClock,
    signal: new AbortController().signal,
    values: { secret: async () => "", configMap: async () => "" },
    emit: async (_name, input) => {
      if (state.busDown) {
        throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "bus down", { retryable: true });
      }
      state.emitted.push(input.data);
      return { id: input.id ?? "generated", status: "published" };
    },
  };
  const spec = (endpoint: string, extra: Partial<WebhookEventSpec> = {}): WebhookEventSpec => ({
    port: "12000",
    endpoint,
    method: "POST",
    ...extra,
  });
  const app = buildServer(
    [
      { eventName: "post", spec: spec("/post", { metadata: { team: "x" } }) },
      { eventName: "get", spec: spec("/get", { method: "GET" }) },
      { eventName: "put", spec: spec("/put", { method: "PUT", maxPayloadSize: 64 }) },
      { eventName: "none", spec: spec("/none", { method: "" }) },
      {
        eventName: "bearer",
        spec: spec("/bearer"),
        authDigest: createHash("sha256").update(TOKEN).digest(),
      },
      {
        eventName: "signed",
        spec: spec("/signed"),
        hmac: {
          key: Buffer.from(HMAC_KEY),
          header: "X-Hub-Signature-256",
          algorithm: "sha256",
          prefix: "sha256=",
        },
      },
    ],
    ctx,
  );
  return { app, state };
}

const jsonText = realisticJson.map((v) => JSON.stringify(v));
const body = fc.oneof(
  { weight: 3, arbitrary: jsonText },
  jsonText.map((t) => t.slice(0, Math.max(0, t.length - 1))),
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    "",
    "a=1&a=2&b=%zz",
    "%",
    "null",
    "1e999",
    '{"a":1}{"b":2}',
    '"\\ud800"',
    "\uFEFF{}",
  ),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  jsonText.map((t) =>
    JSON.stringify({ specversion: "1.0", id: t.slice(0, 300), source: "s", type: "t", data: t }),
  ),
);
const headerValue = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, "")),
  fc.constantFrom(
    "",
    " ",
    "Bearer",
    `Bearer ${TOKEN}`,
    "sha256=",
    `sha256=${"0".repeat(64)}`,
    "1.0",
  ),
);
const headers = fc.record(
  {
    "content-type": fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "application/x-www-form-urlencoded",
      "application/x-www-form-urlencoded; charset=UTF-8",
      "application/cloudevents+json",
      "text/plain",
      "multipart/form-data; boundary=x",
      ";;",
      "",
    ),
    authorization: headerValue,
    "x-hub-signature-256": headerValue,
    "ce-id": headerValue,
    "ce-specversion": headerValue,
    "ce-source": headerValue,
    "x-correlation-id": headerValue,
    traceparent: headerValue,
    "x-random": headerValue,
  },
  { requiredKeys: ["content-type"] },
);
const url = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("/post", "/get", "/put", "/none", "/bearer", "/signed") },
  { weight: 2, arbitrary: fc.constant("/post") },
  fc.constantFrom(
    "/health",
    "/post/",
    "/POST",
    "/unknown",
    "/get?x=1&x=2&y",
    "/get?%zz=1",
    "/get?a=%E0%A4%A",
    "/post?token=1",
    "//post",
    "/post#frag",
  ),
);
const method = fc.oneof(
  { weight: 3, arbitrary: fc.constant("POST") },
  fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
);

describe("fuzz: webhook request handling", () => {
  it("random methods, paths, headers and bodies: never 5xx, except 503 when the bus is down", async () => {
    const { app, state } = server();
    await app.ready();
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        method,
        url,
        headers,
        body,
        fc.boolean(),
        fc.boolean(),
        async (m, u, h, b, busDown, signIt) => {
          state.busDown = busDown;
          const payload = typeof b === "string" ? Buffer.from(b) : b;
          const hs: Record<string, string> = { ...h };
          if (signIt && u === "/signed") {
            hs["x-hub-signature-256"] =
              `sha256=${createHmac("sha256", HMAC_KEY).update(payload).digest("hex")}`;
          }
          const before = state.emitted.length;
          const out = await timedAsync(
            `${m} ${u}`,
            () =>
              app.inject({
                method: m as "GET",
                url: u,
                headers: hs,
                ...(m === "GET" || m === "HEAD" ? {} : { payload }),
              }),
            INJECT_BOUND_MS,
          );
          if (!out.ok) throw out.error;
          const res = out.value;
          if (res.statusCode >= 500) {
            expect(res.statusCode, `${m} ${u}: ${res.body}`).toBe(503);
            expect(busDown).toBe(true);
          }
          if (res.statusCode === 200 && u !== "/health") {
            accepted++;
            expect(state.emitted.length).toBe(before + 1);
            const data = JSON.parse(state.emitted.at(-1)!) as Record<string, unknown>;
            expect(Object.keys(data).slice(0, 2)).toEqual(["header", "body"]);
          } else {
            expect(state.emitted.length).toBe(before);
          }
        },
      ),
      { numRuns: runs(800) },
    );
    // The generators reach the success path too, not only rejections.
    expect(accepted).toBeGreaterThan(10);
    await app.close();
  });
});
