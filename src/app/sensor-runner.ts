import { setMaxListeners } from "node:events";
import type { CloudEvent } from "../cloudevents/event.js";
import type { ValueResolver } from "../config/secrets.js";
import type { Loaded, SensorManifest, Trigger } from "../config/types.js";
import { EventsError, errorMessage, StoppingError, TriggerError } from "../errors.js";
import { durableName } from "../eventbus/subjects.js";
import type {
  BusMessage,
  DeadLetterRecord,
  EventBus,
  KeyValueStore,
  Subscription,
} from "../eventbus/types.js";
import type { Clock } from "../eventsources/types.js";
import { retryPlan } from "../lib/backoff.js";
import { evaluationBudgetMs, reportBudgetExceeded } from "../lib/budget.js";
import { redactString } from "../lib/redact.js";
import type { SensorObserver } from "../observability/contracts.js";
import type { Logger } from "../observability/logger.js";
import { CORRELATION_PATH_ANNOTATION } from "../observability/trace.js";
import type { CorrelationStore, ExpiredMatch } from "../sensors/correlation.js";
import { KvCorrelationStore, withCorrelationPath } from "../sensors/correlation.js";
import type { ReplacedEntry, TriggerPlan } from "../sensors/engine.js";
import { SensorEngine } from "../sensors/engine.js";
import { lastTickAtOrBefore, nextTick } from "../sensors/reset.js";
import type { ConditionStateStore } from "../sensors/state.js";
import { KvConditionState, MemoryConditionState } from "../sensors/state.js";
import { isRetryableFailure, renderFiring } from "../triggers/fire.js";
import type { TokenBucket } from "../triggers/rate-limit.js";
import { rateLimiter } from "../triggers/rate-limit.js";
import type { TriggerKind } from "../triggers/types.js";

export interface SensorRunnerOptions {
  bus: EventBus;
  kinds: ReadonlyMap<string, TriggerKind<unknown>>;
  values: ValueResolver;
  clock: Clock;
  log: Logger;
  /** Firings a single-dependency trigger may keep in flight (order is irrelevant there). */
  concurrency?: number;
  /** Observes outcomes (metrics, journal). */
  observer?: SensorObserver;
  /** Where firings that failed for good go when the trigger has no dlqTrigger. */
  deadLetter?: (record: DeadLetterRecord) => Promise<void>;
}

export type { DeadLetterRecord } from "../eventbus/types.js";
export type { SensorObserver } from "../observability/contracts.js";

/** Re-runs of the condition step after a KV compare-and-set conflict with another replica. */
const KV_CONFLICT_RETRIES = 20;

/**
 * How often a Sensor with KV state removes the delete markers its bucket collects (one per
 * consumed condition entry or correlation key), and how old a marker must be to go.
 */
export const KV_PURGE_EVERY_MS = 600_000;

/**
 * Runs one Sensor on the bus: a durable subscription per (trigger, EventSource event), the engine's
 * decisions, and firings with retries. A message is acknowledged only when its firing has ended
 * (succeeded, or failed for good and handed to the dlqTrigger / dead letter): a crash mid-firing
 * means redelivery, never loss.
 */
export class SensorRunner {
  readonly engine: SensorEngine;
  readonly name: string;
  private readonly subs: Subscription[] = [];
  private readonly locks = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private readonly log: Logger;
  /** Start times of firings in flight, per trigger (stuck detection for /readyz). */
  private readonly inFlight = new Map<string, Map<object, number>>();
  /** `rateLimit` token buckets per trigger (not applied to dlqTrigger, as Argo). */
  private readonly limiters = new Map<string, TokenBucket | undefined>();

  constructor(
    readonly loaded: Loaded<SensorManifest>,
    private readonly options: SensorRunnerOptions,
    state?: ConditionStateStore,
    correlation?: CorrelationStore,
    /** The KV bucket `state` and `correlation` live in (JetStream), for its housekeeping. */
    private readonly bucket?: KeyValueStore,
  ) {
    this.name = loaded.manifest.metadata.name;
    // Every in-flight firing and retry wait listens on it: no "possible leak" warning past 10.
    setMaxListeners(0, this.abort.signal);
    this.log = options.log.child({ sensorName: this.name });
    this.engine = new SensorEngine(loaded.manifest, {
      state: state ?? new MemoryConditionState(),
      now: () => options.clock.now(),
      // --- keyed correlation (sensorbus extension) ---
      ...(correlation ? { correlation } : {}),
      onExpired: (e) => this.reportExpired(e),
      onReplaced: (r) => this.reportReplaced(r),
      onStored: ({ trigger, dependency, event }) =>
        this.options.observer?.stored?.({ sensor: this.name, trigger, dependency, event }),
    });
  }

