import { StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { ConfigError, EventBusError } from "../../errors.js";
import type { KeyValueStore, KvEntry, KvOptions } from "../types.js";
import { isWrongLastSequence } from "./api-errors.js";
import type { BusInternals } from "./internals.js";

const BUCKET_NAME = /^[-\w]+$/;
const KV_KEY = /^[-/=.\w]+$/;

/** The JetStream KV buckets of one bus, each created when missing and opened once. */
export class KvBuckets {
  private readonly buckets = new Map<string, Promise<KV>>();

  constructor(private readonly bus: BusInternals) {}

  async open(bucket: string, options: KvOptions = {}): Promise<KeyValueStore> {
    this.bus.assertOpen();
    if (!BUCKET_NAME.test(bucket)) {
      const problem = `KV bucket name '${bucket}' may only contain letters, digits, '-' and '_'`;
      throw new ConfigError(problem, [problem]);
    }
    let kv = this.buckets.get(bucket);
    if (!kv) {
      kv = new Kvm(this.bus.js).create(bucket, {
        history: options.history ?? 1,
        ttl: options.ttlMs ?? 0,
        replicas: this.bus.replicas,
        storage: StorageType.File,
      });
      this.buckets.set(bucket, kv);
      kv.catch(() => this.buckets.delete(bucket));
    }
    try {
      return new JetStreamKv(bucket, await kv, this.bus);
    } catch (err) {
      throw this.bus.apiError(err, `open KV bucket '${bucket}'`);
    }
  }
}

class JetStreamKv implements KeyValueStore {
  constructor(
    private readonly bucket: string,
    private readonly kv: KV,
    private readonly bus: BusInternals,
  ) {}

  async get(key: string): Promise<KvEntry | undefined> {
    const e = await this.call("get", key, () => this.kv.get(key));
    if (e?.operation !== "PUT") return undefined;
    return { key, value: e.string(), revision: e.revision };
  }

  put(key: string, value: string): Promise<number> {
    return this.call("put", key, () => this.kv.put(key, value));
  }

  create(key: string, value: string): Promise<number> {
    return this.call("create", key, () => this.kv.create(key, value), `key '${key}' exists`);
  }

  update(key: string, value: string, revision: number): Promise<number> {
    const conflict = `key '${key}' changed (expected revision ${revision})`;
    if (!(revision > 0)) return Promise.reject(new EventBusError("SB_ERR_KV_CONFLICT", conflict));
    return this.call("update", key, () => this.kv.update(key, value, revision), conflict);
  }

  async delete(key: string, revision?: number): Promise<void> {
    if (revision === undefined) {
      await this.call("delete", key, () => this.kv.delete(key));
      return;
    }
    const conflict = `key '${key}' changed (expected revision ${revision})`;
    await this.call("delete", key, () => this.kv.delete(key, { previousSeq: revision }), conflict);
  }

  async keys(prefix = ""): Promise<string[]> {
    return this.call("keys", prefix, async () => {
      const out: string[] = [];
      for await (const k of await this.kv.keys()) if (k.startsWith(prefix)) out.push(k);
      return out;
    });
  }

  async purgeDeleted(prefix: string, before: number): Promise<number> {
    return this.call("purge deleted", prefix, async () => {
      const markers: Array<{ key: string; revision: number }> = [];
      // Headers only: the operation, revision and time of each key's messages, not the values.
      const history = await this.kv.history({ key: ">", headers_only: true } as { key: string });
      for await (const e of history) {
        if (
          (e.operation === "DEL" || e.operation === "PURGE") &&
          e.key.startsWith(prefix) &&
          e.created.getTime() <= before
        )
          markers.push({ key: e.key, revision: e.revision });
      }
      let removed = 0;
      for (const m of markers) {
        // Up to and including the marker only: a value written after it stays.
        const res = await this.bus.jsm.streams.purge(`KV_${this.bucket}`, {
          filter: `$KV.${this.bucket}.${m.key}`,
          seq: m.revision + 1,
        });
        removed += res.purged;
      }
      return removed;
    });
  }

  private async call<T>(
    op: string,
    key: string,
    fn: () => Promise<T>,
    conflict?: string,
  ): Promise<T> {
    this.bus.assertOpen();
    if (op !== "keys" && op !== "purge deleted" && !KV_KEY.test(key)) {
      const problem = `KV key '${key}' may only contain letters, digits and '-/=._'`;
      throw new ConfigError(problem, [problem]);
    }
    try {
      return await fn();
    } catch (err) {
      if (conflict && isWrongLastSequence(err)) {
        throw new EventBusError("SB_ERR_KV_CONFLICT", `KV bucket '${this.bucket}': ${conflict}`, {
          cause: err,
        });
      }
      throw this.bus.apiError(err, `KV bucket '${this.bucket}' ${op} '${key}'`);
    }
  }
}
