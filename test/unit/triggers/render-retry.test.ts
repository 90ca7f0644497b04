import { describe, expect, it, vi } from "vitest";
import type { DeadLetterRecord } from "../../../src/app/sensor-runner.js";
import { SensorRunner } from "../../../src/app/sensor-runner.js";
import type { CloudEvent } from "../../../src/cloudevents/event.js";
import { dirResolver } from "../../../src/config/secrets.js";
import type { SensorManifest } from "../../../src/config/types.js";
import { EventsError, TriggerError } from "../../../src/errors.js";
import { MemoryBus } from "../../../src/eventbus/memory.js";
import type { Clock } from "../../../src/eventsources/types.js";
import type { Logger } from "../../../src/observability/logger.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { isRetryableFailure, renderFiring } from "../../../src/triggers/fire.js";
import type { TriggerKind } from "../../../src/triggers/types.js";
import { logSink } from "../../support/log-sink.js";

// Retry waits end at once: the test counts attempts, it does not time them.
const clock: Clock = { now: () => Date.parse("2026-01-01T00:00:00Z"), sleep: async () => true };

const sensor: SensorManifest = {
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Sensor",
  metadata: { name: "render-retry" },
  spec: {
    dependencies: [{ name: "dep", eventSourceName: "src", eventName: "ev" }],
    triggers: [
      {
        template: { name: "t", log: {} },
        retryStrategy: { steps: 3, duration: "1s" },
      },
    ],
  },
};

const event: CloudEvent = {
  specversion: "1.0",
  id: "e1",
  source: "src",
  subject: "ev",
  type: "webhook",
  time: "2026-01-01T00:00:00Z",
  datacontenttype: "application/json",
  data: JSON.stringify({ body: { n: 1 } }),
};

/** Runs one firing through a SensorRunner; returns the calls made and the dead letter written. */
async function fireOnce(kind: TriggerKind<unknown>, log: Logger = silentLogger()) {
  const bus = new MemoryBus();
  const dead: DeadLetterRecord[] = [];
  const runner = await SensorRunner.create(
    { manifest: sensor, file: "test", doc: 0 },
    {
      bus,
      kinds: new Map([["log", kind]]),
      values: dirResolver({}),
      clock,
      log,
      deadLetter: async (r) => {
        dead.push(r);
      },
    },
  );
  await runner.start();
  await bus.publish(event);
  await vi.waitFor(() => expect(dead).toHaveLength(1));
  await runner.stop();
  await bus.close();
  return dead[0]!;
}

describe("retry decision for trigger failures", () => {
  it("does not retry a deterministic render failure (an untyped error thrown while rendering)", async () => {
    let renders = 0;
    const kind: TriggerKind<unknown> = {
      kind: "log",
      render: async (_t, ctx) => {
        renders++;
        // A render that cannot succeed for these events: the same input fails the same way.
        JSON.parse(ctx.applyParameters("{not json", []));
        return { kind: "log" };
      },
      execute: async () => ({ summary: "never" }),
    };
    const dead = await fireOnce(kind);
    expect(renders).toBe(1);
    expect(dead.attempts).toBe(1);
    expect(dead.error).toMatch(/trigger 't' could not be rendered: .*JSON/);
  });

  it("logs the failure with its error object: code, stack and cause", async () => {
    const { log, lines } = logSink({ level: "warn", app: true });
    const kind: TriggerKind<unknown> = {
      kind: "log",
      render: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'spec')");
      },
      execute: async () => ({ summary: "never" }),
    };
    await fireOnce(kind, log);
    const failed = lines.find((l) => l.msg === "trigger 't' failed");
    const err = failed?.err as Record<string, unknown> | undefined;
    expect(err?.code).toBe("SB_ERR_TRIGGER_RENDER");
    expect(String(err?.stack)).toMatch(
      /^TriggerError: trigger 't' could not be rendered: .*\n\s+at /,
    );
    expect(String(err?.stack)).toContain(
      "caused by: TypeError: Cannot read properties of undefined",
    );
  });

  it("retries a render failure the renderer marks retryable (e.g. a source URL that did not answer)", async () => {
    let renders = 0;
    const kind: TriggerKind<unknown> = {
      kind: "log",
      render: async () => {
        renders++;
        throw new TriggerError("SB_ERR_TRIGGER_SOURCE", "GET http://x/: ECONNREFUSED", {
          retryable: true,
        });
      },
      execute: async () => ({ summary: "never" }),
    };
    const dead = await fireOnce(kind);
    expect(renders).toBe(3);
    expect(dead.attempts).toBe(3);
  });

  it("still retries an untyped failure while executing (as Argo retries every execution failure)", async () => {
    let executions = 0;
    const kind: TriggerKind<unknown> = {
      kind: "log",
      render: async () => ({ kind: "log" }),
      execute: async () => {
        executions++;
        throw new Error("socket hang up");
      },
    };
    const dead = await fireOnce(kind);
    expect(executions).toBe(3);
    expect(dead.attempts).toBe(3);
  });
});

describe("renderFiring", () => {
  const input = (kind: TriggerKind<unknown>) => ({
    sensorName: "s",
    namespace: "default",
    trigger: sensor.spec.triggers[0]!,
    events: new Map([["dep", event]]),
    kinds: new Map([["log", kind]]),
    values: dirResolver({}),
    log: silentLogger(),
    now: () => 0,
  });

  it("types every render failure: untyped errors become SB_ERR_TRIGGER_RENDER, not retryable, with the cause kept", async () => {
    const cause = new TypeError("Cannot read properties of undefined (reading 'x')");
    const err = await renderFiring(
      input({
        kind: "log",
        render: async () => {
          throw cause;
        },
        execute: async () => ({ summary: "" }),
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TriggerError);
    expect((err as TriggerError).code).toBe("SB_ERR_TRIGGER_RENDER");
    expect((err as TriggerError).retryable).toBe(false);
    expect((err as TriggerError).cause).toBe(cause);
    expect(isRetryableFailure(err)).toBe(false);
  });

  it("passes typed render errors through with their own code and retryable flag", async () => {
    const own = new EventsError(
      "SB_ERR_PARAM_UNRESOLVED",
      "unable to resolve 'dep' parameter value",
    );
    const err = await renderFiring(
      input({
        kind: "log",
        render: async () => {
          throw own;
        },
        execute: async () => ({ summary: "" }),
      }),
    ).catch((e: unknown) => e);
    expect(err).toBe(own);
    expect(isRetryableFailure(err)).toBe(false);
  });
});
