import { describe, expect, it } from "vitest";
import { BoundedMap, ExpiringMap, Queue } from "../../../src/lib/fifo.js";

describe("Queue", () => {
  it("hands items back oldest first, across its compaction", () => {
    const q = new Queue<number>();
    const out: number[] = [];
    // Interleaved pushes and shifts: the head passes 1,024 several times and the array is
    // compacted while items remain.
    for (let i = 0; i < 5000; i++) {
      q.push(i);
      if (i % 3 !== 0) out.push(q.shift()!);
    }
    expect(q.size).toBe(5000 - out.length);
    while (q.size > 0) out.push(q.shift()!);
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
  });
});

describe("ExpiringMap", () => {
  it("keeps an entry for windowMs after it was set, and drops it at windowMs", () => {
    const m = new ExpiringMap<string, number>(1000);
    m.set("a", 1, 0);
    m.set("b", 2, 500);
    m.expire(999);
    expect([m.has("a"), m.get("b"), m.size]).toEqual([true, 2, 2]);
    m.expire(1000);
    expect([m.has("a"), m.get("b"), m.size]).toEqual([false, 2, 1]);
    m.expire(1500);
    expect(m.size).toBe(0);
  });

  it("restarts a key's window when it is set again, and its old record does not drop it", () => {
    const m = new ExpiringMap<string, string>(1000);
    m.set("a", "first", 0);
    m.set("a", "second", 800);
    m.expire(1000); // the first record's time: the key stays, with its newer value
    expect(m.get("a")).toBe("second");
    m.expire(1799);
    expect(m.get("a")).toBe("second");
    m.expire(1800);
    expect(m.has("a")).toBe(false);
  });

  it("stops at the first entry still inside the window (a clock that stepped back)", () => {
    const m = new ExpiringMap<string, true>(1000);
    m.set("late", true, 5000);
    m.set("early", true, 0); // set after, with an earlier time
    m.expire(5500);
    expect([m.has("late"), m.has("early")]).toEqual([true, true]);
    m.expire(6000);
    expect([m.has("late"), m.has("early")]).toEqual([false, false]);
  });

  it("expires a long window of ids in the order they came", () => {
    const m = new ExpiringMap<string, number>(60_000);
    for (let i = 0; i < 200_000; i++) {
      const now = i / 2; // 2,000 per second
      m.expire(now);
      m.set(`id${i}`, i, now);
    }
    // 60 s at 2,000/s: the last 120,000 ids.
    expect(m.size).toBe(120_000);
    expect(m.has("id79999")).toBe(false);
    expect(m.get("id80000")).toBe(80_000);
  });
});

describe("BoundedMap", () => {
  it("drops the oldest-added keys past its capacity and iterates oldest first", () => {
    const m = new BoundedMap<string, number>(3);
    for (const [i, k] of ["a", "b", "c", "d"].entries()) m.set(k, i);
    expect([...m.values()]).toEqual([1, 2, 3]);
    expect([m.has("a"), m.size]).toEqual([false, 3]);
  });

  it("replaces the value of a present key without moving it or dropping another", () => {
    const m = new BoundedMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    m.set("a", 10);
    expect([...m.values()]).toEqual([10, 2]);
    m.set("c", 3); // "a" is still the oldest-added
    expect([m.get("a"), m.get("b"), m.get("c")]).toEqual([undefined, 2, 3]);
  });

  it("takes a key again after dropping it, as the newest", () => {
    const m = new BoundedMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    m.set("c", 3);
    m.set("a", 4);
    expect([...m.values()]).toEqual([3, 4]);
    m.set("d", 5);
    expect([...m.values()]).toEqual([4, 5]);
  });

  it("holds at least one key", () => {
    const m = new BoundedMap<string, number>(0);
    m.set("a", 1);
    m.set("b", 2);
    expect([...m.values()]).toEqual([2]);
  });
});
