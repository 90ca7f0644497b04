import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { ValueResolver } from "../../src/config/secrets.js";
import type { Trigger } from "../../src/config/types.js";
import { TriggerError } from "../../src/errors.js";
import type { CustomTrigger } from "../../src/triggers/custom/index.js";
import { customTrigger } from "../../src/triggers/custom/runtime.js";
import type { TriggerKind } from "../../src/triggers/types.js";
import {
  CustomTriggerServer,
  makeCertificates,
  status,
  type TlsFiles,
} from "../support/custom-trigger-server.js";
import { execContext, firingContext, TRACEPARENT, triggerEvent } from "../support/firing.js";
import { hasOpenssl } from "../support/tls-cert.js";
import { fireThroughSensor } from "../support/trigger-harness.js";

const trigger = (custom: CustomTrigger, extra: Partial<Trigger> = {}): Trigger =>
  ({ template: { name: "t", custom }, ...extra }) as Trigger;

function fire(kind: TriggerKind<unknown>, t: Trigger, values?: ValueResolver) {
  return fireThroughSensor({
    triggers: [t],
    kinds: new Map([["custom", kind]]),
    event: triggerEvent(),
    ...(values ? { values } : {}),
  });
}

const payload = [{ src: { dependencyName: "d", dataKey: "body.size" }, dest: "size" }];

