import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { REDACTION, redactSecrets } from "../../src/observability/logger.js";

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
