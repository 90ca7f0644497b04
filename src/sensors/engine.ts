import type { CloudEvent } from "../cloudevents/event.js";
import { eventContext, isKnownJsonData } from "../cloudevents/event.js";
import type { EventDependency, SensorManifest, Trigger } from "../config/types.js";
import { errorMessage, FilterError } from "../errors.js";
import { boundText } from "../lib/bounded-text.js";
import { evaluationBudgetMs, reportBudgetExceeded } from "../lib/budget.js";
import { ExpiringMap } from "../lib/fifo.js";
import { JqTimeoutError } from "../lib/jq.js";
import { LuaTimeoutError } from "../lib/lua.js";
import type { Condition } from "./conditions.js";
import { evaluateCondition, parseCondition } from "./conditions.js";
import type { CorrelationSpec, CorrelationStore, ExpiredMatch } from "./correlation.js";
import {
  correlationKeyOf,
  MemoryCorrelationStore,
  parseCorrelation,
  stampCorrelationId,
} from "./correlation.js";
import { evaluateFilters } from "./filters/index.js";
import type { ResetSchedule } from "./reset.js";
import { parseResets } from "./reset.js";
import type { ConditionStateStore, StoredDependencyEvent } from "./state.js";
import { applyTransform } from "./transform.js";

/** One (EventSource, event) pair a trigger listens to, and the dependencies bound to it. */
export interface SubjectBinding {
  eventSourceName: string;
  eventName: string;
  /** In order of first appearance in the condition (Argo processes them in that order). */
  dependencies: EventDependency[];
}

export interface TriggerPlan {
  name: string;
  trigger: Trigger;
  condition?: Condition;
  /** Why the trigger can never run (unknown dependency, syntax error); Argo logs and skips it. */
  conditionError?: string;
  subjects: SubjectBinding[];
  /** `conditionsReset[].byTime` schedules (invalid entries are in `resetErrors`). */
  resets: ResetSchedule[];
  resetErrors: string[];
  /** sensorbus keyed correlation (`template.correlation`), when set. */
  correlation?: CorrelationSpec;
}

export type DependencyResult =
  | { accepted: true; dependency: string; event: CloudEvent }
  | {
      accepted: false;
      dependency: string;
      reason: string;
      /** The evaluation that was stopped by its budget (data, expr, script, transform). */
      budget?: string;
    };

export interface EngineOptions {
  state: ConditionStateStore;
  /** ms since epoch: event time in replay, wall clock in run. */
  now: () => number;
  /** Per-trigger event-id dedupe window, ms (Argo: about 60 s). */
  dedupeWindowMs?: number;
  /** Open partial matches of correlated triggers (default: in memory, bounded). */
  correlation?: CorrelationStore;
  /** Called for every correlated partial match that expired (window passed, or capacity). */
  onExpired?: (expired: ExpiredMatch) => void;
  /** Called when an event is stored as a dependency's entry, the condition not yet holding. */
  onStored?: (stored: {
    trigger: string;
    dependency: string;
    event: CloudEvent;
    /** Dependencies the trigger now holds an event for (this one included), in condition order. */
    holding: string[];
    /** The condition's dependencies still without an event. */
    missing: string[];
    /** The correlation key of the partial match (correlated triggers). */
    key?: string;
  }) => void;
  /** Called when a dependency's stored event is replaced by a newer one before the condition held. */
  onReplaced?: (replaced: ReplacedEntry) => void;
}

/**
 * A dependency's partial-condition entry replaced by a newer event of the same dependency (Argo
 * keeps the latest event per dependency): the older event will not take part in a firing.
 */
export interface ReplacedEntry {
  trigger: string;
  dependency: string;
  /** The event that was stored, and is no more. */
  replaced: CloudEvent;
  by: CloudEvent;
  /** Keyed correlation: the key of the partial match. */
  key?: string;
}

/**
 * The sensor's decision logic, shared by `run` and `replay`: dependency matching, transform,
 * filters, dedupe and conditions. No I/O except through the injected condition state store.
 */
