import { afterAll, describe, expect, it } from "vitest";
import { closeJqPool, runJq } from "../../../src/lib/jq.js";

afterAll(closeJqPool);

describe("runJq (jq-wasm in a worker pool)", () => {
  it("returns the first output as compact JSON (Argo's transform_test.go case)", async () => {
    expect(await runJq('{"a":1,"b":"2"}', ".a += 1 | .b *= 2")).toBe('{"a":2,"b":"22"}');
    expect(await runJq('{"a":[1,2]}', ".a[]")).toBe("1");
  });

  it("returns undefined when the program has no output, and jq's message on an error", async () => {
    expect(await runJq("{}", "empty")).toBeUndefined();
    await expect(runJq("{}", '.a | error("boom")')).rejects.toThrow(/boom/);
    await expect(runJq("{}", ".a |||")).rejects.toThrow(/syntax error|compile/);
  });

  it("fails with a typed, not retried SB_ERR_TRANSFORM error", async () => {
    await expect(runJq("{}", '.a | error("boom")')).rejects.toMatchObject({
      name: "EventsError",
      code: "SB_ERR_TRANSFORM",
      retryable: false,
    });
  });

  it("accepts a trailing comment", async () => {
    expect(await runJq('{"a":1}', ".a # the a field")).toBe("1");
  });

  it("stops at the first output of an endless generator", async () => {
    expect(await runJq('{"a":1}', "repeat(.)")).toBe('{"a":1}');
  });

  it("terminates a program that does not finish, without blocking the event loop", async () => {
    let ticks = 0;
    const tick = setInterval(() => ticks++, 10);
    const started = Date.now();
    await expect(runJq("{}", "last(range(1e12))", { timeoutMs: 300 })).rejects.toThrow(
      /did not finish within 300ms/,
    );
    clearInterval(tick);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(ticks).toBeGreaterThan(3);
    // The pool recovers: the next program runs on a fresh worker.
    expect(await runJq('{"x":true}', ".x")).toBe("true");
  });

  it("runs programs concurrently beyond the pool size", async () => {
    const outs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => runJq(`{"i":${i}}`, ".i * 2")),
    );
    expect(outs).toEqual(["0", "2", "4", "6", "8", "10"]);
  });
});

describe("runJq over many programs", () => {
  it("keeps answering past the point where one jq-wasm instance aborts (~300 programs)", async () => {
    for (let i = 0; i < 350; i++) {
      expect(await runJq(`{"a":${i}}`, ".a + 1")).toBe(String(i + 1));
    }
  }, 60_000);
});
