import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CloudEvent,
  decodeStructured,
  encodeStructured,
} from "../../../src/cloudevents/event.js";
import { EventsError } from "../../../src/errors.js";
import { realisticJson, runs, timed } from "./support.js";

const attrText = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom("evt-1", "webhook", "orders", "example", "2024-03-01T12:00:00Z", ""),
);
const ext = fc.dictionary(
  fc.constantFrom("correlationid", "traceparent", "originsource", "x1", "a"),
  fc.string({ maxLength: 8 }),
  { maxKeys: 3 },
);
const event: fc.Arbitrary<CloudEvent> = fc
  .record({
    id: attrText,
    source: attrText,
    type: attrText,
    subject: attrText,
    time: attrText,
    datacontenttype: fc.constantFrom(
      "application/json",
      "text/plain",
      "application/cloudevents+json",
    ),
    data: fc.option(
      fc.oneof(
        realisticJson.map((v) => JSON.stringify(v)),
        fc.string({ maxLength: 10 }),
      ),
      { nil: undefined },
    ),
    extensions: fc.option(ext, { nil: undefined }),
  })
  .map((r) => ({ specversion: "1.0" as const, ...r }))
  // JSON content types carry JSON text; anything else may be any string.
  .filter((e) => {
    if (e.data === undefined || !e.datacontenttype.includes("json") || e.data === "") return true;
    try {
      JSON.parse(e.data);
      return true;
    } catch {
      return false;
    }
  });

/** Mutations of a valid encoding: cut, insert structural characters, swap a byte. */
const corrupted = fc
  .tuple(
    event.map((e) => encodeStructured(e)),
    fc.nat(),
    fc.constantFrom(
      "{",
      "}",
      "[",
      "]",
      '"',
      ",",
      ":",
      "\\",
      "\\u12",
      "\\x",
      "tru",
      "nul",
      "-",
      "1e",
      "0x1",
      "\u0000",
      " ",
      "",
    ),
    fc.constantFrom("insert", "cut", "replace"),
  )
  .map(([text, n, piece, how]) => {
    const at = n % (text.length + 1);
    if (how === "cut") return text.slice(0, at);
    if (how === "replace") return text.slice(0, at) + piece + text.slice(at + 1);
    return text.slice(0, at) + piece + text.slice(at);
  });

function decodeOnlyEventsError(text: string): CloudEvent | undefined {
  const out = timed("decodeStructured", () => decodeStructured(text));
  if (out.ok) return out.value;
  if (!(out.error instanceof EventsError)) throw out.error;
  expect(out.error.code).toBe("SB_ERR_CLOUDEVENT_INVALID");
  return undefined;
}

describe("fuzz: CloudEvent structured decode", () => {
  it("round-trips every event encodeStructured writes", () => {
    fc.assert(
      fc.property(event, (ev) => {
        const back = decodeOnlyEventsError(encodeStructured(ev));
        expect(back).toBeDefined();
        expect(back!.id).toBe(ev.id);
        expect(back!.source).toBe(ev.source);
        expect(back!.type).toBe(ev.type);
        const json = ev.datacontenttype.includes("json");
        // JSON data is embedded verbatim; whitespace around it is not part of the value.
        const sent = json ? ev.data?.trim() : ev.data;
        expect(back!.data ?? "").toBe(sent === undefined || (json && sent === "null") ? "" : sent);
      }),
      { numRuns: runs(600) },
    );
  });

  it("corrupted encodings: only SB_ERR_CLOUDEVENT_INVALID, never another exception", () => {
    fc.assert(
      fc.property(corrupted, (text) => {
        decodeOnlyEventsError(text);
      }),
      { numRuns: runs(1500) },
    );
  });

  it("accepts a corrupted encoding only when JSON.parse accepts it too (one validating pass)", () => {
    fc.assert(
      fc.property(corrupted, (text) => {
        if (decodeOnlyEventsError(text) === undefined) return;
        expect(() => JSON.parse(text)).not.toThrow();
      }),
      { numRuns: runs(3000) },
    );
  });

  it("arbitrary JSON values and strings: only SB_ERR_CLOUDEVENT_INVALID", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          realisticJson.map((v) => JSON.stringify(v)),
          fc.string({ maxLength: 40 }),
          fc
            .dictionary(
              fc.constantFrom("specversion", "id", "source", "type", "data", "data_base64", "time"),
              realisticJson,
            )
            .map((o) => JSON.stringify(o)),
        ),
        (text) => {
          decodeOnlyEventsError(text);
        },
      ),
      { numRuns: runs(800) },
    );
  });
});

describe("regressions found by fuzzing", () => {
  it.each([
    ['{"specversion":"1.0","id":"e","source":evt-1","type":"t"}'],
    ['{"specversion":"1.0","id":"e","source":"s","type":"t","data":[1,}]}'],
    ['{"\\x":1}'],
    ['{"specversion":"1.0","id":"e","source":"s","type":"t","data":tru}'],
  ])("malformed JSON %s is SB_ERR_CLOUDEVENT_INVALID, not a SyntaxError", (text) => {
    let caught: unknown;
    try {
      decodeStructured(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EventsError);
    expect((caught as EventsError).code).toBe("SB_ERR_CLOUDEVENT_INVALID");
    expect((caught as Error).message).toMatch(/^invalid CloudEvent: /);
  });
});
