import { createHash } from "node:crypto";
import type { CloudEvent } from "../cloudevents/event.js";
import { decodeStructured, encodeStructured, eventContext } from "../cloudevents/event.js";
import type { CorrelationConfig, EventDependency } from "../config/types.js";
import { EventsError, errorMessage } from "../errors.js";
import type { KeyValueStore } from "../eventbus/types.js";
import { parseGoDuration } from "../lib/duration.js";
import { gjsonGet } from "../lib/gjson.js";
import type { StoredDependencyEvent } from "./state.js";

/**
 * Keyed correlation (sensorbus extension, `triggers[].template.correlation`): the trigger's
 * condition is evaluated per correlation key instead of over "the latest event per dependency".
 * Partial matches are kept per key and expire `window` after the first event of that key arrived.
 */

/** The correlation key source meaning "the CloudEvent extension / context attribute <name>". */
const CE_PREFIX = "ce:";

/** Default bound on open keys held in memory (all correlated triggers of a Sensor together). */
export const DEFAULT_MAX_OPEN_KEYS = 100_000;

export interface CorrelationSpec {
  windowMs: number;
  /** Per dependency name: a gjson path into the event data, or `ce:<attribute>`. */
  keys: Map<string, string>;
}

/** One key's partial match: the events stored so far and when the first arrived (clock ms). */
export interface OpenMatch {
  key: string;
  firstAt: number;
  deps: Map<string, StoredDependencyEvent>;
}

/** A partial match that ended without firing. */
export interface ExpiredMatch {
  trigger: string;
  key: string;
  firstAt: number;
  /** `window`: its window passed; `capacity`: evicted early because the open-key cap was reached. */
  reason: "window" | "capacity";
  deps: Map<string, StoredDependencyEvent>;
}

/**
 * Storage of open partial matches per (trigger, key). Memory or JetStream KV. KV implementations
 * reject writes with EventsError SB_ERR_KV_CONFLICT when another replica changed the key since it
 * was read; the caller then runs the condition step again (SensorRunner does).
 */
export interface CorrelationStore {
  get(trigger: string, key: string): Promise<OpenMatch | undefined>;
  /** Stores the match; returns the matches evicted to stay under the open-key cap (memory). */
  put(trigger: string, match: OpenMatch): Promise<ExpiredMatch[]>;
  /** Consumes the match (firing or expiry). */
  remove(trigger: string, match: OpenMatch): Promise<void>;
  /** Removes and returns the trigger's matches whose first event arrived at or before `deadline`. */
  takeExpired(trigger: string, deadline: number): Promise<OpenMatch[]>;
  /** Open keys currently held (KV: as of the last sweep and this process's own writes). */
  openKeys(): number;
}

/**
 * Validates a trigger's `correlation` block against the condition's dependencies. Throws EventsError
 * SB_ERR_CONDITION_SYNTAX naming the field at fault.
 */
export function parseCorrelation(
  config: CorrelationConfig,
  dependencies: readonly string[],
  all: readonly EventDependency[],
): CorrelationSpec {
  const fail = (msg: string): never => {
    throw new EventsError("SB_ERR_CONDITION_SYNTAX", `correlation: ${msg}`);
  };
  let windowMs = 0;
  try {
    windowMs = parseGoDuration(String(config.window ?? ""));
  } catch (err) {
    fail(`window: ${errorMessage(err)}`);
  }
  if (!(windowMs > 0))
    fail(`window must be a positive Go duration (e.g. 30m), got '${config.window}'`);
  const keys = new Map<string, string>();
  for (const name of Object.keys(config.keys ?? {})) {
    if (!all.some((d) => d.name === name)) fail(`keys: unknown dependency '${name}'`);
  }
  for (const dep of dependencies) {
    const path = config.keys?.[dep] ?? config.key;
    if (path === undefined || path === "")
      fail(`no key for dependency '${dep}' (set correlation.key or correlation.keys.${dep})`);
    keys.set(dep, path as string);
  }
  return { windowMs, keys };
}

/** The event's correlation key for `dependency`, or why it has none. */
export function correlationKeyOf(
  spec: CorrelationSpec,
  dependency: string,
  event: CloudEvent,
): { key: string } | { reason: string } {
  const path = spec.keys.get(dependency);
  if (path === undefined) return { reason: `correlation: no key path for '${dependency}'` };
  let value: string | undefined;
  if (path.startsWith(CE_PREFIX)) {
    const name = path.slice(CE_PREFIX.length);
    const ctx = eventContext(event) as unknown as Record<string, string | undefined>;
    value = event.extensions?.[name] ?? (Object.hasOwn(ctx, name) ? ctx[name] : undefined);
  } else {
    const r = gjsonGet(event.data ?? "", path);
    if (r.exists && r.type !== "Null") value = r.text;
  }
  if (value === undefined) return { reason: `correlation key '${path}' does not exist` };
  if (value === "") return { reason: `correlation key '${path}' is empty` };
  return { key: value };
}

