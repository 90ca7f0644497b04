import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/errors.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

function walk(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p, ext) : ext.test(f) ? [p] : [];
  });
}

/** src/ files as [path relative to the repository, text]. */
const sources = walk(join(root, "src"), /\.ts$/).map(
  (p) => [relative(root, p).split("\\").join("/"), readFileSync(p, "utf8")] as const,
);

// fastify's errors.test.js idea: every code is documented, and the docs list no code that is gone.
describe("docs/errors.md", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  const documented = new Set([...doc.matchAll(/`(SB_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]));

  it.each([...ERROR_CODES])("documents %s", (code) => {
    expect(documented.has(code)).toBe(true);
  });

  it("documents no code that does not exist", () => {
    const known = new Set<string>(ERROR_CODES);
    expect([...documented].filter((c) => c && !known.has(c))).toEqual([]);
  });
});

describe("every error code is raised and tested", () => {
  // Where a code is only declared: the ERROR_CODES list and type unions (`| "SB_ERR_..."`).
  const raiseText = sources
    .map(([file, text]) =>
      file === "src/errors.ts"
        ? text
            .replace(/export const ERROR_CODES = \[[\s\S]*?\] as const;/, "")
            .replace(/^\s*\|\s*"SB_ERR_[A-Z0-9_]+"[;,]?\s*$/gm, "")
        : text,
    )
    .join("\n");

  it.each([...ERROR_CODES])("%s is raised somewhere in src/", (code) => {
    expect(raiseText.includes(`"${code}"`), `nothing in src/ raises ${code}`).toBe(true);
  });

  it("every error class in src/errors.ts is constructed somewhere in src/", () => {
    const errorsTs = sources.find(([f]) => f === "src/errors.ts")![1];
    const classes = [...errorsTs.matchAll(/export class (\w+) extends \w*Error\b/g)].map(
      (m) => m[1]!,
    );
    const elsewhere = sources
      .filter(([f]) => f !== "src/errors.ts")
      .map(([, t]) => t)
      .join("\n");
    const constructed = (c: string) =>
      elsewhere.includes(`new ${c}(`) || errorsTs.includes(`extends ${c} `);
    expect(classes.length).toBeGreaterThan(5);
    expect(classes.filter((c) => !constructed(c))).toEqual([]);
  });

  // Test files and the shared suites they run (e.g. test/integration/eventbus.contract.ts).
  const tests = walk(join(root, "test"), /\.ts$/)
    .filter((p) => !p.endsWith("errors-doc.test.ts"))
    .map((p) => readFileSync(p, "utf8"))
    .join("\n");

  it.each([...ERROR_CODES])("%s is asserted by a test", (code) => {
    expect(tests.includes(`"${code}"`), `no test names ${code}`).toBe(true);
  });
});

describe("thrown errors are typed", () => {
  // The areas whose throw sites were converted to typed errors (issue 21 item 4). The browser
  // script inside observability/ui is JavaScript text served to the console, not server code.
  const typedAreas = [
    /^src\/app\//,
    /^src\/cli\.ts$/,
    /^src\/k8s\//,
    /^src\/sensors\//,
    /^src\/cloudevents\//,
    /^src\/observability\/(?!ui\/)/,
    /^src\/config\/(load|secrets)\.ts$/,
  ];

  it("no plain `throw new Error(` in those areas", () => {
    const plain = sources.flatMap(([file, text]) =>
      typedAreas.some((a) => a.test(file))
        ? text
            .split("\n")
            .map((l, i) => [l, i + 1] as const)
            .filter(([l]) => /\bthrow new Error\(/.test(l))
            .map(([, n]) => `${file}:${n}`)
        : [],
    );
    expect(plain).toEqual([]);
  });
});

describe("log lines keep the error object", () => {
  it("no log call puts an error's message (instead of the error) in its object", () => {
    // pino serialises `err` with its stack, code and cause; a message string loses all three.
    const bad: string[] = [];
    for (const [file, text] of sources) {
      for (const m of text.matchAll(/\.(?:warn|error|info|debug|fatal|trace)\(\s*\{/g)) {
        let i = m.index + m[0].length;
        let depth = 1;
        while (i < text.length && depth > 0) {
          if (text[i] === "{") depth++;
          else if (text[i] === "}") depth--;
          i++;
        }
        const obj = text.slice(m.index + m[0].length - 1, i);
        if (
          /\b(err|error|cause)\s*:\s*(errorMessage\(|String\(|lastError\b|[\w.]+\.message\b)/.test(
            obj,
          )
        )
          bad.push(`${file}:${text.slice(0, m.index).split("\n").length}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