  private reportReplaced(r: ReplacedEntry): void {
    this.log.info(
      {
        triggerName: r.trigger,
        dependencyName: r.dependency,
        eventID: r.replaced.id,
        replacedBy: r.by.id,
        ...(r.key !== undefined ? { correlationKey: r.key } : {}),
      },
      "stored dependency event replaced by a newer one before the condition held",
    );
    this.options.observer?.replaced?.({
      sensor: this.name,
      trigger: r.trigger,
      dependency: r.dependency,
      event: r.replaced,
      by: r.by,
    });
  }

  // --- keyed correlation (sensorbus extension): expiry reporting and sweeper ---

  private reportExpired(e: ExpiredMatch): void {
    const events = new Map([...e.deps].map(([d, s]) => [d, s.event] as const));
    this.log.info(
      {
        triggerName: e.trigger,
        correlationKey: e.key,
        reason: e.reason,
        dependencies: Object.fromEntries([...events].map(([d, ev]) => [d, ev.id])),
      },
      "correlated partial match expired",
    );
    this.options.observer?.expired?.({
      sensor: this.name,
      trigger: e.trigger,
      key: e.key,
      reason: e.reason,
      events,
    });
  }

  /** Expires the trigger's correlated partial matches as their windows pass, until stopped. */
  private async correlationSweepLoop(plan: TriggerPlan, windowMs: number): Promise<void> {
    const every = Math.min(30_000, Math.max(1_000, Math.floor(windowMs / 20)));
    while (await this.options.clock.sleep(every, this.abort.signal)) {
      await this.serialized(plan.name, async () => {
        await this.engine.sweepPlan(plan);
      }).catch((err: unknown) =>
        this.log.warn(
          { triggerName: plan.name, err },
          "correlation expiry sweep failed; retrying at the next sweep",
        ),
      );
    }
  }

  /** Open correlation keys (gauge `sensorbus_correlation_open_keys`). */
  correlationOpenKeys(): number {
    return this.engine.correlation.openKeys();
  }
  // --- end keyed correlation ---

  /** Builds a runner whose condition state lives in the bus's KV (JetStream) or in memory. */
  static async create(
    loaded: Loaded<SensorManifest>,
    options: SensorRunnerOptions,
  ): Promise<SensorRunner> {
    const probe = new SensorEngine(loaded.manifest, {
      state: new MemoryConditionState(),
      now: Date.now,
    });
    const needsState = probe.plans.some((p) => p.condition?.needsState === true);
    const needsCorrelation = probe.plans.some((p) => p.correlation);
    const bucket =
      options.bus.capabilities.durableKv && (needsState || needsCorrelation)
        ? await options.bus.kv(loaded.manifest.metadata.name)
        : undefined;
    const state =
      bucket && needsState
        ? new KvConditionState(
            bucket,
            new Map(probe.plans.map((p) => [p.name, p.condition?.dependencies ?? []])),
          )
        : new MemoryConditionState();
    // Keyed correlation: open matches in the same KV bucket on JetStream.
    const correlation = bucket && needsCorrelation ? new KvCorrelationStore(bucket) : undefined;
    return new SensorRunner(loaded, options, state, correlation, bucket);
  }