/** The firing's events with the key stamped as the `correlationid` extension where absent. */
export function stampCorrelationId(event: CloudEvent, key: string): CloudEvent {
  if (event.extensions?.correlationid !== undefined) return event;
  return { ...event, extensions: { ...event.extensions, correlationid: key } };
}

// ----- memory --------------------------------------------------------------------------------

/**
 * In-memory open matches. Bounded: when a new key would exceed `maxOpenKeys` (all triggers
 * together), the key whose first event arrived earliest is evicted and reported as expired with
 * reason `capacity`. Map insertion order is first-arrival order, so expiry scans stop at the first
 * key still inside its window.
 */
export class MemoryCorrelationStore implements CorrelationStore {
  private readonly byTrigger = new Map<string, Map<string, OpenMatch>>();
  private count = 0;

  constructor(private readonly maxOpenKeys = DEFAULT_MAX_OPEN_KEYS) {}

  async get(trigger: string, key: string): Promise<OpenMatch | undefined> {
    const m = this.byTrigger.get(trigger)?.get(key);
    return m ? { key: m.key, firstAt: m.firstAt, deps: new Map(m.deps) } : undefined;
  }

  async put(trigger: string, match: OpenMatch): Promise<ExpiredMatch[]> {
    let m = this.byTrigger.get(trigger);
    if (!m) {
      m = new Map();
      this.byTrigger.set(trigger, m);
    }
    const evicted: ExpiredMatch[] = [];
    if (!m.has(match.key)) {
      while (this.count >= this.maxOpenKeys) {
        const oldest = this.evictOldest();
        if (!oldest) break;
        evicted.push(oldest);
      }
      this.count++;
    }
    m.set(match.key, { key: match.key, firstAt: match.firstAt, deps: new Map(match.deps) });
    return evicted;
  }

  async remove(trigger: string, match: OpenMatch): Promise<void> {
    const m = this.byTrigger.get(trigger);
    if (m?.delete(match.key)) this.count--;
  }

  async takeExpired(trigger: string, deadline: number): Promise<OpenMatch[]> {
    const m = this.byTrigger.get(trigger);
    const out: OpenMatch[] = [];
    if (!m) return out;
    for (const [key, match] of m) {
      if (match.firstAt > deadline) break;
      m.delete(key);
      this.count--;
      out.push(match);
    }
    return out;
  }

  openKeys(): number {
    return this.count;
  }

  /** Evicts the key with the earliest first arrival over all triggers; tagged with its trigger. */
  private evictOldest(): ExpiredMatch | undefined {
    let best: { trigger: string; match: OpenMatch } | undefined;
    for (const [trigger, m] of this.byTrigger) {
      const first = m.values().next().value as OpenMatch | undefined;
      if (first && (!best || first.firstAt < best.match.firstAt)) best = { trigger, match: first };
    }
    if (!best) return undefined;
    this.byTrigger.get(best.trigger)!.delete(best.match.key);
    this.count--;
    return { ...best.match, trigger: best.trigger, reason: "capacity" };
  }
}

// ----- JetStream KV ----------------------------------------------------------------------------

/**
 * Open matches in the Sensor's KV bucket (the one Argo's condition state uses), one entry per key:
 * `<trigger>/k/<sha256(key), 32 hex>` = `{"Key","FirstAt","Deps":{"<dep>":{"StreamSeq",
 * "Timestamp","Event"}}}` (Event: the structured CloudEvent as a JSON string, data bytes exact).
 * Every write is compare-and-set on the revision read (create for a new key), so concurrent
 * replicas neither lose a partial entry nor fire twice; a consumed key is deleted at the revision
 * read (a KV delete marker, as the condition state does; SensorRunner purges old markers), so key
 * listings and expiry sweeps skip it: a sweep costs the open keys, not every key the trigger ever
 * saw. (Buckets written before kept "" as the consumed value; that still reads as absent.) Expiry
 * is a sweep over the trigger's keys (`takeExpired`): the bucket is shared with Argo's condition
 * state, so it has no TTL.
 */
