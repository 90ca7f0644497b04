import { describe, expect, it } from "vitest";
import type { Finding } from "../../../../src/config/findings.js";
import { checkNatsConnection, natsPort } from "../../../../src/config/nats-connection.js";
import { nats } from "../../../../src/eventsources/nats/index.js";
import { buildNatsPayload } from "../../../../src/eventsources/nats/runtime.js";
import { ALL_EVENTSOURCE_KINDS, EVENTSOURCE_KINDS } from "../../../../src/eventsources/registry.js";
import { subjectMatches, subjectProblem } from "../../../../src/lib/nats-subject.js";

function findings(entry: unknown): string[] {
  const out: Finding[] = [];
  nats.validate?.(entry as never, { at: "/spec/nats/e", report: (f: Finding) => out.push(f) });
  return out.map((f) => `${f.severity}:${f.pointer} ${f.message}`);
}

const bytes = (s: string) => new TextEncoder().encode(s);
const secret = { name: "s", key: "k" };

describe("nats EventSource payload (Argo's NATSEventData as Go marshals it)", () => {
  it("body is base64 of the bytes without jsonBody (Go's []byte), header and metadata left out when empty", () => {
    expect(buildNatsPayload({ subject: "a.b", data: bytes('{"x": 1}') }, {})).toBe(
      `{"subject":"a.b","body":"${Buffer.from('{"x": 1}').toString("base64")}"}`,
    );
    expect(buildNatsPayload({ subject: "a", data: new Uint8Array([0xff, 0x00, 0x10]) }, {})).toBe(
      '{"subject":"a","body":"/wAQ"}',
    );
    expect(buildNatsPayload({ subject: "a", data: new Uint8Array() }, {})).toBe(
      '{"subject":"a","body":""}',
    );
  });

  it("jsonBody embeds the JSON compacted with Go's HTML escaping (json.RawMessage)", () => {
    expect(
      buildNatsPayload(
        { subject: "orders", data: bytes('{ "b": "<x>", "a": [1, 2] }') },
        { jsonBody: true },
      ),
    ).toBe('{"subject":"orders","body":{"b":"\\u003cx\\u003e","a":[1,2]}}');
  });

  it("jsonBody with a body that is not JSON (or empty) throws: Argo's Marshal fails and drops it", () => {
    expect(() =>
      buildNatsPayload({ subject: "a", data: bytes("not json") }, { jsonBody: true }),
    ).toThrow(SyntaxError);
    expect(() =>
      buildNatsPayload({ subject: "a", data: new Uint8Array() }, { jsonBody: true }),
    ).toThrow();
  });

  it("header is Go's map[string][]string (keys sorted, names as sent), metadata sorted", () => {
    expect(
      buildNatsPayload(
        {
          subject: "s",
          data: bytes("1"),
          headers: { "X-b": ["2", "3"], "A-Key": ["1"] },
        },
        { jsonBody: true, metadata: { z: "&", a: "b" } },
      ),
    ).toBe(
      '{"subject":"s","body":1,"header":{"A-Key":["1"],"X-b":["2","3"]},"metadata":{"a":"b","z":"\\u0026"}}',
    );
    expect(
      buildNatsPayload({ subject: "s", data: bytes("1"), headers: {} }, { jsonBody: true }),
    ).toBe('{"subject":"s","body":1}');
  });
});

describe("nats EventSource validate (Argo's nats/validate.go)", () => {
  it("is run (registered once, no longer Argo-only)", () => {
    expect(EVENTSOURCE_KINDS.filter((k) => k.key === "nats")).toHaveLength(1);
    expect(ALL_EVENTSOURCE_KINDS.filter((k) => k.key === "nats")).toHaveLength(1);
  });

  it("reports Argo's messages in Argo's order", () => {
    expect(findings({ subject: "a" })).toEqual(["error:/spec/nats/e url must be specified"]);
    expect(findings({ url: "nats://n:4222" })).toEqual([
      "error:/spec/nats/e subject must be specified",
    ]);
    expect(findings({ url: "nats://n:4222", subject: "a", queue: "" })).toEqual([
      "error:/spec/nats/e/queue queue group cannot be empty if specified",
    ]);
    expect(findings({ url: "nats://n:4222", subject: "a", tls: {} })).toEqual([
      "error:/spec/nats/e/tls invalid tls config, please configure either caCertSecret, or clientCertSecret and clientKeySecret, or both",
    ]);
    expect(
      findings({ url: "nats://n:4222", subject: "a", tls: { clientKeySecret: secret } }),
    ).toEqual([
      "error:/spec/nats/e/tls invalid tls config, both clientCertSecret and clientKeySecret need to be configured",
    ]);
    expect(
      findings({
        url: "n:4222,nats://m:4222",
        subject: "orders.*.>",
        queue: "q",
        tls: { caCertSecret: secret },
        auth: { token: secret },
        connectionBackoff: { duration: "1s", steps: 3 },
      }),
    ).toEqual([]);
  });

  it("warns about what Argo accepts but cannot work: bad subject, bad URL, several auth methods, URL credentials", () => {
    expect(findings({ url: "nats://n", subject: "a..b" })).toEqual([
      "warning:/spec/nats/e/subject 'a..b' has an empty token (a leading, trailing or double '.')",
    ]);
    expect(findings({ url: "http://n:80", subject: "a.>.b" })).toEqual([
      "warning:/spec/nats/e/subject 'a.>.b' has '>' before its last token",
      "warning:/spec/nats/e/url server 'http://n:80' 'http://' is not nats:// or tls://",
    ]);
    expect(
      findings({ url: "nats://u:pw@n", subject: "a", auth: { nkey: secret, token: secret } }),
    ).toEqual([
      "warning:/spec/nats/e/url carries credentials, readable by anyone who reads the manifest: give them in auth (from a Secret)",
      "warning:/spec/nats/e/auth sets token, nkey: only token is used (Argo takes the first of basic, token, nkey, credential)",
    ]);
    expect(findings({ url: "n", subject: "a", auth: { basic: { username: secret } } })).toEqual([
      "error:/spec/nats/e/auth/basic needs both username and password (Secret selectors)",
    ]);
  });
});

describe("NATS subjects", () => {
  it.each([
    ["orders.created", "orders.created", true],
    ["orders.*", "orders.created", true],
    ["orders.*", "orders.created.eu", false],
    ["orders.>", "orders.created.eu", true],
    ["orders.>", "orders", false],
    [">", "a", true],
    ["*.created", "orders.created", true],
    ["orders.created", "orders.*", false],
  ])("subscription %s receives %s: %s", (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });

  it("knows what a publish subject and a subscription subject may hold", () => {
    expect(subjectProblem("a.b", false)).toBeUndefined();
    expect(subjectProblem("a.*", false)).toMatch(/wildcard/);
    expect(subjectProblem("a.*", true)).toBeUndefined();
    expect(subjectProblem("a.b*", true)).toMatch(/mixes/);
    expect(subjectProblem("a b", true)).toMatch(/white space/);
    expect(subjectProblem("", true)).toBe("is empty");
  });

  it("graph: the port of a NATS url (4222 by default)", () => {
    expect(natsPort("nats://n:4223,nats://m:4224")).toBe("4223");
    expect(natsPort("nats.argo-events.svc")).toBe("4222");
    expect(natsPort("")).toBeUndefined();
    const out: Finding[] = [];
    checkNatsConnection({ url: "nats://[::1" }, { at: "/x", report: (f) => out.push(f) });
    expect(out.map((f) => f.message)).toEqual(["server 'nats://[::1' is not a URL"]);
  });
});
