/**
 * NATS subject syntax (pure): tokens separated by `.`, `*` matching one token, `>` (last token
 * only) matching one or more. Used by `validate` and by `graph` to link a `nats` trigger to the
 * `nats` EventSource entries that receive what it publishes.
 */

/** What is wrong with `subject`, or undefined. `wildcards`: may it hold `*` and `>` (subscribe)? */
export function subjectProblem(subject: string, wildcards: boolean): string | undefined {
  if (subject === "") return "is empty";
  if (/\s/.test(subject)) return "contains white space";
  const tokens = subject.split(".");
  if (tokens.some((t) => t === "")) return "has an empty token (a leading, trailing or double '.')";
  for (const [i, t] of tokens.entries()) {
    if (t !== "*" && t !== ">" && !/[*>]/.test(t)) continue;
    if (!wildcards) return `has the wildcard '${t}': a message is published to one literal subject`;
    if (t !== "*" && t !== ">") return `token '${t}' mixes a wildcard with other characters`;
    if (t === ">" && i !== tokens.length - 1) return "has '>' before its last token";
  }
  return undefined;
}

/** Whether a message published to the literal `subject` is delivered to a subscription on `pattern`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === ">") return s.length > i;
    if (i >= s.length) return false;
    if (t !== "*" && t !== s[i]) return false;
  }
  return p.length === s.length;
}