export class KvCorrelationStore implements CorrelationStore {
  /** KV key -> revision this process last read or wrote (0: absent), for keys in use. */
  private readonly revisions = new Map<string, number>();
  private readonly live = new Set<string>();

  constructor(private readonly kv: KeyValueStore) {}

  async get(trigger: string, key: string): Promise<OpenMatch | undefined> {
    const k = kvKey(trigger, key);
    const entry = await this.kv.get(k);
    this.revisions.set(k, entry?.revision ?? 0);
    if (!entry || entry.value === "") {
      this.live.delete(k);
      return undefined;
    }
    this.live.add(k);
    return decodeMatch(entry.value);
  }

  async put(trigger: string, match: OpenMatch): Promise<ExpiredMatch[]> {
    const k = kvKey(trigger, match.key);
    if (!this.revisions.has(k)) await this.get(trigger, match.key);
    const rev = this.revisions.get(k) ?? 0;
    const value = encodeMatch(match);
    try {
      this.revisions.set(
        k,
        rev === 0 ? await this.kv.create(k, value) : await this.kv.update(k, value, rev),
      );
    } catch (err) {
      this.revisions.delete(k);
      throw err;
    }
    this.live.add(k);
    return [];
  }

  async remove(trigger: string, match: OpenMatch): Promise<void> {
    const k = kvKey(trigger, match.key);
    const rev = this.revisions.get(k);
    if (rev === undefined || rev === 0) return;
    try {
      await this.kv.delete(k, rev);
    } finally {
      // Consumed or lost: either way the next writer reads the key afresh (keeps this map small).
      this.revisions.delete(k);
    }
    this.live.delete(k);
  }

  async takeExpired(trigger: string, deadline: number): Promise<OpenMatch[]> {
    const out: OpenMatch[] = [];
    for (const k of await this.kv.keys(`${trigger}/k/`)) {
      const entry = await this.kv.get(k);
      if (!entry || entry.value === "") {
        this.live.delete(k);
        continue;
      }
      let match: OpenMatch;
      try {
        match = decodeMatch(entry.value);
      } catch {
        continue;
      }
      this.live.add(k);
      if (match.firstAt > deadline) continue;
      this.revisions.delete(k);
      try {
        await this.kv.delete(k, entry.revision);
        this.live.delete(k);
        out.push(match);
      } catch (err) {
        // Another replica fired or expired it meanwhile: nothing to report here.
        if (!(err instanceof EventsError && err.code === "SB_ERR_KV_CONFLICT")) throw err;
      }
    }
    return out;
  }

  openKeys(): number {
    return this.live.size;
  }
}

function kvKey(trigger: string, key: string): string {
  return `${trigger}/k/${createHash("sha256").update(key).digest("hex").slice(0, 32)}`;
}

function encodeMatch(match: OpenMatch): string {
  const deps: Record<string, unknown> = {};
  for (const [dep, e] of match.deps) {
    deps[dep] = {
      StreamSeq: e.streamSeq,
      Timestamp: e.timestamp,
      Event: encodeStructured(e.event),
    };
  }
  return JSON.stringify({ Key: match.key, FirstAt: match.firstAt, Deps: deps });
}

function decodeMatch(text: string): OpenMatch {
  const raw = JSON.parse(text) as {
    Key: string;
    FirstAt: number;
    Deps: Record<string, { StreamSeq: number; Timestamp: string; Event: string }>;
  };
  const deps = new Map<string, StoredDependencyEvent>();
  for (const [dep, e] of Object.entries(raw.Deps ?? {})) {
    deps.set(dep, {
      event: decodeStructured(e.Event),
      timestamp: e.Timestamp,
      streamSeq: e.StreamSeq,
    });
  }
  return { key: raw.Key, firstAt: raw.FirstAt, deps };
}

/**
 * The correlation ID at `path` in an event's data (`sensorbus.io/correlation-id-path`): a gjson
 * path (`body.run_id`) or `ce:<attribute>`. Undefined when absent, null or empty.
 */
export function correlationIdAt(event: CloudEvent, path: string): string | undefined {
  const r = correlationKeyOf({ keys: new Map([["", path]]) } as CorrelationSpec, "", event);
  return "key" in r ? r.key : undefined;
}

/** `event` with the correlation ID found at `path` as its `correlationid` extension, where absent. */
export function withCorrelationPath(event: CloudEvent, path: string | undefined): CloudEvent {
  if (!path || event.extensions?.correlationid !== undefined) return event;
  const id = correlationIdAt(event, path);
  return id === undefined ? event : stampCorrelationId(event, id);
}
