import type { CloudEvent } from "../cloudevents/event.js";
import { decodeStructured } from "../cloudevents/event.js";
import type { ValueResolver } from "../config/secrets.js";
import type { SensorManifest } from "../config/types.js";
import { errorMessage } from "../errors.js";
import { redactHeaders, redactValue } from "../lib/redact.js";
import type { Logger } from "../observability/logger.js";
import type { ExpiredMatch } from "../sensors/correlation.js";
import { correlationKeyOf } from "../sensors/correlation.js";
import type { DependencyResult, ReplacedEntry } from "../sensors/engine.js";
import { SensorEngine } from "../sensors/engine.js";
import { tickBetween } from "../sensors/reset.js";
import { MemoryConditionState } from "../sensors/state.js";
import { renderFiring } from "../triggers/fire.js";
import type { TriggerKind } from "../triggers/types.js";

export type ReplayLine =
  | {
      kind: "fired";
      sensor: string;
      trigger: string;
      dependencies: Record<string, string>;
      payload?: unknown;
      payloadText?: string;
      request?: { method: string; url: string; headers: Record<string, string> };
    }
  | {
      kind: "rejected";
      eventId: string;
      dependency: string;
      /** Set when only one trigger rejected it (a missing correlation key). */
      trigger?: string;
      reason: string;
    }
  | {
      kind: "expired";
      sensor: string;
      trigger: string;
      /** The correlation key whose partial match expired. */
      key: string;
      dependencies: Record<string, string>;
    }
  | {
      /** The event stored for `dependency` gave way to a newer one before the condition held. */
      kind: "replaced";
      eventId: string;
      trigger: string;
      dependency: string;
      by: string;
    }
  | {
      /**
       * The event was accepted and stored for `dependency`; the trigger's condition does not hold
       * yet: `missing` are the dependencies it names that have no event yet.
       */
      kind: "waiting";
      eventId: string;
      trigger: string;
      dependency: string;
      missing: string[];
      /** The correlation key of the partial match (correlated triggers). */
      key?: string;
    }
  | { kind: "duplicate"; eventId: string }
  | { kind: "unmatched"; eventId: string }
  | { kind: "error"; eventId?: string; trigger?: string; message: string };

export interface ReplayOptions {
  sensor: SensorManifest;
  kinds: ReadonlyMap<string, TriggerKind<unknown>>;
  values: ValueResolver;
  log: Logger;
  /** Argo's dedupe window, ms. */
  dedupeWindowMs?: number;
}

/**
 * `sensorbus replay`: feeds events through the same engine as `run`, in order, with each event's
 * `time` as the clock; renders triggers without executing them. Yields one output line per result.
 */
export async function* replay(
  lines: AsyncIterable<string>,
  options: ReplayOptions,
): AsyncGenerator<ReplayLine> {
  // Values read from Secrets never reach the output (headers from secureHeaders/basicAuth in full).
  for await (const line of replayLines(lines, options)) yield redactValue(line);
}

