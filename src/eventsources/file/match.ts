import { posix } from "node:path";
import { goMarshal, goQuote } from "../../lib/gojson.js";
import { compileGoRegexp, type GoRegexp, goRegexpError } from "../../lib/re2.js";
import type { WatchPathConfig } from "./schema.js";

/**
 * What the file kind's descriptor and runtime share (no SDK): fsnotify's operations, Argo's
 * WatchPathConfig checks, its name matching and its payload.
 */

/** fsnotify's Op bits as Argo's fsevent package numbers them. */
export const OPS = { CREATE: 1, WRITE: 2, REMOVE: 4, RENAME: 8, CHMOD: 16 } as const;
export type OpName = keyof typeof OPS;

export function isOpName(s: string): s is OpName {
  return Object.hasOwn(OPS, s);
}

/** Argo's WatchPathConfig.Validate: its messages, first failure only. */
export function watchPathConfigError(c: WatchPathConfig | undefined): string | undefined {
  const directory = c?.directory ?? "";
  const path = c?.path ?? "";
  const pathRegexp = c?.pathRegexp ?? "";
  if (directory === "") return "directory is required";
  if (!posix.isAbsolute(directory)) return "directory must be an absolute file path";
  if (path === "" && pathRegexp === "") return "either path or pathRegexp must be specified";
  if (path !== "" && pathRegexp !== "") return "path and pathRegexp cannot be specified together";
  if (path !== "" && posix.isAbsolute(path)) return "path must be a relative file path";
  if (pathRegexp !== "") return goRegexpError(pathRegexp);
  return undefined;
}

/**
 * Argo's match: the event's name with the configured `directory` (as written) trimmed from its
 * start (Go's strings.TrimPrefix), compared with `path` or searched with `pathRegexp`.
 */
export class NameMatcher {
  private readonly re: GoRegexp | undefined;

  constructor(private readonly c: WatchPathConfig) {
    this.re = c.pathRegexp ? compileGoRegexp(c.pathRegexp) : undefined;
  }

  /** The name relative to the directory, as Argo computes it. */
  relative(name: string): string {
    const dir = this.c.directory ?? "";
    return name.startsWith(dir) ? name.slice(dir.length) : name;
  }

  matches(name: string): boolean {
    const rel = this.relative(name);
    if (this.c.path && this.c.path === rel) return true;
    return this.re?.matchString(rel) === true;
  }
}

/**
 * The name fsnotify reports for `base` in the watched directory: the directory cleaned (Go's
 * filepath.Clean, as fsnotify's Add does), a slash, the name.
 */
export function fsnotifyName(directory: string, base: string): string {
  const clean = posix.normalize(directory).replace(/(.)\/+$/, "$1");
  return clean === "/" ? `/${base}` : `${clean}/${base}`;
}

/**
 * Argo's fsevent.Event as Go's encoding/json writes it: `name`, `op` (fsevent.Op is a uint32 with no
 * JSON marshaller, so the number: CREATE 1, WRITE 2, REMOVE 4, RENAME 8, CHMOD 16), `metadata` (no
 * omitempty: `null` when absent).
 */
export function buildFilePayload(
  name: string,
  op: OpName,
  metadata: Record<string, string> | undefined,
): string {
  return `{"name":${goQuote(name)},"op":${OPS[op]},"metadata":${goMarshal(metadata ?? null)}}`;
}
