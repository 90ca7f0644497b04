import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TemplateError } from "../../../src/errors.js";
import { compileTemplate } from "../../../src/lib/gotemplate/index.js";
import { realisticObject, runs, timed } from "./support.js";

// The executor stops a template after 1,000,000 steps or 4 MiB of output: the hang bound allows
// a template to reach those limits, and fails only on a real hang.
const TEMPLATE_BOUND_MS = 1500;
const NOW = new Date("2024-03-01T12:00:00Z");
const ENV = { HOME: "/home/x" };

const field = fc.constantFrom(
  ".",
  ".Input",
  ".Input.a",
  ".Input.b",
  ".Input.name",
  ".Input.body.name",
  ".Input.friends",
  ".Input.nets",
  ".Input.missing.deeper",
  ".Input.x.y",
  "$",
  "$.Input",
  "$x",
  "$x.a",
);
const literal = fc.constantFrom(
  '"str"',
  '""',
  '"a,b,c"',
  '"%v-%d-%s"',
  '"{\\"a\\":1}"',
  "`raw`",
  "1",
  "0",
  "-2",
  "3",
  "1.5",
  "1e3",
  "0x1F",
  "'a'",
  "true",
  "false",
  "nil",
  "99999",
);
/** [name, min args, max args] of Go builtins and the sprig functions Argo users rely on. */
const FUNCS: ReadonlyArray<readonly [string, number, number]> = [
  ["upper", 1, 1],
  ["lower", 1, 1],
  ["title", 1, 1],
  ["trim", 1, 1],
  ["quote", 1, 3],
  ["squote", 1, 2],
  ["len", 1, 1],
  ["index", 1, 3],
  ["slice", 1, 3],
  ["printf", 1, 3],
  ["print", 0, 3],
  ["println", 0, 2],
  ["html", 1, 2],
  ["js", 1, 1],
  ["urlquery", 1, 2],
  ["toJson", 1, 1],
  ["fromJson", 1, 1],
  ["toString", 1, 1],
  ["default", 2, 2],
  ["empty", 1, 1],
  ["coalesce", 1, 3],
  ["eq", 2, 3],
  ["ne", 2, 2],
  ["lt", 2, 2],
  ["le", 2, 2],
  ["gt", 2, 2],
  ["ge", 2, 2],
  ["and", 1, 3],
  ["or", 1, 3],
  ["not", 1, 1],
  ["add", 2, 2],
  ["sub", 2, 2],
  ["mul", 2, 2],
  ["div", 2, 2],
  ["mod", 2, 2],
  ["max", 1, 3],
  ["min", 1, 3],
  ["atoi", 1, 1],
  ["int", 1, 1],
  ["int64", 1, 1],
  ["float64", 1, 1],
  ["split", 2, 2],
  ["splitList", 2, 2],
  ["join", 2, 2],
  ["contains", 2, 2],
  ["hasPrefix", 2, 2],
  ["replace", 3, 3],
  ["repeat", 2, 2],
  ["until", 1, 1],
  ["trunc", 2, 2],
  ["substr", 3, 3],
  ["b64enc", 1, 1],
  ["b64dec", 1, 1],
  ["date", 2, 2],
  ["now", 0, 0],
  ["ceil", 1, 1],
  ["floor", 1, 1],
  ["sortAlpha", 1, 1],
  ["compact", 1, 1],
  ["nospace", 1, 1],
  ["indent", 2, 2],
  ["call", 1, 2],
];

const operand = fc.oneof({ weight: 3, arbitrary: field }, literal);
const command = fc.oneof(
  { weight: 2, arbitrary: operand },
  fc
    .tuple(fc.constantFrom(...FUNCS), fc.array(operand, { maxLength: 3 }))
    .map(([[name, min, max], args]) => {
      const n = Math.min(max, Math.max(min, args.length));
      const filled = [...args, ".Input", '"x"', "1"].slice(0, n);
      return [name, ...filled].join(" ");
    }),
  fc
    .tuple(fc.constantFrom(...FUNCS), operand)
    .map(([[name], arg]) => `${name} (${name === "len" ? "print" : "toString"} ${arg})`),
);
const pipeline = fc
  .tuple(
    fc.constantFrom("", "", "", "$x := ", "$x = ", "$y := "),
    command,
    fc.array(
      fc.constantFrom(...FUNCS).map(([name]) => name),
      { maxLength: 2 },
    ),
  )
  .map(([decl, cmd, pipes]) => decl + [cmd, ...pipes].join(" | "));
const open = fc.constantFrom("{{", "{{ ", "{{- ");
const close = fc.constantFrom("}}", " }}", " -}}");
const text = fc.oneof(
  fc.constantFrom("", " ", "\n", "a", "-", "{", "}", "x: ", "<b>"),
  fc.string({ maxLength: 6 }).filter((s) => !s.includes("{{")),
);

const template = fc.letrec<{ body: string; element: string }>((tie) => ({
  body: fc.array(tie("element"), { maxLength: 4 }).map((parts) => parts.join("")),
  element: fc.oneof(
    { depthSize: "small", maxDepth: 3 },
    text,
    fc.tuple(open, pipeline, close).map(([o, p, c]) => `${o}${p}${c}`),
    fc.constant("{{/* comment */}}"),
    fc
      .tuple(
        fc.constantFrom("if", "with", "range", "range $i, $e :="),
        pipeline,
        tie("body"),
        fc.option(tie("body"), { nil: undefined }),
        fc.boolean(),
      )
      .map(([kw, p, body, elseBody, brk]) => {
        const inner = kw.startsWith("range") && brk ? `${body}{{break}}` : body;
        const alt = elseBody === undefined ? "" : `{{else}}${elseBody}`;
        return `{{${kw} ${p}}}${inner}${alt}{{end}}`;
      }),
  ),
})).body;

/** The whole template sometimes starts by declaring $x, so `$x` references resolve. */
const source = fc
  .tuple(fc.boolean(), template)
  .map(([declare, t]) => (declare ? `{{$x := .Input}}${t}` : t));

describe("fuzz: Go text/template from actions, pipes and control structures", () => {
  it("compile and execute throw nothing but TemplateError, and terminate", () => {
    let executed = 0;
    fc.assert(
      fc.property(source, realisticObject, (src, input) => {
        const out = timed(
          `template ${JSON.stringify(src)}`,
          () => compileTemplate(src).execute({ Input: input }, { now: () => NOW, env: ENV }),
          TEMPLATE_BOUND_MS,
        );
        if (out.ok) {
          executed++;
          expect(typeof out.value).toBe("string");
        } else {
          expect(out.error).toBeInstanceOf(TemplateError);
          const code = (out.error as TemplateError).code;
          expect(["SB_ERR_TEMPLATE_PARSE", "SB_ERR_TEMPLATE_EXEC"]).toContain(code);
          expect((out.error as Error).message).not.toMatch(/internal error/);
        }
      }),
      { numRuns: runs(1500) },
    );
    // The grammar must mostly produce templates that parse and run, or it tests only the parser.
    expect(executed).toBeGreaterThan(300);
  });

  it("text outside actions is copied unchanged", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }).filter((s) => !s.includes("{{")),
        realisticObject,
        (plain, input) => {
          const out = timed("plain text", () => compileTemplate(plain).execute({ Input: input }));
          if (!out.ok) throw out.error;
          expect(out.value).toBe(plain);
        },
      ),
      { numRuns: runs(300) },
    );
  });
});
