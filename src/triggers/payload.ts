import type { TriggerParameter } from "../config/types.js";
import { constructPayload, resolveParamValue } from "./params.js";
import type { FiringContext, Rendered } from "./types.js";

/** http `payload` (§5.4) for this firing. */
export function constructPayloadFor(
  params: readonly TriggerParameter[] | undefined,
  ctx: FiringContext,
): string | undefined {
  return constructPayload(params, ctx.events);
}

/**
 * http `dynamicHeaders`: header name = dest, value = resolved parameter. A dependency absent from
 * the firing without a default crashes Argo; sensorbus skips that header.
 */
export function dynamicHeaderValues(
  params: readonly TriggerParameter[] | undefined,
  ctx: FiringContext,
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const p of params ?? []) {
    const v = resolveParamValue(p.src, ctx.events);
    if (v) out.push([p.dest, v.text]);
  }
  return out;
}

/**
 * A kind's own `parameters` applied to the JSON of its trigger object (Argo's
 * ApplyResourceParameters: `dest: url`, `dest: subject`, ...); the object itself when it has none.
 */
export function withKindParameters<
  T extends { parameters?: readonly TriggerParameter[] | undefined },
>(template: T, ctx: FiringContext): T {
  if (!template.parameters || template.parameters.length === 0) return template;
  return JSON.parse(ctx.applyParameters(JSON.stringify(template), template.parameters)) as T;
}

/** The body a firing sends, for `replay`, `explain` and the journal: JSON as a value, else text. */
export function showBody(rendered: Rendered, body: string): void {
  try {
    rendered.payload = JSON.parse(body);
  } catch {
    rendered.payloadText = body;
  }
}
