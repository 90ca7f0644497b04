import type { TemplateCheck } from "../config/kinds.js";

/**
 * Whether a parameter of the firing may set `field` of the kind object: one of the kind's own
 * `parameters` (dest relative to the kind object: `to.0`, `subject`) or a trigger-level one (dest
 * relative to the template: `email.to.-1`). `validate` uses it to warn only about fields nothing
 * fills in.
 */
export function setByParameters(
  params: ReadonlyArray<{ dest?: unknown }> | undefined,
  field: string,
  kind: string,
  check: TemplateCheck,
): boolean {
  const own = (params ?? []).some((p) => {
    const dest = typeof p?.dest === "string" ? p.dest : "";
    return dest === field || dest.startsWith(`${field}.`);
  });
  return own || check.touches(`${kind}.${field}`) || check.replaces(`${kind}.${field}`);
}
