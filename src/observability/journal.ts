import type { CloudEvent } from "../cloudevents/event.js";
import { EventBusError, errorMessage } from "../errors.js";
import { isCredentialHeader } from "../lib/credential-headers.js";
import { BoundedMap } from "../lib/fifo.js";
import { fnv32a } from "../lib/hash.js";
import { isoMillis } from "../lib/iso-time.js";
import { REDACTED, redactHeaders, redactJson, redactValue } from "../lib/redact.js";
import type {
  EventSourceObserver,
  JournalBus,
  JournalRecords,
  RenderedView,
  SensorObserver,
} from "./contracts.js";
import type { Logger } from "./logger.js";
import { CorrelationIndex, TRACE_LIMITS, TRACE_STREAM, tracePartition } from "./trace.js";

/**
 * The JetStream stream of the journal when the bus is NATS: records of batched entries on
 * `sensorbus-journal.<partition>`, the partition chosen by the event id (see {@link journalPartition}).
 */
export const JOURNAL_STREAM = "sensorbus-journal";
/** How long journal records stay in JetStream, and how many bytes at most. */
export const JOURNAL_LIMITS = { maxAgeMs: 3_600_000, maxBytes: 512 * 1024 * 1024 } as const;
/** Entries kept per event unless JournalOptions.maxEntries says otherwise. */
const MAX_ENTRIES = 200;
/** Partitions of the journal stream: a lookup reads one of them. */
const PARTITIONS = 16;
/** A record stays well under nats-server's 1 MiB message limit. */
const MAX_RECORD_BYTES = 256 * 1024;

export type PublishOutcome = "published" | "duplicate" | "filtered" | "failed";

/** What the journal keeps of a rendered firing (headers that carry credentials are redacted). */
export interface RenderedSummary {
  kind: string;
  request?: { method: string; url: string; headers: Record<string, string> };
  /** The payload (Workflow, object, HTTP body, log map) when its JSON is at most 4 KiB... */
  payload?: unknown;
  /** ...else the first 4 KiB of its JSON (bounds the memory of a full journal). */
  payloadText?: string;
}

export type JournalEntry =
  | {
      at: string;
      kind: "published";
      eventSource: string;
      eventName: string;
      outcome: PublishOutcome;
      /** The Kubernetes object a `resource` EventSource saw change (trace: a Workflow's phases). */
      object?: ObjectRef & { change?: string; phase?: string };
    }
  | {
      at: string;
      kind: "rejected";
      sensor: string;
      trigger: string;
      dependency: string;
      reason: string;
    }
  | {
      at: string;
      kind: "fired";
      sensor: string;
      trigger: string;
      /** Dependencies (and their event ids) this firing used. */
      dependencies: Record<string, string>;
      ms: number;
      summary: string;
      rendered?: RenderedSummary;
      /** The object the trigger created or changed (argoWorkflow, k8s). */
      object?: ObjectRef;
      /** The HTTP call the trigger made (http). */
      http?: { method: string; url: string; status?: number };
    }
  | {
      at: string;
      kind: "failed";
      sensor: string;
      trigger: string;
      dependencies: Record<string, string>;
      ms: number;
      error: string;
      /** false: a retry follows. */
      final: boolean;
    }
  | {
      at: string;
      /** The firing failed for good and its events were stored as a dead letter. */
      kind: "deadlettered";
      sensor: string;
      trigger: string;
      error: string;
    }
  | {
      at: string;
      /** Stored as the dependency's entry: the trigger's condition does not hold yet. */
      kind: "stored";
      sensor: string;
      trigger: string;
      dependency: string;
    }
  | {
      at: string;
      kind: "replaced";
      sensor: string;
      trigger: string;
      dependency: string;
      /** The newer event that took this one's place. */
      by: string;
    }
  | {
      at: string;
      kind: "expired";
      sensor: string;
      trigger: string;
      /** Keyed correlation: the key whose partial match expired. */
      key: string;
      reason: "window" | "capacity";
      dependencies: Record<string, string>;
    };

/** A Kubernetes object a trigger created or changed, or a `resource` EventSource saw. */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
  /** Rendered only (--dry-run, or no cluster configured): never sent to a cluster. */
  dryRun?: boolean;
}

