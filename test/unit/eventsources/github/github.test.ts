import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkDocument } from "../../../../src/config/validate.js";
import { verifyGithubSignature } from "../../../../src/eventsources/github/signature.js";

/** GitHub docs, "Validating webhook deliveries": the published test vector. */
const DOC_SECRET = "It's a Secret to Everybody";
const DOC_PAYLOAD = "Hello, World!";
const DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

describe("verifyGithubSignature", () => {
  const key = Buffer.from(DOC_SECRET, "utf8");
  const body = Buffer.from(DOC_PAYLOAD, "utf8");

  it("accepts GitHub's documented X-Hub-Signature-256 test vector", () => {
    expect(verifyGithubSignature(key, body, DOC_SIGNATURE, undefined)).toBeUndefined();
  });

  it("refuses the vector with one byte of the body or the key changed (403)", () => {
    expect(
      verifyGithubSignature(key, Buffer.from("Hello, World?"), DOC_SIGNATURE, undefined),
    ).toEqual({
      status: 403,
      reason: "signature_mismatch",
      message: "payload signature check failed",
    });
    expect(
      verifyGithubSignature(
        Buffer.from("It's a secret to everybody"),
        body,
        DOC_SIGNATURE,
        undefined,
      )?.reason,
    ).toBe("signature_mismatch");
  });

  it("falls back to X-Hub-Signature (sha1) only when X-Hub-Signature-256 is absent", () => {
    const sha1 = `sha1=${createHmac("sha1", key).update(body).digest("hex")}`;
    expect(verifyGithubSignature(key, body, undefined, sha1)).toBeUndefined();
    expect(verifyGithubSignature(key, body, "", sha1)).toBeUndefined();
    // The sha256 header wins (go-github): a wrong one is not rescued by a right sha1.
    const wrong = `sha256=${"0".repeat(64)}`;
    expect(verifyGithubSignature(key, body, wrong, sha1)?.reason).toBe("signature_mismatch");
  });

  it("refuses a missing or malformed signature with 401, naming no secret", () => {
    const missing = verifyGithubSignature(key, body, undefined, undefined);
    expect(missing?.status).toBe(401);
    expect(missing?.reason).toBe("missing_signature");
    for (const bad of ["757107ea", "sha256=zz", "md5=abcd", "sha256=757107ea0eb2", "sha1="]) {
      const r = verifyGithubSignature(key, body, bad, undefined);
      expect(r?.status, bad).toBe(401);
      expect(r?.reason, bad).toBe("malformed_signature");
      expect(r?.message).not.toContain(DOC_SECRET);
    }
  });
});

function doc(entry: Record<string, unknown>) {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "gh" },
    spec: { github: { pr: entry } },
  };
}

const HOOK = { port: "12000", endpoint: "/push", method: "POST" };
const SECRET = { name: "github-access", key: "secret" };

