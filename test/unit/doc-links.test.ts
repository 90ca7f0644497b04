import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Every relative link (and image) in README.md and docs/**\/*.md resolves to a file or directory
 * of the repository: moving or renaming a document breaks this test, not the reader's click.
 * Links that leave the repository are broken links for anyone reading a clone, so they fail too.
 */

const ROOT = resolve(new URL("../../", import.meta.url).pathname);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? markdownFiles(p) : p.endsWith(".md") ? [p] : [];
  });
}

/** `[text](target)` and `![alt](target)` targets, outside fenced code blocks and inline code. */
function relativeLinks(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    const text = line.replace(/`[^`]*`/g, "");
    for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
      out.push(target);
    }
  }
  return out;
}

/** The links of `file` whose target (without #fragment or ?query) does not exist in the repo. */
function brokenLinks(file: string, text = readFileSync(file, "utf8")): string[] {
  return relativeLinks(text).filter((target) => {
    const path = decodeURIComponent(target.replace(/[#?].*$/, ""));
    const abs = resolve(dirname(file), path);
    return !(abs === ROOT || abs.startsWith(ROOT + sep)) || !existsSync(abs);
  });
}

const FILES = [join(ROOT, "README.md"), ...markdownFiles(join(ROOT, "docs"))];

describe("relative links in README.md and docs/", () => {
  it.each(FILES.map((f) => [relative(ROOT, f), f]))(
    "%s: every relative link resolves",
    (_, file) => {
      expect(brokenLinks(file)).toEqual([]);
    },
  );

  it("finds links the way a reader clicks them (and skips code and URLs)", () => {
    expect(
      relativeLinks(
        [
          "See [a](docs/a.md#part), ![img](docs/x.png) and [web](https://example.com).",
          "`[not](a-link.md)` and [anchor](#here)",
          "```",
          "[inside](code.md)",
          "```",
        ].join("\n"),
      ),
    ).toEqual(["docs/a.md#part", "docs/x.png"]);
  });

  it("reports a link to a missing file and a link that leaves the repository", () => {
    expect(
      brokenLinks(
        join(ROOT, "docs", "probe.md"),
        "[ok](errors.md#codes), [img](console.png), [gone](no-such-file.md), [out](../../elsewhere.md)",
      ),
    ).toEqual(["no-such-file.md", "../../elsewhere.md"]);
  });
});
