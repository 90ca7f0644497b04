import { describe, expect, it } from "vitest";
import { Memo, memoize } from "../../../src/lib/memo.js";

describe("memoize / Memo: the one bounded memo cache", () => {
  it("computes once per key and returns the remembered value after", () => {
    const calls: string[] = [];
    const upper = memoize(4, (k: string) => {
      calls.push(k);
      return { text: k.toUpperCase() };
    });
    const first = upper("a");
    expect(upper("a")).toBe(first);
    expect(first.text).toBe("A");
    expect(calls).toEqual(["a"]);
  });

  it("holds at most `capacity` keys and drops the oldest-added first", () => {
    const memo = new Memo<number, number>(3);
    const calls: number[] = [];
    const square = (n: number) => {
      calls.push(n);
      return n * n;
    };
    for (const n of [1, 2, 3]) memo.get(n, square);
    expect(memo.size).toBe(3);
    memo.get(1, square); // a hit does not move 1: the policy is oldest-added, not least-recent
    memo.get(4, square); // drops 1
    expect(memo.size).toBe(3);
    expect(memo.capacity).toBe(3);
    memo.get(2, square);
    memo.get(3, square);
    memo.get(4, square);
    expect(calls).toEqual([1, 2, 3, 4]);
    memo.get(1, square);
    expect(calls).toEqual([1, 2, 3, 4, 1]);
  });

  it("remembers a computed undefined, and nothing for a computation that throws", () => {
    let n = 0;
    const memo = new Memo<string, string | undefined>(2);
    const compute = (k: string) => {
      n++;
      if (k === "bad") throw new Error("bad key");
      return undefined;
    };
    expect(memo.get("x", compute)).toBeUndefined();
    expect(memo.get("x", compute)).toBeUndefined();
    expect(n).toBe(1);
    expect(() => memo.get("bad", compute)).toThrow("bad key");
    expect(() => memo.get("bad", compute)).toThrow("bad key");
    expect(n).toBe(3);
    expect(memo.size).toBe(1);
  });

  it("a capacity below 1 still holds one key", () => {
    const memo = new Memo<string, number>(0);
    memo.get("a", () => 1);
    expect(memo.size).toBe(1);
    expect(memo.get("a", () => 2)).toBe(1);
  });
});