  async start(): Promise<void> {
    if (this.bucket) void this.purgeLoop(this.bucket);
    for (const plan of this.engine.plans) {
      if (plan.conditionError) {
        this.log.error(
          { triggerName: plan.name, err: plan.conditionError },
          "trigger will never run: invalid conditions",
        );
        continue;
      }
      for (const err of plan.resetErrors)
        this.log.error({ triggerName: plan.name, err }, "conditionsReset entry ignored");
      if (plan.resets.length > 0) {
        const last = lastTickAtOrBefore(plan.resets, this.options.clock.now());
        if (last !== undefined) await this.engine.purgeOlderThan(plan, last);
        void this.resetLoop(plan);
      }
      const serial = plan.condition?.needsState === true;
      if (plan.correlation && serial)
        void this.correlationSweepLoop(plan, plan.correlation.windowMs);
      for (const binding of plan.subjects) {
        const sub = await this.options.bus.subscribe(
          {
            durable: durableName(this.name, plan.name, binding.dependencies[0]!.name),
            eventSourceName: binding.eventSourceName,
            eventName: binding.eventName,
            maxInFlight: serial ? 1 : (this.options.concurrency ?? 32),
          },
          (msg) =>
            serial
              ? this.serialized(plan.name, () => this.handle(plan, msg))
              : this.handle(plan, msg),
        );
        this.subs.push(sub);
      }
      this.log.info(
        {
          triggerName: plan.name,
          conditions: plan.condition?.source,
          dependencies: plan.condition?.dependencies,
        },
        "trigger subscribed",
      );
    }
  }

  /**
   * Every KV_PURGE_EVERY_MS until stopped: removes the delete markers older than that from the
   * Sensor's bucket (a consumed entry or key is deleted at the revision read, which leaves a
   * marker; without this the bucket would grow by one per key the Sensor ever saw). Replicas doing
   * it at once is harmless: each removes a marker only up to its own sequence.
   */
  private async purgeLoop(bucket: KeyValueStore): Promise<void> {
    while (await this.options.clock.sleep(KV_PURGE_EVERY_MS, this.abort.signal)) {
      try {
        const removed = await bucket.purgeDeleted("", this.options.clock.now() - KV_PURGE_EVERY_MS);
        if (removed > 0) this.log.debug({ removed }, "KV delete markers purged");
      } catch (err) {
        this.log.warn({ err }, "purging KV delete markers failed; retrying at the next interval");
      }
    }
  }

  /** Clears the trigger's partial state at every conditionsReset tick until the runner stops. */
  private async resetLoop(plan: TriggerPlan): Promise<void> {
    const clock = this.options.clock;
    while (!this.abort.signal.aborted) {
      const next = nextTick(plan.resets, clock.now());
      if (next === undefined) return;
      if (!(await clock.sleep(Math.max(0, next - clock.now()), this.abort.signal))) return;
      await this.serialized(plan.name, () => this.engine.reset(plan)).catch((err: unknown) =>
        this.log.error({ triggerName: plan.name, err }, "conditionsReset failed"),
      );
      this.log.info({ triggerName: plan.name }, "conditions reset");
    }
  }

  /** Stops fetching and waits for in-flight firings (bounded by the caller's drain timeout). */
  async stop(): Promise<void> {
    await Promise.allSettled(this.subs.splice(0).map((s) => s.stop()));
    this.abort.abort();
  }

  /**
   * Aborts in-flight firings (drain timed out): they end by throwing, so their messages stay
   * unacknowledged and are redelivered; nothing is dead-lettered for an interruption.
   */
  interrupt(): void {
    this.abort.abort();
  }

  async pending(): Promise<number> {
    const counts = await Promise.all(this.subs.map((s) => s.pending().catch(() => 0)));
    return counts.reduce((a, b) => a + b, 0);
  }

  private serialized(key: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return next;
  }

