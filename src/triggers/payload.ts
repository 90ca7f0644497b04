import type { TriggerParameter } from "../config/types.js";
import { constructPayload, resolveParamValue } from "./params.js";
import type { FiringContext } from "./types.js";

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
 * The kind object with its own `parameters` applied to its JSON (Argo's ApplyResourceParameters:
 * `dest` is a path in the kind object, e.g. `url`, `to.-1`, `channel`). The template itself is not
 * modified.
 */
export function withOwnParameters<T extends { parameters?: readonly TriggerParameter[] }>(
  spec: T,
  ctx: FiringContext,
): T {
  if (!spec.parameters || spec.parameters.length === 0) return spec;
  return JSON.parse(ctx.applyParameters(JSON.stringify(spec), spec.parameters)) as T;
}
