import { describe, expect, it } from "vitest";
import { checkDocument } from "../../../../src/config/validate.js";
import { bitbucket } from "../../../../src/eventsources/bitbucket/index.js";
import { providerMessage } from "../../../../src/eventsources/bitbucket-shared/api.js";

const HOOK = { port: "12000", endpoint: "/push", method: "POST" };
const OAUTH = { oauthToken: { name: "bitbucket-access", key: "token" } };

function findings(entry: Record<string, unknown>): string[] {
  return checkDocument({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "bb" },
    spec: { bitbucket: { push: entry } },
  }).findings.map((f) => `${f.severity} ${f.pointer}: ${f.message}`);
}

describe("validate: Argo's bitbucket validate.go", () => {
  it("accepts Argo's example entry; the only finding is the unverified-deliveries warning", () => {
    const f = findings({
      repositories: [{ owner: "name-of-owner", repositorySlug: "name-of-repository1" }],
      events: ["repo:push"],
      webhook: { ...HOOK, url: "http://url-that-is-reachable-from-bitbucket" },
      deleteHookOnFinish: true,
      auth: {
        basic: {
          username: { name: "bitbucket-access", key: "username" },
          password: { name: "bitbucket-access", key: "password" },
        },
      },
    });
    expect(f).toEqual([
      "warning /spec/bitbucket/push/webhook: Bitbucket Cloud deliveries are not verified (Argo's bitbucket type has no webhook secret): anyone who can reach the endpoint can send events; set webhookSecret (a sensorbus extension) to verify X-Hub-Signature",
    ]);
  });

  it("warns that webhookSecret is a sensorbus extension, and no longer that deliveries are unverified", () => {
    const f = findings({
      repositories: [{ owner: "o", repositorySlug: "r" }],
      events: ["repo:push"],
      webhook: HOOK,
      auth: OAUTH,
      webhookSecret: { name: "bitbucket-access", key: "hook" },
    });
    expect(f).toEqual([
      "warning /spec/bitbucket/push/webhookSecret: webhookSecret is a sensorbus extension: Argo Events refuses or ignores it",
    ]);
    // webhook.authSecret (a proxy in front) also counts as verified, as before.
    expect(
      findings({
        repositories: [{ owner: "o", repositorySlug: "r" }],
        webhook: { ...HOOK, authSecret: { name: "a", key: "b" } },
        auth: OAUTH,
      }),
    ).toEqual([]);
    // Not a Secret key selector: refused by the schema.
    expect(
      findings({
        repositories: [{ owner: "o", repositorySlug: "r" }],
        webhook: HOOK,
        auth: OAUTH,
        webhookSecret: "plain-text",
      }).some((x) => x.startsWith("error /spec/bitbucket/push/webhookSecret")),
    ).toBe(true);
  });

  it("reports Argo's errors: repositories, events for hooks, the webhook context, auth", () => {
    const f = findings({ webhook: { ...HOOK, url: "https://x" }, auth: OAUTH });
    expect(f).toContain(
      "error /spec/bitbucket/push/repositories: at least one repository is required",
    );
    expect(f).toContain(
      "error /spec/bitbucket/push/events: events must be defined to create a bitbucket webhooks",
    );
    // The deprecated owner + repositorySlug count as one repository; no url: no hook, no events needed.
    expect(
      findings({ owner: "o", repositorySlug: "r", webhook: HOOK, auth: OAUTH }).filter((x) =>
        x.startsWith("error"),
      ),
    ).toEqual([]);
    const noAuth = findings({
      owner: "o",
      repositorySlug: "r",
      webhook: { port: "x", endpoint: "" },
    });
    expect(noAuth).toContain(
      "error /spec/bitbucket/push/auth: auth is required: basic (username, password) or oauthToken",
    );
    expect(noAuth.some((x) => x.startsWith("error /spec/bitbucket/push/webhook/endpoint"))).toBe(
      true,
    );
    expect(noAuth.some((x) => x.startsWith("error /spec/bitbucket/push/webhook/port"))).toBe(true);
  });

  it("warns when auth names no usable credentials or a repository is incomplete", () => {
    const f = findings({
      repositories: [{ owner: "o" }],
      webhook: HOOK,
      auth: { basic: { username: { name: "a", key: "u" } } },
    });
    expect(
      f.some((x) => x.startsWith("warning /spec/bitbucket/push/auth: auth names neither")),
    ).toBe(true);
    expect(f.some((x) => x.startsWith("warning /spec/bitbucket/push/repositories/0:"))).toBe(true);
  });

  it("draws what it listens for", () => {
    expect(bitbucket.graph?.detail?.({ webhook: HOOK, events: ["repo:push"] } as never)).toBe(
      "Bitbucket POST :12000/push [repo:push]",
    );
  });
});

describe("providerMessage: what a Bitbucket error body says", () => {
  it("reads Cloud's and Server's error shapes, else the bounded text", () => {
    expect(
      providerMessage('{"type":"error","error":{"message":"Bad request","detail":"url"}}'),
    ).toBe(": Bad request; url");
    expect(providerMessage('{"errors":[{"context":null,"message":"No such webhook"}]}')).toBe(
      ": No such webhook",
    );
    expect(providerMessage("<html>gateway</html>")).toBe(": <html>gateway</html>");
    expect(providerMessage("")).toBe("");
    expect(providerMessage('{"other":1}')).toBe("");
  });
});