  private async handle(plan: TriggerPlan, msg: BusMessage): Promise<void> {
    // sensorbus.io/correlation-id-path on the Sensor: the correlation ID from the event's data.
    const event = withCorrelationPath(
      msg.event,
      this.loaded.manifest.metadata.annotations?.[CORRELATION_PATH_ANNOTATION],
    );
    const log = this.log.child({ triggerName: plan.name, eventID: event.id });
    // Dedupe per (EventSource, event name, id): an id seen on one endpoint never hides another's.
    if (
      msg.deliveryCount === 1 &&
      this.engine.isDuplicate(plan.name, `${event.source} ${event.subject} ${event.id}`)
    ) {
      log.info(
        { eventSourceName: event.source, eventName: event.subject },
        "duplicate event id within the dedupe window: skipped",
      );
      return;
    }
    const replay = msg.replayFor;
    if (replay && (replay.sensor !== this.name || replay.trigger !== plan.name)) {
      log.info(
        { replaySensor: replay.sensor, replayTrigger: replay.trigger },
        "replayed dead letter of another trigger: skipped",
      );
      return;
    }
    for (const dep of this.engine.matching(plan, event)) {
      const result = await this.engine.evaluateDependency(dep, event, plan);
      if (!result.accepted) {
        log.info(
          { dependencyName: dep.name, reason: result.reason },
          "event rejected by dependency",
        );
        this.options.observer?.rejected?.({
          sensor: this.name,
          trigger: plan.name,
          dependency: dep.name,
          event,
          reason: result.reason,
        });
        continue;
      }
      const events = await this.advance(plan, dep.name, result.event, msg);
      if (!events) {
        log.debug(
          { dependencyName: dep.name },
          "dependency resolved; waiting for the rest of the condition",
        );
        continue;
      }
      await this.fire(plan.trigger, plan.name, events, log);
    }
  }

