import { createHash, randomUUID } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { CalendarEventSpec } from "../config/types.js";
import { ConfigError, EventsError, errorMessage } from "../errors.js";
import { type CronSchedule, cronNext, parseCron } from "../lib/cron.js";
import { parseGoDuration } from "../lib/duration.js";
import { goMarshal, goQuote } from "../lib/gojson.js";
import { formatGoTime } from "../lib/gotime.js";
import { isValidZone, normalizeZone, wallTime, wallToInstant } from "../lib/tz.js";
import type { Logger } from "../observability/logger.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "./types.js";

/**
 * Calendar EventSource (`spec.calendar.<eventName>`, semantics §2.3): a 5-field cron `schedule`
 * (see lib/cron.ts, DST rules included) or a Go-duration `interval`, evaluated in `timezone`,
 * skipping `exclusionDates`. Time comes only from `ctx.clock`, so tests drive it with a fake one.
 *
 * Persistence: after an emit resolved, the payload is stored in a TickStore under
 * `<namespace>.<eventSourceName>.<eventName>` (Argo keeps it in a ConfigMap under
 * `<eventSourceName>.<eventName>`). With catch-up enabled a restart resumes from the stored
 * event time, bounded by `now - maxDuration`, and emits the missed occurrences at once. Nothing is
 * stored before the emit resolved, and the next occurrence is always computed strictly after the
 * stored one, so a tick is never emitted twice by a restart; a crash between emit and store can
 * repeat one tick, which carries the same event id both times (the bus dedupe window absorbs it).
 *
 * Persistence is on when `persistence.configMap` is given or `persistence.catchup.enabled` is true
 * (Argo needs the ConfigMap; sensorbus has no ConfigMap outside Kubernetes, so catch-up alone is
 * enough). With persistence on, a rejected emit is retried every 100 ms; with it off the
 * occurrence is dropped and logged, as Argo does.
 */

/** Retry pause (100 ms) after a rejected emit while persistence is on. */
const RETRY_DELAY_MS = 100;
const EXDATE_PREFIX = "EXDATE:";

/**
 * Where the last emitted tick of each calendar entry is kept. Implementations must make `put`
 * durable before resolving (a restart reads it back with `get`) and must return exactly the
 * stored text. Keys contain letters, digits, `.`, `-`, `_` and whatever an event name holds.
 */
export interface TickStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
}

/** One file per key in `dir` (created on first write), replaced atomically on every put. */
export class FileTickStore implements TickStore {
  constructor(readonly dir: string) {}