export interface JournalEvent {
  id: string;
  source?: string;
  subject?: string;
  type?: string;
  time?: string;
  traceparent?: string;
  correlationId?: string;
  entries: JournalEntry[];
}

/**
 * fired: some trigger fired with it; failed: a firing failed for good and none fired;
 * rejected: every dependency that saw it rejected it; filtered: dropped by filter.expression;
 * replaced: stored for a condition, then replaced by a newer event of the same dependency;
 * accepted: a sensor saw it and did not reject it (waiting for the rest of a condition, or in flight);
 * published: on the bus, no sensor decision recorded.
 */
export type EventOutcome =
  | "fired"
  | "failed"
  | "expired"
  | "replaced"
  | "rejected"
  | "filtered"
  | "accepted"
  | "published";

export interface EventSummary {
  id: string;
  source?: string;
  subject?: string;
  at: string;
  outcome: EventOutcome;
  /** `sensor/trigger` of the firings. */
  fired: string[];
  detail: string;
}

export interface TriggerStatus {
  sensor: string;
  trigger: string;
  fired: number;
  failed: number;
  rejected: number;
  /** Firings in the last 60 s. */
  perMinute: number;
  lastFiredAt?: string;
  lastError?: string;
  lastErrorAt?: string;
  status: "ok" | "failing" | "idle";
}

export interface JournalOptions {
  /** Events kept in memory (oldest dropped first). Default 10,000. */
  capacity?: number;
  /** Entries kept per event. Default 200. */
  maxEntries?: number;
  /** Record log to mirror the journal into (see {@link Journal.open}). */
  records?: JournalRecords;
  log?: Logger;
  now?: () => number;
  /**
   * How long entries wait before they are written, ms (default 100): the entries of all events
   * recorded meanwhile then take one record per partition instead of one write per entry.
   */
  writeDelayMs?: number;
  /** Correlation IDs indexed in memory for `trace` (oldest dropped first). Default 10,000. */
  traceCapacity?: number;
  /** Events kept per correlation ID in memory. Default 200. */
  traceEventsPerId?: number;
  /** Events kept in the correlation index in all (oldest IDs dropped first). Default 50,000. */
  traceMaxEvents?: number;
  /**
   * Retention of the `sensorbus-trace` stream (JetStream): default 24 h and 1 GiB. `maxAgeMs: 0`
   * records no trace stream (the in-memory index stays).
   */
  traceLimits?: { maxAgeMs: number; maxBytes: number };
  /** Record log to mirror the correlation index into (see {@link Journal.open}). */
  traceRecords?: JournalRecords;
}

/** Record writes the journal keeps in flight at once. */
const WRITE_CONCURRENCY = 16;

const MAX_PAYLOAD = 4 * 1024;

/** The journal partition of an event id: one hex digit of its FNV-1a hash. */
export function journalPartition(id: string): string {
  return (fnv32a(id) % PARTITIONS).toString(16);
}

/**
 * One event's journal from the record log: the entries of every record of its partition that
 * mention it, in the order they were written (several replicas may have written some).
 */
export async function readJournal(
  records: JournalRecords,
  id: string,
  maxEntries = MAX_ENTRIES,
): Promise<JournalEvent | undefined> {
  const partition = journalPartition(id);
  let found: JournalEvent | undefined;
  for (const [i, text] of (await records.read(partition)).entries()) {
    const record = parseEventsRecord<JournalRecord>(text, {
      stream: JOURNAL_STREAM,
      partition,
      index: i,
      what: "journal",
    });
    for (const ev of record.events) {
      if (ev.id !== id) continue;
      found ??= { id, entries: [] };
      fillMeta(found, ev);
      found.entries.push(...ev.entries);
    }
  }
  if (found) found.entries = found.entries.slice(0, maxEntries);
  return found;
}

/** What one journal record holds: entries of several events, written in one batch. */
interface JournalRecord {
  events: JournalEvent[];
}

/**
 * One record of a journal-shaped stream (the journal, the trace stream): JSON with an `events`
 * array; anything else is an error naming the stream, partition and record.
 */
