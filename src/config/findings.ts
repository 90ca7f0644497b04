/**
 * Findings of `validate` and the helpers every check uses (the generic Sensor/EventSource checks in
 * config/validate.ts and the kind-specific ones in each kind module).
 */

/**
 * One finding about one document, before the loader adds file and document index. `pointer` is a
 * JSON pointer into the document ("" = the document itself).
 */
export interface Finding {
  pointer: string;
  message: string;
  severity: "error" | "warning";
}

export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function err(pointer: string, message: string): Finding {
  return { pointer, message, severity: "error" };
}

export function warn(pointer: string, message: string): Finding {
  return { pointer, message, severity: "warning" };
}

/** RFC 6901 escaping of one reference token. */
export function escapePointer(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

export function join(pointer: string, ...tokens: (string | number)[]): string {
  return pointer + tokens.map((t) => `/${escapePointer(String(t))}`).join("");
}

export function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
