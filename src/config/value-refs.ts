import type { TSchema } from "typebox";

/**
 * References to Secret and ConfigMap keys in manifests (corev1.SecretKeySelector and
 * ConfigMapKeySelector): the one check of their names and keys, shared by `validate`, `run`, the
 * controller (all through config/validate.ts) and the resolver that reads them
 * (config/secrets.ts), so what validate accepts is exactly what the resolver will read.
 */

/** The schema descriptions that mark the two selector structs (config/schema/common.ts). */
export const SECRET_REF_DESCRIPTION = "Reference to one key of a Secret";
export const CONFIGMAP_REF_DESCRIPTION = "Reference to one key of a ConfigMap";

const DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL}$`);
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * Why `name` is not a Secret/ConfigMap name (Kubernetes: a DNS-1123 subdomain, at most 253
 * characters), or undefined when it is one.
 */
export function checkObjectName(name: unknown): string | undefined {
  if (typeof name !== "string" || name === "") return "must be a non-empty string";
  if (name.length > 253) return `'${name.slice(0, 40)}…' is longer than 253 characters`;
  if (!DNS1123_SUBDOMAIN.test(name))
    return `${JSON.stringify(name)} is not a Kubernetes name (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)`;
  return undefined;
}

/**
 * Why `key` is not a Secret/ConfigMap key (Kubernetes IsConfigMapKey: `[-._a-zA-Z0-9]+`, at most
 * 253 characters, not `.` or `..` and not starting with `..`), or undefined when it is one.
 */
export function checkObjectKey(key: unknown): string | undefined {
  if (typeof key !== "string" || key === "") return "must be a non-empty string";
  if (key.length > 253) return `'${key.slice(0, 40)}…' is longer than 253 characters`;
  if (!CONFIG_KEY.test(key))
    return `${JSON.stringify(key)} is not a valid key (letters, digits, '-', '_' and '.' only)`;
  if (key === "." || key === ".." || key.startsWith(".."))
    return `${JSON.stringify(key)} is not a valid key (must not be '.' or '..' or start with '..')`;
  return undefined;
}

/** Why `ns` is not a namespace name (a DNS-1123 label, at most 63 characters), or undefined. */
export function checkNamespace(ns: unknown): string | undefined {
  if (typeof ns !== "string" || ns === "") return "must be a non-empty string";
  if (ns.length > 63 || !DNS1123_LABEL_RE.test(ns))
    return `${JSON.stringify(ns)} is not a Kubernetes namespace name (a DNS-1123 label of at most 63 characters)`;
  return undefined;
}

export interface ValueRef {
  kind: "Secret" | "ConfigMap";
  /** JSON pointer of the selector in the document. */
  pointer: string;
  name: unknown;
  key: unknown;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const escapeToken = (t: string) => t.replaceAll("~", "~0").replaceAll("/", "~1");

/**
 * Every Secret/ConfigMap selector in `doc`, found by walking it along `schema` (the structs
 * described by {@link SECRET_REF_DESCRIPTION} / {@link CONFIGMAP_REF_DESCRIPTION}).
 */
export function findValueRefs(doc: unknown, schema: TSchema): ValueRef[] {
  const out: ValueRef[] = [];
  const visit = (value: unknown, s: Obj | undefined, pointer: string) => {
    if (s === undefined || value === null || value === undefined) return;
    const description = s.description;
    if (description === SECRET_REF_DESCRIPTION || description === CONFIGMAP_REF_DESCRIPTION) {
      if (isObject(value))
        out.push({
          kind: description === SECRET_REF_DESCRIPTION ? "Secret" : "ConfigMap",
          pointer,
          name: value.name,
          key: value.key,
        });
      return;
    }
    for (const branch of [...((s.anyOf as Obj[]) ?? []), ...((s.allOf as Obj[]) ?? [])])
      visit(value, branch, pointer);
    if (Array.isArray(value)) {
      const items = s.items as Obj | undefined;
      if (items) for (const [i, v] of value.entries()) visit(v, items, `${pointer}/${i}`);
      return;
    }
    if (!isObject(value)) return;
    const props = s.properties as Record<string, Obj> | undefined;
    const pattern = s.patternProperties as Record<string, Obj> | undefined;
    const mapValue = pattern ? Object.values(pattern)[0] : undefined;
    for (const [k, v] of Object.entries(value)) {
      const p = props?.[k] ?? mapValue;
      if (p !== undefined) visit(v, p, `${pointer}/${escapeToken(k)}`);
    }
  };
  visit(doc, schema as Obj, "");
  return out;
}