export function parseEventsRecord<R extends { events: JournalEvent[] }>(
  text: string,
  at: { stream: string; partition: number | string; index: number; what: string },
): R {
  try {
    const record = JSON.parse(text) as R;
    if (!Array.isArray(record.events))
      throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "no 'events' array", { retryable: false });
    return record;
  } catch (err) {
    throw new EventBusError(
      "SB_ERR_BUS_UNAVAILABLE",
      `stream '${at.stream}', partition ${at.partition}, record ${at.index + 1}: not a ${at.what} record: ${errorMessage(err)}`,
      { retryable: false },
    );
  }
}

export function outcomeOf(ev: JournalEvent): EventOutcome {
  const kinds = new Set(ev.entries.map((e) => e.kind));
  if (kinds.has("fired")) return "fired";
  if (ev.entries.some((e) => e.kind === "failed" && e.final)) return "failed";
  if (kinds.has("expired")) return "expired";
  if (kinds.has("replaced")) return "replaced";
  const decisions = ev.entries.filter((e) => e.kind !== "published");
  if (decisions.length > 0 && decisions.every((e) => e.kind === "rejected")) return "rejected";
  if (decisions.length > 0) return "accepted";
  if (ev.entries.some((e) => e.kind === "published" && e.outcome === "filtered")) return "filtered";
  return "published";
}

export function summarize(ev: JournalEvent): EventSummary {
  const outcome = outcomeOf(ev);
  const fired = [
    ...new Set(ev.entries.filter((e) => e.kind === "fired").map((e) => `${e.sensor}/${e.trigger}`)),
  ];
  let detail = "";
  if (outcome === "fired") {
    const first = ev.entries.find((e) => e.kind === "fired");
    detail = first?.kind === "fired" ? first.summary : "";
  } else if (outcome === "failed") {
    const f = ev.entries.find((e) => e.kind === "failed" && e.final);
    detail = f?.kind === "failed" ? f.error : "";
  } else if (outcome === "replaced") {
    const r = ev.entries.find((e) => e.kind === "replaced");
    detail = r?.kind === "replaced" ? `${r.dependency}: replaced by ${r.by}` : "";
  } else if (outcome === "rejected") {
    const r = ev.entries.find((e) => e.kind === "rejected");
    detail = r?.kind === "rejected" ? `${r.dependency}: ${r.reason}` : "";
  }
  return {
    id: ev.id,
    ...(ev.source !== undefined ? { source: ev.source } : {}),
    ...(ev.subject !== undefined ? { subject: ev.subject } : {}),
    at: ev.entries.at(-1)?.at ?? ev.time ?? "",
    outcome,
    fired,
    detail,
  };
}

export function summarizeRendered(r: RenderedView): RenderedSummary {
  const out: RenderedSummary = { kind: r.kind };
  if (r.request) {
    const headers = { ...redactHeaders(r.request.headers, r.secretHeaders) };
    for (const k of Object.keys(headers)) if (isCredentialHeader(k)) headers[k] = REDACTED;
    out.request = { method: r.request.method, url: r.request.url, headers };
  }
  const body = r.payload !== undefined ? r.payload : r.payloadText;
  if (body !== undefined) {
    // The rendered text where the trigger kept it (the HTTP body): no second JSON encoding.
    const text = typeof body === "string" ? body : (r.payloadText ?? JSON.stringify(body) ?? "");
    if (text.length <= MAX_PAYLOAD) out.payload = body;
    else out.payloadText = `${text.slice(0, MAX_PAYLOAD)}…`;
  }
  return out;
}

/** Firings per trigger kept for the console's per-minute rate. */
const RECENT_FIRINGS = 10_000;

interface Stats {
  sensor: string;
  trigger: string;
  fired: number;
  failed: number;
  rejected: number;
  /** Times of the latest firings (the last RECENT_FIRINGS count; more may wait to be trimmed). */
  recent: number[];
  lastFiredAt?: number;
  lastError?: string;
  lastErrorAt?: number;
}

/**
 * A bounded journal of what happened to recent events: published by which EventSource, rejected
 * by which dependency and why, fired which trigger with what rendered payload, failed how. Always
 * in memory (oldest events dropped past `capacity`); on a JetStream bus also appended, in batches,
 * to the `sensorbus-journal` record log (kept an hour), so that `sensorbus explain` can read it
 * from any replica.
 */
