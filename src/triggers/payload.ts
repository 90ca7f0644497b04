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
 * A kind's own `parameters` applied to the JSON of its object (http: `dest: url`, `headers.X`;
 * pubSub: `dest: topic`, `attributes.X`); the template itself is not modified.
 */
export function withOwnParameters<T extends { parameters?: readonly TriggerParameter[] }>(
  template: T,
  ctx: FiringContext,
): T {
  const params = template.parameters;
  if (!params || params.length === 0) return template;
  return JSON.parse(ctx.applyParameters(JSON.stringify(template), params)) as T;
}

/** Sets the rendered body: `payload` when it is JSON (journal, replay), else `payloadText`. */
export function setRenderedBody(rendered: Rendered, body: string | undefined): Rendered {
  if (body === undefined) return rendered;
  try {
    rendered.payload = JSON.parse(body);
  } catch {
    rendered.payloadText = body;
  }
  return rendered;
}
