import { describe, expect, it } from "vitest";
import { sleepUnlessAborted } from "../../../src/lib/sleep.js";

describe("sleepUnlessAborted (timers/promises)", () => {
  it("resolves true when the time runs out", async () => {
    expect(await sleepUnlessAborted(0)).toBe(true);
    expect(await sleepUnlessAborted(0, new AbortController().signal)).toBe(true);
  });

  it("resolves false at once for an already aborted signal", async () => {
    const ac = new AbortController();
    ac.abort();
    // An hour: the test would time out if the signal were not honoured.
    expect(await sleepUnlessAborted(3_600_000, ac.signal)).toBe(false);
  });

  it("resolves false when the signal aborts while waiting", async () => {
    const ac = new AbortController();
    const waiting = sleepUnlessAborted(3_600_000, ac.signal);
    ac.abort();
    expect(await waiting).toBe(false);
  });
});
