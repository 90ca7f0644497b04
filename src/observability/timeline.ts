import type { JournalRecords } from "./contracts.js";
import type { JournalEntry, JournalEvent, ObjectRef } from "./journal.js";
import { outcomeOf, parseEventsRecord } from "./journal.js";
import { TRACE_STREAM, tracePartition } from "./trace.js";

/** ok: published / fired; waiting: stored for the rest of a condition; retry: a retry follows. */
export type StepOutcome = "ok" | "waiting" | "retry" | "rejected" | "failed" | "info";

export type StepKind =
  | "published"
  | "filtered"
  | "duplicate"
  | "publish-failed"
  | "phase"
  | "created"
  | "rejected"
  | "stored"
  | "replaced"
  | "expired"
  | "fired"
  | "retried"
  | "failed"
  | "dead-lettered";

/** One thing that happened to the correlation ID, in one lane (EventSource, Sensor, object). */
export interface TraceStep {
  at: string;
  lane: string;
  kind: StepKind;
  outcome: StepOutcome;
  /** The event it is about (the firing's first event for firings): `explain` it for the detail. */
  eventId: string;
  /** One line for people. */
  text: string;
  /** Until the next step of the same lane (or the trace's end), ms. */
  durationMs: number;
  sensor?: string;
  trigger?: string;
  dependency?: string;
  reason?: string;
  error?: string;
  /** Firing duration, ms. */
  ms?: number;
  /** Created or changed by a trigger; or seen by a resource EventSource (with its phase). */
  object?: ObjectRef & { phase?: string; change?: string };
  http?: { method: string; url: string; status?: number };
}

export interface TraceLane {
  name: string;
  kind: "eventsource" | "sensor" | "object";
  from: string;
  to: string;
  durationMs: number;
  /** The lane's worst outcome (failed > rejected > retry > waiting > ok). */
  outcome: StepOutcome;
}

/** What `sensorbus trace`, `/api/traces/<id>` and the console timeline show. */
export interface Trace {
  correlationId: string;
  from: string;
  to: string;
  durationMs: number;
  lanes: TraceLane[];
  steps: TraceStep[];
  events: Array<{
    id: string;
    source?: string;
    subject?: string;
    time?: string;
    outcome: string;
  }>;
}

/**
 * Events of several sources (this process's memory, the trace stream written by every replica),
 * merged by event id; an entry recorded twice (memory and stream) is kept once. Oldest first.
 */
export function mergeEvents(...lists: JournalEvent[][]): JournalEvent[] {
  const byId = new Map<string, { ev: JournalEvent; seen: Set<string> }>();
  for (const list of lists)
    for (const ev of list) {
      let m = byId.get(ev.id);
      if (!m) {
        m = { ev: { ...ev, entries: [] }, seen: new Set() };
        byId.set(ev.id, m);
      }
      for (const k of [
        "source",
        "subject",
        "type",
        "time",
        "traceparent",
        "correlationId",
      ] as const)
        if (m.ev[k] === undefined && ev[k] !== undefined) m.ev[k] = ev[k];
      for (const e of ev.entries) {
        const key = JSON.stringify(e);
        if (m.seen.has(key)) continue;
        m.seen.add(key);
        m.ev.entries.push(e);
      }
    }
  return [...byId.values()].map((m) => m.ev);
}

/**
 * The records of one correlation ID in the `sensorbus-trace` stream: one subject per ID hash, read
 * with a filtered consumer (never the whole stream). Records of another ID sharing the hash are
 * skipped.
 */
export async function readTrace(records: JournalRecords, id: string): Promise<JournalEvent[]> {
  const partition = tracePartition(id);
  const lists: JournalEvent[][] = [];
  for (const [i, text] of (await records.read(partition)).entries()) {
    const record = parseEventsRecord<{ c?: unknown; events: JournalEvent[] }>(text, {
      stream: TRACE_STREAM,
      partition,
      index: i,
      what: "trace",
    });
    if (record.c === id) lists.push(record.events);
  }
  return mergeEvents(...lists);
}

const RANK: Record<StepOutcome, number> = {
  info: 0,
  ok: 1,
  waiting: 2,
  retry: 3,
  rejected: 4,
  failed: 5,
};

const ms = (iso: string): number => Date.parse(iso);

