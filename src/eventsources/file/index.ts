import { err, str, warn } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import type { EventSourceKind } from "../kind.js";
import { isOpName, OPS, watchPathConfigError } from "./match.js";
import { FileEventSchema, type FileEventSpec } from "./schema.js";

export { FileEventSchema, type FileEventSpec } from "./schema.js";

/**
 * Argo's file/validate.go: `type must be specified`, then WatchPathConfig.Validate (its messages,
 * the first failing one). Warnings for what Argo accepts but never fires for.
 */
function validate(entry: FileEventSpec, check: EntryCheck): void {
  const { at, report } = check;
  const eventType = str(entry.eventType);
  if (eventType === "") {
    report(err(at, "type must be specified"));
    return;
  }
  const problem = watchPathConfigError(entry.watchPathConfig);
  if (problem) {
    report(err(`${at}/watchPathConfig`, problem));
    return;
  }
  if (!isOpName(eventType)) {
    report(
      warn(
        `${at}/eventType`,
        `'${eventType}' is no fsnotify operation (${Object.keys(OPS).join(", ")}, upper case): Argo accepts it but it never matches`,
      ),
    );
  }
  const dir = str(entry.watchPathConfig?.directory);
  if (!entry.polling && str(entry.watchPathConfig?.path) !== "" && !dir.endsWith("/")) {
    report(
      warn(
        `${at}/watchPathConfig/directory`,
        `without a trailing slash the name Argo compares with path starts with '/' ('/${str(entry.watchPathConfig?.path)}'), so path never matches; write '${dir}/'`,
      ),
    );
  }
}

export const file: EventSourceKind<FileEventSpec> = {
  key: "file",
  schema: FileEventSchema,
  runs: true,
  recreate: true,
  validate,
  graph: {
    detail: (s) => {
      const w = s.watchPathConfig;
      const what = w?.path ? w.path : w?.pathRegexp ? `/${w.pathRegexp}/` : "?";
      return `${str(s.eventType) || "?"} ${what} in ${str(w?.directory) || "?"}${s.polling ? " (polling)" : ""}`;
    },
  },
  load: () => import("./runtime.js"),
};
