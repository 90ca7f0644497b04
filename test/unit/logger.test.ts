import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  isoTime,
  LineBatcher,
  REDACTION,
  redactSecrets,
  writeFullySync,
} from "../../src/observability/logger.js";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: pino({ level: "info", base: undefined, ...REDACTION }, stream), lines };
}

describe("log redaction", () => {
  it("censors every secret path in log objects, without touching the caller's objects", () => {
    const { log, lines } = capture();
    const request = {
      headers: { authorization: "Bearer a", Authorization: "Bearer b", accept: "*/*" },
      header: { Authorization: ["Basic c"], "X-Id": ["1"] },
      url: "/hook",
    };
    const creds = { token: "t0k", password: "pw", secret: "s3", user: "me" };
    log.info({ request, creds, authSecret: { name: "s", key: "k" }, n: 1 }, "m");
    log
      .child({ sensorName: "s" })
      .info({ conn: { token: "in a child" }, list: [{ token: "x" }] }, "c");
    expect(lines[0]).toMatchObject({
      request: {
        headers: { authorization: "***", Authorization: "***", accept: "*/*" },
        header: { Authorization: "***", "X-Id": ["1"] },
        url: "/hook",
      },
      creds: { token: "***", password: "***", secret: "***", user: "me" },
      authSecret: "***",
      n: 1,
      msg: "m",
    });
    expect(lines[1]).toMatchObject({ sensorName: "s", conn: { token: "***" }, msg: "c" });
    // `*.token` is one level down from the line's members, as in pino's path syntax.
    expect(lines[1]!.list).toEqual([{ token: "x" }]);
    expect(request.headers.authorization).toBe("Bearer a");
    expect(creds.token).toBe("t0k");
  });

  it("returns the very object when there is nothing to censor", () => {
    const obj = {
      triggeredBy: ["done"],
      result: "POST /x -> 200",
      nested: { a: { token: "deep" } },
    };
    expect(redactSecrets(obj)).toBe(obj);
  });
});

describe("LineBatcher", () => {
  function fakeSink() {
    const writes: string[] = [];
    return {
      writes,
      sink: {
        write: (t: string) => writes.push(t) > 0,
        flush: () => undefined,
        flushSync: () => undefined,
      },
    };
  }

  it("hands lines to the destination in batches, in order, and the rest on flush", () => {
    const { writes, sink } = fakeSink();
    const batch = new LineBatcher(sink, -1, 100);
    const lines = Array.from({ length: 25 }, (_, i) => `{"n":${i},"pad":"${"x".repeat(20)}"}\n`);
    for (const l of lines) batch.write(l);
    expect(writes.length).toBeGreaterThan(1);
    expect(writes.length).toBeLessThan(lines.length);
    for (const w of writes) expect(w.length).toBeGreaterThanOrEqual(100);
    batch.flush();
    expect(writes.join("")).toBe(lines.join(""));
    batch.flush();
    expect(writes.join("")).toBe(lines.join("")); // nothing handed over twice
  });

  it("writes what the destination holds, then its own lines, synchronously at exit", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sb-log-"));
    const file = join(dir, "out.log");
    const fd = openSync(file, "w");
    try {
      const held: string[] = [];
      const sink = {
        write: (t: string) => held.push(t) > 0,
        flush: () => undefined,
        flushSync: () => writeFullySync(fd, held.splice(0).join("")),
      };
      const batch = new LineBatcher(sink, fd, 64);
      const lines = Array.from({ length: 10 }, (_, i) => `line ${i} ${"y".repeat(10)}\n`);
      for (const l of lines) batch.write(l);
      expect(held.length).toBeGreaterThan(0); // some were handed over, some are still batched
      batch.flushSync();
      expect(readFileSync(file, "utf8")).toBe(lines.join(""));
    } finally {
      closeSync(fd);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("formats the time as pino's isoTime does (once per millisecond)", () => {
    const a = isoTime();
    expect(a).toMatch(/^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
    const at = Date.parse(a.slice(9, -1));
    expect(Math.abs(at - Date.now())).toBeLessThan(1000);
  });
});
