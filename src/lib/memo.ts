import { BoundedMap } from "./fifo.js";

/**
 * The one memo cache of the project: results of a pure computation by key, at most `capacity`
 * of them, the oldest-added dropped first (`BoundedMap`). One policy everywhere: the keys these
 * caches see (expressions, templates, patterns, zone names, header names, URLs) come from
 * manifests and repeat, so a bound that holds a manifest set's keys keeps every hit, and a flood
 * of distinct keys (rendered values, request headers) costs at most `capacity` entries.
 *
 * A computed `undefined` is remembered too. A computation that throws remembers nothing: callers
 * that want a failure cached return it (an `Error` value) instead of throwing it.
 */
export class Memo<K, V> {
  private readonly map: BoundedMap<K, V>;

  constructor(capacity: number) {
    this.map = new BoundedMap<K, V>(capacity);
  }

  get capacity(): number {
    return this.map.capacity;
  }

  /** Keys held now (at most `capacity`). */
  get size(): number {
    return this.map.size;
  }

  /** The value remembered for `key`, else `compute(key)` remembered. */
  get(key: K, compute: (key: K) => V): V {
    const hit = this.map.get(key);
    if (hit !== undefined || this.map.has(key)) return hit as V;
    const value = compute(key);
    this.map.set(key, value);
    return value;
  }
}

/** `compute` behind a `Memo` of `capacity` keys. */
export function memoize<K, V>(capacity: number, compute: (key: K) => V): (key: K) => V {
  const memo = new Memo<K, V>(capacity);
  return (key) => memo.get(key, compute);
}