const objectName = (o: ObjectRef): string =>
  `${o.kind} ${[o.namespace, o.name].filter(Boolean).join("/")}`;

/** Kinds of entries one firing records on each of its events: shown once. */
const SHARED = new Set(["fired", "failed", "expired", "deadlettered"]);

/** The time-ordered trace of a correlation ID from its journal events; undefined when none. */
export function buildTrace(correlationId: string, events: JournalEvent[]): Trace | undefined {
  if (events.length === 0) return undefined;
  const steps: Array<Omit<TraceStep, "durationMs">> = [];
  const shared = new Set<string>();
  for (const ev of events) {
    for (const e of ev.entries) {
      if (SHARED.has(e.kind)) {
        const key = JSON.stringify(e);
        if (shared.has(key)) continue;
        shared.add(key);
      }
      const step = stepOf(ev, e);
      steps.push(step);
      // The created object's own lane starts at its creation (its phases follow there).
      if (e.kind === "fired" && e.object)
        steps.push({
          ...step,
          lane: objectName(e.object),
          kind: "created",
          text: e.object.dryRun
            ? `rendered by Sensor ${e.sensor}, trigger ${e.trigger} (dry run: not sent to a cluster)`
            : `created by Sensor ${e.sensor}, trigger ${e.trigger}`,
        });
    }
  }
  if (steps.length === 0) return undefined;
  // Stable: entries of one event keep their recorded order at equal times.
  const ordered = steps
    .map((s, i) => ({ s, i }))
    .sort((a, b) => ms(a.s.at) - ms(b.s.at) || a.i - b.i)
    .map(({ s }) => s);
  const from = ordered[0]!.at;
  const to = ordered.at(-1)!.at;
  const laneSteps = new Map<string, Array<Omit<TraceStep, "durationMs">>>();
  for (const s of ordered) {
    const list = laneSteps.get(s.lane);
    if (list) list.push(s);
    else laneSteps.set(s.lane, [s]);
  }
  const next = new Map<Omit<TraceStep, "durationMs">, number>();
  const lanes: TraceLane[] = [];
  for (const [name, list] of laneSteps) {
    list.forEach((s, i) => {
      next.set(s, ms(list[i + 1]?.at ?? s.at) - ms(s.at));
    });
    const first = list[0]!;
    const last = list.at(-1)!;
    lanes.push({
      name,
      kind: name.startsWith("EventSource ")
        ? "eventsource"
        : name.startsWith("Sensor ")
          ? "sensor"
          : "object",
      from: first.at,
      to: last.at,
      durationMs: ms(last.at) - ms(first.at),
      outcome: laneOutcome(list),
    });
  }
  return {
    correlationId,
    from,
    to,
    durationMs: ms(to) - ms(from),
    lanes,
    steps: ordered.map((s) => ({ ...s, durationMs: next.get(s) ?? 0 })),
    events: events
      .map((ev) => ({
        id: ev.id,
        ...(ev.source !== undefined ? { source: ev.source } : {}),
        ...(ev.subject !== undefined ? { subject: ev.subject } : {}),
        ...(ev.time !== undefined ? { time: ev.time } : {}),
        outcome: outcomeOf(ev),
      }))
      .sort((a, b) => ms(a.time ?? from) - ms(b.time ?? from)),
  };
}

/**
 * A lane's colour: failed when anything in it failed for good (a trigger, a Workflow phase, an
 * expiry), else ok when something went through (published, fired, a phase), else its worst state
 * (rejected, retrying, waiting).
 */
function laneOutcome(list: Array<Omit<TraceStep, "durationMs">>): StepOutcome {
  if (list.some((s) => s.outcome === "failed")) return "failed";
  if (list.some((s) => s.outcome === "ok")) return "ok";
  const worst = list.reduce(
    (w, s) => (RANK[s.outcome] > RANK[w] ? s.outcome : w),
    "info" as StepOutcome,
  );
  return worst === "info" ? "ok" : worst;
}

