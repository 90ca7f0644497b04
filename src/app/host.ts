import type { ValueResolver } from "../config/secrets.js";
import type { EventSourceManifest, Loaded, Manifest, SensorManifest } from "../config/types.js";
import { errorMessage, StoppingError } from "../errors.js";
import { durableName } from "../eventbus/subjects.js";
import type { EventBus } from "../eventbus/types.js";
import { adapterRegistry } from "../eventsources/registry.js";
import type { Clock, EventSourceAdapter } from "../eventsources/types.js";
import { systemClock } from "../eventsources/types.js";
import type { KubeClient } from "../k8s/client.js";
import { clientFor, type KubeAccess } from "../k8s/scope.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics, SourceConnection } from "../observability/metrics.js";
import { closeTriggers, triggerRegistry, withKubeClient } from "../triggers/registry.js";
import type { TriggerKind } from "../triggers/types.js";
import type { EventSourceRunnerOptions } from "./eventsource-runner.js";
import { EventSourceRunner } from "./eventsource-runner.js";
import { KvTickStore } from "./kv-tick-store.js";
import { combineObservers, emitReporter, metricsObserver } from "./observe.js";
import type { DeadLetterRecord, SensorObserver } from "./sensor-runner.js";
import { SensorRunner } from "./sensor-runner.js";

export type ManifestKind = Manifest["kind"];

/** After a drain timeout, how long interrupted firings get to hand their messages back. */
const INTERRUPT_GRACE_MS = 2_000;

/**
 * Runs manifests in-process, one at a time per name and kind. The controller (and file-mode
 * reload) call it with the desired state; it owns the runners.
 *
 * Implementations must:
 * - make `apply` idempotent per (kind, name): applying a new version replaces the running one
 *   (stop, then start: webhook ports are reused), applying the first version starts it;
 * - leave no half-started runner behind when `apply` rejects, and try to bring the previous
 *   version back (so a bad update does not stop a working EventSource or Sensor);
 * - never lose bus messages on replace: a Sensor's durable subscriptions keep their name, so
 *   messages published while it restarts are delivered to the new version;
 * - resolve `remove` for names that are not running.
 */
