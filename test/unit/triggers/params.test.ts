import { describe, expect, it } from "vitest";
import type { CloudEvent } from "../../../src/cloudevents/event.js";
import type { TriggerParameter } from "../../../src/config/types.js";
import {
  applyParameters,
  constructPayload,
  resolveParamValue,
  wholeEventJson,
} from "../../../src/triggers/params.js";

const ev = (data: string | undefined, extra: Partial<CloudEvent> = {}): CloudEvent => ({
  specversion: "1.0",
  id: "6661636530653234316233663432396439333135333661343963613165303033",
  source: "webhook",
  subject: "example",
  type: "webhook",
  time: "2024-05-15T12:00:00.123456789Z",
  datacontenttype: "application/json",
  data,
  ...extra,
});

const events = new Map([
  [
    "dep",
    ev(
      '{"name":{"first":"Ada","last":"L"},"amount":1000000,"ok":true,"nil":null,"empty":"","list":[1, 2]}',
    ),
  ],
]);

describe("resolveParamValue (Argo §5.1)", () => {
  it.each([
    [{ dataKey: "name.first" }, { text: "Ada", type: "String" }],
    [{ dataKey: "amount" }, { text: "1000000", type: "Number" }],
    [{ dataKey: "ok" }, { text: "true", type: "True" }],
    [{ dataKey: "nil" }, { text: "null", type: "Null" }],
    [
      { dataKey: "empty", value: "fallback" },
      { text: "", type: "String" },
    ],
    [{ dataKey: "list" }, { text: "[1, 2]", type: "JSON" }],
    [{ dataKey: "name" }, { text: '{"first":"Ada","last":"L"}', type: "JSON" }],
    [
      { dataKey: "missing", value: "dflt" },
      { text: "dflt", type: "String" },
    ],
    [{ dataTemplate: "{{ .Input.name.first | upper }}" }, { text: "ADA", type: "String" }],
    [{ dataTemplate: "{{ .Input.amount }}" }, { text: "1e+06", type: "String" }],
    [
      { dataTemplate: "{{ .Input.nope }}", dataKey: "name.last" },
      { text: "L", type: "String" },
    ],
    [{ contextKey: "source" }, { text: "webhook", type: "String" }],
    [{ contextKey: "time" }, { text: "2024-05-15T12:00:00Z", type: "String" }],
    [{ contextTemplate: "{{ .Input.subject }}-x" }, { text: "example-x", type: "String" }],
    [{ dataKey: "$.name.last" }, { text: "L", type: "String" }],
    [{ dataKey: "$.list" }, { text: "[1,2]", type: "JSON" }],
    [{ value: "plain" }, { text: "plain", type: "String" }],
  ])("%j -> %j", (src, expected) => {
    expect(resolveParamValue({ dependencyName: "dep", ...src }, events)).toEqual(expected);
  });

  it("returns the whole event JSON when no selector and no value are set", () => {
    const got = resolveParamValue({ dependencyName: "dep" }, events);
    expect(got?.type).toBe("String");
    expect(JSON.parse(got!.text)).toEqual({
      context: {
        id: events.get("dep")!.id,
        source: "webhook",
        specversion: "1.0",
        type: "webhook",
        datacontenttype: "application/json",
        subject: "example",
        time: "2024-05-15T12:00:00Z",
      },
      data: Buffer.from(events.get("dep")!.data!).toString("base64"),
    });
    expect(got!.text.startsWith('{"context":{"id":')).toBe(true);
  });

  it("skips a parameter whose dependency is absent and has no value", () => {
    expect(resolveParamValue({ dependencyName: "other", dataKey: "x" }, events)).toBeUndefined();
    expect(resolveParamValue({ dependencyName: "other", value: "v" }, events)).toEqual({
      text: "v",
      type: "String",
    });
  });

  it("fails when nothing resolves", () => {
    expect(() => resolveParamValue({ dependencyName: "dep", dataKey: "missing" }, events)).toThrow(
      /unable to resolve 'dep' parameter value/,
    );
  });

  it("falls back to value when the data is not JSON", () => {
    const bad = new Map([["dep", ev("not json")]]);
    expect(resolveParamValue({ dependencyName: "dep", dataKey: "a", value: "d" }, bad)).toEqual({
      text: "d",
      type: "String",
    });
    expect(() => resolveParamValue({ dependencyName: "dep", dataKey: "a" }, bad)).toThrow(
      /unable to resolve/,
    );
  });

  it("reads YAML data as JSON", () => {
    const yamlEvents = new Map([
      ["dep", ev("a:\n  b: 7\n", { datacontenttype: "application/yaml" })],
    ]);
    expect(resolveParamValue({ dependencyName: "dep", dataKey: "a.b" }, yamlEvents)).toEqual({
      text: "7",
      type: "Number",
    });
  });

  it("keeps the whole-event data null when the event has none", () => {
    expect(wholeEventJson(ev(undefined))).toMatch(/"data":null}$/);
  });
});

