import type { EventBus, KeyValueStore } from "../eventbus/types.js";
import type { TickStore } from "../eventsources/types.js";

/** JetStream KV bucket holding calendar EventSources' last ticks (one key per entry). */
export const CALENDAR_BUCKET = "sensorbus-calendar";

/**
 * Calendar ticks in the bus's KV store, so a restarted (or rescheduled) sensorbus catches up from
 * the cluster's state, not from a pod's disk. Keys are made KV-safe (`[-/_=.a-zA-Z0-9]`).
 */
export class KvTickStore implements TickStore {
  private kv: Promise<KeyValueStore> | undefined;
  constructor(private readonly bus: EventBus) {}

  private store(): Promise<KeyValueStore> {
    this.kv ??= this.bus.kv(CALENDAR_BUCKET);
    return this.kv;
  }

  async get(key: string): Promise<string | undefined> {
    return (await (await this.store()).get(kvKey(key)))?.value;
  }

  async put(key: string, value: string): Promise<void> {
    await (await this.store()).put(kvKey(key), value);
  }
}

function kvKey(key: string): string {
  return key.replace(/[^-/_=.a-zA-Z0-9]/g, (c) => `=${c.codePointAt(0)!.toString(16)}=`);
}
