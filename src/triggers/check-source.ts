import { err, isObject, join } from "../config/findings.js";
import type { TemplateCheck } from "../config/kinds.js";
import type { ArtifactLocation } from "../config/types.js";
import { errorMessage } from "../errors.js";
import { sourceLocation } from "./source.js";

/**
 * `validate` of a trigger `source` (k8s, argoWorkflow) as `fetchResource` will read it: s3, git and
 * no location fail every firing. A source that trigger-level parameters replace is not judged; one
 * whose fields they rewrite keeps its location (an s3 source with a rewritten bucket is still s3),
 * unless it had none. `path` is the dotted template path, e.g. `k8s.source`.
 */
export function checkSource(source: unknown, path: string, check: TemplateCheck): void {
  if (!isObject(source) || check.replaces(path)) return;
  const at = join(check.at, "source");
  try {
    sourceLocation(source as ArtifactLocation, "source");
  } catch (e) {
    const m = /^source(?:\.(s3|git))?: (.*)$/s.exec(errorMessage(e));
    if (!m?.[1] && check.touches(path)) return; // a location may be written at firing time
    check.report(err(m?.[1] ? join(at, m[1]) : at, m?.[2] ?? errorMessage(e)));
  }
}
