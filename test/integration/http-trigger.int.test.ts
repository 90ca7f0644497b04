import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { TriggerError } from "../../src/errors.js";
import { silentLogger } from "../../src/observability/logger.js";
import type { HttpTrigger } from "../../src/triggers/http/index.js";
import { httpTrigger } from "../../src/triggers/http/runtime.js";
import { firingContext } from "../support/firing.js";
import { HttpSink } from "../support/http-sink.js";

const event: CloudEvent = {
  specversion: "1.0",
  id: "e-1",
  source: "webhook",
  subject: "done",
  type: "webhook",
  time: "2026-11-24T10:00:00Z",
  datacontenttype: "application/json",
  data: JSON.stringify({ body: { correlation_id: "c-7" } }),
};

const firing = () => firingContext(event);

const exec = (signal = new AbortController().signal) => ({
  log: silentLogger(),
  signal,
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
});

describe("http trigger kind against real listeners", () => {
  const sink = new HttpSink();
  let silent: Server;
  let silentUrl = "";
  beforeAll(async () => {
    await sink.start();
    // Accepts connections and requests, never answers.
    silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await sink.stop();
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  it("POSTs the payload built from the event with headers and the traceparent", async () => {
    const kind = httpTrigger();
    const template: HttpTrigger = {
      url: `${sink.url}/hook`,
      method: "POST",
      headers: { "X-Team": "data" },
      payload: [{ src: { dependencyName: "d", dataKey: "body.correlation_id" }, dest: "id" }],
    };
    const rendered = await kind.render(template, firing());
    const result = await kind.execute(rendered, exec());
    expect(result.summary).toBe(`POST ${sink.url}/hook -> 200`);
    const req = sink.requests.at(-1)!;
    expect(JSON.parse(req.body)).toEqual({ id: "c-7" });
    expect(req.headers["x-team"]).toBe("data");
    expect(req.headers.traceparent).toBe(exec().traceparent);
    await kind.close?.();
  });

  it("applies kind-level parameters to the http object (url from the event)", async () => {
    const kind = httpTrigger();
    const template: HttpTrigger = {
      url: `${sink.url}/placeholder`,
      method: "POST",
      parameters: [
        {
          src: { dependencyName: "d", dataKey: "body.correlation_id" },
          dest: "url",
          operation: "append",
        },
      ],
    };
    const rendered = await kind.render(template, firing());
    expect(rendered.request?.url).toBe(`${sink.url}/placeholderc-7`);
    expect(template.url).toBe(`${sink.url}/placeholder`); // the template is not modified
    await kind.close?.();
  });

  it("fails with a retryable transport error when the target does not answer within timeout", async () => {
    const kind = httpTrigger();
    const rendered = await kind.render(
      { url: `${silentUrl}/slow`, method: "POST", timeout: 1 },
      firing(),
    );
    const started = performance.now();
    const err = await kind.execute(rendered, exec()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TriggerError);
    expect((err as TriggerError).code).toBe("SB_ERR_TRIGGER_HTTP_TRANSPORT");
    expect((err as TriggerError).retryable).toBe(true);
    expect((err as Error).message).toContain(`POST ${silentUrl}/slow`);
    // Bounded by the 1 s timeout, not by undici's 300 s default.
    expect(performance.now() - started).toBeLessThan(10_000);
    await kind.close?.();
  });

  it("ends an in-flight request when the sensor aborts (drain timeout)", async () => {
    const kind = httpTrigger();
    const rendered = await kind.render({ url: `${silentUrl}/slow`, method: "POST" }, firing());
    const abort = new AbortController();
    const pending = kind.execute(rendered, exec(abort.signal)).catch((e: unknown) => e);
    abort.abort();
    const err = await pending;
    expect((err as TriggerError).code).toBe("SB_ERR_TRIGGER_HTTP_TRANSPORT");
    await kind.close?.();
  });
});
