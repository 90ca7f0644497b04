import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkDocument } from "../../../../src/config/validate.js";
import { eventsApiRequest, formRequest } from "../../../../src/eventsources/slack/runtime.js";
import { verifySlackSignature } from "../../../../src/eventsources/slack/signature.js";
import { sha256 } from "../../../../src/eventsources/webhook/runtime.js";

/** Slack's worked example, "Verifying requests from Slack" (api.slack.com). */
const DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const DOC_TS = "1531420618";
const DOC_BODY =
  "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const DOC_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
const DOC_NOW = Number(DOC_TS) * 1000;

describe("verifySlackSignature", () => {
  const key = Buffer.from(DOC_SECRET);
  const body = Buffer.from(DOC_BODY);

  it("accepts Slack's documented example", () => {
    expect(verifySlackSignature(key, body, DOC_SIG, DOC_TS, DOC_NOW + 60_000)).toBeUndefined();
  });

  it("refuses the example with the body, the timestamp or the key changed (403)", () => {
    const changed = Buffer.from(DOC_BODY.replace("foobar", "foobaz"));
    expect(verifySlackSignature(key, changed, DOC_SIG, DOC_TS, DOC_NOW)).toEqual({
      status: 403,
      reason: "signature_mismatch",
      message: "signature mismatch",
    });
    expect(verifySlackSignature(key, body, DOC_SIG, "1531420619", DOC_NOW)?.reason).toBe(
      "signature_mismatch",
    );
    expect(verifySlackSignature(Buffer.from("other"), body, DOC_SIG, DOC_TS, DOC_NOW)?.status).toBe(
      403,
    );
  });

  it("refuses a timestamp more than five minutes away, either way (401)", () => {
    const late = verifySlackSignature(key, body, DOC_SIG, DOC_TS, DOC_NOW + 300_001);
    expect(late).toMatchObject({ status: 401, reason: "stale_timestamp" });
    expect(verifySlackSignature(key, body, DOC_SIG, DOC_TS, DOC_NOW + 300_000)).toBeUndefined();
    expect(verifySlackSignature(key, body, DOC_SIG, DOC_TS, DOC_NOW - 300_001)?.reason).toBe(
      "stale_timestamp",
    );
  });

  it("refuses missing and malformed headers (401), naming no secret", () => {
    const cases: Array<[string | undefined, string | undefined, string]> = [
      [undefined, DOC_TS, "missing_signature"],
      [DOC_SIG, undefined, "missing_signature"],
      ["", DOC_TS, "missing_signature"],
      [DOC_SIG.slice(3), DOC_TS, "malformed_signature"],
      ["v0=zz", DOC_TS, "malformed_signature"],
      [`v1=${DOC_SIG.slice(3)}`, DOC_TS, "malformed_signature"],
      [DOC_SIG, "15314206l8", "malformed_timestamp"],
      [DOC_SIG, "-1", "malformed_timestamp"],
    ];
    for (const [sig, ts, reason] of cases) {
      const r = verifySlackSignature(key, body, sig, ts, DOC_NOW);
      expect(r?.status, `${sig} ${ts}`).toBe(401);
      expect(r?.reason, `${sig} ${ts}`).toBe(reason);
      expect(r?.message).not.toContain(DOC_SECRET);
    }
  });

  it("agrees with an independent HMAC over v0:{timestamp}:{body}", () => {
    const ts = "1700000000";
    const own = `v0=${createHmac("sha256", "s3").update(`v0:${ts}:{"a":1}`).digest("hex")}`;
    expect(
      verifySlackSignature(Buffer.from("s3"), Buffer.from('{"a":1}'), own, ts, 1_700_000_000_000),
    ).toBeUndefined();
  });
});