export class Journal {
  private readonly events: BoundedMap<string, JournalEvent>;
  private readonly stats = new Map<string, Stats>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Entries not yet written to the record log, per event id, with the event they belong to. */
  private unsaved = new Map<string, { ev: JournalEvent; entries: JournalEntry[] }>();
  private readonly writes = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private warned = 0;
  private records: JournalRecords | undefined;
  /** Correlation ID -> the events that carried it (the same objects as `events`). */
  private readonly byCorrelation: CorrelationIndex<JournalEvent>;
  /** Events already in `byCorrelation`. */
  private readonly indexed = new WeakSet<JournalEvent>();
  /** Entries of an event already written to the trace stream. */
  private readonly traced = new WeakMap<JournalEvent, number>();
  private traceRecords: JournalRecords | undefined;

  constructor(private readonly options: JournalOptions = {}) {
    this.records = options.records;
    this.traceRecords = options.traceRecords;
    this.events = new BoundedMap(options.capacity ?? 10_000);
    this.byCorrelation = new CorrelationIndex(
      options.traceCapacity ?? 10_000,
      options.traceEventsPerId ?? 200,
      options.traceMaxEvents ?? 50_000,
    );
    this.maxEntries = options.maxEntries ?? MAX_ENTRIES;
    this.now = options.now ?? Date.now;
  }

  /** A journal mirrored into the `sensorbus-journal` stream when `bus` keeps a journal stream. */
  static async open(bus: JournalBus, options: JournalOptions = {}): Promise<Journal> {
    const journal = new Journal(options);
    await journal.useBus(bus);
    return journal;
  }

  /**
   * Mirrors from now on into the bus's `sensorbus-journal` stream when the bus keeps a journal stream
   * (no-op otherwise). For `run`, where the Runtime creates the bus after the observer exists.
   */
  async useBus(bus: JournalBus): Promise<void> {
    if (!bus.capabilities.journalStream || this.records) return;
    this.records = await bus.recordLog(JOURNAL_STREAM, JOURNAL_LIMITS);
    const limits = this.options.traceLimits ?? TRACE_LIMITS;
    if (limits.maxAgeMs > 0 && !this.traceRecords)
      this.traceRecords = await bus.recordLog(TRACE_STREAM, limits);
  }

  /** The `sensorbus-trace` record log, when the journal mirrors into JetStream. */
  get traceLog(): JournalRecords | undefined {
    return this.traceRecords;
  }

  /** Correlation IDs indexed in memory. */
  get correlationIds(): number {
    return this.byCorrelation.size;
  }

  /** The events (redacted copies) this process saw with correlation ID `id`, oldest first. */
  correlated(id: string): JournalEvent[] {
    const list = this.byCorrelation.get(id);
    return list ? redactValue(structuredClone([...list])) : [];
  }

  get size(): number {
    return this.events.size;
  }

  get(id: string): JournalEvent | undefined {
    const ev = this.events.get(id);
    // Values read from Secrets are redacted wherever the journal is read or written.
    return ev ? redactValue(structuredClone(ev)) : undefined;
  }

  /** Newest first. */
  recent(limit = 100): EventSummary[] {
    return redactValue(
      [...this.events.values()]
        .reverse()
        .slice(0, limit)
        .map((ev) => {
          const s = summarize(ev);
          return ev.correlationId !== undefined ? { ...s, correlationId: ev.correlationId } : s;
        }),
    );
  }

  triggers(): TriggerStatus[] {
    const now = this.now();
    const out = [...this.stats.values()].map((s): TriggerStatus => {
      s.recent = s.recent.slice(-RECENT_FIRINGS).filter((t) => now - t < 300_000);
      const failing =
        s.lastErrorAt !== undefined &&
        (s.lastFiredAt === undefined || s.lastErrorAt > s.lastFiredAt);
      return {
        sensor: s.sensor,
        trigger: s.trigger,
        fired: s.fired,
        failed: s.failed,
        rejected: s.rejected,
        perMinute: s.recent.filter((t) => now - t < 60_000).length,
        ...(s.lastFiredAt !== undefined ? { lastFiredAt: isoMillis(s.lastFiredAt) } : {}),
        ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
        ...(s.lastErrorAt !== undefined ? { lastErrorAt: isoMillis(s.lastErrorAt) } : {}),
        status: failing ? "failing" : s.fired > 0 ? "ok" : "idle",
      };
    });
    return redactValue(out);
  }

