import { describe, expect, it } from "vitest";
import { isCredentialHeader } from "../../../src/lib/credential-headers.js";
import { summarizeRendered } from "../../../src/observability/journal.js";
import { CENSOR, redactSecrets } from "../../../src/observability/logger.js";

/** Issue 19 item 4: every header that carries a credential is masked as Authorization is. */

const CREDENTIALS: Record<string, string> = {
  Authorization: "Bearer a-1",
  "Proxy-Authorization": "Basic p-2",
  Cookie: "sid=c-3",
  "X-Gitlab-Token": "g-4",
  "X-Hub-Signature": "sha1=h-5",
  "X-Hub-Signature-256": "sha256=h-6",
  "X-Slack-Signature": "v0=s-7",
  "Stripe-Signature": "t=1,v1=st-8",
};

describe("credential headers", () => {
  it.each(Object.keys(CREDENTIALS))("%s is a credential header in any case", (name) => {
    expect(isCredentialHeader(name)).toBe(true);
    expect(isCredentialHeader(name.toLowerCase())).toBe(true);
  });

  it("an hmac-named header is one when given; ordinary headers are not", () => {
    expect(isCredentialHeader("X-My-Sig")).toBe(false);
    expect(isCredentialHeader("X-My-Sig", new Set(["x-my-sig"]))).toBe(true);
    expect(isCredentialHeader("Content-Type")).toBe(false);
  });

  it("log objects: headers / header maps mask every credential header, others untouched", () => {
    const lower = Object.fromEntries(
      Object.entries(CREDENTIALS).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const out = redactSecrets({
      req: { headers: { ...lower, "content-type": "application/json" } },
      payload: { header: { ...CREDENTIALS, "X-Correlation-Id": "c" } },
    }) as { req: { headers: Record<string, string> }; payload: { header: Record<string, string> } };
    for (const k of Object.keys(lower)) expect(out.req.headers[k]).toBe(CENSOR);
    for (const k of Object.keys(CREDENTIALS)) expect(out.payload.header[k]).toBe(CENSOR);
    expect(out.req.headers["content-type"]).toBe("application/json");
    expect(out.payload.header["X-Correlation-Id"]).toBe("c");
    expect(JSON.stringify(out)).not.toMatch(/a-1|p-2|c-3|g-4|h-5|h-6|s-7|st-8/);
  });

  it("the journal redacts them in rendered requests", () => {
    const s = summarizeRendered({
      kind: "http",
      request: { method: "POST", url: "http://x", headers: { ...CREDENTIALS, Accept: "*/*" } },
    });
    for (const k of Object.keys(CREDENTIALS)) expect(s.request!.headers[k]).toBe("[redacted]");
    expect(s.request!.headers.Accept).toBe("*/*");
  });
});
