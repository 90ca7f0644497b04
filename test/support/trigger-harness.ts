import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatExplanation } from "../../src/app/explain.js";
import { combineObservers, metricsObserver } from "../../src/app/observe.js";
import type { DeadLetterRecord } from "../../src/app/sensor-runner.js";
import { SensorRunner } from "../../src/app/sensor-runner.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { dirResolver, type ValueResolver } from "../../src/config/secrets.js";
import type { SensorManifest, Trigger } from "../../src/config/types.js";
import { MemoryBus } from "../../src/eventbus/memory.js";
import type { Clock } from "../../src/eventsources/types.js";
import type { RenderedView } from "../../src/observability/contracts.js";
import { Journal } from "../../src/observability/journal.js";
import { Metrics } from "../../src/observability/metrics.js";
import type { TriggerKind } from "../../src/triggers/types.js";
import { logSink } from "./log-sink.js";
import { waitUntil } from "./nats-server.js";

/**
 * Trigger firings through the whole Sensor path (SensorRunner on a MemoryBus: rate limit,
 * retryStrategy, dlqTrigger, dead letter) with the real metrics and journal observers, for the
 * tests of a trigger kind against its real (or fake) target.
 */

export interface FiringOutcome {
  /** Firings that succeeded (observer `fired`), with the kind's summary and rendered payload. */
  fired: Array<{
    trigger: string;
    summary: string;
    detail?: Record<string, unknown>;
    rendered: RenderedView | undefined;
  }>;
  /** Failed attempts (observer `failed`), `final` on the last one. */
  failed: Array<{ trigger: string; error: string; final: boolean }>;
  deadLetters: DeadLetterRecord[];
  /** Every log line (at `logLevel` and above), parsed. */
  logs: Array<Record<string, unknown>>;
  /** The same lines as written (for "the secret is nowhere" assertions). */
  logText: string;
  /** The waits the runner asked for between attempts, ms (they end at once: nothing is timed). */
  sleeps: number[];
  /** `sensorbus explain` text of the (last) event. */
  explain: string;
  /** Value of an Argo-named trigger counter for this trigger (`argo_events_action_*_total`). */
  counter(name: string, trigger: string): Promise<number>;
}

export interface FireOptions {
  triggers: Trigger[];
  /**
   * The trigger kinds by template key; one kind alone serves the key of the first trigger's
   * template.
   */
  kinds: ReadonlyMap<string, TriggerKind<unknown>> | TriggerKind<unknown>;
  /** Published one after the other, each once the previous firing ended. */
  event?: CloudEvent;
  events?: CloudEvent[];
  /** The Sensor's dependency name (default `d`). */
  dependency?: string;
  values?: ValueResolver;
  /** Secrets (name -> key -> value) read from files as the service does; instead of `values`. */
  secrets?: Record<string, Record<string, string>>;
  /** Retry waits; default: end at once (tests count attempts, they do not time them). */
  sleep?: Clock["sleep"];
  /** Default `debug`. */
  logLevel?: string;
  concurrency?: number;
  /** Done when this holds; default: one more firing succeeded or one more dead letter. */
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

function kindsOf(opts: FireOptions): ReadonlyMap<string, TriggerKind<unknown>> {
  if (!("render" in opts.kinds)) return opts.kinds as ReadonlyMap<string, TriggerKind<unknown>>;
  const template = opts.triggers[0]?.template ?? {};
  const key = Object.keys(template).find((k) => k !== "name") ?? "";
  return new Map([[key, opts.kinds as TriggerKind<unknown>]]);
}

async function secretsDir(secrets: Record<string, Record<string, string>>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sb-trigger-"));
  for (const [name, keys] of Object.entries(secrets)) {
    await mkdir(join(dir, name), { recursive: true });
    for (const [key, value] of Object.entries(keys)) await writeFile(join(dir, name, key), value);
  }
  return dir;
}

export async function fireThroughSensor(opts: FireOptions): Promise<FiringOutcome> {
  const events = opts.events ?? (opts.event ? [opts.event] : []);
  const first = events[0];
  if (!first) throw new Error("fireThroughSensor: no event");
  const sensor = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "harness", namespace: "default" },
    spec: {
      dependencies: [
        { name: opts.dependency ?? "d", eventSourceName: first.source, eventName: first.subject },
      ],
      triggers: opts.triggers,
    },
  } as unknown as SensorManifest;
  const sink = logSink({ level: opts.logLevel ?? "debug", app: true });
  const metrics = new Metrics("default");
  const journal = new Journal();
  const out: FiringOutcome = {
    fired: [],
    failed: [],
    deadLetters: [],
    logs: sink.lines,
    logText: "",
    sleeps: [],
    explain: "",
    counter: async (name, trigger) => {
      const m = await metrics.registry.getSingleMetric(name)?.get();
      return (
        m?.values.find((v) => v.labels.trigger_name === trigger && v.labels.sensor_name)?.value ?? 0
      );
    },
  };
  const clock: Clock = {
    now: () => Date.now(),
    sleep: async (ms, signal) => {
      out.sleeps.push(ms);
      return opts.sleep ? opts.sleep(ms, signal) : true;
    },
  };
  const dir = opts.secrets ? await secretsDir(opts.secrets) : undefined;
  const bus = new MemoryBus();
  try {
    const runner = await SensorRunner.create(
      { manifest: sensor, file: "test", doc: 0 },
      {
        bus,
        kinds: kindsOf(opts),
        values: dir ? dirResolver({ secretsDir: dir }) : (opts.values ?? noValues),
        clock,
        log: sink.log,
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        observer: combineObservers(metricsObserver(metrics, "default"), journal.observer(), {
          fired: ({ trigger, summary, detail, rendered }) =>
            out.fired.push({ trigger, summary, ...(detail ? { detail } : {}), rendered }),
          failed: ({ trigger, error, final }) => out.failed.push({ trigger, error, final }),
        }),
        deadLetter: async (r) => {
          out.deadLetters.push(r);
        },
      },
    );
    await runner.start();
    try {
      for (const event of events) {
        const before = out.fired.length + out.deadLetters.length;
        const done =
          opts.done ?? ((o: FiringOutcome) => o.fired.length + o.deadLetters.length > before);
        journal.recordPublished(event);
        await bus.publish(event);
        await waitUntil(() => done(out), "the firing to end", opts.timeoutMs ?? 30_000);
      }
    } finally {
      await runner.stop();
    }
  } finally {
    await bus.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
  const ev = journal.get(events.at(-1)!.id);
  out.explain = ev ? formatExplanation(ev) : "";
  out.logText = sink.text();
  return out;
}
