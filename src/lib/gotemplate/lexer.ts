/**
 * Tokenizer for Go text/template source with the default `{{ }}` delimiters, trim markers
 * (`{{- ` and ` -}}`) and comments, following the item kinds of Go's text/template/parse lexer.
 */

export type TokenType =
  | "text"
  | "leftDelim"
  | "rightDelim"
  | "space"
  | "identifier"
  | "keyword"
  | "field"
  | "variable"
  | "dot"
  | "string"
  | "rawString"
  | "char"
  | "number"
  | "bool"
  | "nil"
  | "leftParen"
  | "rightParen"
  | "pipe"
  | "declare"
  | "assign"
  | "comma"
  | "eof";

export interface Token {
  type: TokenType;
  /** Source text of the token (for strings, including quotes). */
  text: string;
  line: number;
}

export class LexError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = "LexError";
  }
}

const KEYWORDS = new Set([
  "block",
  "break",
  "continue",
  "define",
  "else",
  "end",
  "if",
  "range",
  "template",
  "with",
]);

const LEFT = "{{";
const RIGHT = "}}";

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\n";
}

function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{Nd}_]/u.test(c);
}

/** Right trim marker at `i`: " -}}" (any ASCII space before the dash). */
function rightTrimAt(src: string, i: number): boolean {
  return isSpace(src[i]) && src[i + 1] === "-" && src.startsWith(RIGHT, i + 2);
}

