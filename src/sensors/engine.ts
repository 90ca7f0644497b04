import type { CloudEvent } from "../cloudevents/event.js";
import { eventContext } from "../cloudevents/event.js";
import type { EventDependency, SensorManifest, Trigger } from "../config/types.js";
import { errorMessage } from "../errors.js";
import type { Condition } from "./conditions.js";
import { evaluateCondition, parseCondition } from "./conditions.js";
import { evaluateFilters } from "./filters/index.js";
import type { ResetSchedule } from "./reset.js";
import { parseResets } from "./reset.js";
import type { ConditionStateStore } from "./state.js";
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
}

export type DependencyResult =
  | { accepted: true; dependency: string; event: CloudEvent }
  | { accepted: false; dependency: string; reason: string };

export interface EngineOptions {
  state: ConditionStateStore;
  /** ms since epoch: event time in replay, wall clock in run. */
  now: () => number;
  /** Per-trigger event-id dedupe window, ms (Argo: about 60 s). */
  dedupeWindowMs?: number;
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
  private readonly seen = new Map<string, Map<string, number>>();

  constructor(
    readonly sensor: SensorManifest,
    options: EngineOptions,
  ) {
    this.name = sensor.metadata.name;
    this.namespace = sensor.metadata.namespace ?? "default";
    this.state = options.state;
    this.now = options.now;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 60_000;
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
      ids = new Map();
      this.seen.set(trigger, ids);
    }
    for (const [id, at] of ids) {
      if (now - at < this.dedupeWindowMs) break;
      ids.delete(id);
    }
    if (ids.has(eventId)) return true;
    ids.set(eventId, now);
    return false;
  }

  /** transform -> filters for one dependency (Argo §3). Never throws for event data. */
  async evaluateDependency(dep: EventDependency, event: CloudEvent): Promise<DependencyResult> {
    let ev = event;
    try {
      ev = await applyTransform(dep.transform, event);
    } catch (err) {
      return {
        accepted: false,
        dependency: dep.name,
        reason: `transform failed: ${errorMessage(err)}`,
      };
    }
    const timeMs = Date.parse(ev.time);
    const outcome = await evaluateFilters(dep.filters, dep.filtersLogicalOperator, {
      context: eventContext(ev),
      data: ev.data,
      timeMs: Number.isNaN(timeMs) ? this.now() : timeMs,
    });
    if (outcome.error) return { accepted: false, dependency: dep.name, reason: outcome.error };
    if (!outcome.pass) {
      return {
        accepted: false,
        dependency: dep.name,
        reason: outcome.reason ?? filterFailReason(dep),
      };
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
    if (!condition.needsState) return new Map([[dependency, event]]);
    const stored = await this.state.load(plan.name);
    const holds = evaluateCondition(condition.ast, (d) => d === dependency || stored.has(d));
    if (!holds) {
      await this.state.save(plan.name, dependency, {
        event,
        timestamp: meta.timestamp,
        streamSeq: meta.seq,
      });
      return undefined;
    }
    const events = new Map<string, CloudEvent>();
    for (const [d, entry] of stored) events.set(d, entry.event);
    events.set(dependency, event);
    await this.state.clear(plan.name);
    return events;
  }

  /** conditionsReset: drop the trigger's partial state. */
  async reset(plan: TriggerPlan): Promise<void> {
    await this.state.clear(plan.name);
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
