import type { CloudEvent } from "../cloudevents/event.js";
import { decodeStructured, encodeStructured, scanTopLevelMembers } from "../cloudevents/event.js";
import { EventsError } from "../errors.js";
import type { KeyValueStore } from "../eventbus/types.js";

/** One stored partial-condition entry (Argo's `<trigger>/<dep>` KV value). */
export interface StoredDependencyEvent {
  event: CloudEvent;
  /** Bus time of the message (RFC 3339), used by conditionsReset at start-up. */
  timestamp: string;
  streamSeq: number;
}

/**
 * Partial condition state per trigger. Only triggers whose condition contains `&` use it.
 * Implementations: in memory, or JetStream KV in Argo's layout (bucket = Sensor name).
 */
export interface ConditionStateStore {
  load(trigger: string): Promise<Map<string, StoredDependencyEvent>>;
  save(trigger: string, dependency: string, entry: StoredDependencyEvent): Promise<void>;
  clear(trigger: string): Promise<void>;
  /**
   * After a load: true when this event's own earlier save of `dependency` landed but lost the
   * guard race, and the entry has since been consumed by another replica's firing (or replaced by
   * a newer event, or reset). The event is spent then: storing or firing it again would use it
   * twice.
   */
  spent?(trigger: string, dependency: string, eventId: string): boolean;
}

export class MemoryConditionState implements ConditionStateStore {
  private readonly byTrigger = new Map<string, Map<string, StoredDependencyEvent>>();
  async load(trigger: string): Promise<Map<string, StoredDependencyEvent>> {
    return new Map(this.byTrigger.get(trigger) ?? []);
  }
  async save(trigger: string, dependency: string, entry: StoredDependencyEvent): Promise<void> {
    let m = this.byTrigger.get(trigger);
    if (!m) {
      m = new Map();
      this.byTrigger.set(trigger, m);
    }
    m.set(dependency, entry);
  }
  async clear(trigger: string): Promise<void> {
    this.byTrigger.delete(trigger);
  }
}

/**
 * Argo's KV layout: key `<trigger>/<dep>` = {"StreamSeq","ConsumerSeq","Timestamp","Event"}.
 * Keys are written with the dependency name as is; NATS KV accepts `[-/_=.a-zA-Z0-9]`.
 *
 * **sensorbus:** safe when several replicas run the same Sensor (active-active). Every write is a
 * compare-and-set against the revisions the last `load` saw, and rejects with EventBusError
 * `SB_ERR_KV_CONFLICT` when another replica changed the state meanwhile; the caller then runs the
 * condition step again on fresh state (SensorRunner does):
 * - `save` writes the dependency's key (create, or update at the loaded revision), then bumps the
 *   trigger's guard key `<trigger>.rev` at the loaded revision. Two replicas storing different
 *   dependencies at once cannot both succeed, so the loser re-evaluates with both entries and fires
 *   (no lost firing).
 * - `clear` after a `load` (a firing consumes the entries) deletes the loaded keys at their loaded
 *   revisions, in key order: only one replica can consume the first entry, so one fires (no double
 *   firing). An entry rewritten meanwhile by a newer event is kept as a new partial entry.
 * - `clear` without a fresh `load` (conditionsReset) deletes whatever is there, ignoring races.
 */
export class KvConditionState implements ConditionStateStore {
  /** Per trigger: revisions seen by the last load (and our own writes since); fresh = just loaded. */
  private readonly seen = new Map<
    string,
    { guard: number; deps: Map<string, number>; fresh: boolean }
  >();

  /**
   * @param dependencies per trigger, the dependency names its condition uses: their keys are read
   *   directly. Without them a load lists the trigger's keys, which costs the server an ephemeral
   *   consumer per load (about 10 ms of nats-server CPU per event in the benchmark).
   */
  /** `<trigger>/<dep>` → event and revision of a dependency write whose guard bump failed. */
  private readonly landed = new Map<string, { eventId: string; rev: number }>();

  constructor(
    private readonly kv: KeyValueStore,
    private readonly dependencies?: ReadonlyMap<string, readonly string[]>,
  ) {}

  spent(trigger: string, dependency: string, eventId: string): boolean {
    const key = `${trigger}/${dependency}`;
    const landed = this.landed.get(key);
    if (!landed || landed.eventId !== eventId) return false;
    this.landed.delete(key);
    return this.seen.get(trigger)?.deps.get(dependency) !== landed.rev;
  }

