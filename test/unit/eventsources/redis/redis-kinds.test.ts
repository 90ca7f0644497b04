import { describe, expect, it } from "vitest";
import type { Finding } from "../../../../src/config/findings.js";
import { redis } from "../../../../src/eventsources/redis/index.js";
import { buildRedisPayload } from "../../../../src/eventsources/redis/runtime.js";
import { parseHostAddress } from "../../../../src/eventsources/redis-shared/client.js";
import { redisStream } from "../../../../src/eventsources/redis-stream/index.js";
import {
  buildRedisStreamPayload,
  parseReadReply,
  redisStreamEventId,
} from "../../../../src/eventsources/redis-stream/runtime.js";
import { ALL_EVENTSOURCE_KINDS, EVENTSOURCE_KINDS } from "../../../../src/eventsources/registry.js";

function findings(kind: { validate?: (e: never, c: never) => void }, entry: unknown): string[] {
  const out: Finding[] = [];
  kind.validate?.(
    entry as never,
    { at: "/spec/x/e", report: (f: Finding) => out.push(f) } as never,
  );
  return out.map((f) => `${f.severity}:${f.pointer} ${f.message}`);
}

const secret = { name: "s", key: "k" };

describe("redis and redisStream kinds", () => {
  it("are run (registered once, no longer Argo-only)", () => {
    for (const key of ["redis", "redisStream"]) {
      expect(EVENTSOURCE_KINDS.filter((k) => k.key === key)).toHaveLength(1);
      expect(ALL_EVENTSOURCE_KINDS.filter((k) => k.key === key)).toHaveLength(1);
    }
  });

  it("redisStream validate reports Argo's messages", () => {
    expect(findings(redisStream, { streams: ["a"] })).toEqual([
      "error:/spec/x/e host address must be specified",
    ]);
    expect(findings(redisStream, { hostAddress: "r:6379" })).toEqual([
      "error:/spec/x/e stream/streams must be specified",
    ]);
    expect(findings(redisStream, { hostAddress: "r:6379", streams: ["a"], tls: {} })).toEqual([
      "error:/spec/x/e/tls invalid tls config, please configure either caCertSecret, or clientCertSecret and clientKeySecret, or both",
    ]);
    expect(
      findings(redisStream, {
        hostAddress: "r",
        streams: ["a"],
        tls: { clientCertSecret: secret },
      }),
    ).toEqual([
      "error:/spec/x/e/tls invalid tls config, both clientCertSecret and clientKeySecret need to be configured",
    ]);
    expect(
      findings(redisStream, { hostAddress: "r", streams: ["a"], maxMsgCountPerRead: -1 }),
    ).toEqual(["error:/spec/x/e/maxMsgCountPerRead must not be negative (0 means 10)"]);
    expect(
      findings(redisStream, {
        hostAddress: "r",
        streams: ["a"],
        tls: { insecureSkipVerify: true },
      }),
    ).toEqual([]);
    expect(
      findings(redisStream, { hostAddress: "r", streams: ["a"], tls: { enabled: true } }),
    ).toEqual([]);
  });

  it("redis validate reports Argo's messages, password needing namespace", () => {
    expect(findings(redis, { channels: ["c"] })).toEqual([
      "error:/spec/x/e host address must be specified",
    ]);
    expect(findings(redis, { hostAddress: "r" })).toEqual([
      "error:/spec/x/e channel/s must be specified",
    ]);
    expect(findings(redis, { hostAddress: "r", channels: ["c"], password: secret })).toEqual([
      "error:/spec/x/e namespace must be defined in order to retrieve the password from the secret",
    ]);
    expect(
      findings(redis, { hostAddress: "r", channels: ["c"], password: secret, namespace: "ns" }),
    ).toEqual([]);
    expect(findings(redis, { hostAddress: "r", channels: ["c"], tls: {} })).toHaveLength(1);
  });

  it("encodes Argo's RedisStreamEventData: sorted values, HTML escaped, metadata omitempty", () => {
    expect(buildRedisStreamPayload("orders", "1-0", { z: "a<b", a: "1" })).toBe(
      '{"stream":"orders","message_id":"1-0","values":{"a":"1","z":"a\\u003cb"}}',
    );
    expect(buildRedisStreamPayload("o", "2-1", {}, { team: "x" })).toBe(
      '{"stream":"o","message_id":"2-1","values":{},"metadata":{"team":"x"}}',
    );
  });

  it("encodes Argo's RedisEventData: body string, or the JSON itself with jsonBody", () => {
    expect(buildRedisPayload("ch", "", '{"a": 1}', {})).toBe(
      '{"channel":"ch","pattern":"","body":"{\\"a\\": 1}"}',
    );
    expect(buildRedisPayload("ch", "", '{"a": 1}', { jsonBody: true, metadata: { m: "v" } })).toBe(
      '{"channel":"ch","pattern":"","body":{"a":1},"metadata":{"m":"v"}}',
    );
    expect(() => buildRedisPayload("ch", "", "not json", { jsonBody: true })).toThrow();
  });

  it("parses XREADGROUP replies, deleted pending entries as null values", () => {
    expect(parseReadReply(null)).toEqual([]);
    expect(
      parseReadReply([
        [
          "s",
          [
            ["1-0", ["k", "v", "k2", "v2"]],
            ["2-0", null],
          ],
        ],
        ["t", []],
      ]),
    ).toEqual([
      {
        stream: "s",
        entries: [
          { id: "1-0", values: { k: "v", k2: "v2" } },
          { id: "2-0", values: null },
        ],
      },
      { stream: "t", entries: [] },
    ]);
  });

  it("gives a redelivered entry the same event id, distinct per group, stream and id", () => {
    const id = redisStreamEventId("g", "s", "1-0");
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(redisStreamEventId("g", "s", "1-0")).toBe(id);
    expect(
      new Set([id, redisStreamEventId("h", "s", "1-0"), redisStreamEventId("g", "s", "1-1")]).size,
    ).toBe(3);
  });

  it("parses host addresses", () => {
    expect(parseHostAddress("redis.default.svc:6380")).toEqual({
      host: "redis.default.svc",
      port: 6380,
    });
    expect(parseHostAddress("localhost")).toEqual({ host: "localhost", port: 6379 });
    expect(parseHostAddress("[::1]:6379")).toEqual({ host: "::1", port: 6379 });
    expect(parseHostAddress("a:b:c")).toBeUndefined();
    expect(parseHostAddress("h:70000")).toBeUndefined();
  });
});