  /** Records sensor decisions (combine with the metrics observer). */
  observer(): SensorObserver {
    return {
      rejected: ({ sensor, trigger, dependency, event, reason }) => {
        this.stat(sensor, trigger).rejected++;
        this.add(event, { at: this.at(), kind: "rejected", sensor, trigger, dependency, reason });
      },
      fired: ({ sensor, trigger, events, ms, summary, rendered, detail }) => {
        const s = this.stat(sensor, trigger);
        s.fired++;
        s.lastFiredAt = this.now();
        s.recent.push(s.lastFiredAt);
        // Trimmed by halves: cutting one entry off the front of 10,000 at every firing moved all
        // the others each time (about 5 µs a firing).
        if (s.recent.length >= 2 * RECENT_FIRINGS)
          s.recent.splice(0, s.recent.length - RECENT_FIRINGS);
        const entry: JournalEntry = {
          at: this.at(),
          kind: "fired",
          sensor,
          trigger,
          dependencies: depIds(events),
          ms: round(ms),
          summary,
          ...(rendered ? { rendered: summarizeRendered(rendered) } : {}),
          ...(rendered ? targetOf(rendered, detail) : {}),
        };
        for (const ev of uniqueEvents(events)) this.add(ev, entry);
      },
      stored: ({ sensor, trigger, dependency, event }) => {
        this.add(event, { at: this.at(), kind: "stored", sensor, trigger, dependency });
      },
      replaced: ({ sensor, trigger, dependency, event, by }) => {
        this.add(event, {
          at: this.at(),
          kind: "replaced",
          sensor,
          trigger,
          dependency,
          by: by.id,
        });
      },
      expired: ({ sensor, trigger, key, reason, events }) => {
        const entry: JournalEntry = {
          at: this.at(),
          kind: "expired",
          sensor,
          trigger,
          key,
          reason,
          dependencies: depIds(events),
        };
        for (const ev of uniqueEvents(events)) this.add(ev, entry);
      },
      failed: ({ sensor, trigger, events, ms, error, final }) => {
        const s = this.stat(sensor, trigger);
        if (final) s.failed++;
        s.lastError = error;
        s.lastErrorAt = this.now();
        const entry: JournalEntry = {
          at: this.at(),
          kind: "failed",
          sensor,
          trigger,
          dependencies: depIds(events),
          ms: round(ms),
          error,
          final,
        };
        for (const ev of uniqueEvents(events)) this.add(ev, entry);
      },
      deadLettered: ({ sensor, trigger, events, error }) => {
        const entry: JournalEntry = { at: this.at(), kind: "deadlettered", sensor, trigger, error };
        for (const ev of uniqueEvents(events)) this.add(ev, entry);
      },
    };
  }

  /** Records EventSource publishes (EventSourceRunner `onEmit`). */
  readonly onEmit: NonNullable<EventSourceObserver["onEmit"]> = (info) => {
    this.add(
      {
        id: info.id,
        source: info.eventSource,
        subject: info.eventName,
        ...(info.correlationId !== undefined
          ? { extensions: { correlationid: info.correlationId } }
          : {}),
      },
      {
        at: this.at(),
        kind: "published",
        eventSource: info.eventSource,
        eventName: info.eventName,
        outcome: info.outcome,
        ...(info.object ? { object: info.object } : {}),
      },
    );
  };

  /** Records a CloudEvent put on the bus by other means (publish command, tests). */
  recordPublished(event: CloudEvent, outcome: PublishOutcome = "published"): void {
    this.add(event, {
      at: this.at(),
      kind: "published",
      eventSource: event.source,
      eventName: event.subject ?? "",
      outcome,
    });
  }

