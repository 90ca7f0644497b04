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
  it("accepts Argo's example shape, warning only that the hook is not registered", () => {
    const f = findings({
      projects: ["whynowy/test"],
      webhook: { ...HOOK, url: "https://hooks.example.com" },
      events: ["PushEvents", "MergeRequestsEvents"],
      accessToken: TOKEN,
      secretToken: { name: "gitlab-access", key: "secret" },
      gitlabBaseURL: "https://gitlab.example.com",
    });
    expect(f.filter((x) => x.startsWith("error"))).toEqual([]);
    expect(
      f.some(
        (x) =>
          x.startsWith("warning /spec/gitlab/mr/accessToken:") &&
          x.includes("sensorbus does not register hooks"),
      ),
    ).toBe(true);
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
