import { describe, expect, it } from "vitest";
import type { CloudEvent } from "../../../src/cloudevents/event.js";
import {
  decodeStructured,
  encodeStructured,
  isKnownJsonData,
  newEventId,
  nowRfc3339Nano,
  rfc3339Millis,
} from "../../../src/cloudevents/event.js";
import { rfc3339Nanos } from "../../../src/eventbus/jetstream/index.js";
import { eventDataAsJson } from "../../../src/triggers/params.js";

const base: CloudEvent = {
  specversion: "1.0",
  id: "3f9a0c2e8b5d4e71a6c4d2b1e0f98765",
  source: "orders",
  subject: "order-created",
  type: "webhook",
  time: "2024-05-15T12:00:00.5Z",
  datacontenttype: "application/json",
};

describe("structured CloudEvent encoding", () => {
  it("keeps JSON data byte for byte through encode/decode", () => {
    const data = '{ "b": 1,\n  "a": [1, 2.50, "x"] }';
    const back = decodeStructured(encodeStructured({ ...base, data }));
    expect(back.data).toBe(data);
    expect(back.id).toBe(base.id);
    expect(back.subject).toBe("order-created");
  });

  it("carries non-JSON data as data_base64", () => {
    const ev = { ...base, datacontenttype: "application/yaml", data: "a: 1\nb: [x]\n" };
    const text = encodeStructured(ev);
    expect(text).toContain('"data_base64"');
    expect(decodeStructured(text).data).toBe(ev.data);
  });

  it("keeps extensions", () => {
    const ev = {
      ...base,
      data: "{}",
      extensions: { correlationid: "c-1", traceparent: "00-abc-def-01" },
    };
    expect(decodeStructured(encodeStructured(ev)).extensions).toEqual(ev.extensions);
  });

  it("decodes an event without data", () => {
    const back = decodeStructured(encodeStructured(base));
    expect(back.data).toBeUndefined();
  });

  it("decodes a string data value of a text event as its text", () => {
    const line = JSON.stringify({ ...base, datacontenttype: "text/plain", data: "hello" });
    expect(decodeStructured(line).data).toBe("hello");
  });

  it("reads member names and string attributes with escapes as JSON does, and refuses raw control characters", () => {
    const text = String.raw`{"spec\u0076ersion":"1.0","id":"a\"b\\c","source":"caf\u00e9 \ud83d\ude00","type":"t","subj\u0065ct":"x\ny","a\/b":"s\/t","correlationid":"plain"}`;
    const ev = decodeStructured(text);
    expect(ev.id).toBe('a"b\\c');
    expect(ev.source).toBe("caf\u00e9 \u{1f600}");
    expect(ev.subject).toBe("x\ny");
    expect(ev.extensions).toEqual({ correlationid: "plain", "a/b": "s/t" });
    // A raw tab inside a string is not JSON: the fast path must not let it through.
    const raw = `{"specversion":"1.0","id":"a\tb","source":"s","type":"t"}`;
    expect(() => JSON.parse(raw)).toThrow();
    expect(() => decodeStructured(raw)).toThrow(/invalid CloudEvent: malformed JSON/);
    expect(() =>
      decodeStructured(`{"specversion":"1.0","id":"1","source":"s","type":"t","x\ty":"1"}`),
    ).toThrow(/malformed JSON/);
  });

  it.each([
    ["[]", /not a JSON object/],
    ['{"specversion":"0.3","id":"1","source":"s","type":"t"}', /unsupported specversion/],
    ['{"specversion":"1.0","source":"s","type":"t"}', /missing required attribute 'id'/],
    ['{"specversion":"1.0","id":1,"source":"s","type":"t"}', /'id' must be a string/],
    ['{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"a":}', /invalid|Unexpected/],
    ['{"specversion":"1.0","id":"1","source":"s","type":"t"} x', /trailing/],
  ])("rejects %s", (text, message) => {
    expect(() => decodeStructured(text)).toThrow(message);
  });
});

describe("JSON data checked once", () => {
  it("knows the data of a decoded event is valid JSON; a malformed one refuses the event", () => {
    const decoded = (data: string) =>
      decodeStructured(
        `{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"application/json","data":${data}}`,
      );
    for (const data of ['{"a":[1,{"b":null}]}', "[1,2]", "42", "true", '"a \\u00e9 \\n string"']) {
      const ev = decoded(data);
      expect(isKnownJsonData(ev)).toBe(true);
      expect(eventDataAsJson(ev)).toBe(data);
    }
    // The scan validates data in the same pass (a string's escapes too), as JSON.parse would.
    for (const data of [String.raw`"bad \x escape"`, "[1,]", '{"a":01}', "tru", '"raw \t tab"'])
      expect(() => decoded(data), data).toThrow(
        /invalid CloudEvent: malformed JSON: member 'data'/,
      );
    // A changed data text is checked again.
    const ev = decoded('{"a":1}');
    ev.data = "{not json";
    expect(isKnownJsonData(ev)).toBe(false);
    expect(() => eventDataAsJson(ev)).toThrow();
  });
});

describe("ids and times", () => {
  it("mints 32 lower-case hex ids", () => {
    expect(newEventId()).toMatch(/^[0-9a-f]{32}$/);
    expect(newEventId()).not.toBe(newEventId());
  });
  it("prints RFC 3339 without trailing zeros", () => {
    expect(nowRfc3339Nano(new Date("2024-05-15T12:00:00.500Z"))).toBe("2024-05-15T12:00:00.5Z");
    expect(nowRfc3339Nano(new Date("2024-05-15T12:00:00.000Z"))).toBe("2024-05-15T12:00:00Z");
    for (const [at, text] of [
      ["2024-05-15T12:00:00.120Z", "2024-05-15T12:00:00.12Z"],
      ["2024-05-15T12:00:00.123Z", "2024-05-15T12:00:00.123Z"],
      ["2024-05-15T12:00:00.123Z", "2024-05-15T12:00:00.123Z"], // the same millisecond again
      ["2024-05-15T12:00:01.003Z", "2024-05-15T12:00:01.003Z"],
      ["1999-12-31T23:59:59.900Z", "1999-12-31T23:59:59.9Z"],
    ] as const)
      expect(rfc3339Millis(Date.parse(at))).toBe(text);
  });
});

describe("bus message timestamps", () => {
  it("prints JetStream's nanosecond times as Go's RFC3339Nano does", () => {
    const ns = (iso: string, extra: bigint) => BigInt(Date.parse(iso)) * 1_000_000n + extra;
    const fallback = new Date("2020-01-01T00:00:00Z");
    for (const [nanos, text] of [
      [ns("2024-05-15T12:00:00.000Z", 0n), "2024-05-15T12:00:00Z"],
      [ns("2024-05-15T12:00:00.000Z", 1n), "2024-05-15T12:00:00.000000001Z"],
      [ns("2024-05-15T12:00:00.123Z", 456_700n), "2024-05-15T12:00:00.1234567Z"],
      [ns("2024-05-15T12:00:00.500Z", 0n), "2024-05-15T12:00:00.5Z"], // same second again
      [ns("2024-05-15T12:00:01.000Z", 10n), "2024-05-15T12:00:01.00000001Z"],
      [0n, "2020-01-01T00:00:00.000Z"],
    ] as const)
      expect(rfc3339Nanos(nanos, fallback)).toBe(text);
  });
});