  /** Resolves when everything recorded so far is written to the record log (no-op in memory). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writeUnsaved();
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }

  private at(): string {
    return isoMillis(this.now());
  }

  private stat(sensor: string, trigger: string): Stats {
    const key = `${sensor}/${trigger}`;
    let s = this.stats.get(key);
    if (!s) {
      s = { sensor, trigger, fired: 0, failed: 0, rejected: 0, recent: [] };
      this.stats.set(key, s);
    }
    return s;
  }

  private add(event: Partial<CloudEvent> & { id: string }, entry: JournalEntry): void {
    let ev = this.events.get(event.id);
    if (!ev) {
      ev = { id: event.id, entries: [] };
      this.events.set(event.id, ev);
    }
    fillMeta(ev, event);
    if (ev.entries.length >= this.maxEntries) return;
    ev.entries.push(entry);
    if (ev.correlationId !== undefined && !this.indexed.has(ev)) this.index(ev);
    if (this.records) this.persist(ev, entry);
  }

  /** Adds an event to its correlation ID's list (bounded: the oldest IDs go first). */
  private index(ev: JournalEvent): void {
    this.indexed.add(ev);
    this.byCorrelation.add(ev.correlationId as string, ev);
  }

  private persist(ev: JournalEvent, entry: JournalEntry): void {
    const pending = this.unsaved.get(ev.id);
    if (pending) {
      pending.entries.push(entry);
      return;
    }
    this.unsaved.set(ev.id, { ev, entries: [entry] });
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.writeUnsaved();
      }, this.options.writeDelayMs ?? 100);
      this.timer.unref();
    }
  }

  /**
   * Writes everything recorded so far: per partition, the batch's events as one record (split
   * where it would pass MAX_RECORD_BYTES), at most WRITE_CONCURRENCY writes at a time.
   */
  private async writeUnsaved(): Promise<void> {
    const parts = new Map<string, string[]>();
    /** Correlation ID -> its events' encoded entries for the trace stream. */
    const traces = new Map<string, string[]>();
    for (const [id, batch] of this.unsaved) {
      const ev: JournalEvent = { id, entries: [] };
      fillMeta(ev, batch.ev);
      ev.entries = batch.entries;
      const partition = journalPartition(id);
      const list = parts.get(partition) ?? [];
      if (list.length === 0) parts.set(partition, list);
      const encoded = encodeEvent(ev);
      list.push(...encoded);
      const corr = batch.ev.correlationId;
      if (this.traceRecords && corr !== undefined) {
        // Entries recorded before the event's correlation ID was known go to the trace now.
        const done = this.traced.get(batch.ev) ?? 0;
        const todo = batch.ev.entries.length - done;
        this.traced.set(batch.ev, batch.ev.entries.length);
        const texts =
          todo === batch.entries.length
            ? encoded
            : encodeEvent({ ...ev, entries: batch.ev.entries.slice(done) });
        const t = traces.get(corr);
        if (t) t.push(...texts);
        else traces.set(corr, [...texts]);
      }
    }
    this.unsaved = new Map();
    const records: [string, string, JournalRecords | undefined][] = [];
    for (const [partition, events] of parts)
      for (const record of packRecords(events)) records.push([partition, record, this.records]);
    const traceBatch: [string, string][] = [];
    for (const [corr, events] of traces) {
      const partition = tracePartition(corr);
      const head = `{"c":${JSON.stringify(corr)},`;
      for (const record of packRecords(events))
        traceBatch.push([partition, head + record.slice(1)]);
    }
    // One record per correlation ID: one round trip for all of them where the log can (about a
    // third of the CPU of acknowledging each), else one acknowledged write each.
    const traceLog = this.traceRecords;
    if (traceLog?.appendBatch && traceBatch.length > 0) {
      const write = traceLog.appendBatch(traceBatch).catch((err) => this.warn(TRACE_STREAM, err));
      this.writes.add(write);
      void write.then(() => this.writes.delete(write));
    } else for (const [p, r] of traceBatch) records.push([p, r, traceLog]);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < records.length) {
        const [partition, record, log] = records[next++]!;
        const write = this.write(log, partition, record);
        this.writes.add(write);
        await write;
        this.writes.delete(write);
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, records.length) }, worker));
  }

  private async write(
    log: JournalRecords | undefined,
    partition: string,
    record: string,
  ): Promise<void> {
    try {
      await log?.append(partition, record);
    } catch (err) {
      this.warn(partition, err);
    }
  }

  private warn(partition: string, err: unknown): void {
    if (this.warned++ % 100 === 0)
      this.options.log?.warn({ partition, err }, "cannot write the event journal to JetStream");
  }
}