  async load(trigger: string): Promise<Map<string, StoredDependencyEvent>> {
    const out = new Map<string, StoredDependencyEvent>();
    const prefix = `${trigger}/`;
    // The guard first: a save that lands after this read bumps it, so our next write conflicts.
    const guard = (await this.kv.get(guardKey(trigger)))?.revision ?? 0;
    const seen = { guard, deps: new Map<string, number>(), fresh: true };
    this.seen.set(trigger, seen);
    const known = this.dependencies?.get(trigger);
    const keys = known ? known.map((d) => prefix + d) : await this.kv.keys(prefix);
    const entries = await Promise.all(keys.map((key) => this.kv.get(key)));
    for (const [i, key] of keys.entries()) {
      const dep = key.slice(prefix.length);
      if (dep === "Expression" || dep.length === 0) continue;
      const entry = entries[i];
      if (!entry) continue;
      seen.deps.set(dep, entry.revision);
      if (entry.value === "") continue;
      // Keep the stored event's data bytes exact: decode the Event member from its own text.
      const spans = scanTopLevelMembers(entry.value);
      const span = spans.get("Event");
      if (!span) continue;
      const attr = (name: string): unknown => {
        const s = spans.get(name);
        return s ? JSON.parse(entry.value.slice(s[0], s[1])) : undefined;
      };
      out.set(dep, {
        event: decodeStructured(entry.value.slice(span[0], span[1])),
        timestamp: String(attr("Timestamp") ?? ""),
        streamSeq: Number(attr("StreamSeq") ?? 0),
      });
    }
    return out;
  }

  async save(trigger: string, dependency: string, entry: StoredDependencyEvent): Promise<void> {
    const value = `{"StreamSeq":${entry.streamSeq},"ConsumerSeq":0,"Timestamp":${JSON.stringify(entry.timestamp)},"Event":${encodeStructured(entry.event)}}`;
    if (!this.seen.has(trigger)) await this.load(trigger);
    const seen = this.seen.get(trigger)!;
    seen.fresh = false;
    await this.guarded(trigger, async () => {
      const key = `${trigger}/${dependency}`;
      const rev = seen.deps.get(dependency);
      const written =
        rev === undefined
          ? await this.kv.create(key, value)
          : await this.kv.update(key, value, rev);
      seen.deps.set(dependency, written);
      // Should the guard bump lose, another replica may fire with this entry before we retry.
      this.landed.set(key, { eventId: entry.event.id, rev: written });
      const g = guardKey(trigger);
      seen.guard =
        seen.guard === 0
          ? await this.kv.create(g, "1")
          : await this.kv.update(g, String(seen.guard), seen.guard);
      this.landed.delete(key);
    });
  }

  async clear(trigger: string): Promise<void> {
    let seen = this.seen.get(trigger);
    const consuming = seen?.fresh === true;
    if (!consuming) {
      await this.load(trigger);
      seen = this.seen.get(trigger)!;
    }
    seen!.fresh = false;
    const deps = [...seen!.deps.keys()].sort();
    let first = true;
    for (const dep of deps) {
      const rev = seen!.deps.get(dep)!;
      try {
        await this.kv.delete(`${trigger}/${dep}`, rev);
        seen!.deps.delete(dep);
      } catch (err) {
        if (!isConflict(err)) throw err;
        // First entry taken by another replica: it fires, we evaluate again.
        if (consuming && first) {
          this.seen.delete(trigger);
          throw err;
        }
        // Rewritten by a newer event since we loaded it: it stays as a partial entry.
        const now = await this.kv.get(`${trigger}/${dep}`);
        if (now) seen!.deps.set(dep, now.revision);
        else seen!.deps.delete(dep);
      }
      first = false;
    }
  }

  /** Runs a compare-and-set sequence; on conflict forgets what it saw (the next load refreshes). */
  private async guarded(trigger: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (isConflict(err)) this.seen.delete(trigger);
      throw err;
    }
  }
}

/** Bumped by every save: two replicas storing partial entries at once cannot both succeed. */
function guardKey(trigger: string): string {
  return `${trigger}.rev`;
}

function isConflict(err: unknown): boolean {
  return err instanceof EventsError && err.code === "SB_ERR_KV_CONFLICT";
}
