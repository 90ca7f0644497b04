import { EventsError } from "../errors.js";

/** Bounds that keep the recursive parser and evaluator far from the stack limit. */
const MAX_TOKENS = 4096;
const MAX_NESTING = 100;

/**
 * Trigger `conditions` (Argo §4.1): dependency names joined by `&&`, `||` and parentheses; `-` and
 * `_` are interchangeable in names; whitespace ignored; empty = all dependencies joined by `&&`.
 */
export type ConditionNode =
  | { op: "dep"; name: string }
  | { op: "and" | "or"; left: ConditionNode; right: ConditionNode };

export interface Condition {
  /** The expression as written (or the implicit one). */
  source: string;
  ast: ConditionNode;
  /** Dependency names referenced, as they appear in the Sensor, in order of first appearance. */
  dependencies: string[];
  /** Argo buffers partial state only when the expression contains `&`. */
  needsState: boolean;
}

/** The canonical form used to compare names: `-` and `_` are the same character. */
export function conditionKey(name: string): string {
  return name.replaceAll("-", "_");
}

/**
 * Parses a condition against the Sensor's dependency names. Throws EventsError
 * SB_ERR_CONDITION_SYNTAX for a syntax error or an unknown name (Argo then never runs the trigger).
 */
export function parseCondition(
  expression: string | undefined,
  dependencyNames: readonly string[],
): Condition {
  const byKey = new Map<string, string>();
  for (const n of dependencyNames) if (!byKey.has(conditionKey(n))) byKey.set(conditionKey(n), n);
  const source = expression && expression.trim() !== "" ? expression : dependencyNames.join(" && ");
  const tokens = tokenize(source);
  let pos = 0;
  let nesting = 0;
  const deps: string[] = [];
  const fail = (msg: string): never => {
    throw new EventsError("SB_ERR_CONDITION_SYNTAX", `conditions "${source}": ${msg}`);
  };
  const parseOr = (): ConditionNode => {
    let left = parseAnd();
    while (tokens[pos] === "||") {
      pos++;
      left = { op: "or", left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): ConditionNode => {
    let left = parsePrimary();
    while (tokens[pos] === "&&") {
      pos++;
      left = { op: "and", left, right: parsePrimary() };
    }
    return left;
  };
  const parsePrimary = (): ConditionNode => {
    const t = tokens[pos];
    if (t === undefined) return fail("unexpected end of expression");
    if (t === "(") {
      pos++;
      if (++nesting > MAX_NESTING) fail(`parentheses nested deeper than ${MAX_NESTING}`);
      const inner = parseOr();
      nesting--;
      if (tokens[pos] !== ")") fail("missing ')'");
      pos++;
      return inner;
    }
    if (t === ")" || t === "&&" || t === "||") return fail(`unexpected '${t}'`);
    pos++;
    const name = byKey.get(conditionKey(t));
    if (name === undefined) return fail(`unknown dependency '${t}'`);
    if (!deps.includes(name)) deps.push(name);
    return { op: "dep", name };
  };
  if (tokens.length === 0) fail("empty expression and no dependencies");
  if (tokens.length > MAX_TOKENS) fail(`more than ${MAX_TOKENS} tokens`);
  const ast = parseOr();
  if (pos < tokens.length) fail(`unexpected '${tokens[pos]}'`);
  return { source, ast, dependencies: deps, needsState: source.includes("&") };
}

function tokenize(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")") {
      out.push(c);
      i++;
      continue;
    }
    if ((c === "&" || c === "|") && src[i + 1] === c) {
      out.push(c + c);
      i += 2;
      continue;
    }
    let j = i;
    while (j < src.length && !/[\s()&|]/.test(src[j]!)) j++;
    if (j === i) {
      throw new EventsError(
        "SB_ERR_CONDITION_SYNTAX",
        `conditions "${src}": unexpected '${c}' at offset ${i}`,
      );
    }
    out.push(src.slice(i, j));
    i = j;
  }
  return out;
}

/** Evaluates with "present => true". */
export function evaluateCondition(node: ConditionNode, present: (dep: string) => boolean): boolean {
  switch (node.op) {
    case "dep":
      return present(node.name);
    case "and":
      return evaluateCondition(node.left, present) && evaluateCondition(node.right, present);
    case "or":
      return evaluateCondition(node.left, present) || evaluateCondition(node.right, present);
  }
}