describe("validate: Argo's github validate.go and what sensorbus does not do", () => {
  const findings = (entry: Record<string, unknown>) =>
    checkDocument(doc(entry)).findings.map((f) => `${f.severity} ${f.pointer}: ${f.message}`);

  it("accepts a webhook-only entry with a secret without findings", () => {
    expect(
      findings({
        repositories: [{ owner: "argoproj", names: ["argo-events"] }],
        webhook: HOOK,
        events: ["pull_request"],
        webhookSecret: SECRET,
      }),
    ).toEqual([]);
  });

  it("reports Argo's errors", () => {
    const f = findings({
      webhook: { port: "x1", endpoint: "" },
      contentType: "xml",
      githubBaseURL: "https://ghe/api/",
    });
    expect(f).toContain(
      "error /spec/github/pr/repositories: either repositories or organizations is required",
    );
    expect(f).toContain('error /spec/github/pr/contentType: content type must be "json" or "form"');
    expect(f).toContain(
      "error /spec/github/pr/githubUploadURL: githubUploadURL is required when githubBaseURL is set",
    );
    expect(
      f.some((x) =>
        x.startsWith("error /spec/github/pr/webhook/port: failed to parse server port x1"),
      ),
    ).toBe(true);
    expect(f.some((x) => x.startsWith("error /spec/github/pr/webhook/endpoint"))).toBe(true);
    const both = findings({
      repositories: [{ owner: "a", names: ["b"] }],
      organizations: ["a"],
      webhook: HOOK,
      webhookSecret: SECRET,
    });
    expect(both).toContain(
      "error /spec/github/pr/organizations: only one of repositories and organizations is allowed",
    );
    const noWebhook = findings({ organizations: ["a"], webhookSecret: SECRET });
    expect(noWebhook.some((x) => x.startsWith("error /spec/github/pr/webhook"))).toBe(true);
  });

  it("no longer warns that hooks are not registered: a registering entry is clean", () => {
    const f = findings({
      owner: "argoproj",
      repository: "argo-events",
      webhook: { ...HOOK, url: "https://hooks.example.com" },
      events: ["push"],
      apiToken: { name: "github-access", key: "token" },
      webhookSecret: SECRET,
      active: true,
      deleteHookOnFinish: true,
    });
    expect(f).toEqual([]);
  });

  it("checks what registering the hook needs, naming the field", () => {
    const REG = {
      organizations: ["argoproj"],
      webhook: { ...HOOK, url: "https://hooks.example.com" },
      events: ["push"],
      webhookSecret: SECRET,
      active: true,
    };
    const app = findings({
      ...REG,
      events: undefined,
      githubApp: { privateKey: SECRET, appID: 1, installationID: 2 },
    });
    expect(app).toEqual([
      "error /spec/github/pr/events: events must be defined to create a github webhook",
    ]);
    // githubApp without its ids, or without privateKey.
    expect(findings({ ...REG, githubApp: { privateKey: SECRET } })).toEqual([
      "error /spec/github/pr/githubApp/appID: githubApp needs appID (a positive integer) to get an installation token",
      "error /spec/github/pr/githubApp/installationID: githubApp needs installationID (a positive integer) to get an installation token",
    ]);
    expect(findings({ ...REG, githubApp: { appID: 1, installationID: 2 } })).toContain(
      "error /spec/github/pr/githubApp/privateKey: githubApp needs privateKey (the App's private key Secret) to register the hook",
    );
    // Both credentials: Argo uses apiToken.
    expect(
      findings({
        ...REG,
        apiToken: SECRET,
        githubApp: { privateKey: SECRET, appID: 1, installationID: 2 },
      }),
    ).toEqual([
      "warning /spec/github/pr/githubApp: both apiToken and githubApp are set: the hook is registered with apiToken (as in Argo) and githubApp is not used",
    ]);
    // Credentials without webhook.url: nothing registered, said so; deleteHookOnFinish then moot.
    const noUrl = findings({ ...REG, webhook: HOOK, apiToken: SECRET, deleteHookOnFinish: true });
    expect(noUrl.map((x) => x.split(":")[0])).toEqual([
      "warning /spec/github/pr/webhook/url",
      "warning /spec/github/pr/deleteHookOnFinish",
    ]);
    expect(noUrl[0]).toContain("apiToken is set but no hook is registered on GitHub");
    // URLs that cannot work.
    expect(
      findings({ ...REG, apiToken: SECRET, webhook: { ...HOOK, url: "hooks.example.com" } }),
    ).toContain(
      "error /spec/github/pr/webhook/url: 'hooks.example.com' is not an absolute http(s) URL: GitHub could not deliver to it",
    );
    expect(
      findings({
        ...REG,
        apiToken: SECRET,
        githubBaseURL: "ghe/api",
        githubUploadURL: "https://ghe/up",
      }),
    ).toContain("error /spec/github/pr/githubBaseURL: 'ghe/api' is not an absolute http(s) URL");
    // Repositories the API cannot address; a hook registered inactive.
    const repos = findings({
      ...REG,
      organizations: undefined,
      apiToken: SECRET,
      active: undefined,
      repositories: [{ names: ["x"] }, { owner: "o", names: [] }],
    });
    expect(repos).toEqual([
      "error /spec/github/pr/repositories/0/owner: owner is required to register the hook",
      "error /spec/github/pr/repositories/1/names: names is empty: no hook is registered",
      "warning /spec/github/pr/active: active is not true: the hook is registered inactive (as in Argo) and GitHub delivers nothing to it",
    ]);
  });

  it("warns when deliveries are not verified", () => {
    const f = findings({ organizations: ["a"], webhook: HOOK });
    expect(f.some((x) => x.startsWith("warning /spec/github/pr/webhookSecret:"))).toBe(true);
  });
});

describe("graph detail: what the entry listens for and registers", () => {
  it("shows the route, then the hook it registers on each target", async () => {
    const { github } = await import("../../../../src/eventsources/github/index.js");
    const detail = github.graph!.detail!;
    const route = { port: "12000", endpoint: "/push", method: "POST" };
    expect(
      detail({ repositories: [{ owner: "o", names: ["r"] }], webhook: route, events: ["push"] }),
    ).toBe("GitHub POST :12000/push [push]");
    expect(
      detail({
        organizations: ["org"],
        webhook: { ...route, url: "https://ev.example.com/" },
        events: ["push"],
        apiToken: { name: "s", key: "k" },
        deleteHookOnFinish: true,
      }),
    ).toBe(
      "GitHub POST :12000/push [push] · registers https://ev.example.com/push on organization org (deleted on stop)",
    );
  });
});