export class SensorEngine {
  readonly name: string;
  readonly namespace: string;
  readonly plans: TriggerPlan[];
  private readonly state: ConditionStateStore;
  private readonly now: () => number;
  private readonly dedupeWindowMs: number;
  private readonly seen = new Map<string, ExpiringMap<string, true>>();
  readonly correlation: CorrelationStore;
  private readonly onExpired: (expired: ExpiredMatch) => void;
  private readonly onReplaced: (replaced: ReplacedEntry) => void;
  private readonly onStored: NonNullable<EngineOptions["onStored"]>;

  constructor(
    readonly sensor: SensorManifest,
    options: EngineOptions,
  ) {
    this.name = sensor.metadata.name;
    this.namespace = sensor.metadata.namespace ?? "default";
    this.state = options.state;
    this.now = options.now;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 60_000;
    this.correlation = options.correlation ?? new MemoryCorrelationStore();
    this.onExpired = options.onExpired ?? (() => undefined);
    this.onReplaced = options.onReplaced ?? (() => undefined);
    this.onStored = options.onStored ?? (() => undefined);
    const deps = sensor.spec.dependencies ?? [];
    this.plans = (sensor.spec.triggers ?? []).map((trigger, i) => planTrigger(trigger, i, deps));
  }

  plan(name: string): TriggerPlan | undefined {
    return this.plans.find((p) => p.name === name);
  }

  /** Dependencies of `plan` bound to the event's (source, subject), in condition order. */
  matching(plan: TriggerPlan, event: CloudEvent): EventDependency[] {
    for (const s of plan.subjects) {
      if (s.eventSourceName === event.source && s.eventName === event.subject)
        return s.dependencies;
    }
    return [];
  }

  /** Every dependency of the Sensor bound to the event, in spec order (for replay/explain). */
  dependenciesFor(event: CloudEvent): EventDependency[] {
    return (this.sensor.spec.dependencies ?? []).filter(
      (d) => d.eventSourceName === event.source && d.eventName === event.subject,
    );
  }

  /** Per trigger, Argo's in-memory id dedupe: true when `eventId` was seen within the window. */
  isDuplicate(trigger: string, eventId: string): boolean {
    const now = this.now();
    let ids = this.seen.get(trigger);
    if (!ids) {
      ids = new ExpiringMap(this.dedupeWindowMs);
      this.seen.set(trigger, ids);
    }
    ids.expire(now);
    if (ids.has(eventId)) return true;
    ids.set(eventId, true, now);
    return false;
  }

  /**
   * transform -> filters for one dependency (Argo §3). Never throws for event data. With `plan`
   * (a correlated trigger) an event without its correlation key is rejected too.
   */
  async evaluateDependency(
    dep: EventDependency,
    event: CloudEvent,
    plan?: TriggerPlan,
  ): Promise<DependencyResult> {
    let ev = event;
    const budgetMs = evaluationBudgetMs();
    try {
      ev = await applyTransform(dep.transform, event, budgetMs);
    } catch (err) {
      if (err instanceof LuaTimeoutError) {
        reportBudgetExceeded({ kind: "transform", scope: this.name, budgetMs: err.budgetMs });
        return { accepted: false, dependency: dep.name, reason: err.message, budget: "transform" };
      }
      // jq runs on a worker thread, not the event loop, with its own limit; counted the same way.
      if (err instanceof JqTimeoutError) {
        reportBudgetExceeded({ kind: "transform", scope: this.name, budgetMs: err.limitMs });
        return {
          accepted: false,
          dependency: dep.name,
          reason: `jq transform: evaluation exceeded its ${err.limitMs} ms limit`,
          budget: "transform",
        };
      }
      return {
        accepted: false,
        dependency: dep.name,
        reason: boundText(`transform failed: ${errorMessage(err)}`),
      };
    }
    const timeMs = Date.parse(ev.time);
    const outcome = await evaluateFilters(dep.filters, dep.filtersLogicalOperator, {
      context: eventContext(ev),
      data: ev.data,
      dataIsJson: isKnownJsonData(ev),
      timeMs: Number.isNaN(timeMs) ? this.now() : timeMs,
      budgetMs,
    });
    if (outcome.budget) {
      reportBudgetExceeded({ kind: outcome.budget, scope: this.name, budgetMs });
      return {
        accepted: false,
        dependency: dep.name,
        reason: outcome.error ?? "",
        budget: outcome.budget,
      };
    }
    // Reasons go to log lines and the journal: bounded, whatever size the event's values.
    if (outcome.error)
      return { accepted: false, dependency: dep.name, reason: boundText(outcome.error) };
    if (!outcome.pass) {
      return {
        accepted: false,
        dependency: dep.name,
        reason: boundText(outcome.reason ?? filterFailReason(dep)),
      };
    }
    if (plan?.correlation) {
      const k = correlationKeyOf(plan.correlation, dep.name, ev);
      if ("reason" in k) return { accepted: false, dependency: dep.name, reason: k.reason };
    }
    return { accepted: true, dependency: dep.name, event: ev };
  }

