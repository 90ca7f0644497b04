import type { CloudEvent } from "../cloudevents/event.js";
import { decodeStructured, encodeStructured, scanTopLevelMembers } from "../cloudevents/event.js";
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
 */
export class KvConditionState implements ConditionStateStore {
  constructor(private readonly kv: KeyValueStore) {}

  async load(trigger: string): Promise<Map<string, StoredDependencyEvent>> {
    const out = new Map<string, StoredDependencyEvent>();
    const prefix = `${trigger}/`;
    for (const key of await this.kv.keys(prefix)) {
      const dep = key.slice(prefix.length);
      if (dep === "Expression" || dep.length === 0) continue;
      const entry = await this.kv.get(key);
      if (!entry || entry.value === "") continue;
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
    await this.kv.put(`${trigger}/${dependency}`, value);
  }

  async clear(trigger: string): Promise<void> {
    const prefix = `${trigger}/`;
    for (const key of await this.kv.keys(prefix)) {
      if (key === `${trigger}/Expression`) continue;
      await this.kv.delete(key);
    }
  }
}