/** An event's JSON, split over several parts (same id) where one would pass MAX_RECORD_BYTES. */
function encodeEvent(ev: JournalEvent): string[] {
  const text = redactJson(JSON.stringify(ev));
  if (text.length <= MAX_RECORD_BYTES / 2 || ev.entries.length <= 1) return [text];
  const half = Math.ceil(ev.entries.length / 2);
  return [
    ...encodeEvent({ ...ev, entries: ev.entries.slice(0, half) }),
    ...encodeEvent({ ...ev, entries: ev.entries.slice(half) }),
  ];
}

/** Joins encoded events into `{"events":[...]}` records of at most MAX_RECORD_BYTES (about). */
function packRecords(events: string[]): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let size = 0;
  for (const e of events) {
    if (current.length > 0 && size + e.length > MAX_RECORD_BYTES) {
      out.push(`{"events":[${current.join(",")}]}`);
      current = [];
      size = 0;
    }
    current.push(e);
    size += e.length + 1;
  }
  if (current.length > 0) out.push(`{"events":[${current.join(",")}]}`);
  return out;
}

function fillMeta(ev: JournalEvent, from: Partial<CloudEvent> | JournalEvent): void {
  if (from.source !== undefined && ev.source === undefined) ev.source = from.source;
  if (from.subject !== undefined && ev.subject === undefined) ev.subject = from.subject;
  if (from.type !== undefined && ev.type === undefined) ev.type = from.type;
  if (from.time !== undefined && ev.time === undefined) ev.time = from.time;
  const ext = "extensions" in from ? from.extensions : undefined;
  const traceparent = ext?.traceparent ?? ("traceparent" in from ? from.traceparent : undefined);
  if (traceparent !== undefined && ev.traceparent === undefined) ev.traceparent = traceparent;
  const corr = ext?.correlationid ?? ("correlationId" in from ? from.correlationId : undefined);
  if (corr !== undefined && ev.correlationId === undefined) ev.correlationId = corr;
}

function depIds(events: ReadonlyMap<string, CloudEvent>): Record<string, string> {
  return Object.fromEntries([...events].map(([dep, ev]) => [dep, ev.id]));
}

function uniqueEvents(events: ReadonlyMap<string, CloudEvent>): CloudEvent[] {
  if (events.size === 1) return [events.values().next().value as CloudEvent];
  const seen = new Map<string, CloudEvent>();
  for (const ev of events.values()) if (!seen.has(ev.id)) seen.set(ev.id, ev);
  return [...seen.values()];
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** The object an argoWorkflow/k8s trigger acted on, or the HTTP call an http trigger made. */
function targetOf(
  r: RenderedView,
  detail: Record<string, unknown> | undefined,
): { object?: ObjectRef; http?: { method: string; url: string; status?: number } } {
  if (r.request) {
    const status = typeof detail?.status === "number" ? detail.status : undefined;
    return {
      http: {
        method: r.request.method,
        url: r.request.url,
        ...(status !== undefined ? { status } : {}),
      },
    };
  }
  const obj = r.payload as
    | { kind?: unknown; metadata?: { name?: unknown; generateName?: unknown; namespace?: unknown } }
    | undefined;
  if (!obj || typeof obj !== "object" || typeof obj.kind !== "string") return {};
  const meta = obj.metadata ?? {};
  // The name the API server gave (generateName, or a resubmitted copy) where the trigger says.
  const fromDetail =
    typeof detail?.created === "string"
      ? detail.created
      : typeof detail?.name === "string"
        ? detail.name
        : typeof detail?.id === "string"
          ? detail.id.split("/").at(-1)
          : undefined;
  const name = fromDetail ?? (typeof meta.name === "string" ? meta.name : undefined);
  if (name === undefined) return {};
  const namespace =
    typeof detail?.namespace === "string"
      ? detail.namespace
      : typeof meta.namespace === "string"
        ? meta.namespace
        : undefined;
  return {
    object: {
      kind: obj.kind,
      name,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(detail?.dryRun === true ? { dryRun: true } : {}),
    },
  };
}
