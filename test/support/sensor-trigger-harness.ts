import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vi } from "vitest";
import { type DeadLetterRecord, SensorRunner } from "../../src/app/sensor-runner.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { SensorManifest, Trigger } from "../../src/config/types.js";
import { MemoryBus } from "../../src/eventbus/memory.js";
import type { Clock } from "../../src/eventsources/types.js";
import type { RenderedView } from "../../src/observability/contracts.js";
import { createLogger, silentLogger } from "../../src/observability/logger.js";
import { applyParameters } from "../../src/triggers/params.js";
import type { FiringContext, TriggerKind } from "../../src/triggers/types.js";

export interface FiringOutcome {
  /** Results of successful firings (`summary`, rendered payload). */
  fired: Array<{ summary: string; rendered: RenderedView | undefined }>;
  /** Every failed attempt, with whether it was the last. */
  failed: Array<{ error: string; final: boolean }>;
  dead: DeadLetterRecord[];
  /** Every log line written while the Sensor ran (JSON text). */
  logs: string[];
  /** The waits the runner asked for between attempts, ms (they end at once: nothing is timed). */
  sleeps: number[];
}

/**
 * Runs one Sensor (dependency `dep` on EventSource `src`, event `ev`) with `trigger` executed by
 * the real trigger `kind` (or the kinds of a map, by key: a dlqTrigger of another kind) on an
 * in-memory bus, Secrets read from `secrets` (name -> key -> value)
 * as files. Publishes `bodies` as webhook events (one firing each, in order) and returns once each
 * firing has succeeded or been dead-lettered.
 */
export async function fireSensor(
  kind: TriggerKind<unknown> | ReadonlyMap<string, TriggerKind<unknown>>,
  trigger: Trigger,
  bodies: unknown[],
  secrets: Record<string, Record<string, string>> = {},
): Promise<FiringOutcome> {
  const dir = await mkdtemp(join(tmpdir(), "sb-trigger-"));
  for (const [name, keys] of Object.entries(secrets)) {
    await mkdir(join(dir, name), { recursive: true });
    for (const [key, value] of Object.entries(keys)) await writeFile(join(dir, name, key), value);
  }
  const out: FiringOutcome = { fired: [], failed: [], dead: [], logs: [], sleeps: [] };
  const clock: Clock = {
    now: () => Date.now(),
    sleep: async (ms) => {
      out.sleeps.push(ms);
      return true;
    },
  };
  const log = createLogger({
    level: "debug",
    stream: { write: (line: string) => void out.logs.push(line) },
  });
  const sensor: SensorManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "notify", namespace: "default" },
    spec: {
      dependencies: [{ name: "dep", eventSourceName: "src", eventName: "ev" }],
      triggers: [trigger],
    },
  };
  const bus = new MemoryBus();
  const key = Object.keys(trigger.template ?? {}).find((k) => k !== "name") ?? "";
  const runner = await SensorRunner.create(
    { manifest: sensor, file: "test", doc: 0 },
    {
      bus,
      kinds: "render" in kind ? new Map([[key, kind as TriggerKind<unknown>]]) : kind,
      values: dirResolver({ secretsDir: dir }),
      clock,
      log,
      concurrency: 1,
      observer: {
        fired: (f) => void out.fired.push({ summary: f.summary, rendered: f.rendered }),
        failed: (f) => void out.failed.push({ error: f.error, final: f.final }),
      },
      deadLetter: async (r) => void out.dead.push(r),
    },
  );
  await runner.start();
  try {
    for (const [i, body] of bodies.entries()) {
      const before = out.fired.length + out.dead.length;
      await bus.publish(webhookEvent(`e-${i}-${Math.random().toString(36).slice(2)}`, body));
      await vi.waitFor(() => {
        if (out.fired.length + out.dead.length <= before) throw new Error("firing not done");
      }, 20_000);
    }
  } finally {
    await runner.stop();
    await bus.close();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

export function webhookEvent(id: string, body: unknown): CloudEvent {
  return {
    specversion: "1.0",
    id,
    source: "src",
    subject: "ev",
    type: "webhook",
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: JSON.stringify({ header: {}, body }),
  };
}

/**
 * A FiringContext for rendering one trigger directly (without a Sensor): one event `dep` with
 * `body`, every Secret read as `secret`.
 */
export function firingContext(body: unknown = {}, secret = ""): FiringContext {
  const events = new Map([["dep", webhookEvent("e-direct", body)]]);
  return {
    sensorName: "s",
    namespace: "default",
    triggerName: "t",
    events,
    applyParameters: (doc, params) => applyParameters(doc, params, events),
    values: { secret: async () => secret, configMap: async () => "" },
    log: silentLogger(),
    now: () => 0,
  };
}

/** What `execute` gets: a quiet logger and a signal that is never aborted. */
export const execContext = () => ({ log: silentLogger(), signal: new AbortController().signal });
