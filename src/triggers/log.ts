import { eventContext } from "../cloudevents/event.js";
import type { LogTrigger } from "../config/types.js";
import type { ExecContext, FiringContext, Rendered, TriggerKind, TriggerResult } from "./types.js";

interface LogDetail {
  trigger: string;
  /** The firing's correlation ID, a field of every line. */
  correlationId?: string;
  intervalMs: number;
  lines: Array<{ dependencyName: string; eventContext: unknown; data: string }>;
}

/**
 * Argo's `log` trigger: one info line per event of the firing, message = the data as text, with
 * `dependencyName` and `eventContext`. sensorbus honours `intervalSeconds` per trigger (at most one
 * log per interval; Argo never suppresses anything).
 */
export function logTrigger(): TriggerKind<LogTrigger> {
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
        trigger: ctx.triggerName,
        ...(ctx.correlationId ? { correlationId: ctx.correlationId } : {}),
        intervalMs: Math.max(0, Number(template?.intervalSeconds ?? 0)) * 1000,
        lines,
      };
      return { kind: "log", payload, detail };
    },
    async execute(rendered: Rendered, ctx: ExecContext): Promise<TriggerResult> {
      const detail = rendered.detail as LogDetail;
      if (detail.intervalMs > 0) {
        const now = Date.now();
        const last = lastLogged.get(detail.trigger);
        if (last !== undefined && now - last < detail.intervalMs) {
          return { summary: `log suppressed (intervalSeconds ${detail.intervalMs / 1000})` };
        }
        lastLogged.set(detail.trigger, now);
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
