import { memoize } from "./memo.js";

/**
 * Go's textproto.CanonicalMIMEHeaderKey: the first letter and every letter after a '-' upper case,
 * the rest lower case. Keys with a space or non-token character are returned unchanged, as Go does.
 */
export function canonicalHeaderKey(key: string): string {
  return canonical(key);
}

/** Header names seen lately and their canonical forms (requests repeat the same few). */
const canonical = memoize(512, (key: string): string => {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(key)) return key;
  let out = "";
  let upper = true;
  for (const ch of key) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === "-";
  }
  return out;
});

/**
 * Node's rawHeaders pairs -> Go's http.Header map (canonical keys, values in arrival order). The
 * map has no prototype: a header named `__proto__`, `Constructor` or `Tostring` is a key like any
 * other (as in Go), not an inherited member.
 */
export function goHeaderMap(
  rawHeaders: readonly string[],
  skip: ReadonlySet<string> = new Set(),
): Record<string, string[]> {
  const out = Object.create(null) as Record<string, string[]>;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = canonicalHeaderKey(rawHeaders[i]!);
    if (skip.has(key)) continue;
    const values = out[key];
    if (values) values.push(rawHeaders[i + 1]!);
    else out[key] = [rawHeaders[i + 1]!];
  }
  return out;
}

/**
 * url.ParseQuery shape: every key maps to the list of its values. No prototype, so `__proto__`,
 * `constructor` and `toString` are ordinary keys.
 */
export function goQueryMap(search: string): Record<string, string[]> {
  const out = Object.create(null) as Record<string, string[]>;
  const params = new URLSearchParams(search.startsWith("?") ? search.slice(1) : search);
  for (const [k, v] of params) {
    const values = out[k];
    if (values) values.push(v);
    else out[k] = [v];
  }
  return out;
}
