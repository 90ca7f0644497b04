import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/errors.js";

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