  /**
   * The condition step; with state in JetStream KV another replica may have changed it meanwhile
   * (SB_ERR_KV_CONFLICT): then the step runs again on the fresh state, so two replicas can neither
   * both fire nor lose a partial entry.
   */
  private async advance(
    plan: TriggerPlan,
    dependency: string,
    event: CloudEvent,
    msg: BusMessage,
  ): Promise<Map<string, CloudEvent> | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.engine.advance(plan, dependency, event, {
          timestamp: msg.timestamp,
          seq: msg.seq,
        });
      } catch (err) {
        const conflict = err instanceof EventsError && err.code === "SB_ERR_KV_CONFLICT";
        if (!conflict || attempt >= KV_CONFLICT_RETRIES) throw err;
        this.log.debug(
          { triggerName: plan.name, attempt },
          "condition state changed by another replica; evaluating again",
        );
      }
    }
  }

  /** Waits for the trigger's rateLimit token; false when the runner stops meanwhile. */
  private async rateLimit(trigger: Trigger, name: string, log: Logger): Promise<boolean> {
    if (!this.limiters.has(name))
      this.limiters.set(
        name,
        rateLimiter(trigger.rateLimit, () => this.options.clock.now()),
      );
    const bucket = this.limiters.get(name);
    if (!bucket) return true;
    const wait = bucket.reserve();
    if (wait <= 0) return true;
    log.debug({ waitMs: Math.round(wait) }, "rateLimit: waiting for a token");
    if (await this.options.clock.sleep(wait, this.abort.signal)) return true;
    bucket.cancel();
    return false;
  }

  /** Triggers whose oldest in-flight firing started more than `thresholdMs` ago. */
  stuckTriggers(thresholdMs: number): string[] {
    const now = performance.now();
    return [...this.inFlight]
      .filter(([, starts]) => [...starts.values()].some((t) => now - t > thresholdMs))
      .map(([name]) => name);
  }

  /** Render and execute with retryStrategy; on final failure, the dlqTrigger or the dead letter. */
  private async fire(
    trigger: Trigger,
    name: string,
    events: Map<string, CloudEvent>,
    log: Logger,
  ): Promise<void> {
    const token = {};
    let starts = this.inFlight.get(name);
    if (!starts) {
      starts = new Map();
      this.inFlight.set(name, starts);
    }
    starts.set(token, performance.now());
    try {
      await this.fireOnce(trigger, name, events, log);
    } finally {
      starts.delete(token);
    }
  }

  private async fireOnce(
    trigger: Trigger,
    name: string,
    events: Map<string, CloudEvent>,
    log: Logger,
  ): Promise<void> {
    if (!(await this.rateLimit(trigger, name, log))) {
      // Stopping: leave the message unacknowledged so the bus redelivers it to the next runner.
      throw new StoppingError(
        `sensor stopping while trigger '${name}' waited for its rateLimit; the event will be redelivered`,
      );
    }
    const ok = await this.attempt(trigger, name, events, log);
    if (ok === true) return;
    if (trigger.dlqTrigger) {
      const dlqName = trigger.dlqTrigger.template?.name ?? `${name}-dlq`;
      const dlqOk = await this.attempt(
        trigger.dlqTrigger,
        dlqName,
        events,
        log.child({ dlqTrigger: dlqName }),
      );
      if (dlqOk === true) return;
    }
    const record: DeadLetterRecord = {
      sensor: this.name,
      trigger: name,
      // The events are kept as received (a replay republishes them); the error is redacted.
      error: redactString(ok.error),
      events: Object.fromEntries(events),
      failedAt: new Date(this.options.clock.now()).toISOString(),
      attempts: ok.attempts,
    };
    if (this.options.deadLetter) await this.options.deadLetter(record);
    this.options.observer?.deadLettered?.({
      sensor: this.name,
      trigger: name,
      events,
      error: record.error,
    });
    if (!this.options.deadLetter)
      log.error(
        { deadLetter: record },
        "trigger failed for good; events written to the log as dead letter",
      );
  }

  /** true on success, else the final error message and the attempts made. */
  private async attempt(
    trigger: Trigger,
    name: string,
    events: Map<string, CloudEvent>,
    log: Logger,
  ): Promise<true | { error: string; attempts: number }> {
    const plan = retryPlan(trigger.retryStrategy);
    const ids = [...events.values()].map((e) => e.id);
    let lastError = "";
    for (let attempt = 1; attempt <= plan.attempts; attempt++) {
      const started = performance.now();
      try {
        const { kind, rendered } = await renderFiring({
          sensorName: this.name,
          namespace: this.loaded.manifest.metadata.namespace ?? "default",
          trigger,
          events,
          kinds: this.options.kinds,
          values: this.options.values,
          log,
          now: () => this.options.clock.now(),
        });
        const first = events.values().next().value as CloudEvent | undefined;
        const result = await kind.execute(rendered, {
          log,
          signal: this.abort.signal,
          policy: trigger.policy,
          traceparent: first?.extensions?.traceparent,
        });
        const ms = performance.now() - started;
        log.info(
          {
            triggeredBy: [...events.keys()],
            triggeredByEvents: ids,
            result: result.summary,
            durationMs: Math.round(ms * 10) / 10,
          },
          `Successfully processed trigger '${name}'`,
        );
        this.options.observer?.fired?.({
          sensor: this.name,
          trigger: name,
          events,
          ms,
          summary: result.summary,
          rendered,
          ...(result.detail ? { detail: result.detail } : {}),
        });
        return true;
      } catch (err) {
        lastError = errorMessage(err);
        if (this.abort.signal.aborted) {
          throw new StoppingError(
            `sensor stopping: trigger '${name}' was interrupted (${lastError}); the event will be redelivered`,
            { cause: err },
          );
        }
        if (err instanceof EventsError && err.code === "SB_ERR_EVAL_BUDGET") {
          reportBudgetExceeded({
            kind: "template",
            scope: this.name,
            budgetMs: evaluationBudgetMs(),
          });
        }
        const retryable = isRetryableFailure(err);
        const final = !retryable || attempt === plan.attempts;
        this.options.observer?.failed?.({
          sensor: this.name,
          trigger: name,
          events,
          ms: performance.now() - started,
          error: lastError,
          final,
        });
        if (final) {
          log.error({ err, attempt, triggeredByEvents: ids }, `trigger '${name}' failed`);
          return { error: lastError, attempts: attempt };
        }
        const wait = Math.max(plan.delayMs(attempt), retryAfterOf(err));
        log.warn(
          { err, attempt, retryInMs: Math.round(wait) },
          `trigger '${name}' failed; retrying`,
        );
        if (!(await this.options.clock.sleep(wait, this.abort.signal))) {
          // Stopping: leave the message unacknowledged so the bus redelivers it to the next runner.
          throw new StoppingError(
            `sensor stopping while trigger '${name}' waited to retry; the event will be redelivered`,
          );
        }
      }
    }
    return { error: lastError, attempts: plan.attempts };
  }
}

/** Longest wait a target's `Retry-After` imposes before the next attempt (the message stays unacknowledged meanwhile). */
const MAX_RETRY_AFTER_MS = 60_000;

/** The wait a failed attempt asks for before the next one (a 429's Retry-After), bounded. */
function retryAfterOf(err: unknown): number {
  const ms = err instanceof TriggerError ? (err.retryAfterMs ?? 0) : 0;
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}
