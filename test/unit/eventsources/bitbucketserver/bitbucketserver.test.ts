import { describe, expect, it } from "vitest";
import { checkDocument } from "../../../../src/config/validate.js";
import { bitbucketserver } from "../../../../src/eventsources/bitbucketserver/index.js";
import {
  decodeRefsChanged,
  RefsChangedDecodeError,
} from "../../../../src/eventsources/bitbucketserver/refs-changed.js";

describe("decodeRefsChanged: Argo's refsChangedWebhookEvent struct", () => {
  it("re-encodes in struct order with zero values, unknown fields dropped, names matched case-insensitively", () => {
    const refs = decodeRefsChanged({
      EVENTKEY: "repo:refs_changed",
      extra: { a: 1 },
      repository: { slug: "api", project: { key: "PROJ" }, links: { self: [{ href: "h" }] } },
      changes: [
        { ref: { id: "refs/heads/a", type: "BRANCH" }, toHash: "1", type: "UPDATE" },
        { ref: { id: "refs/tags/b", type: "TAG" }, toHash: "2", type: "ADD" },
      ],
    });
    expect(refs.projectKey).toBe("PROJ");
    expect(refs.repositorySlug).toBe("api");
    expect(refs.changes.map((c) => c.ref.type)).toEqual(["BRANCH", "TAG"]);
    expect(refs.encodeWith([1])).toBe(
      '{"eventKey":"repo:refs_changed","date":"","actor":{"name":"","emailAddress":"","id":0,"displayName":"","active":false,"slug":"","type":"","links":{"self":null}},"repository":{"slug":"api","id":0,"name":"","hierarchyId":"","scmId":"","state":"","statusMessage":"","forkable":false,"project":{"key":"PROJ","id":0,"name":"","public":false,"type":"","links":{"self":null}},"public":false,"links":{"clone":null,"self":[{"href":"h"}]}},"changes":[{"ref":{"id":"refs/tags/b","displayId":"","type":"TAG"},"refId":"","fromHash":"","toHash":"2","type":"ADD"}]}',
    );
  });

  it("leaves a field as it was for null, and refuses a type Go would not decode", () => {
    expect(decodeRefsChanged({ eventKey: null, changes: null }).changes).toEqual([]);
    expect(() => decodeRefsChanged({ changes: "x" })).toThrow(RefsChangedDecodeError);
    expect(() => decodeRefsChanged({ actor: { id: 1.5 } })).toThrow(
      "json: cannot unmarshal number into Go struct field refsChangedWebhookEvent.actor.id of type int",
    );
    expect(() => decodeRefsChanged({ repository: { public: "yes" } })).toThrow(
      "refsChangedWebhookEvent.repository.public of type bool",
    );
    expect(() => decodeRefsChanged([1])).toThrow(RefsChangedDecodeError);
  });
});

function findings(entry: Record<string, unknown>): string[] {
  return checkDocument({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "bbs" },
    spec: { bitbucketserver: { push: entry } },
  }).findings.map((f) => `${f.severity} ${f.pointer}: ${f.message}`);
}

const HOOK = { port: "12000", endpoint: "/push", method: "POST" };
const SECRET = { name: "bitbucketserver-access", key: "secret" };

describe("validate: Argo's bitbucketserver validate.go", () => {
  it("accepts Argo's example entry without findings", () => {
    expect(
      findings({
        repositories: [{ projectKey: "PROJECTKEY1", repositorySlug: "name-of-repository1" }],
        webhook: { ...HOOK, url: "http://url-that-is-reachable-from-Bitbucket-Server" },
        events: ["repo:refs_changed"],
        accessToken: { name: "bitbucketserver-access", key: "token" },
        webhookSecret: SECRET,
        deleteHookOnFinish: true,
        bitbucketserverBaseURL: "https://my-bitbucket-server.com/rest",
      }),
    ).toEqual([]);
  });

  it("reports Argo's errors: events for hooks, the base URL, checkInterval, the webhook context", () => {
    const f = findings({
      projects: ["PROJ"],
      webhook: { port: "p", endpoint: "", url: "https://x" },
      accessToken: { name: "a", key: "t" },
      webhookSecret: SECRET,
      checkInterval: "5 minutes",
    });
    expect(f).toContain(
      "error /spec/bitbucketserver/push/events: events must be defined to create a bitbucket server webhook",
    );
    expect(f).toContain(
      "error /spec/bitbucketserver/push/bitbucketserverBaseURL: bitbucket server base url can't be empty",
    );
    expect(f).toContain(
      'error /spec/bitbucketserver/push/checkInterval: failed to parse webhook check interval duration: time: unknown unit " minutes" in duration "5 minutes"',
    );
    expect(f.some((x) => x.startsWith("error /spec/bitbucketserver/push/webhook/port"))).toBe(true);
    expect(f.some((x) => x.startsWith("error /spec/bitbucketserver/push/webhook/endpoint"))).toBe(
      true,
    );
    // Go's time.NewTicker panics on 0: refused up front.
    expect(
      findings({
        webhook: HOOK,
        webhookSecret: SECRET,
        bitbucketserverBaseURL: "https://b/rest",
        checkInterval: "0s",
      }),
    ).toContain("error /spec/bitbucketserver/push/checkInterval: '0s' must be positive");
  });

  it("warns: no webhookSecret, skipBranchRefsChangedOnOpenPR without accessToken, a base URL that is no URL", () => {
    const f = findings({
      webhook: HOOK,
      bitbucketserverBaseURL: "bitbucket.local",
      skipBranchRefsChangedOnOpenPR: true,
    });
    expect(f.filter((x) => x.startsWith("error"))).toEqual([]);
    expect(f.some((x) => x.startsWith("warning /spec/bitbucketserver/push/webhookSecret:"))).toBe(
      true,
    );
    expect(
      f.some((x) =>
        x.startsWith("warning /spec/bitbucketserver/push/skipBranchRefsChangedOnOpenPR:"),
      ),
    ).toBe(true);
    expect(
      f.some((x) => x.startsWith("warning /spec/bitbucketserver/push/bitbucketserverBaseURL:")),
    ).toBe(true);
  });

  it("draws what it listens for", () => {
    expect(
      bitbucketserver.graph?.detail?.({ webhook: HOOK, events: ["repo:refs_changed"] } as never),
    ).toBe("Bitbucket Server POST :12000/push [repo:refs_changed]");
  });
});
