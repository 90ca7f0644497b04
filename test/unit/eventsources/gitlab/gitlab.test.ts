import { describe, expect, it } from "vitest";
import { checkDocument } from "../../../../src/config/validate.js";
import { acceptedGitlabEvents } from "../../../../src/eventsources/gitlab/runtime.js";

function doc(entry: Record<string, unknown>) {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "gl" },
    spec: { gitlab: { mr: entry } },
  };
}

const findings = (entry: Record<string, unknown>) =>
  checkDocument(doc(entry)).findings.map((f) => `${f.severity} ${f.pointer}: ${f.message}`);

const HOOK = { port: "12000", endpoint: "/gitlab", method: "POST" };
const TOKEN = { name: "gitlab-access", key: "token" };

describe("validate: Argo's gitlab validate.go", () => {
  it("accepts Argo's example shape without a warning: the hook is registered", () => {
    const f = findings({
      projects: ["whynowy/test"],
      webhook: { ...HOOK, url: "https://hooks.example.com" },
      events: ["PushEvents", "MergeRequestsEvents"],
      accessToken: TOKEN,
      secretToken: { name: "gitlab-access", key: "secret" },
      gitlabBaseURL: "https://gitlab.example.com",
      enableSSLVerification: true,
      deleteHookOnFinish: true,
    });
    expect(f).toEqual([]);
  });

  it("checks what registering the hook needs, naming the field", () => {
    const REG = {
      projects: ["1"],
      webhook: { ...HOOK, url: "https://hooks.example.com" },
      events: ["PushEvents"],
      accessToken: TOKEN,
      secretToken: TOKEN,
      gitlabBaseURL: "https://gitlab.example.com",
      enableSSLVerification: true,
    };
    expect(findings({ ...REG, gitlabBaseURL: "gitlab.example.com" })).toEqual([
      "error /spec/gitlab/mr/gitlabBaseURL: 'gitlab.example.com' is not an absolute http(s) URL",
    ]);
    expect(findings({ ...REG, webhook: { ...HOOK, url: "/hooks" } })).toEqual([
      "error /spec/gitlab/mr/webhook/url: '/hooks' is not an absolute http(s) URL: GitLab could not deliver to it",
    ]);
    expect(findings({ ...REG, projects: undefined })).toEqual([
      "warning /spec/gitlab/mr: no repository, project, organization or group named: no hook is registered",
    ]);
    expect(findings({ ...REG, enableSSLVerification: undefined })).toEqual([
      "warning /spec/gitlab/mr/enableSSLVerification: enableSSLVerification is not true: the hook is registered without TLS verification of webhook.url (as in Argo)",
    ]);
    const noUrl = findings({ ...REG, webhook: HOOK, deleteHookOnFinish: true });
    expect(noUrl.map((x) => x.split(":")[0])).toEqual([
      "warning /spec/gitlab/mr/webhook/url",
      "warning /spec/gitlab/mr/deleteHookOnFinish",
    ]);
  });

  it("reports Argo's errors and unknown event names", () => {
    const f = findings({ webhook: { port: "", endpoint: "/x" }, events: ["PushEvents", "Pushes"] });
    expect(f).toContain("error /spec/gitlab/mr/gitlabBaseURL: gitlab base url can't be empty");
    expect(f).toContain("error /spec/gitlab/mr/accessToken: access token can't be nil");
    expect(f).toContain("error /spec/gitlab/mr/webhook/port: port can't be empty");
    expect(
      f.some((x) => x.startsWith("error /spec/gitlab/mr/events/1: unknown event Pushes")),
    ).toBe(true);
    expect(findings({ webhook: HOOK })).toContain(
      "error /spec/gitlab/mr/events: events can't be empty",
    );
    expect(
      findings({
        events: [],
        accessToken: TOKEN,
        gitlabBaseURL: "https://g",
        webhook: HOOK,
        deleteHookOnFinish: true,
      }).some((x) => x.startsWith("warning /spec/gitlab/mr/deleteHookOnFinish:")),
    ).toBe(true);
  });
});

describe("acceptedGitlabEvents", () => {
  it("maps hook trigger names to X-Gitlab-Event values; empty accepts all", () => {
    expect(acceptedGitlabEvents(undefined)).toBeUndefined();
    expect(acceptedGitlabEvents([])).toBeUndefined();
    expect([...acceptedGitlabEvents(["MergeRequestsEvents", "JobEvents"])!]).toEqual([
      "Merge Request Hook",
      "Job Hook",
      "Build Hook",
    ]);
    expect([...acceptedGitlabEvents(["toString"])!]).toEqual([]);
  });
});

describe("graph detail: what the entry listens for and registers", () => {
  it("shows the route, then the hook it registers on each group and project", async () => {
    const { gitlab } = await import("../../../../src/eventsources/gitlab/index.js");
    expect(
      gitlab.graph!.detail!({
        projects: ["g/app"],
        groups: ["g"],
        webhook: { ...HOOK, url: "https://ev.example.com" },
        events: ["PushEvents"],
        accessToken: TOKEN,
      }),
    ).toBe(
      "GitLab POST :12000/gitlab [PushEvents] · registers https://ev.example.com/gitlab on group g, project g/app",
    );
  });
});