  /**
   * The condition step (Argo §4.1) for an accepted event of `dependency`. Returns the firing's
   * events (dependency -> event) when the condition holds, else stores the event and returns
   * undefined.
   */
  async advance(
    plan: TriggerPlan,
    dependency: string,
    event: CloudEvent,
    meta: { timestamp: string; seq: number },
  ): Promise<Map<string, CloudEvent> | undefined> {
    const condition = plan.condition;
    if (!condition) return undefined;
    if (plan.correlation) return this.advanceKeyed(plan, plan.correlation, dependency, event, meta);
    if (!condition.needsState) return new Map([[dependency, event]]);
    const stored = await this.state.load(plan.name);
    // A retry after a lost compare-and-set: another replica may have fired with this event.
    if (this.state.spent?.(plan.name, dependency, event.id)) return undefined;
    const holds = evaluateCondition(condition.ast, (d) => d === dependency || stored.has(d));
    if (!holds) {
      await this.state.save(plan.name, dependency, {
        event,
        timestamp: meta.timestamp,
        streamSeq: meta.seq,
      });
      this.reportStored(plan, dependency, event, stored.get(dependency)?.event, stored);
      return undefined;
    }
    const events = new Map<string, CloudEvent>();
    for (const [d, entry] of stored) events.set(d, entry.event);
    events.set(dependency, event);
    await this.state.clear(plan.name);
    return events;
  }

  /**
   * The condition step of a correlated trigger: the same as `advance`, over the partial match of
   * the event's correlation key only. A match whose window passed is expired first (a late event
   * starts a new match). The firing's events carry the key as `correlationid` where they have none.
   */
  private async advanceKeyed(
    plan: TriggerPlan,
    spec: CorrelationSpec,
    dependency: string,
    event: CloudEvent,
    meta: { timestamp: string; seq: number },
  ): Promise<Map<string, CloudEvent> | undefined> {
    const k = correlationKeyOf(spec, dependency, event);
    if ("reason" in k) throw new FilterError("SB_ERR_FILTER_PATH_MISSING", k.reason);
    const now = this.now();
    let match = await this.correlation.get(plan.name, k.key);
    if (match && match.firstAt + spec.windowMs <= now) {
      await this.correlation.remove(plan.name, match);
      this.onExpired({ ...match, trigger: plan.name, reason: "window" });
      match = undefined;
    }
    const stored: Map<string, StoredDependencyEvent> = match?.deps ?? new Map();
    const holds = evaluateCondition(plan.condition!.ast, (d) => d === dependency || stored.has(d));
    if (!holds) {
      const before = stored.get(dependency)?.event;
      stored.set(dependency, { event, timestamp: meta.timestamp, streamSeq: meta.seq });
      const evicted = await this.correlation.put(plan.name, {
        key: k.key,
        firstAt: match?.firstAt ?? now,
        deps: stored,
      });
      for (const e of evicted) this.onExpired(e);
      this.reportStored(plan, dependency, event, before, stored, k.key);
      return undefined;
    }
    const events = new Map<string, CloudEvent>();
    for (const [d, entry] of stored) events.set(d, stampCorrelationId(entry.event, k.key));
    events.set(dependency, stampCorrelationId(event, k.key));
    if (match) await this.correlation.remove(plan.name, match);
    return events;
  }