describe("custom trigger against a real gRPC trigger server", () => {
  const server = new CustomTriggerServer();
  let kind: TriggerKind<CustomTrigger>;
  beforeAll(async () => {
    await server.start();
    kind = customTrigger();
  });
  afterAll(async () => {
    await kind.close?.();
    await server.stop();
  });

  it("calls FetchResource(spec YAML) → parameters on the resource → Execute(resource, payload) → ApplyPolicy(response)", async () => {
    server.calls.length = 0;
    server.handlers = {
      // The server answers with the spec it was sent as a JSON resource, plus fields of its own.
      FetchResource: (r) => ({
        resource: Buffer.from(
          JSON.stringify({ ...parseYaml(r.resource!.toString()), metadata: { team: "data" } }),
        ),
      }),
      Execute: () => ({ response: Buffer.from("job/123 created") }),
    };
    const out = await fire(
      kind as TriggerKind<unknown>,
      trigger({
        serverURL: server.target,
        spec: { kind: "Job", image: "busybox:1", replicas: "2" },
        parameters: [{ src: { dependencyName: "d", dataKey: "body.run" }, dest: "metadata.run" }],
        payload,
      }),
    );
    expect(out.deadLetters).toEqual([]);
    expect(server.calls.map((c) => c.method)).toEqual(["FetchResource", "Execute", "ApplyPolicy"]);
    const [fetch, execute, policy] = server.calls;
    // The spec as YAML, keys sorted, "2" kept a string.
    const specText = fetch!.request.resource!.toString();
    expect(specText.split("\n")[0]).toBe("image: busybox:1");
    expect(parseYaml(specText)).toEqual({ kind: "Job", image: "busybox:1", replicas: "2" });
    expect(JSON.parse(execute!.request.resource!.toString())).toEqual({
      kind: "Job",
      image: "busybox:1",
      replicas: "2",
      metadata: { team: "data", run: "r-7" },
    });
    expect(JSON.parse(execute!.request.payload!.toString())).toEqual({ size: "3" });
    expect(policy!.request.request!.toString()).toBe("job/123 created");
    expect(server.calls.every((c) => c.traceparent === TRACEPARENT)).toBe(true);

    expect(out.fired.map((f) => f.summary)).toEqual([
      `custom trigger at ${server.target}: executed; policy succeeded: ok`,
    ]);
    expect(out.fired[0]!.detail).toMatchObject({ policy: { success: true, message: "ok" } });
    expect(await out.counter("argo_events_action_triggered_total", "t")).toBe(1);
    expect(out.explain).toContain("fired     sensor harness, trigger t");
    expect(out.explain).toContain('custom payload: {"size":"3"}');
  });

  it("sends an empty payload when the trigger has no payload list, as Argo does", async () => {
    server.calls.length = 0;
    server.handlers = {};
    const out = await fire(
      kind as TriggerKind<unknown>,
      trigger({ serverURL: server.target, spec: { a: "b" } }),
    );
    expect(out.fired).toHaveLength(1);
    expect(server.calls[1]!.request.payload!.length).toBe(0);
  });

  it("counts ApplyPolicy success=false as done (Argo logs it), and warns with the message", async () => {
    server.calls.length = 0;
    server.handlers = { ApplyPolicy: () => ({ success: false, message: "quota exceeded" }) };
    const out = await fire(
      kind as TriggerKind<unknown>,
      trigger({ serverURL: server.target, spec: { a: "b" }, payload }),
    );
    expect(out.deadLetters).toEqual([]);
    expect(out.failed).toEqual([]);
    expect(out.fired[0]!.summary).toBe(
      `custom trigger at ${server.target}: executed; policy did not succeed: quota exceeded`,
    );
    const warning = out.logs.find((l) => l.msg === "custom trigger policy application result");
    expect(warning).toMatchObject({ success: false, message: "quota exceeded" });
  });

  it("records an Execute error, retries it per retryStrategy and dead-letters it; ApplyPolicy is not called", async () => {
    server.calls.length = 0;
    server.handlers = { Execute: () => status(grpc.status.INTERNAL, "disk full") };
    const out = await fire(
      kind as TriggerKind<unknown>,
      trigger(
        { serverURL: server.target, spec: { a: "b" }, payload },
        { retryStrategy: { steps: 2, duration: "1s" } },
      ),
    );
    expect(out.fired).toEqual([]);
    expect(out.failed.map((f) => f.final)).toEqual([false, true]);
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.error).toBe(
      `failed to execute the custom trigger resource for t at ${server.target}: disk full (gRPC INTERNAL)`,
    );
    expect(server.calls.map((c) => c.method)).toEqual([
      "FetchResource",
      "Execute",
      "FetchResource",
      "Execute",
    ]);
    expect(await out.counter("argo_events_action_failed_total", "t")).toBe(2);
    expect(out.explain).toContain("dead-lettered");
  });

  it("does not retry a status that says the request cannot succeed (INVALID_ARGUMENT)", async () => {
    server.calls.length = 0;
    server.handlers = { Execute: () => status(grpc.status.INVALID_ARGUMENT, "bad resource") };
    const out = await fire(
      kind as TriggerKind<unknown>,
      trigger(
        { serverURL: server.target, spec: { a: "b" } },
        { retryStrategy: { steps: 3, duration: "1s" } },
      ),
    );
    expect(out.failed).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(1);
    expect(out.deadLetters[0]!.error).toContain("bad resource (gRPC INVALID_ARGUMENT)");
  });

  it("refuses parameters on a fetched resource that is not JSON (Argo's rule), without retrying", async () => {
    server.calls.length = 0;
    server.handlers = { FetchResource: () => ({ resource: Buffer.from("kind: Job\n") }) };
    const out = await fire(
      kind as TriggerKind<unknown>,
      trigger(
        {
          serverURL: server.target,
          spec: { a: "b" },
          parameters: [{ src: { dependencyName: "d", dataKey: "body.run" }, dest: "run" }],
        },
        { retryStrategy: { steps: 3, duration: "1s" } },
      ),
    );
    expect(out.deadLetters[0]!.attempts).toBe(1);
    expect(out.deadLetters[0]!.error).toBe(
      `fetched resource body is not valid JSON for trigger t (from ${server.target})`,
    );
    expect(server.calls.map((c) => c.method)).toEqual(["FetchResource"]);
  });

  it("hands a final failure to the dlqTrigger", async () => {
    server.calls.length = 0;
    server.handlers = {
      Execute: (r) =>
        r.payload!.length === 0
          ? status(grpc.status.FAILED_PRECONDITION, "primary refused")
          : { response: Buffer.from("dlq handled") },
    };
    const out = await fire(
      kind as TriggerKind<unknown>,
      trigger(
        { serverURL: server.target, spec: { a: "b" } },
        {
          dlqTrigger: {
            template: {
              name: "t-dlq",
              custom: { serverURL: server.target, spec: { dlq: "yes" }, payload },
            },
          } as Trigger,
        },
      ),
    );
    expect(out.deadLetters).toEqual([]);
    expect(out.fired.map((f) => f.trigger)).toEqual(["t-dlq"]);
    expect(parseYaml(server.calls[2]!.request.resource!.toString())).toEqual({ dlq: "yes" });
  });
});

