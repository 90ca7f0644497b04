import { EventsError } from "../errors.js";

/**
 * Limits sensorbus sets on a trigger's `conditions` (Argo has none; docs/limits.md). They
 * keep the recursive parser and evaluator far from the stack limit and every message short. Over
 * a limit, `validate` refuses the Sensor (see `conditionLimitProblem`) and so does `run`.
 */
export const MAX_CONDITION_LENGTH = 10_000;
export const MAX_CONDITION_TOKENS = 4096;
export const MAX_CONDITION_NESTING = 100;
/** Dependencies per Sensor (the implicit condition joins them all, so it must fit the limits). */
export const MAX_DEPENDENCIES = 1000;
/** How much of a condition an error message quotes. */
const QUOTE_LENGTH = 120;

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
  const fail = (msg: string): never => {
    throw new EventsError("SB_ERR_CONDITION_SYNTAX", `conditions ${quote(source)}: ${msg}`);
  };
  const over = conditionLimitProblem(expression, dependencyNames.length);
  if (over !== undefined) fail(over);
  const tokens = tokenize(source);
  let pos = 0;
  let nesting = 0;
  const deps: string[] = [];
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
      if (++nesting > MAX_CONDITION_NESTING)
        fail(`parentheses nested deeper than ${MAX_CONDITION_NESTING}`);
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
  if (tokens.length > MAX_CONDITION_TOKENS) fail(`more than ${MAX_CONDITION_TOKENS} tokens`);
  const ast = parseOr();
  if (pos < tokens.length) fail(`unexpected '${tokens[pos]}'`);
  return { source, ast, dependencies: deps, needsState: source.includes("&") };
}

/**
 * The sensorbus limit a condition (or, when it is empty, the implicit one over `dependencyCount`
 * dependencies) exceeds, as a short message; undefined within the limits. Cheap: no parsing.
 * `validate` reports it as an error and `parseCondition` throws it, so both say the same.
 */
export function conditionLimitProblem(
  expression: string | undefined,
  dependencyCount: number,
): string | undefined {
  if (dependencyCount > MAX_DEPENDENCIES) {
    return `the Sensor has ${dependencyCount} dependencies; sensorbus allows at most ${MAX_DEPENDENCIES}`;
  }
  if (expression === undefined) return undefined;
  if (expression.length > MAX_CONDITION_LENGTH) {
    return `the condition is ${expression.length} characters long; sensorbus allows at most ${MAX_CONDITION_LENGTH}`;
  }
  let depth = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression.charCodeAt(i);
    if (c === 40 /* ( */ && ++depth > MAX_CONDITION_NESTING) {
      return `parentheses nested deeper than ${MAX_CONDITION_NESTING}`;
    }
    if (c === 41 /* ) */ && depth > 0) depth--;
  }
  let tokens: number;
  try {
    tokens = tokenize(expression).length;
  } catch {
    return undefined; // a syntax error, not a limit: parseCondition reports it
  }
  if (tokens > MAX_CONDITION_TOKENS) {
    return `the condition has more than ${MAX_CONDITION_TOKENS} tokens (${tokens}); sensorbus allows at most ${MAX_CONDITION_TOKENS}`;
  }
  return undefined;
}

/** The condition for a message: JSON-quoted, cut to QUOTE_LENGTH characters. */
function quote(source: string): string {
  if (source.length <= QUOTE_LENGTH) return JSON.stringify(source);
  return `${JSON.stringify(source.slice(0, QUOTE_LENGTH))}... (${source.length} characters)`;
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
        `conditions ${quote(src)}: unexpected '${c}' at offset ${i}`,
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
