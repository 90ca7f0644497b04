/**
 * Headers that carry credentials in incoming requests. Their values are masked before a request
 * header map enters an event payload, the journal or a log line, as `Authorization` always was.
 * Names compare case-insensitively; `X-Hub-Signature` covers every suffix (`-256`, `-512`).
 */
export const CREDENTIAL_HEADERS: readonly string[] = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "x-gitlab-token",
  "x-hub-signature",
  "x-slack-signature",
  "stripe-signature",
  "x-api-key",
  "x-auth-token",
];

const FIXED = new Set(CREDENTIAL_HEADERS);

/**
 * True when `name` carries a credential: one of {@link CREDENTIAL_HEADERS}, `X-Hub-Signature-*`,
 * or one of `extra` (lower-case names, e.g. the header an EventSource's `hmac` names).
 */
export function isCredentialHeader(name: string, extra?: ReadonlySet<string>): boolean {
  const lower = name.toLowerCase();
  return FIXED.has(lower) || lower.startsWith("x-hub-signature-") || (extra?.has(lower) ?? false);
}