describe("custom trigger with the server down", () => {
  it("execute throws a retryable SB_ERR_TRIGGER_GRPC naming the call, the trigger and the server", async () => {
    const server = new CustomTriggerServer();
    await server.start();
    const port = server.port;
    await server.stop();
    const kind = customTrigger();
    try {
      const rendered = await kind.render(
        { serverURL: `127.0.0.1:${port}`, spec: { a: "b" } },
        firingContext(triggerEvent()),
      );
      const err = await kind.execute(rendered, execContext()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TriggerError);
      expect((err as TriggerError).code).toBe("SB_ERR_TRIGGER_GRPC");
      expect((err as TriggerError).retryable).toBe(true);
      expect((err as Error).message).toContain(
        `failed to fetch the custom trigger resource for t at 127.0.0.1:${port}`,
      );
    } finally {
      await kind.close?.();
    }
  });

  it("retries per retryStrategy, dead-letters, and reaches the server once it is back", async () => {
    const server = new CustomTriggerServer();
    await server.start();
    const port = server.port;
    await server.stop();
    const kind = customTrigger();
    try {
      const down = await fire(
        kind as TriggerKind<unknown>,
        trigger(
          { serverURL: `127.0.0.1:${port}`, spec: { a: "b" } },
          { retryStrategy: { steps: 3, duration: "1s" } },
        ),
      );
      expect(down.fired).toEqual([]);
      expect(down.failed.map((f) => f.final)).toEqual([false, false, true]);
      expect(down.deadLetters).toHaveLength(1);
      expect(down.deadLetters[0]!.attempts).toBe(3);
      expect(down.deadLetters[0]!.error).toMatch(
        new RegExp(
          `^failed to fetch the custom trigger resource for t at 127\\.0\\.0\\.1:${port}: .*\\(gRPC UNAVAILABLE\\)$`,
        ),
      );
      expect(await down.counter("argo_events_action_failed_total", "t")).toBe(3);

      await server.start(undefined, port);
      const back = await fire(
        kind as TriggerKind<unknown>,
        trigger(
          { serverURL: `127.0.0.1:${port}`, spec: { a: "b" } },
          { retryStrategy: { steps: 20, duration: "1s" } },
        ),
      );
      expect(back.fired).toHaveLength(1);
      expect(server.calls.map((c) => c.method)).toEqual([
        "FetchResource",
        "Execute",
        "ApplyPolicy",
      ]);
    } finally {
      await kind.close?.();
      await server.stop();
    }
  });
});

const haveOpenssl = hasOpenssl();
if (!haveOpenssl) {
  process.stderr.write(
    "\n*** custom-trigger.int.test.ts: `openssl` is not on PATH: the TLS tests are SKIPPED ***\n\n",
  );
}

describe.runIf(haveOpenssl)(
  "custom trigger over TLS (secure, certSecret, serverNameOverride)",
  () => {
    const server = new CustomTriggerServer();
    let certs: TlsFiles & { otherCa: string };
    let kind: TriggerKind<CustomTrigger>;
    const certSecret = { name: "trigger-ca", key: "ca.crt" };
    const valuesWith = (ca: string): ValueResolver => ({
      secret: async (ref) => {
        if (ref.name !== certSecret.name || ref.key !== certSecret.key) throw new Error("no such");
        return ca;
      },
      configMap: async () => {
        throw new Error("no ConfigMaps");
      },
    });
    const tlsTrigger = (extra: Partial<CustomTrigger>) =>
      trigger({ serverURL: server.target, secure: true, certSecret, spec: { a: "b" }, ...extra });
    beforeAll(async () => {
      certs = await makeCertificates("trigger.internal");
      await server.start(certs);
      kind = customTrigger();
    });
    afterAll(async () => {
      await kind.close?.();
      await server.stop();
    });

    it("verifies the server against the CA in certSecret, under serverNameOverride", async () => {
      server.calls.length = 0;
      const out = await fire(
        kind as TriggerKind<unknown>,
        tlsTrigger({ serverNameOverride: "trigger.internal" }),
        valuesWith(certs.ca),
      );
      expect(out.deadLetters).toEqual([]);
      expect(server.calls.map((c) => c.method)).toEqual([
        "FetchResource",
        "Execute",
        "ApplyPolicy",
      ]);
    });

    it("refuses a server whose certificate another CA signed", async () => {
      server.calls.length = 0;
      const out = await fire(
        kind as TriggerKind<unknown>,
        tlsTrigger({ serverNameOverride: "trigger.internal" }),
        valuesWith(certs.otherCa),
      );
      expect(out.deadLetters[0]!.error).toContain("(gRPC UNAVAILABLE)");
      expect(server.calls).toEqual([]);
    });

    it("refuses the certificate when the name checked is not in it (no serverNameOverride)", async () => {
      server.calls.length = 0;
      const out = await fire(kind as TriggerKind<unknown>, tlsTrigger({}), valuesWith(certs.ca));
      expect(out.deadLetters[0]!.error).toContain("(gRPC UNAVAILABLE)");
      expect(server.calls).toEqual([]);
    });

    it("does not speak plaintext to the TLS server when secure is false", async () => {
      server.calls.length = 0;
      const out = await fire(
        kind as TriggerKind<unknown>,
        trigger({ serverURL: server.target, spec: { a: "b" } }),
      );
      expect(out.deadLetters).toHaveLength(1);
      expect(out.deadLetters[0]!.error).toContain(
        "failed to fetch the custom trigger resource for t",
      );
      expect(server.calls).toEqual([]);
    });
  },
);
