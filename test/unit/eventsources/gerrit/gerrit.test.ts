import { describe, expect, it } from "vitest";
import { checkDocument } from "../../../../src/config/validate.js";
import { goQueryEscape } from "../../../../src/eventsources/gerrit/api.js";

describe("goQueryEscape: Go's url.QueryEscape, as Argo escapes project and hook names", () => {
  it.each([
    ["team/app", "team%2Fapp"],
    ["a b", "a+b"],
    ["it's (x)*!", "it%27s+%28x%29%2A%21"],
    ["a-b_c.d~e", "a-b_c.d~e"],
    ["ü+&", "%C3%BC%2B%26"],
  ])("%s -> %s", (input, escaped) => {
    expect(goQueryEscape(input)).toBe(escaped);
  });
});

function doc(entry: Record<string, unknown>) {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "review" },
    spec: { gerrit: { patches: entry } },
  };
}

describe("validate: Argo's gerrit validate.go, then what fails at run time", () => {
  const findings = (entry: Record<string, unknown>) =>
    checkDocument(doc(entry)).findings.map((f) => `${f.severity} ${f.pointer}: ${f.message}`);
  const SEL = { name: "gerrit", key: "k" };
  const OK = {
    webhook: { port: "12000", endpoint: "/gerrit", method: "POST", url: "https://h.example" },
    hookName: "argo",
    events: ["patchset-created"],
    projects: ["team/app"],
    auth: { username: SEL, password: SEL },
    gerritBaseURL: "https://gerrit.example.com",
  };

  it("accepts a complete entry without findings", () => {
    expect(findings(OK)).toEqual([]);
  });

  it("reports Argo's errors, naming the field", () => {
    const f = findings({ webhook: { port: "p", endpoint: "/x" } });
    expect(f).toContain("error /spec/gerrit/patches/projects: projects cannot be empty");
    expect(f).toContain("error /spec/gerrit/patches/events: events can't be empty");
    expect(f).toContain("error /spec/gerrit/patches/gerritBaseURL: gerrit base url can't be empty");
    expect(f).toContain("error /spec/gerrit/patches/auth: username and password can't be empty");
    expect(f.some((x) => x.startsWith("error /spec/gerrit/patches/webhook/port"))).toBe(true);
    // Argo checks `events` for nil only: an empty list passes (the hook then takes every event).
    expect(findings({ ...OK, events: [] })).toEqual([]);
  });

  it("warns about what would fail or not happen at run time", () => {
    const f = findings({
      ...OK,
      hookName: "",
      gerritBaseURL: "gerrit.example.com",
      auth: { username: SEL },
    });
    expect(f.some((x) => x.startsWith("warning /spec/gerrit/patches/hookName:"))).toBe(true);
    expect(f.some((x) => x.startsWith("warning /spec/gerrit/patches/gerritBaseURL:"))).toBe(true);
    expect(f.some((x) => x.startsWith("warning /spec/gerrit/patches/auth:"))).toBe(true);
    const noUrl = findings({ ...OK, webhook: { ...OK.webhook, url: "" } });
    expect(noUrl).toEqual([
      "warning /spec/gerrit/patches/webhook/url: no webhook.url: hooks are not registered (as in Argo); add them in Gerrit yourself",
    ]);
  });
});
