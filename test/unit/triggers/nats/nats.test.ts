import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { CloudEvent } from "../../../../src/cloudevents/event.js";
import type { Finding } from "../../../../src/config/findings.js";
import type { TemplateCheck } from "../../../../src/config/kinds.js";
import { TriggerError } from "../../../../src/errors.js";
import { type NatsTrigger, nats } from "../../../../src/triggers/nats/index.js";
import { natsTrigger } from "../../../../src/triggers/nats/runtime.js";
import { applyParameters } from "../../../../src/triggers/params.js";
import { ALL_TRIGGER_KINDS, TRIGGER_KINDS } from "../../../../src/triggers/registry.js";
import type { FiringContext } from "../../../../src/triggers/types.js";

function findings(spec: unknown, rewritten: string[] = []): string[] {
  const out: Finding[] = [];
  const check: TemplateCheck = {
    at: "/spec/triggers/0/template/nats",
    report: (f) => out.push(f),
    parameters: () => {},
    touches: (p) => rewritten.some((d) => d === p || d.startsWith(`${p}.`)),
    replaces: (p) => rewritten.includes(p),
  };
  nats.validate?.(spec as never, check);
  return out.map(
    (f) => `${f.severity}:${f.pointer.replace("/spec/triggers/0/template", "")} ${f.message}`,
  );
}

const event: CloudEvent = {
  specversion: "1.0",
  id: "1",
  source: "es",
  subject: "e",
  type: "nats",
  time: "2024-05-15T12:00:00Z",
  datacontenttype: "application/json",
  data: '{"order":{"id":"A-1","region":"eu"},"n":3}',
};

function ctx(secrets: Record<string, string> = {}): FiringContext {
  const events = new Map([["dep", event]]);
  return {
    sensorName: "s",
    namespace: "ns",
    triggerName: "t",
    events,
    applyParameters: (doc, params) => applyParameters(doc, params, events),
    values: {
      secret: async (ref: { name: string; key: string }) => {
        const v = secrets[`${ref.name}/${ref.key}`];
        if (v === undefined) throw new Error(`no secret ${ref.name}/${ref.key}`);
        return v;
      },
      configMap: async () => {
        throw new Error("none");
      },
    },
    log: pino({ level: "silent" }),
    now: () => 0,
  } as FiringContext;
}

const base: NatsTrigger = {
  url: "nats://n:4222",
  subject: "orders.accepted",
  payload: [
    { src: { dependencyName: "dep", dataKey: "order.id" }, dest: "id" },
    { src: { dependencyName: "dep", dataKey: "n" }, dest: "count" },
  ],
};

describe("nats trigger validate (Argo's validateNATSTrigger)", () => {
  it("is executed (registered once, no longer Argo-only)", () => {
    expect(TRIGGER_KINDS.filter((k) => k.key === "nats")).toHaveLength(1);
    expect(ALL_TRIGGER_KINDS.filter((k) => k.key === "nats")).toHaveLength(1);
  });

  it("reports Argo's messages", () => {
    expect(findings({ subject: "a", payload: [] })).toEqual([
      "error:/nats nats server url can't be empty",
    ]);
    expect(findings({ url: "n", payload: [] })).toEqual([
      "error:/nats nats subject can't be empty",
    ]);
    expect(findings({ url: "n", subject: "a" })).toEqual(["error:/nats payload can't be nil"]);
    expect(findings(base)).toEqual([]);
    expect(findings({ ...base, tls: {} })).toEqual([
      "error:/nats/tls invalid tls config, please configure either caCertSecret, or clientCertSecret and clientKeySecret, or both",
    ]);
  });

  it("warns about a wildcard subject (nothing can be published there) unless a parameter sets it", () => {
    expect(findings({ ...base, subject: "orders.*" })).toEqual([
      "warning:/nats/subject 'orders.*' has the wildcard '*': a message is published to one literal subject",
    ]);
    expect(findings({ ...base, subject: "orders.*" }, ["nats.subject"])).toEqual([]);
    expect(
      findings({
        ...base,
        subject: "orders.*",
        parameters: [{ src: { dependencyName: "dep", dataKey: "x" }, dest: "subject" }],
      }),
    ).toEqual([]);
  });
});

describe("nats trigger render", () => {
  it("builds the payload from `payload` (Argo's ConstructPayload) and shows what it publishes", async () => {
    const r = await natsTrigger().render(base, ctx());
    expect(r.payload).toEqual({ id: "A-1", count: "3" }); // a string unless useRawData, as Argo
    expect(r.request).toEqual({
      method: "PUBLISH",
      url: "nats://n:4222 orders.accepted",
      headers: {},
    });
  });

  it("applies kind-level parameters to the trigger object: the subject from the event", async () => {
    const r = await natsTrigger().render(
      {
        ...base,
        parameters: [
          {
            src: { dependencyName: "dep", dataTemplate: "orders.{{ .Input.order.region }}" },
            dest: "subject",
          },
        ],
      },
      ctx(),
    );
    expect(r.request?.url).toBe("nats://n:4222 orders.eu");
  });

  it("an empty payload list publishes an empty message (Argo's nil payload)", async () => {
    const r = await natsTrigger().render({ ...base, payload: [] }, ctx());
    expect(r.payloadText).toBe("");
  });

  it("refuses to render without payload, with a wildcard subject, or with auth that cannot be read", async () => {
    const kind = natsTrigger();
    const { payload: _p, ...noPayload } = base;
    await expect(kind.render(noPayload, ctx())).rejects.toThrow(
      "nats trigger: payload parameters are not specified",
    );
    await expect(kind.render({ ...base, subject: "a.>" }, ctx())).rejects.toBeInstanceOf(
      TriggerError,
    );
    await expect(
      kind.render({ ...base, auth: { token: { name: "nats", key: "token" } } }, ctx()),
    ).rejects.toThrow(/no secret nats\/token/);
    const ok = await kind.render(
      { ...base, auth: { token: { name: "nats", key: "token" } } },
      ctx({ "nats/token": "tok-secret" }),
    );
    expect(JSON.stringify({ ...ok, detail: undefined })).not.toContain("tok-secret");
  });
});