describe("applyParameters (Argo §5.3)", () => {
  const p = (
    src: Partial<TriggerParameter["src"]>,
    dest: string,
    operation?: string,
  ): TriggerParameter => ({
    src: { dependencyName: "dep", ...src },
    dest,
    ...(operation ? { operation } : {}),
  });

  it("writes correlation ids into array elements", () => {
    const doc = '{"spec":{"arguments":{"parameters":[{"name":"cid","value":""}]}}}';
    const out = applyParameters(
      doc,
      [p({ dataKey: "name.first" }, "spec.arguments.parameters.0.value")],
      events,
    );
    expect(JSON.parse(out).spec.arguments.parameters[0].value).toBe("Ada");
  });

  it("inserts strings unless useRawData with a non-string type", () => {
    const out = applyParameters(
      "{}",
      [
        p({ dataKey: "amount" }, "a"),
        p({ dataKey: "amount", useRawData: true }, "b"),
        p({ dataKey: "name", useRawData: true }, "c"),
        p({ dataKey: "name.first", useRawData: true }, "d"),
      ],
      events,
    );
    expect(JSON.parse(out)).toEqual({
      a: "1000000",
      b: 1000000,
      c: { first: "Ada", last: "L" },
      d: "Ada",
    });
  });

  it("appends and prepends as strings", () => {
    const out = applyParameters(
      '{"age":100,"greeting":"hello"}',
      [
        p({ value: " years" }, "age", "append"),
        p({ value: "well, " }, "greeting", "prepend"),
        p({ value: "new" }, "fresh", "append"),
      ],
      events,
    );
    expect(JSON.parse(out)).toEqual({ age: "100 years", greeting: "well, hello", fresh: "new" });
  });

  it("rejects an unknown operation", () => {
    expect(() => applyParameters("{}", [p({ value: "x" }, "a", "merge")], events)).toThrow(
      /unsupported trigger parameter operation: merge/,
    );
  });
});

describe("constructPayload (Argo §5.4)", () => {
  it("builds the body from entries and keeps raw objects", () => {
    const orderEvents = new Map([["order", ev('{"body":{"orderId":42}}')]]);
    const body = constructPayload(
      [
        { src: { dependencyName: "order", dataKey: "body.orderId" }, dest: "id" },
        { src: { dependencyName: "order", dataKey: "body", useRawData: true }, dest: "order" },
      ],
      orderEvents,
    );
    expect(body).toBe('{"id":"42","order":{"orderId":42}}');
  });

  it("an entry with an empty dest is the entire body", () => {
    const body = constructPayload(
      [
        { src: { dependencyName: "dep", value: "x" }, dest: "a" },
        { src: { dependencyName: "dep", dataKey: "name" }, dest: "" },
        { src: { dependencyName: "dep", value: "y" }, dest: "b" },
      ],
      events,
    );
    expect(body).toBe('{"first":"Ada","last":"L"}');
  });

  it("leaves out entries whose dependency is absent", () => {
    expect(
      constructPayload([{ src: { dependencyName: "gone", dataKey: "a" }, dest: "a" }], events),
    ).toBeUndefined();
  });
});