  /** The file holding `key`. */
  pathFor(key: string): string {
    return join(this.dir, `${encodeKey(key)}.json`);
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.pathFor(key), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async put(key: string, value: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.pathFor(key);
    const tmp = `${target}.${process.pid}.${randomUUID()}.tmp`;
    try {
      const fh = await open(tmp, "w");
      try {
        await fh.writeFile(value, "utf8");
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

/** Keeps file names portable: anything but `[A-Za-z0-9_.-]` (and a leading dot) as %XX. */
function encodeKey(key: string): string {
  const encoded = key.replace(/[^A-Za-z0-9_.-]/gu, (ch) =>
    [...Buffer.from(ch, "utf8")]
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`)
      .join(""),
  );
  return encoded.startsWith(".") ? `%2E${encoded.slice(1)}` : encoded;
}

/** `SENSORBUS_STATE_DIR`, else `.sensorbus-state` in the working directory. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, env.SENSORBUS_STATE_DIR || ".sensorbus-state");
}

/** A calendar entry checked and ready to compute occurrences. */
export interface CompiledCalendar {
  /** Zone of `timezone` (UTC when unset): catch-up event times and exclusion dates use it. */
  readonly zone: string;
  /** First occurrence strictly after `afterMs`, exclusion dates skipped; undefined when none. */
  next(afterMs: number): number | undefined;
  readonly persistence: boolean;
  readonly catchup: boolean;
  /** Catch-up horizon in ms; undefined means unbounded. */
  readonly maxDurationMs: number | undefined;
}

/**
 * Validates one entry the way Argo does at start (schedule wins over interval; timezone, exclusion
 * dates and maxDuration must parse). Throws ConfigError naming `where` and the field.
 * Beyond Argo: an interval must be at least 1s (shorter ones make Argo fire without pause,
 * because each next time is computed from the previous one truncated to the second).
 */
export function compileCalendarSpec(spec: CalendarEventSpec, where = "calendar"): CompiledCalendar {
  return compile(spec, (field, message) => {
    const problem = `${where}${field}: ${message}`;
    throw new ConfigError(problem, [problem]);
  });
}

/**
 * The first problem `compileCalendarSpec` refuses an entry for: the field (".interval", "" for
 * the entry) and the message; undefined when the entry would start. `validate` reports it, so
 * it refuses exactly what the EventSource refuses.
 */
export function calendarSpecProblem(
  spec: CalendarEventSpec,
): { field: string; message: string } | undefined {
  let found: { field: string; message: string } | undefined;
  try {
    compile(spec, (field, message) => {
      found = { field, message };
      throw new ConfigError(message);
    });
  } catch (err) {
    if (found === undefined) return { field: "", message: errorMessage(err) };
  }
  return found;
}

function compile(
  spec: CalendarEventSpec,
  fail: (field: string, message: string) => never,
): CompiledCalendar {
  const tz = spec.timezone ?? "";
  if (tz !== "" && !isValidZone(tz)) {
    fail(".timezone", `failed to load location: unknown time zone ${tz}`);
  }
  const zone = normalizeZone(tz);
  let step: (afterMs: number) => number | undefined;
  let isInterval = false;
  let intervalMs = 0;
  if (spec.schedule) {
    let schedule: CronSchedule | undefined;
    try {
      schedule = parseCron(spec.schedule);
    } catch (err) {
      fail(
        ".schedule",
        `failed to parse schedule ${spec.schedule} from calendar event. Cause: ${errorMessage(err)}`,
      );
    }
    const s = schedule as CronSchedule;
    step = (afterMs) => cronNext(s, afterMs, zone);
  } else if (spec.interval) {
    try {
      intervalMs = parseGoDuration(spec.interval);
    } catch (err) {
      fail(
        ".interval",
        `failed to parse interval ${spec.interval} from calendar event. Cause: ${errorMessage(err)}`,
      );
    }
    if (intervalMs < 1000) fail(".interval", `interval ${spec.interval} is shorter than 1s`);
    isInterval = true;
    step = (afterMs) => Math.floor(afterMs / 1000) * 1000 + intervalMs;
  } else {
    return fail("", "calendar event must contain either a schedule or interval");
  }
  let excluded = new Set<string>();
  try {
    excluded = parseExclusionDates(spec.exclusionDates ?? [], "");
  } catch (err) {
    const m = /^(\[\d+\]): (.*)$/s.exec(errorMessage(err));
    fail(`.exclusionDates${m?.[1] ?? ""}`, m?.[2] ?? errorMessage(err));
  }
  const catchupSpec = spec.persistence?.catchup;
  let maxDurationMs: number | undefined;
  if (catchupSpec?.maxDuration) {
    try {
      maxDurationMs = parseGoDuration(catchupSpec.maxDuration);
    } catch (err) {
      fail(".persistence.catchup.maxDuration", errorMessage(err));
    }
  }
  const catchup = catchupSpec?.enabled === true;
  const isExcluded = (t: number) => {
    const w = wallTime(t, zone);
    return excluded.has(dateKey(w.year, w.month, w.day));
  };
  return {
    zone,
    persistence: spec.persistence?.configMap != null || catchup,
    catchup,
    maxDurationMs,
    next(afterMs) {
      let t = step(afterMs);
      while (t !== undefined && isExcluded(t)) {
        if (isInterval) {
          // Step through the excluded day arithmetically; checking each step's date is wasteful.
          const w = wallTime(t, zone);
          const nextDay = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
          const dayEnd = wallToInstant(
            nextDay.getUTCFullYear(),
            nextDay.getUTCMonth() + 1,
            nextDay.getUTCDate(),
            0,
            0,
            0,
            zone,
          );
          while (t < dayEnd) t = Math.floor(t / 1000) * 1000 + intervalMs;
        } else {
          t = step(t);
        }
      }
      return t;
    },
  };
}

/**
 * The first occurrence of `spec` strictly after `after`, or undefined when the schedule has none
 * within five years. Throws ConfigError for an invalid spec. Used by tests and `validate`.
 */
export function nextOccurrence(spec: CalendarEventSpec, after: Date): Date | undefined {
  const t = compileCalendarSpec(spec).next(after.getTime());
  return t === undefined ? undefined : new Date(t);
}

function dateKey(year: number, month: number, day: number): string {
  return `${year}-${month}-${day}`;
}

/**
 * Argo's ParseExclusionDates: only values starting with `EXDATE:` count; each holds comma-separated
 * `20060102T150405Z` times (UTC) of which only the date is used. Returns `Y-M-D` keys.
 */
export function parseExclusionDates(
  values: readonly string[],
  where = "exclusionDates",
): Set<string> {
  const out = new Set<string>();
  values.forEach((value, i) => {
    if (!value.startsWith(EXDATE_PREFIX)) return;
    for (const text of value.slice(EXDATE_PREFIX.length).split(",")) {
      const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
      const [year, month, day, hour, minute, second] = (m?.slice(1) ?? []).map(Number);
      const valid =
        m !== null &&
        month !== undefined &&
        month >= 1 &&
        month <= 12 &&
        day !== undefined &&
        day >= 1 &&
        day <= daysInMonth(year ?? 0, month) &&
        (hour ?? 99) <= 23 &&
        (minute ?? 99) <= 59 &&
        (second ?? 99) <= 59;
      if (!valid) {
        const problem = `${where}[${i}]: parsing time ${goQuote(text)} as "20060102T150405Z": not a valid UTC date-time`;
        throw new ConfigError(problem, [problem]);
      }
      out.add(dateKey(year as number, month as number, day as number));
    }
  });
  return out;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Argo's CalendarEventData: `{"eventTime":"...","metadata":{...}}`, metadata omitted when empty. */
export function buildCalendarPayload(eventTime: string, metadata?: Record<string, string>): string {
  const meta =
    metadata && Object.keys(metadata).length > 0 ? `,"metadata":${goMarshal(metadata)}` : "";
  return `{"eventTime":${goQuote(eventTime)}${meta}}`;
}

/**
 * sensorbus: the CloudEvent id of one occurrence, 32 hex chars from SHA-256 of the entry and the
 * scheduled instant, so a retried or repeated occurrence carries the same id.
 */
export function calendarEventId(
  namespace: string,
  eventSourceName: string,
  eventName: string,
  scheduledMs: number,
): string {
  return createHash("sha256")
    .update([namespace, eventSourceName, eventName, String(scheduledMs)].join("\u0000"))
    .digest("hex")
    .slice(0, 32);
}

/** Go's monotonic clock reading as `Time.String` appends it: ` m=+12.000345000`. */
export function formatMonotonicSuffix(msSinceStart: number): string {
  const nanos = BigInt(Math.round(msSinceStart * 1e6));
  const sign = nanos < 0n ? "-" : "+";
  const abs = nanos < 0n ? -nanos : nanos;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, "0");
  return ` m=${sign}${abs / 1_000_000_000n}.${frac}`;
}

/**
 * Reads back a stored payload's `eventTime` (Go time text, optionally with ` m=...`) as epoch ms.
 * Sub-millisecond digits are dropped. Throws when it is not a payload this adapter writes.
 */
export function parseStoredEventTime(stored: string): number {
  let eventTime: unknown;
  try {
    eventTime = (JSON.parse(stored) as { eventTime?: unknown } | null)?.eventTime;
  } catch (err) {
    throw new Error(`not JSON (${errorMessage(err)})`);
  }
  if (typeof eventTime !== "string") throw new Error("no eventTime string in the stored payload");
  const text = eventTime.split(" m=")[0] ?? "";
  const m =
    /^(-?\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ([+-])(\d{2})(\d{2}) \S+$/.exec(
      text,
    );
  if (!m) throw new Error(`eventTime ${JSON.stringify(eventTime)} is not Go time text`);
  const n = (i: number) => Number(m[i]);
  const ms = Number((m[7] ?? "").padEnd(3, "0").slice(0, 3));
  const offset = (m[8] === "-" ? -1 : 1) * (n(9) * 3600 + n(10) * 60) * 1000;
  const utc = Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6), ms);
  const date = new Date(utc);
  if (date.getUTCMonth() !== n(2) - 1 || date.getUTCDate() !== n(3) || n(4) > 23 || n(5) > 59) {
    throw new Error(`eventTime ${JSON.stringify(eventTime)} is not a valid time`);
  }
  return utc - offset;
}

export interface CalendarAdapterOptions {
  /** Where ticks are persisted; default a FileTickStore in `defaultStateDir()`, made on demand. */
  tickStore?: TickStore;
  /**
   * Milliseconds since process start, for the ` m=+<seconds>` suffix of timer-fired event times
   * (Go prints its monotonic clock reading there). Default `performance.now()`.
   */
  monotonicMs?: () => number;
  /**
   * In Kubernetes: the store for an entry with `persistence.configMap` (Argo keeps the last event
   * in that ConfigMap under `<eventSource>.<event>`). Entries without one use `tickStore`.
   */
  configMapStore?: (ref: {
    name: string;
    namespace: string;
    createIfNotExist: boolean;
  }) => TickStore | undefined;
}

interface Entry {
  eventName: string;
  spec: CalendarEventSpec;
  compiled: CompiledCalendar;
  key: string;
  log: Logger;
  /** Where this entry persists its ticks (undefined: persistence off). */
  store: TickStore | undefined;
}

export function createCalendarAdapter(
  opts: CalendarAdapterOptions = {},
): EventSourceAdapter<CalendarEventSpec> {
  const monotonicMs = opts.monotonicMs ?? (() => performance.now());
  let fileStore: TickStore | undefined;
  const storeFor = () => {
    if (opts.tickStore) return opts.tickStore;
    fileStore ??= new FileTickStore(defaultStateDir());
    return fileStore;
  };
  return {
    key: "calendar",
    ceType: "calendar",
    async start(entries, ctx): Promise<RunningAdapter> {
      const compiled: Entry[] = entries.flatMap(({ eventName, spec }) => {
        let c: CompiledCalendar;
        try {
          c = compileCalendarSpec(spec, `spec.calendar.${eventName}`);
        } catch (err) {
          // One bad entry does not stop the others (validate refuses it before run starts).
          ctx.log.error(
            { eventName, err },
            `calendar entry ${eventName} not started: ${errorMessage(err)}`,
          );
          return [];
        }
        const cm = spec.persistence?.configMap;
        const store = !c.persistence
          ? undefined
          : ((cm?.name
              ? opts.configMapStore?.({
                  name: cm.name,
                  namespace: ctx.namespace,
                  createIfNotExist: cm.createIfNotExist === true,
                })
              : undefined) ?? storeFor());
        return [
          {
            eventName,
            spec,
            compiled: c,
            key: `${ctx.namespace}.${ctx.eventSourceName}.${eventName}`,
            log: ctx.log.child({ component: "calendar", eventName }),
            store,
          },
        ];
      });
      const starts: number[] = [];
      for (const entry of compiled) starts.push(await startingPoint(entry, entry.store, ctx));
      const stopping = new AbortController();
      const onAbort = () => stopping.abort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      if (ctx.signal.aborted) stopping.abort();
      const loops = compiled.map((entry, i) =>
        runEntry(entry, starts[i] as number, entry.store, ctx, stopping.signal, monotonicMs).catch(
          (err: unknown) => {
            entry.log.error({ err }, "calendar entry stopped by an unexpected error");
          },
        ),
      );
      return {
        async stop() {
          stopping.abort();
          ctx.signal.removeEventListener("abort", onAbort);
          await Promise.all(loops);
        },
      };
    },
  };
}

/** The calendar adapter with the default file TickStore. */
export const calendarAdapter: EventSourceAdapter<CalendarEventSpec> = createCalendarAdapter();

/** Argo's getExecutionTime: now, or the stored event time (bounded by maxDuration) on catch-up. */
async function startingPoint(
  entry: Entry,
  store: TickStore | undefined,
  ctx: AdapterContext,
): Promise<number> {
  const now = ctx.clock.now();
  const { compiled, key, log } = entry;
  if (!store || !compiled.persistence || !compiled.catchup) return now;
  let stored: string | undefined;
  try {
    stored = await store.get(key);
  } catch (err) {
    throw new EventsError(
      "SB_ERR_EVENTSOURCE_START",
      `calendar ${entry.eventName}: cannot read the last event "${key}" from the tick store: ${errorMessage(err)}`,
      { cause: err, retryable: true },
    );
  }
  let last = now;
  if (stored !== undefined && stored !== "") {
    try {
      last = parseStoredEventTime(stored);
    } catch (err) {
      throw new EventsError(
        "SB_ERR_EVENTSOURCE_START",
        `calendar ${entry.eventName}: the stored last event "${key}" is unreadable (${errorMessage(err)}); remove it to start afresh`,
        { cause: err },
      );
    }
  }
  if (compiled.maxDurationMs !== undefined && compiled.maxDurationMs < now - last) {
    log.info(
      { maxDuration: entry.spec.persistence?.catchup?.maxDuration },
      "catch-up bounded by maxDuration",
    );
    last = now - compiled.maxDurationMs;
  }
  log.info({ from: new Date(last).toISOString() }, "calendar catch-up starts");
  return last;
}

/** Argo's StartListening loop for one entry. Resolves when `signal` aborts. */
async function runEntry(
  entry: Entry,
  start: number,
  store: TickStore | undefined,
  ctx: AdapterContext,
  signal: AbortSignal,
  monotonicMs: () => number,
): Promise<void> {
  const { compiled, log, eventName } = entry;
  const clock = ctx.clock;
  const persist = compiled.persistence && store !== undefined;

  /** Emits one occurrence; true when the bus took it (then it is stored when persistence is on). */
  const dispatch = async (scheduledMs: number, eventTime: string): Promise<boolean> => {
    const data = buildCalendarPayload(eventTime, entry.spec.metadata);
    const id = calendarEventId(ctx.namespace, ctx.eventSourceName, eventName, scheduledMs);
    try {
      await ctx.emit(eventName, { data, id });
    } catch (err) {
      const scheduled = new Date(scheduledMs).toISOString();
      if (persist) {
        log.warn({ err, scheduled }, "failed to dispatch calendar event; retrying in 100 ms");
      } else {
        log.error({ err, scheduled }, "failed to dispatch calendar event; occurrence dropped");
      }
      return false;
    }
    if (persist && store) {
      try {
        await store.put(entry.key, data);
      } catch (err) {
        log.error({ err, key: entry.key }, "failed to persist calendar event");
      }
    }
    return true;
  };

  log.info(
    {
      schedule: entry.spec.schedule || undefined,
      interval: entry.spec.schedule ? undefined : entry.spec.interval,
      timezone: compiled.zone,
      persistence: persist,
      from: new Date(start).toISOString(),
    },
    "calendar entry started",
  );
  let last = start;
  while (!signal.aborted) {
    const t = compiled.next(last);
    if (t === undefined) {
      log.error(
        { schedule: entry.spec.schedule },
        "calendar schedule has no further occurrence; entry stopped",
      );
      return;
    }
    let now = clock.now();
    if (now > t) {
      // Missed occurrence (catch-up or a slow emit): emit it now with its scheduled time.
      const ok = await dispatch(t, formatGoTime(new Date(t), undefined, compiled.zone));
      if (!ok && persist) {
        if (!(await clock.sleep(RETRY_DELAY_MS, signal))) return;
        continue;
      }
      last = t;
      continue;
    }
    log.debug({ next: new Date(t).toISOString() }, "expected next calendar event");
    // A timer may wake a little early; never fire before the occurrence.
    while (now < t) {
      if (!(await clock.sleep(t - now, signal))) return;
      now = clock.now();
    }
    const eventTime = formatGoTime(new Date(now)) + formatMonotonicSuffix(monotonicMs());
    const ok = await dispatch(t, eventTime);
    if (!ok && persist) {
      if (!(await clock.sleep(RETRY_DELAY_MS, signal))) return;
      continue;
    }
    last = now;
  }
}
