import type { TriggerTemplate } from "../config/types.js";
import { KIND_PRECEDENCE } from "../config/types.js";

export { KIND_PRECEDENCE } from "../config/types.js";

/** The kind that runs for this template, or undefined when none is set. */
export function selectKind(
  template: TriggerTemplate | undefined,
): { kind: string; spec: unknown } | undefined {
  if (!template) return undefined;
  for (const kind of KIND_PRECEDENCE) {
    const spec = template[kind];
    if (spec !== undefined && spec !== null) return { kind, spec };
  }
  return undefined;
}