describe("Slack requests as Argo reads them", () => {
  const keys = { tokenDigest: sha256("verif-token") };

  it("answers url_verification with the challenge and stores nothing", () => {
    const out = eventsApiRequest(
      JSON.stringify({ token: "verif-token", challenge: "3eZbrw1aBm2", type: "url_verification" }),
      keys,
    );
    expect(out).toEqual({ kind: "answer", status: 200, body: "3eZbrw1aBm2" });
  });

  it("refuses an Events API request whose token is not `token`", () => {
    const out = eventsApiRequest(JSON.stringify({ token: "nope", type: "url_verification" }), keys);
    expect(out).toEqual({
      kind: "refuse",
      reason: "token_mismatch",
      message: "invalid verification token",
    });
    expect(eventsApiRequest(JSON.stringify({ type: "event_callback" }), keys).kind).toBe("refuse");
  });

  it("stores an event_callback's inner event as {type, Data} with event_id as the id", () => {
    const out = eventsApiRequest(
      JSON.stringify({
        token: "verif-token",
        type: "event_callback",
        event_id: "Ev08MFMKH6",
        event: { type: "app_mention", user: "U1", text: "<@U0> deploy & go", ts: "1.2" },
      }),
      keys,
    );
    expect(out).toEqual({
      kind: "store",
      id: "Ev08MFMKH6",
      what: "app_mention",
      data: '{"type":"app_mention","Data":{"text":"\\u003c@U0\\u003e deploy \\u0026 go","ts":"1.2","type":"app_mention","user":"U1"}}',
    });
  });

  it("answers other Events API types without storing, and bad JSON with 400", () => {
    expect(
      eventsApiRequest(JSON.stringify({ token: "verif-token", type: "app_rate_limited" }), keys),
    ).toMatchObject({ kind: "answer", status: 200 });
    expect(eventsApiRequest("{", keys)).toMatchObject({ kind: "answer", status: 400 });
    expect(eventsApiRequest("[1]", keys)).toMatchObject({ kind: "answer", status: 400 });
  });

  it("stores a slash command as slack-go's SlashCommand, the token masked", () => {
    const out = formRequest(DOC_BODY);
    expect(out).toEqual({
      kind: "store",
      what: "/webhook-collect",
      data:
        '{"token":"*** Masked Auth Secret ***","team_id":"T1DC2JH3J","team_domain":"testteamnow",' +
        '"is_enterprise_install":false,"channel_id":"G8PSS9T3V","channel_name":"foobar",' +
        '"user_id":"U2CERLKJA","user_name":"roadrunner","command":"/webhook-collect","text":"",' +
        '"response_url":"https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",' +
        '"trigger_id":"398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c","api_app_id":""}',
    });
    const enterprise = formRequest(
      "command=%2Fx&enterprise_id=E1&enterprise_name=Acme&is_enterprise_install=true",
    );
    expect(enterprise.kind === "store" && JSON.parse(enterprise.data)).toMatchObject({
      enterprise_id: "E1",
      enterprise_name: "Acme",
      is_enterprise_install: true,
      token: "",
    });
  });

  it("stores an interaction's payload, the token masked; refuses a form that is neither", () => {
    const payload = { type: "block_actions", token: "verif-token", actions: [{ value: "go" }] };
    const out = formRequest(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
    expect(out).toEqual({
      kind: "store",
      what: "block_actions",
      data: '{"actions":[{"value":"go"}],"token":"*** Masked Auth Secret ***","type":"block_actions"}',
    });
    expect(formRequest("payload=%7Bnot")).toMatchObject({ kind: "answer", status: 400 });
    expect(formRequest("text=hello")).toEqual({
      kind: "answer",
      status: 400,
      body: "could not determine slack type from form parameters",
    });
  });
});

function doc(entry: Record<string, unknown>) {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "sl" },
    spec: { slack: { chat: entry } },
  };
}

describe("validate: Argo's slack validate.go", () => {
  const findings = (entry: Record<string, unknown>) =>
    checkDocument(doc(entry)).findings.map((f) => `${f.severity} ${f.pointer}: ${f.message}`);
  const HOOK = { port: "12000", endpoint: "/slack", method: "POST" };
  const SEL = { name: "slack", key: "x" };

  it("accepts a complete entry without findings", () => {
    expect(findings({ signingSecret: SEL, token: SEL, webhook: HOOK })).toEqual([]);
  });

  it("reports a missing token, signingSecret and webhook fields", () => {
    const f = findings({ webhook: { port: "", endpoint: "" } });
    expect(f).toContain("error /spec/slack/chat/token: token not provided");
    expect(f).toContain("error /spec/slack/chat/signingSecret: signingSecret not provided");
    expect(f.some((x) => x.startsWith("error /spec/slack/chat/webhook/endpoint"))).toBe(true);
    expect(f.some((x) => x.startsWith("error /spec/slack/chat/webhook/port"))).toBe(true);
    expect(findings({ signingSecret: SEL, token: SEL })).toContain(
      "error /spec/slack/chat/webhook: webhook is required: the endpoint the provider delivers to",
    );
  });
});
