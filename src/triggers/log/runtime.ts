import { eventContext } from "../../cloudevents/event.js";
import type { ExecContext, FiringContext, Rendered, TriggerKind, TriggerResult } from "../types.js";
import type { LogTrigger } from "./schema.js";

interface LogDetail {
  /** The trigger's identity: namespace/Sensor/trigger (each Sensor's trigger keeps its own time). */
  trigger: string;
  /** The firing's correlation ID, a field of every line. */
  correlationId?: string;
  intervalMs: number;
  lines: Array<{ dependencyName: string; eventContext: unknown; data: string }>;
}

/**
 * Argo's `log` trigger: one info line per event of the firing, message = the data as text, with
 * `dependencyName` and `eventContext`. `intervalSeconds` as Argo's `shouldLog`: a firing is logged
 * only when the time now is after the last logged firing of that Sensor's trigger plus the
 * interval; a firing within the interval logs nothing (and still succeeds). `now` is injectable
 * for tests. Argo has the same check (`shouldLog` against `LastLogTime`), but its `triggerOne` builds a new
 * LogTrigger for every firing (`GetTrigger` -> `NewLogTrigger`), so `LastLogTime` is always zero and
 * in practice Argo suppresses nothing; sensorbus keeps the field's documented meaning.
 */
export function logTrigger(now: () => number = Date.now): TriggerKind<LogTrigger> {
  const lastLogged = new Map<string, number>();
  return {
    kind: "log",
    async render(template, ctx: FiringContext): Promise<Rendered> {
      const payload: Record<string, { context: unknown; data: unknown }> = {};
      const lines: LogDetail["lines"] = [];
      for (const [dep, ev] of ctx.events) {
        const context = eventContext(ev);
        payload[dep] = { context, data: dataAsJsonOrText(ev.data) };
        lines.push({ dependencyName: dep, eventContext: context, data: ev.data ?? "" });
      }
      const detail: LogDetail = {
        trigger: `${ctx.namespace}/${ctx.sensorName}/${ctx.triggerName}`,
        ...(ctx.correlationId ? { correlationId: ctx.correlationId } : {}),
        intervalMs: Math.max(0, Number(template?.intervalSeconds ?? 0)) * 1000,
        lines,
      };
      return { kind: "log", payload, detail };
    },
    async execute(rendered: Rendered, ctx: ExecContext): Promise<TriggerResult> {
      const detail = rendered.detail as LogDetail;
      const t = now();
      if (detail.intervalMs > 0) {
        // Argo: time.Now().After(LastLogTime.Add(interval)); equal is not after.
        const last = lastLogged.get(detail.trigger);
        if (last !== undefined && t <= last + detail.intervalMs) {
          return { summary: `log suppressed (intervalSeconds ${detail.intervalMs / 1000})` };
        }
      }
      for (const line of detail.lines) {
        ctx.log.info(
          {
            dependencyName: line.dependencyName,
            eventContext: line.eventContext,
            ...(detail.correlationId ? { correlationId: detail.correlationId } : {}),
          },
          line.data,
        );
      }
      if (detail.intervalMs > 0) lastLogged.set(detail.trigger, t);
      return { summary: `logged ${detail.lines.length} event(s)` };
    },
  };
}

export function dataAsJsonOrText(data: string | undefined): unknown {
  if (data === undefined) return null;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/** The registry's entry point. */
export function createTrigger(): TriggerKind<LogTrigger> {
  return logTrigger();
}
