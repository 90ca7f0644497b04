import { describe, expect, it } from "vitest";
import type { Finding } from "../../../../src/config/findings.js";
import { file } from "../../../../src/eventsources/file/index.js";
import {
  buildFilePayload,
  fsnotifyName,
  NameMatcher,
  OPS,
  watchPathConfigError,
} from "../../../../src/eventsources/file/match.js";
import { ALL_EVENTSOURCE_KINDS, EVENTSOURCE_KINDS } from "../../../../src/eventsources/registry.js";

function findings(entry: unknown): string[] {
  const out: Finding[] = [];
  file.validate?.(entry as never, { at: "/spec/file/e", report: (f: Finding) => out.push(f) });
  return out.map((f) => `${f.severity}:${f.pointer} ${f.message}`);
}

const wpc = (c: Record<string, string>) => ({ eventType: "CREATE", watchPathConfig: c });

describe("file kind", () => {
  it("is run (registered once, no longer Argo-only)", () => {
    expect(EVENTSOURCE_KINDS.filter((k) => k.key === "file")).toHaveLength(1);
    expect(ALL_EVENTSOURCE_KINDS.filter((k) => k.key === "file")).toHaveLength(1);
  });

  it("validate reports Argo's messages (type, then WatchPathConfig.Validate)", () => {
    expect(findings({ watchPathConfig: { directory: "/d/", path: "x" } })).toEqual([
      "error:/spec/file/e type must be specified",
    ]);
    expect(findings({ eventType: "CREATE" })).toEqual([
      "error:/spec/file/e/watchPathConfig directory is required",
    ]);
    expect(findings(wpc({ directory: "d/", path: "x" }))).toEqual([
      "error:/spec/file/e/watchPathConfig directory must be an absolute file path",
    ]);
    expect(findings(wpc({ directory: "/d/" }))).toEqual([
      "error:/spec/file/e/watchPathConfig either path or pathRegexp must be specified",
    ]);
    expect(findings(wpc({ directory: "/d/", path: "x", pathRegexp: "y" }))).toEqual([
      "error:/spec/file/e/watchPathConfig path and pathRegexp cannot be specified together",
    ]);
    expect(findings(wpc({ directory: "/d/", path: "/x" }))).toEqual([
      "error:/spec/file/e/watchPathConfig path must be a relative file path",
    ]);
    expect(findings(wpc({ directory: "/d/", pathRegexp: "a(" }))).toEqual([
      "error:/spec/file/e/watchPathConfig error parsing regexp: missing closing ): `a(`",
    ]);
    // RE2, as Go: no backreferences.
    expect(findings(wpc({ directory: "/d/", pathRegexp: "(a)\\1" }))[0]).toContain(
      "error parsing regexp: invalid escape sequence",
    );
    expect(findings(wpc({ directory: "/d/", path: "x.txt" }))).toEqual([]);
  });

  it("warns where Argo accepts but never fires", () => {
    expect(
      findings({ eventType: "create", watchPathConfig: { directory: "/d/", path: "x" } }),
    ).toEqual([
      "warning:/spec/file/e/eventType 'create' is no fsnotify operation (CREATE, WRITE, REMOVE, RENAME, CHMOD, upper case): Argo accepts it but it never matches",
    ]);
    expect(findings(wpc({ directory: "/d", path: "x" }))).toEqual([
      "warning:/spec/file/e/watchPathConfig/directory without a trailing slash the name Argo compares with path starts with '/' ('/x'), so path never matches; write '/d/'",
    ]);
    expect(findings({ ...wpc({ directory: "/d", path: "x" }), polling: true })).toEqual([]);
    expect(findings(wpc({ directory: "/d", pathRegexp: "x" }))).toEqual([]);
  });

  it("graph detail names operation, name and directory", () => {
    expect(file.graph?.detail(wpc({ directory: "/d/", path: "x" }) as never)).toBe(
      "CREATE x in /d/",
    );
    expect(
      file.graph?.detail({
        ...wpc({ directory: "/d/", pathRegexp: "\\.csv$" }),
        polling: true,
      } as never),
    ).toBe("CREATE /\\.csv$/ in /d/ (polling)");
  });

  it("matches as Argo: TrimPrefix of the directory as written, path equal or regexp unanchored", () => {
    const p = new NameMatcher({ directory: "/d/", path: "x.txt" });
    expect(p.matches("/d/x.txt")).toBe(true);
    expect(p.matches("/d/x.txt.bak")).toBe(false);
    expect(p.matches("x.txt")).toBe(true); // polling reports the base name
    expect(new NameMatcher({ directory: "/d", path: "x.txt" }).matches("/d/x.txt")).toBe(false);
    const r = new NameMatcher({ directory: "/d/", pathRegexp: "\\.csv$" });
    expect(r.matches("/d/a.csv")).toBe(true);
    expect(r.matches("/d/a.csv.tmp")).toBe(false);
    expect(new NameMatcher({ directory: "/d/", pathRegexp: "b" }).matches("/d/abc")).toBe(true);
  });

  it("names events as fsnotify does (the directory cleaned, then the base name)", () => {
    expect(fsnotifyName("/d/", "x")).toBe("/d/x");
    expect(fsnotifyName("/d", "x")).toBe("/d/x");
    expect(fsnotifyName("/a//b/../d///", "x")).toBe("/a/d/x");
    expect(fsnotifyName("/", "x")).toBe("/x");
  });

  it("builds Argo's payload: op is fsevent's number, metadata null when absent", () => {
    expect(OPS).toEqual({ CREATE: 1, WRITE: 2, REMOVE: 4, RENAME: 8, CHMOD: 16 });
    expect(buildFilePayload("/d/x", "CREATE", undefined)).toBe(
      '{"name":"/d/x","op":1,"metadata":null}',
    );
    expect(buildFilePayload("<a>", "RENAME", { z: "1", a: "2" })).toBe(
      '{"name":"\\u003ca\\u003e","op":8,"metadata":{"a":"2","z":"1"}}',
    );
    expect(buildFilePayload("x", "CHMOD", {})).toBe('{"name":"x","op":16,"metadata":{}}');
  });

  it("watchPathConfigError is Argo's Validate", () => {
    expect(watchPathConfigError(undefined)).toBe("directory is required");
    expect(watchPathConfigError({ directory: "/d/", pathRegexp: "^x" })).toBeUndefined();
  });
});