async function* replayLines(
  lines: AsyncIterable<string>,
  options: ReplayOptions,
): AsyncGenerator<ReplayLine> {
  let clock = 0;
  // Keyed correlation: expiries reported by the engine, printed before the next decision.
  const expired: ExpiredMatch[] = [];
  const replaced: ReplacedEntry[] = [];
  const waiting: Extract<ReplayLine, { kind: "waiting" }>[] = [];
  const engine = new SensorEngine(options.sensor, {
    state: new MemoryConditionState(),
    now: () => clock,
    dedupeWindowMs: options.dedupeWindowMs ?? 60_000,
    onExpired: (e) => expired.push(e),
    onReplaced: (r) => replaced.push(r),
    onStored: (s) =>
      waiting.push({
        kind: "waiting",
        eventId: s.event.id,
        trigger: s.trigger,
        dependency: s.dependency,
        missing: s.missing,
        ...(s.key !== undefined ? { key: s.key } : {}),
      }),
  });
  const drainReports = function* (): Generator<ReplayLine> {
    yield* waiting.splice(0);
    for (const r of replaced.splice(0)) {
      yield {
        kind: "replaced",
        eventId: r.replaced.id,
        trigger: r.trigger,
        dependency: r.dependency,
        by: r.by.id,
      };
    }
    for (const e of expired.splice(0)) {
      yield {
        kind: "expired",
        sensor: engine.name,
        trigger: e.trigger,
        key: e.key,
        dependencies: Object.fromEntries([...e.deps].map(([d, s]) => [d, s.event.id])),
      };
    }
  };
  for (const plan of engine.plans) {
    if (plan.conditionError)
      yield { kind: "error", trigger: plan.name, message: plan.conditionError };
  }
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    if (raw.trim() === "") continue;
    let event: CloudEvent;
    try {
      event = decodeStructured(raw);
    } catch (err) {
      yield { kind: "error", message: `events line ${lineNo}: ${errorMessage(err)}` };
      continue;
    }
    const t = Date.parse(event.time);
    if (!Number.isNaN(t) && t > clock) {
      // conditionsReset ticks that passed since the previous event clear partial state first.
      for (const plan of engine.plans) {
        if (clock > 0 && plan.resets.length > 0 && tickBetween(plan.resets, clock, t) !== undefined)
          await engine.reset(plan);
      }
      clock = t;
      // Correlated partial matches whose window the clock passed expire now.
      await engine.sweep(clock);
      yield* drainReports();
    }

    const deps = engine.dependenciesFor(event);
    if (deps.length === 0) {
      yield { kind: "unmatched", eventId: event.id };
      continue;
    }
    // As `run`: the dedupe key is (EventSource, event name, id).
    if (engine.isDuplicate("\u0000replay", `${event.source} ${event.subject} ${event.id}`)) {
      yield { kind: "duplicate", eventId: event.id };
      continue;
    }
    // Filters do not depend on the trigger: evaluate each dependency once per event.
    const results = new Map<string, DependencyResult>();
    for (const dep of deps) {
      const r = await engine.evaluateDependency(dep, event);
      results.set(dep.name, r);
      if (!r.accepted)
        yield { kind: "rejected", eventId: event.id, dependency: dep.name, reason: r.reason };
    }
    for (const plan of engine.plans) {
      if (plan.conditionError) continue;
      for (const dep of engine.matching(plan, event)) {
        const r = results.get(dep.name);
        if (!r?.accepted) continue;
        if (plan.correlation) {
          const k = correlationKeyOf(plan.correlation, dep.name, r.event);
          if ("reason" in k) {
            yield {
              kind: "rejected",
              eventId: event.id,
              dependency: dep.name,
              trigger: plan.name,
              reason: k.reason,
            };
            continue;
          }
        }
        let events: Map<string, CloudEvent> | undefined;
        try {
          events = await engine.advance(plan, dep.name, r.event, {
            timestamp: event.time,
            seq: lineNo,
          });
        } catch (err) {
          yield {
            kind: "error",
            eventId: event.id,
            trigger: plan.name,
            message: errorMessage(err),
          };
          continue;
        }
        yield* drainReports();
        if (!events) continue;
        try {
          const { rendered } = await renderFiring({
            sensorName: engine.name,
            namespace: engine.namespace,
            trigger: plan.trigger,
            events,
            kinds: options.kinds,
            values: options.values,
            log: options.log,
            now: () => clock,
          });
          const line: ReplayLine = {
            kind: "fired",
            sensor: engine.name,
            trigger: plan.name,
            dependencies: Object.fromEntries([...events].map(([d, e]) => [d, e.id])),
          };
          if (rendered.request)
            line.request = {
              ...rendered.request,
              headers: redactHeaders(rendered.request.headers, rendered.secretHeaders),
            };
          if (rendered.payloadText !== undefined) line.payloadText = rendered.payloadText;
          else line.payload = rendered.payload ?? null;
          yield line;
        } catch (err) {
          yield {
            kind: "error",
            eventId: event.id,
            trigger: plan.name,
            message: errorMessage(err),
          };
        }
      }
    }
  }
  // End of input: every partial match still open expires.
  await engine.sweep(Number.POSITIVE_INFINITY);
  yield* drainReports();
}