export function lex(src: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let pos = 0;
  const n = src.length;
  const countLines = (s: string): number => {
    let c = 0;
    for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) === 10) c++;
    return c;
  };
  const emit = (type: TokenType, text: string): void => {
    out.push({ type, text, line });
    line += countLines(text);
  };
  let trimNextText = false;

  while (pos < n) {
    // Text up to the next left delimiter.
    let next = src.indexOf(LEFT, pos);
    if (next < 0) next = n;
    let text = src.slice(pos, next);
    if (trimNextText) {
      const trimmed = text.replace(/^[ \t\r\n]+/, "");
      line += countLines(text.slice(0, text.length - trimmed.length));
      text = trimmed;
      trimNextText = false;
    }
    pos = next;
    if (pos >= n) {
      if (text) emit("text", text);
      break;
    }
    // Left trim marker "{{- ".
    let afterLeft = pos + LEFT.length;
    const leftTrim = src[afterLeft] === "-" && isSpace(src[afterLeft + 1]);
    if (leftTrim) {
      let end = text.length;
      while (end > 0 && " \t\r\n".includes(text[end - 1]!)) end--;
      const trimmed = text.slice(0, end);
      const removed = text.slice(trimmed.length);
      text = trimmed;
      if (text) emit("text", text);
      line += countLines(removed);
      afterLeft += 2;
    } else if (text) emit("text", text);
    pos = afterLeft;

    // Comment: "{{/*" ... "*/}}" (optionally with trim markers).
    let probe = pos;
    if (leftTrim) while (isSpace(src[probe])) probe++;
    if (src.startsWith("/*", probe)) {
      const end = src.indexOf("*/", probe + 2);
      if (end < 0) throw new LexError("unclosed comment", line);
      line += countLines(src.slice(pos, end));
      let p = end + 2;
      if (rightTrimAt(src, p)) {
        p += 2;
        trimNextText = true;
      }
      if (!src.startsWith(RIGHT, p))
        throw new LexError("comment ends before closing delimiter", line);
      pos = p + RIGHT.length;
      continue;
    }

    out.push({ type: "leftDelim", text: LEFT, line });
    let parenDepth = 0;
    // Inside an action.
    for (;;) {
      if (pos >= n) throw new LexError("unclosed action", line);
      if (rightTrimAt(src, pos)) {
        line += countLines(src.slice(pos, pos + 1));
        pos += 2 + RIGHT.length;
        trimNextText = true;
        out.push({ type: "rightDelim", text: RIGHT, line });
        break;
      }
      if (src.startsWith(RIGHT, pos)) {
        pos += RIGHT.length;
        out.push({ type: "rightDelim", text: RIGHT, line });
        break;
      }
      const c = src[pos]!;
      if (isSpace(c)) {
        let j = pos;
        while (j < n && isSpace(src[j]) && !rightTrimAt(src, j)) j++;
        emit("space", src.slice(pos, j));
        pos = j;
        continue;
      }
      if (c === "=") {
        emit("assign", "=");
        pos++;
        continue;
      }
      if (c === ":") {
        if (src[pos + 1] !== "=") throw new LexError("expected :=", line);
        emit("declare", ":=");
        pos += 2;
        continue;
      }
      if (c === "|") {
        emit("pipe", "|");
        pos++;
        continue;
      }
      if (c === ",") {
        emit("comma", ",");
        pos++;
        continue;
      }
      if (c === "(") {
        parenDepth++;
        emit("leftParen", "(");
        pos++;
        continue;
      }
      if (c === ")") {
        parenDepth--;
        if (parenDepth < 0) throw new LexError("unexpected right paren", line);
        emit("rightParen", ")");
        pos++;
        continue;
      }
      if (c === '"') {
        let j = pos + 1;
        for (;;) {
          const d = src[j];
          if (d === undefined || d === "\n") throw new LexError("unterminated quoted string", line);
          if (d === "\\") {
            j += 2;
            continue;
          }
          if (d === '"') break;
          j++;
        }
        emit("string", src.slice(pos, j + 1));
        pos = j + 1;
        continue;
      }
      if (c === "`") {
        const j = src.indexOf("`", pos + 1);
        if (j < 0) throw new LexError("unterminated raw quoted string", line);
        emit("rawString", src.slice(pos, j + 1));
        pos = j + 1;
        continue;
      }
      if (c === "'") {
        let j = pos + 1;
        for (;;) {
          const d = src[j];
          if (d === undefined || d === "\n")
            throw new LexError("unterminated character constant", line);
          if (d === "\\") {
            j += 2;
            continue;
          }
          if (d === "'") break;
          j++;
        }
        emit("char", src.slice(pos, j + 1));
        pos = j + 1;
        continue;
      }
      if (c === "$") {
        let j = pos + 1;
        while (isAlnum(src[j])) j++;
        emit("variable", src.slice(pos, j));
        pos = j;
        continue;
      }
      if (c === "." && !/[0-9]/.test(src[pos + 1] ?? "")) {
        let j = pos + 1;
        while (isAlnum(src[j])) j++;
        if (j === pos + 1) {
          // A lone dot; ".." or ".(" are errors in Go's lexer only when followed by junk.
          emit("dot", ".");
        } else emit("field", src.slice(pos, j));
        pos = j;
        continue;
      }
      if (
        /[0-9]/.test(c) ||
        ((c === "-" || c === "+" || c === ".") && /[0-9.]/.test(src[pos + 1] ?? ""))
      ) {
        const m =
          /^[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?|0[oO][0-7_]+|0[bB][01_]+|[0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?)i?/.exec(
            src.slice(pos),
          );
        const numText = m?.[0] ?? "";
        if (
          numText === "" ||
          numText === "-" ||
          numText === "+" ||
          isAlnum(src[pos + numText.length])
        ) {
          let j = pos + numText.length;
          while (isAlnum(src[j]) || src[j] === ".") j++;
          throw new LexError(`bad number syntax: "${src.slice(pos, j)}"`, line);
        }
        emit("number", numText);
        pos += numText.length;
        continue;
      }
      if (isAlnum(c)) {
        let j = pos;
        while (isAlnum(src[j])) j++;
        const word = src.slice(pos, j);
        if (word === "true" || word === "false") emit("bool", word);
        else if (word === "nil") emit("nil", word);
        else if (KEYWORDS.has(word)) emit("keyword", word);
        else emit("identifier", word);
        pos = j;
        continue;
      }
      if (c >= " " && c <= "~")
        throw new LexError(`unexpected ${JSON.stringify(c)} in operand`, line);
      throw new LexError(`unrecognized character in action: ${JSON.stringify(c)}`, line);
    }
    if (parenDepth > 0) throw new LexError("unclosed left paren", line);
  }
  out.push({ type: "eof", text: "", line });
  return out;
}
