import { afterEach, describe, expect, it } from "vitest";
import { natsAuthFromOptions } from "../../../src/app/nats-options.js";
import {
  clearSecrets,
  MIN_SUBSTRING_LENGTH,
  REDACTED,
  redactHeaders,
  redactJson,
  redactString,
  redactValue,
  registerSecret,
  secretCount,
} from "../../../src/lib/redact.js";
import { Journal } from "../../../src/observability/journal.js";
import { createLogger } from "../../../src/observability/logger.js";

afterEach(() => clearSecrets());

describe("redaction by value", () => {
  it("returns its input unchanged while no secret is registered", () => {
    const obj = { a: "x" };
    expect(redactValue(obj)).toBe(obj);
    expect(redactString("anything")).toBe("anything");
    expect(redactJson('{"a":"b"}')).toBe('{"a":"b"}');
  });

  it("replaces a long value wherever it occurs, in strings, objects and JSON text", () => {
    registerSecret("s3cr3t-token");
    expect(redactString("Bearer s3cr3t-token failed")).toBe(`Bearer ${REDACTED} failed`);
    expect(redactValue({ h: { a: ["x s3cr3t-token y"] }, n: 1 })).toEqual({
      h: { a: [`x ${REDACTED} y`] },
      n: 1,
    });
    expect(redactJson(JSON.stringify({ msg: "token=s3cr3t-token" }))).toBe(
      `{"msg":"token=${REDACTED}"}`,
    );
  });

  it("finds values JSON-escaped once and twice (a PEM in a JSON log line)", () => {
    const pem = '-----BEGIN KEY-----\nabc"def\n-----END KEY-----';
    registerSecret(pem);
    const once = JSON.stringify({ key: pem });
    expect(redactJson(once)).toBe(`{"key":"${REDACTED}"}`);
    const twice = JSON.stringify({ msg: once });
    expect(redactJson(twice)).not.toContain("abc");
    expect(JSON.parse(redactJson(twice))).toEqual({ msg: `{"key":"${REDACTED}"}` });
  });

  it(`a value shorter than ${MIN_SUBSTRING_LENGTH} characters is redacted only as a whole value`, () => {
    registerSecret("a");
    registerSecret("pin1");
    expect(redactString("a banana and a pin1234")).toBe("a banana and a pin1234");
    expect(redactString("a")).toBe(REDACTED);
    expect(redactValue({ x: "pin1", y: "apin1" })).toEqual({ x: REDACTED, y: "apin1" });
    expect(redactJson('{"x":"a","y":"banana"}')).toBe(`{"x":"${REDACTED}","y":"banana"}`);
    // Where the field is known to carry a Secret (http secureHeaders), any length is masked.
    expect(redactHeaders({ "X-Pin": "b", Other: "b" }, ["x-pin"])).toEqual({
      "X-Pin": REDACTED,
      Other: "b",
    });
  });

  it("replaces the longer of two overlapping values whole", () => {
    registerSecret("abcdefgh");
    registerSecret("abcdefgh-ijkl");
    expect(redactString("x abcdefgh-ijkl y abcdefgh")).toBe(`x ${REDACTED} y ${REDACTED}`);
    expect(secretCount()).toBe(2);
  });

  it("log lines are redacted by value, whatever field holds the value", () => {
    const lines: string[] = [];
    const log = createLogger({ stream: { write: (l) => lines.push(l) } });
    registerSecret("hunter2-long");
    log.info({ weird: { nested: "pw=hunter2-long" } }, "connecting with hunter2-long");
    expect(lines.join("")).not.toContain("hunter2");
    expect(lines.join("")).toContain(`pw=${REDACTED}`);
  });

  it("the journal's records and reads are redacted", async () => {
    const written: string[] = [];
    const journal = new Journal({
      records: { append: async (_p, r) => void written.push(r), read: async () => written },
      writeDelayMs: 1,
    });
    registerSecret("journal-secret-value");
    journal.observer().failed!({
      sensor: "s",
      trigger: "t",
      events: new Map([["d", { id: "e1", source: "x", type: "t", specversion: "1.0" } as never]]),
      ms: 1,
      error: "POST failed: journal-secret-value",
      final: true,
    } as never);
    await journal.flush();
    expect(written.join("")).not.toContain("journal-secret-value");
    expect(JSON.stringify(journal.get("e1"))).not.toContain("journal-secret-value");
    expect(JSON.stringify(journal.recent())).not.toContain("journal-secret-value");
    expect(JSON.stringify(journal.triggers())).not.toContain("journal-secret-value");
    expect(journal.triggers()[0]!.lastError).toBe(`POST failed: ${REDACTED}`);
  });

  it("NATS credentials from flags' files or the environment are registered too", async () => {
    await natsAuthFromOptions(
      {},
      { NATS_PASSWORD: "nats-pass-123456", NATS_TOKEN: "tok-abcdefgh" },
    );
    expect(redactString("auth failed for nats-pass-123456 / tok-abcdefgh")).toBe(
      `auth failed for ${REDACTED} / ${REDACTED}`,
    );
  });
});