  /** `event` is now the dependency's entry; `before`, another event, was until now. */
  private reportStored(
    plan: TriggerPlan,
    dependency: string,
    event: CloudEvent,
    before: CloudEvent | undefined,
    stored: ReadonlyMap<string, unknown>,
    key?: string,
  ): void {
    const names = plan.condition?.dependencies ?? [];
    const held = (d: string) => d === dependency || stored.has(d);
    this.onStored({
      trigger: plan.name,
      dependency,
      event,
      holding: names.filter(held),
      missing: names.filter((d) => !held(d)),
      ...(key !== undefined ? { key } : {}),
    });
    if (before && before.id !== event.id)
      this.onReplaced({
        trigger: plan.name,
        dependency,
        replaced: before,
        by: event,
        ...(key !== undefined ? { key } : {}),
      });
  }

  /**
   * Expires correlated partial matches whose window passed at `now` (default: the clock; Infinity
   * at the end of a replay). Reports each through `onExpired`; returns how many expired.
   */
  async sweep(now: number = this.now()): Promise<number> {
    let n = 0;
    for (const plan of this.plans) {
      if (plan.correlation) n += await this.sweepPlan(plan, now);
    }
    return n;
  }

  /** `sweep` for one correlated trigger. */
  async sweepPlan(plan: TriggerPlan, now: number = this.now()): Promise<number> {
    if (!plan.correlation) return 0;
    const expired = await this.correlation.takeExpired(plan.name, now - plan.correlation.windowMs);
    for (const m of expired) this.onExpired({ ...m, trigger: plan.name, reason: "window" });
    return expired.length;
  }

  /** conditionsReset: drop the trigger's partial state. */
  async reset(plan: TriggerPlan): Promise<void> {
    await this.state.clear(plan.name);
    if (plan.correlation) await this.correlation.takeExpired(plan.name, Number.POSITIVE_INFINITY);
  }

  /** At start-up Argo deletes stored entries whose bus time is older than the last reset tick. */
  async purgeOlderThan(plan: TriggerPlan, tickMs: number): Promise<void> {
    const stored = await this.state.load(plan.name);
    const stale = [...stored.values()].some((e) => Date.parse(e.timestamp) < tickMs);
    if (stale) {
      await this.state.clear(plan.name);
      for (const [dep, entry] of stored) {
        if (Date.parse(entry.timestamp) >= tickMs) await this.state.save(plan.name, dep, entry);
      }
    }
  }

  /** Partial state (for explain/metrics). */
  async pending(plan: TriggerPlan): Promise<string[]> {
    return [...(await this.state.load(plan.name)).keys()];
  }
}

function filterFailReason(dep: EventDependency): string {
  const f = dep.filters ?? {};
  const kinds = Object.keys(f).filter((k) => !k.endsWith("LogicalOperator"));
  return `filters did not pass (${kinds.join(", ")}${dep.filtersLogicalOperator === "or" ? "; filtersLogicalOperator: or" : ""})`;
}

function planTrigger(
  trigger: Trigger,
  index: number,
  deps: readonly EventDependency[],
): TriggerPlan {
  const name = trigger.template?.name ?? `#${index}`;
  const { schedules, errors } = parseResets(trigger.template?.conditionsReset);
  const plan: TriggerPlan = { name, trigger, subjects: [], resets: schedules, resetErrors: errors };
  try {
    plan.condition = parseCondition(
      trigger.template?.conditions,
      deps.map((d) => d.name),
    );
  } catch (err) {
    plan.conditionError = errorMessage(err);
    return plan;
  }
  const correlation = trigger.template?.correlation;
  if (correlation) {
    try {
      plan.correlation = parseCorrelation(correlation, plan.condition.dependencies, deps);
    } catch (err) {
      plan.conditionError = errorMessage(err);
      return plan;
    }
  }
  for (const depName of plan.condition.dependencies) {
    const dep = deps.find((d) => d.name === depName)!;
    let binding = plan.subjects.find(
      (s) => s.eventSourceName === dep.eventSourceName && s.eventName === dep.eventName,
    );
    if (!binding) {
      binding = {
        eventSourceName: dep.eventSourceName,
        eventName: dep.eventName,
        dependencies: [],
      };
      plan.subjects.push(binding);
    }
    binding.dependencies.push(dep);
  }
  return plan;
}
