import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TemplateError } from "../../../src/errors.js";
import { compileTemplate, goFormatValue } from "../../../src/lib/gotemplate/index.js";

interface Case {
  name: string;
  template: string;
  /** Dot; `input` is shorthand for `{ Input: input }` (what Argo passes). */
  data?: unknown;
  input?: unknown;
  output?: string;
  /** Regular expression the output must match (for clock/random-dependent results). */
  match?: string;
  /** Substring of the expected error message. */
  error?: string;
  code?: "SB_ERR_TEMPLATE_PARSE" | "SB_ERR_TEMPLATE_EXEC";
  env?: Record<string, string>;
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures/gotemplate");
/** Fixed clock for date functions: 2024-01-02T03:04:05.123Z. */
const NOW = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 123));
const ENV = { HOME: "/home/test", EMPTY: "" };

function render(c: Case): string {
  const data = "input" in c ? { Input: c.input } : c.data;
  return compileTemplate(c.template).execute(data, { now: () => NOW, env: c.env ?? ENV });
}

const tables = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".json"))
  .map((f) => {
    const t = JSON.parse(readFileSync(join(FIXTURES, f), "utf8")) as { cases: Case[] };
    return [f, t.cases] as const;
  });

describe.each(tables)("fixture %s", (_file, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    if (c.error !== undefined) {
      let caught: unknown;
      try {
        render(c);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(TemplateError);
      const e = caught as TemplateError;
      expect(e.message).toContain(c.error);
      if (c.code) expect(e.code).toBe(c.code);
      return;
    }
    const out = render(c);
    if (c.match !== undefined) expect(out).toMatch(new RegExp(c.match));
    else expect(out).toBe(c.output);
  });
});

describe("goFormatValue", () => {
  it("prints decoded JSON values like Go's %v", () => {
    expect(goFormatValue(1000000)).toBe("1e+06");
    expect(goFormatValue(42)).toBe("42");
    expect(goFormatValue({ b: [1, 2], a: null })).toBe("map[a:<nil> b:[1 2]]");
    expect(goFormatValue(null)).toBe("<nil>");
    expect(goFormatValue(undefined)).toBe("<nil>");
  });
});

describe("compileTemplate", () => {
  it("reuses the compiled template for the same source", () => {
    const a = compileTemplate("{{ .x }}-cache");
    expect(compileTemplate("{{ .x }}-cache")).toBe(a);
  });

  it("sees no process variable when no env is given (issue 19: env/expandenv are sandboxed)", () => {
    const key = Object.keys(process.env).find((k) => /^[A-Z_]+$/.test(k) && process.env[k]);
    expect(key).toBeDefined();
    expect(compileTemplate(`{{ env "${key}" }}`).execute({})).toBe("");
    expect(compileTemplate(`{{ expandenv "x\${${key}}x" }}`).execute({})).toBe("xx");
  });

  it("stops a runaway range with a TemplateError", () => {
    const t = compileTemplate("{{ range 100000000 }}{{ end }}");
    expect(() => t.execute({})).toThrowError(/exceeded .* steps/);
  });

  it("stops unbounded template recursion", () => {
    const t = compileTemplate('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}');
    expect(() => t.execute({})).toThrowError(/maximum template depth/);
  });

  it("caps output size", () => {
    const t = compileTemplate('{{ range until 5000 }}{{ repeat 1000 "x" }}{{ end }}');
    expect(() => t.execute({})).toThrowError(/output exceeds/);
  });
});

describe("properties", () => {
  const value = fc.jsonValue({ maxDepth: 3 });
  const piece = fc.constantFrom(
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    ".Input",
    ".a",
    "$x",
    ":=",
    "|",
    "(",
    ")",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "break",
    '"s"',
    "`r`",
    "1",
    "1.5",
    "nil",
    "true",
    "upper",
    "printf",
    "index",
    "len",
    "toJson",
    "int64",
    "default",
    "eq",
    "and",
    "/*",
    "*/",
    "x",
    "\n",
  );
  const source = fc.array(piece, { maxLength: 25 }).map((p) => p.join(""));

  it("only ever throws TemplateError, and terminates", () => {
    fc.assert(
      fc.property(source, value, (src, input) => {
        try {
          const out = compileTemplate(src).execute({ Input: input }, { now: () => NOW, env: ENV });
          expect(typeof out).toBe("string");
        } catch (err) {
          expect(err).toBeInstanceOf(TemplateError);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("prints any JSON number like Go (round-trips through %v)", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const s = compileTemplate("{{ .Input }}").execute({ Input: x });
        expect(Number(s.replace("e+", "e"))).toBe(x);
        if (s.includes("e")) expect(s).toMatch(/^-?\d(\.\d+)?e[+-]\d{2,3}$/);
      }),
      { numRuns: 300 },
    );
  });
});