export interface ManifestHost {
  apply(loaded: Loaded<Manifest>): Promise<void>;
  remove(kind: ManifestKind, name: string): Promise<void>;
  /** Whether a version of (kind, name) is running now. */
  isRunning?(kind: ManifestKind, name: string): boolean;
  /** Stops everything (EventSources first, then Sensors) within `timeoutMs`. */
  close?(timeoutMs?: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The host over EventSourceRunner and SensorRunner

export interface RunnerHostOptions {
  bus: EventBus;
  /** Close the bus in `close()` (default false: the caller owns it). */
  ownsBus?: boolean;
  kube: KubeClient | undefined;
  /**
   * Per-manifest identity and lane (controller mode; `--impersonate` / `--confine-triggers` in
   * run): each Sensor's triggers and each EventSource call Kubernetes as the object's service
   * account, and Sensors' triggers stay in their namespace. undefined: everything as `kube`.
   */
  kubeAccess?: KubeAccess;
  dryRun: boolean;
  values: ValueResolver;
  log: Logger;
  clock?: Clock;
  concurrency?: number;
  extraAdapters?: readonly EventSourceAdapter<never>[];
  observer?: SensorObserver;
  /** Observes every EventSource publish attempt (journal, tracing), besides the metrics. */
  onEmit?: EventSourceRunnerOptions["onEmit"];
  /** Starts each event's receive span (tracing); see EventSourceRunnerOptions. */
  startReceive?: EventSourceRunnerOptions["startReceive"];
  metrics?: Metrics;
  /**
   * Where a firing that failed for good goes when its trigger has no (or a failing) dlqTrigger.
   * Default: the bus's dead-letter store (`sensorbus deadletters`); a rejection leaves the bus
   * message unacknowledged, so it is redelivered instead of lost.
   */
  deadLetter?: (record: DeadLetterRecord) => Promise<void>;
  /**
   * Called in `close()` once every runner has stopped, before the bus closes: where observers
   * write what they buffered (the journal's last entries).
   */
  onDrained?: () => Promise<void>;
}

/**
 * {@link ManifestHost} over the runners `sensorbus run` uses: one trigger registry (connection
 * pools) and adapter registry shared by every manifest, one bus.
 */
export class RunnerHost implements ManifestHost {
  readonly eventSources = new Map<string, EventSourceRunner>();
  readonly sensors = new Map<string, SensorRunner>();
  private readonly kinds: ReadonlyMap<string, TriggerKind<unknown>>;
  private readonly adapters: ReadonlyMap<string, EventSourceAdapter<unknown>>;
  private readonly tickStore: KvTickStore | undefined;
  private readonly clock: Clock;
  private closed = false;

  constructor(private readonly options: RunnerHostOptions) {
    this.kinds = triggerRegistry({ kube: options.kube, dryRun: options.dryRun, log: options.log });
    const kube = options.kube;
    this.tickStore = options.bus.capabilities.durableKv ? new KvTickStore(options.bus) : undefined;
    this.adapters = this.adaptersWith(kube);
    this.clock = options.clock ?? systemClock;
  }

  private adaptersWith(
    kube: KubeClient | undefined,
  ): ReadonlyMap<string, EventSourceAdapter<unknown>> {
    return adapterRegistry({
      kube: () => kube,
      ...(this.tickStore ? { tickStore: this.tickStore } : {}),
      ...(this.options.extraAdapters ? { extra: this.options.extraAdapters } : {}),
    });
  }

  /** The client calls made for `m` use: its service account, its lane (see `kubeAccess`). */
  private kubeFor(m: Manifest): KubeClient | undefined {
    const { kube, kubeAccess } = this.options;
    if (!kube || !kubeAccess || (!kubeAccess.impersonate && !kubeAccess.confine)) return kube;
    return clientFor(kube, kubeAccess, {
      kind: m.kind,
      namespace: this.namespaceOf(m),
      name: m.metadata.name,
      spec: m.spec,
    });
  }

  isRunning(kind: ManifestKind, name: string): boolean {
    return kind === "EventSource" ? this.eventSources.has(name) : this.sensors.has(name);
  }

  async apply(loaded: Loaded<Manifest>): Promise<void> {
    if (this.closed) throw new StoppingError("the runner host is closed");
    if (loaded.manifest.kind === "EventSource") {
      await this.applyEventSource(loaded as Loaded<EventSourceManifest>);
    } else {
      await this.applySensor(loaded as Loaded<SensorManifest>);
    }
  }

  async remove(kind: ManifestKind, name: string): Promise<void> {
    if (kind === "EventSource") {
      const runner = this.eventSources.get(name);
      this.eventSources.delete(name);
      await runner?.stop();
      return;
    }
    const runner = this.sensors.get(name);
    this.sensors.delete(name);
    if (!runner) return;
    await runner.stop();
    // A deleted Sensor's durables would otherwise keep collecting events nobody reads.
    await this.deleteDurables(durablesOf(runner), new Set());
  }

  /** The manifests running now (for the console's graph). */
  running(): {
    eventSources: Loaded<EventSourceManifest>[];
    sensors: Loaded<SensorManifest>[];
  } {
    return {
      eventSources: [...this.eventSources.values()].map((r) => r.loaded),
      sensors: [...this.sensors.values()].map((r) => r.loaded),
    };
  }

  /** EventSource entries whose broker connection is down now (for /readyz). */
  disconnectedSources(): string[] {
    return [...this.eventSources.values()].flatMap((r) => r.disconnected());
  }

  /** Every broker-backed EventSource entry and whether it is connected (for the metric). */
  sourceConnections(): SourceConnection[] {
    return [...this.eventSources.values()].flatMap((r) => r.connections());
  }

  stuckTriggers(thresholdMs = 600_000): string[] {
    return [...this.sensors.values()].flatMap((s) =>
      s.stuckTriggers(thresholdMs).map((t) => `${s.name}/${t}`),
    );
  }

  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const drain = async () => {
      await Promise.allSettled([...this.eventSources.values()].map((r) => r.stop()));
      await Promise.allSettled([...this.sensors.values()].map((r) => r.stop()));
    };
    let timer: NodeJS.Timeout | undefined;
    const drained = drain();
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.options.log.warn(
        { timeoutMs },
        "drain timed out; unfinished events will be redelivered",
      );
      // Interrupt what is still running: those firings end unacknowledged (never dead-lettered),
      // so the bus redelivers their events to the next instance.
      for (const r of this.sensors.values()) r.interrupt();
      await Promise.race([
        drained,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, INTERRUPT_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    this.eventSources.clear();
    this.sensors.clear();
    await closeTriggers(this.kinds);
    await this.options
      .onDrained?.()
      .catch((err: unknown) => this.options.log.warn({ err }, "flushing after the drain failed"));
    if (this.options.ownsBus) await this.options.bus.close();
  }

  private namespaceOf(m: Manifest): string {
    return m.metadata.namespace ?? "default";
  }

  private eventSourceRunner(loaded: Loaded<EventSourceManifest>): EventSourceRunner {
    const { metrics, onEmit, startReceive } = this.options;
    const report = metrics ? emitReporter(metrics, this.namespaceOf(loaded.manifest)) : undefined;
    const kube = this.kubeFor(loaded.manifest);
    return new EventSourceRunner(loaded, {
      bus: this.options.bus,
      adapters: kube === this.options.kube ? this.adapters : this.adaptersWith(kube),
      values: this.options.values,
      clock: this.clock,
      log: this.options.log,
      ...(startReceive ? { startReceive } : {}),
      ...(metrics
        ? {
            onVerificationFailed: ({ eventSource, eventName, reason }) =>
              metrics.webhookVerificationFailed.inc({
                namespace: this.namespaceOf(loaded.manifest),
                eventsource_name: eventSource,
                event_name: eventName,
                reason,
              }),
          }
        : {}),
      ...(report || onEmit
        ? {
            onEmit: (info: Parameters<NonNullable<EventSourceRunnerOptions["onEmit"]>>[0]) => {
              report?.(info);
              onEmit?.(info);
            },
          }
        : {}),
    });
  }

  private async applyEventSource(loaded: Loaded<EventSourceManifest>): Promise<void> {
    const name = loaded.manifest.metadata.name;
    const previous = this.eventSources.get(name);
    // Stop first: the new version usually listens on the same webhook ports.
    if (previous) {
      this.eventSources.delete(name);
      await previous.stop();
    }
    const next = this.eventSourceRunner(loaded);
    try {
      await next.start();
      this.eventSources.set(name, next);
    } catch (err) {
      await next.stop();
      if (previous) await this.restore("EventSource", name, () => this.restartEventSource(name));
      throw err;
    }
    this.lastEventSource.set(name, loaded);
  }

  /** The last version that started, per name: what a failed update falls back to. */
  private readonly lastEventSource = new Map<string, Loaded<EventSourceManifest>>();
  private readonly lastSensor = new Map<string, Loaded<SensorManifest>>();

  private async restartEventSource(name: string): Promise<void> {
    const loaded = this.lastEventSource.get(name);
    if (!loaded) return;
    const runner = this.eventSourceRunner(loaded);
    await runner.start();
    this.eventSources.set(name, runner);
  }

  private async sensorRunner(loaded: Loaded<SensorManifest>): Promise<SensorRunner> {
    const { metrics, concurrency, observer, bus } = this.options;
    const deadLetter =
      this.options.deadLetter ??
      (async (record: DeadLetterRecord) => {
        const seq = await bus.deadLetter(record);
        this.options.log.error(
          { sensorName: record.sensor, triggerName: record.trigger, seq, err: record.error },
          "trigger failed for good; firing stored as dead letter (sensorbus deadletters)",
        );
      });
    const kube = this.kubeFor(loaded.manifest);
    return SensorRunner.create(loaded, {
      bus: this.options.bus,
      kinds:
        kube === this.options.kube
          ? this.kinds
          : withKubeClient(this.kinds, {
              kube,
              dryRun: this.options.dryRun,
              log: this.options.log,
            }),
      values: this.options.values,
      clock: this.clock,
      log: this.options.log,
      ...(concurrency !== undefined ? { concurrency } : {}),
      observer: combineObservers(
        metrics ? metricsObserver(metrics, this.namespaceOf(loaded.manifest)) : undefined,
        observer,
      ),
      deadLetter,
    });
  }

  private async applySensor(loaded: Loaded<SensorManifest>): Promise<void> {
    const name = loaded.manifest.metadata.name;
    const previous = this.sensors.get(name);
    // Stop first (in-flight firings finish): the bus keeps what arrives meanwhile for the
    // durables, which keep their names across versions.
    if (previous) {
      this.sensors.delete(name);
      await previous.stop();
    }
    let next: SensorRunner | undefined;
    try {
      next = await this.sensorRunner(loaded);
      await next.start();
      this.sensors.set(name, next);
    } catch (err) {
      await next?.stop();
      if (previous) await this.restore("Sensor", name, () => this.restartSensor(name));
      throw err;
    }
    if (previous) await this.deleteDurables(durablesOf(previous), durablesOf(next));
    this.lastSensor.set(name, loaded);
  }

  private async restartSensor(name: string): Promise<void> {
    const loaded = this.lastSensor.get(name);
    if (!loaded) return;
    const runner = await this.sensorRunner(loaded);
    await runner.start();
    this.sensors.set(name, runner);
  }

  private async restore(kind: ManifestKind, name: string, fn: () => Promise<void>) {
    try {
      await fn();
      this.options.log.warn(
        { kind, name },
        "new version failed to start; the previous version runs again",
      );
    } catch (err) {
      this.options.log.error(
        { kind, name, err },
        "new version failed to start and the previous version could not be restarted",
      );
    }
  }

  private async deleteDurables(old: Set<string>, keep: Set<string>): Promise<void> {
    for (const d of old) {
      if (keep.has(d)) continue;
      try {
        await this.options.bus.deleteDurable(d);
      } catch (err) {
        this.options.log.warn(
          { durable: d, err },
          "cannot delete a durable subscription no Sensor uses any more",
        );
      }
    }
  }
}

function durablesOf(runner: SensorRunner): Set<string> {
  const out = new Set<string>();
  for (const plan of runner.engine.plans) {
    for (const binding of plan.subjects) {
      const dep = binding.dependencies[0];
      if (dep) out.add(durableName(runner.name, plan.name, dep.name));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Desired state -> host (shared by controller mode and file-mode reload)

export type ApplyOutcome =
  | { result: "applied" }
  | { result: "unchanged" }
  | { result: "failed"; error: string; stillRunning: boolean };

/**
 * Keeps a {@link ManifestHost} in step with a desired set of manifests: applies what is new or
 * changed (by a fingerprint of `spec`, labels and annotations, so status-only updates and
 * re-reads of the same file restart nothing) and removes what went away.
 */
export class ManifestReconciler {
  private readonly applied = new Map<string, string>();

  constructor(
    private readonly host: ManifestHost,
    private readonly log: Logger,
  ) {}

  /** Names currently applied, as `Kind/name`. */
  names(): string[] {
    return [...this.applied.keys()];
  }

  async upsert(loaded: Loaded<Manifest>): Promise<ApplyOutcome> {
    const m = loaded.manifest;
    const key = `${m.kind}/${m.metadata.name}`;
    const print = fingerprint(m);
    if (this.applied.get(key) === print) return { result: "unchanged" };
    try {
      await this.host.apply(loaded);
    } catch (err) {
      // The host may have restored the previous version; forget the fingerprint either way so
      // the same spec is retried on its next appearance.
      const stillRunning = this.host.isRunning?.(m.kind, m.metadata.name) ?? false;
      if (!stillRunning) this.applied.delete(key);
      this.log.error(
        { kind: m.kind, name: m.metadata.name, file: loaded.file, err },
        `${m.kind} ${m.metadata.name} failed to start`,
      );
      return { result: "failed", error: errorMessage(err), stillRunning };
    }
    this.applied.set(key, print);
    this.log.info(
      { kind: m.kind, name: m.metadata.name, file: loaded.file },
      `${m.kind} ${m.metadata.name} running`,
    );
    return { result: "applied" };
  }

  async remove(kind: ManifestKind, name: string): Promise<void> {
    const key = `${kind}/${name}`;
    if (!this.applied.has(key) && !(this.host.isRunning?.(kind, name) ?? false)) return;
    this.applied.delete(key);
    await this.host.remove(kind, name);
    this.log.info({ kind, name }, `${kind} ${name} stopped`);
  }

  /**
   * Makes the set of running manifests of `kind` exactly `desired` (file-mode reload after
   * `loadManifests`, and the controller's relist).
   */
  async sync(kind: ManifestKind, desired: readonly Loaded<Manifest>[]): Promise<ApplyOutcome[]> {
    const wanted = new Set(desired.map((l) => l.manifest.metadata.name));
    for (const key of this.names()) {
      const [k, name] = splitKey(key);
      if (k === kind && !wanted.has(name)) await this.remove(kind, name);
    }
    const out: ApplyOutcome[] = [];
    for (const l of desired) out.push(await this.upsert(l));
    return out;
  }
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf("/");
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Key-order-independent JSON of what changes a manifest's behaviour. */
export function fingerprint(m: Manifest): string {
  return stableJson({
    namespace: m.metadata.namespace,
    labels: m.metadata.labels,
    annotations: m.metadata.annotations,
    spec: m.spec,
  });
}

export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}
