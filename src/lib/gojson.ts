import { gjsonValid, jsonNestingDepth, MAX_JSON_DEPTH } from "./gjson.js";

/**
 * JSON text as Go's encoding/json writes it. Argo builds every event payload with it, and users
 * compare raw text (whole-body parameters), so the differences from JSON.stringify matter:
 * map keys sorted, output compact, `<` `>` `&` and U+2028/U+2029 escaped inside strings.
 */

/** A value to marshal; `RawJson` is embedded after compaction (Go's json.RawMessage). */
export class RawJson {
  constructor(readonly text: string) {}
}

export function goMarshal(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof RawJson) return goCompact(value.text);
  switch (typeof value) {
    case "string":
      return goQuote(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (Array.isArray(value)) return `[${value.map(goMarshal).join(",")}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort(compareGoStrings);
      return `{${keys.map((k) => `${goQuote(k)}:${goMarshal(obj[k])}`).join(",")}}`;
    }
    default:
      return "null";
  }
}

/**
 * Go sorts map keys by byte order of their UTF-8 encoding. Below U+D800 UTF-16 code units order
 * as UTF-8 bytes do, so only a difference at a surrogate or above needs the encoded bytes.
 */
export function compareGoStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
  }
  return a.length - b.length;
}

const ESCAPE_RE = /[\u0000-\u001f"\\<>&\u2028\u2029]/;

export function goQuote(s: string): string {
  if (!ESCAPE_RE.test(s)) return `"${s}"`;
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        break;
      case "\\":
        out += "\\\\";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      case "<":
      case ">":
      case "&":
      case "\u2028":
      case "\u2029":
        out += `\\u${c.toString(16).padStart(4, "0")}`;
        break;
      default:
        out += c < 0x20 ? `\\u${c.toString(16).padStart(4, "0")}` : ch;
    }
  }
  return `${out}"`;
}

/** A character goCompact may drop (whitespace) or rewrite (inside strings). */
const NEEDS_COMPACTING = /[ \t\n\r<>&\u2028\u2029]/;

/**
 * Go's json.Compact with HTML escaping (what Marshal does to a RawMessage): whitespace outside
 * strings removed, `<>&` and U+2028/9 inside strings escaped; keys keep their order.
 * Throws SyntaxError when the text is not valid JSON, or nests deeper than Go accepts (10,000
 * levels: "nested too deeply").
 */
export function goCompact(text: string): string {
  // Deeper than 10,000 levels needs more than 10,000 characters: short texts skip the count.
  if (text.length > MAX_JSON_DEPTH && jsonNestingDepth(text) > MAX_JSON_DEPTH) {
    throw new SyntaxError(`nested too deeply (more than ${MAX_JSON_DEPTH} levels)`);
  }
  // Validate (Go refuses invalid raw messages too) without building the value; JSON.parse only
  // to word the error.
  if (!gjsonValid(text)) {
    JSON.parse(text);
    throw new SyntaxError("invalid JSON");
  }
  // Machine-written JSON usually has nothing to elide or escape: then it is its own compact form.
  if (!NEEDS_COMPACTING.test(text)) return text;
  let out = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      let seg = '"';
      while (j < n) {
        const d = text[j]!;
        if (d === "\\") {
          seg += d + text[j + 1]!;
          j += 2;
          continue;
        }
        if (d === '"') break;
        if (d === "<" || d === ">" || d === "&" || d === "\u2028" || d === "\u2029") {
          seg += `\\u${d.charCodeAt(0).toString(16).padStart(4, "0")}`;
        } else seg += d;
        j++;
      }
      out += `${seg}"`;
      i = j + 1;
      continue;
    }
    if (c === " " || c === "\n" || c === "\r" || c === "\t") {
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