function stepOf(ev: JournalEvent, e: JournalEntry): Omit<TraceStep, "durationMs"> {
  const base = { at: e.at, eventId: ev.id };
  switch (e.kind) {
    case "published": {
      const obj = e.object;
      const what = `event ${ev.id} (${e.eventSource}/${e.eventName})`;
      if (obj?.name) {
        const phase = obj.phase ?? obj.change ?? "changed";
        return {
          ...base,
          lane: objectName(obj),
          kind: "phase",
          outcome: /^(failed|error)$/i.test(phase) ? "failed" : "ok",
          text: `${phase}${obj.change && obj.phase ? ` (${obj.change})` : ""}: ${what} from EventSource ${e.eventSource}`,
          object: obj,
        };
      }
      const lane = `EventSource ${e.eventSource}`;
      switch (e.outcome) {
        case "filtered":
          return {
            ...base,
            lane,
            kind: "filtered",
            outcome: "rejected",
            text: `${what} dropped by filter.expression`,
          };
        case "duplicate":
          return {
            ...base,
            lane,
            kind: "duplicate",
            outcome: "info",
            text: `${what} duplicate id, dropped by the bus`,
          };
        case "failed":
          return {
            ...base,
            lane,
            kind: "publish-failed",
            outcome: "failed",
            text: `${what} NOT stored (bus error)`,
          };
        default:
          return { ...base, lane, kind: "published", outcome: "ok", text: `${what} published` };
      }
    }
    case "rejected":
      return {
        ...base,
        lane: `Sensor ${e.sensor}`,
        kind: "rejected",
        outcome: "rejected",
        text: `rejected event ${ev.id}: trigger ${e.trigger}, dependency ${e.dependency}: ${e.reason}`,
        sensor: e.sensor,
        trigger: e.trigger,
        dependency: e.dependency,
        reason: e.reason,
      };
    case "stored":
      return {
        ...base,
        lane: `Sensor ${e.sensor}`,
        kind: "stored",
        outcome: "waiting",
        text: `stored event ${ev.id} for trigger ${e.trigger} (dependency ${e.dependency}): waiting for the rest of the condition`,
        sensor: e.sensor,
        trigger: e.trigger,
        dependency: e.dependency,
      };
    case "replaced":
      return {
        ...base,
        lane: `Sensor ${e.sensor}`,
        kind: "replaced",
        outcome: "rejected",
        text: `event ${ev.id} replaced by ${e.by} for trigger ${e.trigger} (dependency ${e.dependency}) before the condition held`,
        sensor: e.sensor,
        trigger: e.trigger,
        dependency: e.dependency,
        reason: `replaced by ${e.by}`,
      };
    case "expired":
      return {
        ...base,
        lane: `Sensor ${e.sensor}`,
        kind: "expired",
        outcome: "failed",
        text: `expired: trigger ${e.trigger}, correlation key '${e.key}' (${e.reason === "window" ? "window passed" : "too many open keys"})`,
        sensor: e.sensor,
        trigger: e.trigger,
        reason: e.reason,
      };
    case "fired": {
      const did = e.object
        ? `${e.summary}`
        : e.http
          ? `${e.http.method} ${e.http.url}${e.http.status !== undefined ? ` -> ${e.http.status}` : ""}`
          : e.summary;
      return {
        ...base,
        eventId: Object.values(e.dependencies)[0] ?? ev.id,
        lane: `Sensor ${e.sensor}`,
        kind: "fired",
        outcome: "ok",
        text: `fired trigger ${e.trigger}: ${did} (${e.ms} ms)`,
        sensor: e.sensor,
        trigger: e.trigger,
        ms: e.ms,
        ...(e.object ? { object: e.object } : {}),
        ...(e.http ? { http: e.http } : {}),
      };
    }
    case "failed":
      return {
        ...base,
        eventId: Object.values(e.dependencies)[0] ?? ev.id,
        lane: `Sensor ${e.sensor}`,
        kind: e.final ? "failed" : "retried",
        outcome: e.final ? "failed" : "retry",
        text: `${e.final ? "trigger failed" : "trigger failed, retrying"}: ${e.trigger}: ${e.error} (${e.ms} ms)`,
        sensor: e.sensor,
        trigger: e.trigger,
        error: e.error,
        ms: e.ms,
      };
    case "deadlettered":
      return {
        ...base,
        lane: `Sensor ${e.sensor}`,
        kind: "dead-lettered",
        outcome: "failed",
        text: `dead-lettered: trigger ${e.trigger}: ${e.error}`,
        sensor: e.sensor,
        trigger: e.trigger,
        error: e.error,
      };
  }
}
