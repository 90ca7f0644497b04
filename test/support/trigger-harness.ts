import { formatExplanation } from "../../src/app/explain.js";
import { combineObservers, metricsObserver } from "../../src/app/observe.js";
import type { DeadLetterRecord } from "../../src/app/sensor-runner.js";
import { SensorRunner } from "../../src/app/sensor-runner.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import type { ValueResolver } from "../../src/config/secrets.js";
import type { SensorManifest, Trigger } from "../../src/config/types.js";
import { MemoryBus } from "../../src/eventbus/memory.js";
import type { Clock } from "../../src/eventsources/types.js";
import { Journal } from "../../src/observability/journal.js";
import { createLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import type { TriggerKind } from "../../src/triggers/types.js";
import { waitUntil } from "./nats-server.js";

/**
 * One trigger firing through the whole Sensor path (SensorRunner on a MemoryBus: rate limit,
 * retryStrategy, dlqTrigger, dead letter) with the real metrics and journal observers, for the
 * integration tests of a trigger kind against its real target.
 */

export interface FiringOutcome {
  /** Firings that succeeded (observer `fired`), with the kind's summary. */
  fired: Array<{ trigger: string; summary: string; detail?: Record<string, unknown> }>;
  /** Failed attempts (observer `failed`), `final` on the last one. */
  failed: Array<{ trigger: string; error: string; final: boolean }>;
  deadLetters: DeadLetterRecord[];
  /** Log lines at warn and above, parsed. */
  logs: Array<Record<string, unknown>>;
  /** `sensorbus explain` text of the event. */
  explain: string;
  /** Value of an Argo-named trigger counter for this trigger (`argo_events_action_*_total`). */
  counter(name: string, trigger: string): Promise<number>;
}

export interface FireOptions {
  triggers: Trigger[];
  kinds: ReadonlyMap<string, TriggerKind<unknown>>;
  event: CloudEvent;
  values?: ValueResolver;
  /** Retry waits; default: end at once (tests count attempts, they do not time them). */
  sleep?: Clock["sleep"];
  /** Done when this holds; default: a firing succeeded or a dead letter was written. */
  done?: (o: FiringOutcome) => boolean;
  timeoutMs?: number;
}

const noValues: ValueResolver = {
  secret: async () => {
    throw new Error("no secrets in this test");
  },
  configMap: async () => {
    throw new Error("no ConfigMaps in this test");
  },
};

export async function fireThroughSensor(opts: FireOptions): Promise<FiringOutcome> {
  const sensor = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "harness", namespace: "default" },
    spec: {
      dependencies: [
        { name: "d", eventSourceName: opts.event.source, eventName: opts.event.subject },
      ],
      triggers: opts.triggers,
    },
  } as unknown as SensorManifest;
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({
    level: "warn",
    stream: {
      write: (line: string) => {
        for (const l of line.split("\n")) if (l) logs.push(JSON.parse(l));
      },
    },
  });
  const metrics = new Metrics("default");
  const journal = new Journal();
  const out: FiringOutcome = {
    fired: [],
    failed: [],
    deadLetters: [],
    logs,
    explain: "",
    counter: async (name, trigger) => {
      const m = await metrics.registry.getSingleMetric(name)?.get();
      return (
        m?.values.find((v) => v.labels.trigger_name === trigger && v.labels.sensor_name)?.value ?? 0
      );
    },
  };
  const clock: Clock = { now: () => Date.now(), sleep: opts.sleep ?? (async () => true) };
  const bus = new MemoryBus();
  const runner = await SensorRunner.create(
    { manifest: sensor, file: "test", doc: 0 },
    {
      bus,
      kinds: opts.kinds,
      values: opts.values ?? noValues,
      clock,
      log,
      observer: combineObservers(metricsObserver(metrics, "default"), journal.observer(), {
        fired: ({ trigger, summary, detail }) =>
          out.fired.push({ trigger, summary, ...(detail ? { detail } : {}) }),
        failed: ({ trigger, error, final }) => out.failed.push({ trigger, error, final }),
      }),
      deadLetter: async (r) => {
        out.deadLetters.push(r);
      },
    },
  );
  await runner.start();
  try {
    journal.recordPublished(opts.event);
    await bus.publish(opts.event);
    const done = opts.done ?? ((o) => o.fired.length > 0 || o.deadLetters.length > 0);
    await waitUntil(() => done(out), "the firing to end", opts.timeoutMs ?? 30_000);
  } finally {
    await runner.stop();
    await bus.close();
  }
  const ev = journal.get(opts.event.id);
  out.explain = ev ? formatExplanation(ev) : "";
  return out;
}
