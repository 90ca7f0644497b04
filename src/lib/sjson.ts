/**
 * sjson path SET over JSON text (github.com/tidwall/sjson semantics, which Argo Events uses to
 * write trigger parameters at `dest`). Replacing an existing value splices the new text into the
 * document, so every other byte stays as it was; new object keys are appended at the end.
 */
import { EventsError } from "../errors.js";
import type { RawResult } from "./gjson.js";
import { gjsonValid, goJsonString, rawElements, rawExists, rawGet, rawParse } from "./gjson.js";

interface PathPart {
  /** The key with escapes removed. */
  part: string;
  /** The key as a gjson path component (escapes kept). */
  gpart: string;
  /** A leading `:` forces an object key even when the part is numeric. */
  force: boolean;
}

/** Largest array index a dest may pad up to; beyond this a dest is surely a mistake. */
const MAX_PAD = 100_000;

/**
 * Sets `value` at sjson `path` in `json` text and returns the new text. raw=true inserts `value` as
 * raw JSON, else as a JSON string. Empty or invalid JSON input is treated as an empty document.
 * A path with gjson-only syntax (`#`, `@`, `*`, `?`, `|`, queries) can only replace values that
 * already exist; when nothing matches the document is returned unchanged.
 * Throws EventsError("SB_ERR_PARAM_DEST", message naming the path) on an invalid path / non-numeric
 * key on an existing array.
 */
export function sjsonSet(json: string, path: string, value: string, raw: boolean): string {
  if (path === "") throw destError(path, "path cannot be empty");
  if (!gjsonValid(json)) json = "";
  const parts = parsePath(path);
  const text = raw ? value : stringify(value);
  if (parts === undefined) return setComplex(json, path, text);
  return setParts(json, parts, 0, text, path);
}

function destError(path: string, why: string): EventsError {
  return new EventsError("SB_ERR_PARAM_DEST", `invalid dest '${path}': ${why}`);
}

/** Splits a dest into keys; undefined when it uses gjson-only syntax (a "complex" path). */
function parsePath(path: string): PathPart[] | undefined {
  const parts: PathPart[] = [];
  let rest = path;
  for (;;) {
    let force = false;
    if (rest[0] === ":") {
      force = true;
      rest = rest.slice(1);
    }
    let part = "";
    let gpart = "";
    let more = false;
    let i = 0;
    for (; i < rest.length; i++) {
      const c = rest[i] as string;
      if (c === ".") {
        more = true;
        break;
      }
      if (c === "|" || c === "#" || c === "@" || c === "*" || c === "?") return undefined;
      if (c === "\\") {
        gpart += c;
        i++;
        if (i < rest.length) {
          part += rest[i];
          gpart += rest[i];
        }
        continue;
      }
      part += c;
      gpart += c;
    }
    parts.push({ part, gpart, force });
    if (!more) return parts;
    rest = rest.slice(i + 1);
  }
}

/** Go encoding of a string value: plain quotes unless a character needs escaping (as sjson). */
function stringify(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c > 0x7f || c === 34 || c === 92) return goJsonString(s);
  }
  return `"${s}"`;
}

/** The array index a part names, or -1 when it is not an unsigned integer (or is forced). */
function indexOf(p: PathPart): number {
  if (p.force || !/^[0-9]*$/.test(p.part)) return -1;
  return p.part === "" ? 0 : Number(p.part);
}

function setParts(jstr: string, parts: PathPart[], k: number, text: string, path: string): string {
  const p = parts[k] as PathPart;
  const res = rawGet(jstr, p.gpart);
  if (res.index > 0) {
    const before = jstr.slice(0, res.index);
    const after = jstr.slice(res.index + res.raw.length);
    if (k < parts.length - 1) return before + setParts(res.raw, parts, k + 1, text, path) + after;
    return before + text + after;
  }
  const n = indexOf(p);
  const numeric = n >= 0;
  if (jstr.trim() === "") jstr = numeric ? "[]" : "{}";
  let doc = rawParse(jstr);
  if (doc.t !== 5) {
    jstr = numeric ? "[]" : "{}";
    doc = rawParse(jstr);
  }
  const draw = doc.raw;
  let comma = false;
  for (let i = 1; i < draw.length; i++) {
    const c = draw.charCodeAt(i);
    if (c <= 32) continue;
    comma = c !== 125 && c !== 93;
    break;
  }
  if (draw[0] === "{") {
    let end = draw.length - 1;
    while (end > 0 && draw[end] !== "}") end--;
    return `${draw.slice(0, end)}${comma ? "," : ""}${build(false, parts, k, text, path)}}`;
  }
  if (!numeric) {
    if (p.part !== "-1" || p.force) {
      throw destError(path, `cannot set array element for non-numeric key '${p.part}'`);
    }
    let body = draw.trim();
    if (body.endsWith("]")) body = body.slice(0, -1);
    return `${body}${comma ? "," : ""}${build(true, parts, k, text, path)}]`;
  }
  const elems = rawElements(doc);
  if (n - elems.length > MAX_PAD) throw destError(path, `array index ${n} is too large`);
  let out = `[${elems.map((e) => e.raw).join(",")}`;
  if (elems.length === 0) out += "null,".repeat(n);
  else out += ",null".repeat(Math.max(0, n - elems.length)) + (comma ? "," : "");
  return `${out}${build(true, parts, k, text, path)}]`;
}

/** Text for the missing tail of a path: nested objects, or arrays when the next key is numeric. */
function build(array: boolean, parts: PathPart[], k: number, text: string, path: string): string {
  const p = parts[k] as PathPart;
  const head = array ? "" : `${stringify(p.part)}:`;
  const next = parts[k + 1];
  if (next === undefined) return head + text;
  const n = indexOf(next);
  if (n >= 0 || (!next.force && next.part === "-1")) {
    if (n > MAX_PAD) throw destError(path, `array index ${n} is too large`);
    return `${head}[${"null,".repeat(Math.max(0, n))}${build(true, parts, k + 1, text, path)}]`;
  }
  return `${head}{${build(false, parts, k + 1, text, path)}}`;
}

/** gjson-syntax dest: replace what the path finds (every match of `#(...)#` / `#.key`). */
function setComplex(json: string, path: string, text: string): string {
  const res: RawResult = rawGet(json, path);
  if (!rawExists(res)) return json;
  if (res.index > 0) {
    return json.slice(0, res.index) + text + json.slice(res.index + res.raw.length);
  }
  const indexes = res.indexes;
  if (indexes === undefined || indexes.length === 0) return json;
  const vals = rawElements(res);
  if (vals.length !== indexes.length || indexes.some((x) => x <= 0)) return json;
  const order = vals.map((v, i) => ({ raw: v.raw, at: indexes[i] as number }));
  order.sort((a, b) => b.at - a.at);
  for (const v of order) {
    if (json.slice(v.at, v.at + v.raw.length) !== v.raw) return json;
  }
  for (const v of order) json = json.slice(0, v.at) + text + json.slice(v.at + v.raw.length);
  return json;
}
