import { errorMessage } from "../errors.js";
import type { LoadResult, Problem } from "./load.js";
import { schemaFor } from "./schema/index.js";
import type { ValueResolver } from "./secrets.js";
import type { SecretKeySelector } from "./types.js";
import { checkObjectKey, checkObjectName, findValueRefs } from "./value-refs.js";

/**
 * `validate --secrets-dir/--configmaps-dir`: every Secret and ConfigMap key the loaded manifests
 * reference (found by config/value-refs.ts) is read through `values`, the resolver `run` uses,
 * so a key `run` could not read is an error naming the file and the field of the selector. The
 * values themselves are never returned or printed. Selectors whose name or key is not a
 * Kubernetes name are skipped: validate already reports them.
 */
export async function valueRefProblems(
  loaded: Pick<LoadResult, "eventSources" | "sensors">,
  values: ValueResolver,
): Promise<Problem[]> {
  const out: Problem[] = [];
  for (const l of [...loaded.eventSources, ...loaded.sensors]) {
    const schema = schemaFor(l.manifest.kind);
    if (schema === undefined) continue;
    const namespace = l.manifest.metadata.namespace ?? "default";
    for (const ref of findValueRefs(l.manifest, schema)) {
      if (checkObjectName(ref.name) || checkObjectKey(ref.key)) continue;
      const selector = { name: ref.name, key: ref.key } as SecretKeySelector;
      try {
        if (ref.kind === "Secret") await values.secret(selector, ref.pointer, namespace);
        else await values.configMap(selector, ref.pointer, namespace);
      } catch (err) {
        const message = errorMessage(err);
        out.push({
          file: l.file,
          doc: l.doc,
          pointer: ref.pointer,
          message: message.startsWith(`${ref.pointer}: `)
            ? message.slice(ref.pointer.length + 2)
            : message,
          severity: "error",
        });
      }
    }
  }
  return out;
}
