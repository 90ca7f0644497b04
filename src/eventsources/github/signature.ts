import { createHmac, timingSafeEqual } from "node:crypto";
import type { Refusal as WebhookRefusal } from "../webhook/delivery.js";

/** Why a delivery failed verification: the `reason` label of the refusal metric. */
export type RefusalReason = "missing_signature" | "malformed_signature" | "signature_mismatch";

export interface Refusal extends WebhookRefusal {
  reason: RefusalReason;
}

const HASHES: Record<string, { algorithm: string; hexLength: number }> = {
  sha1: { algorithm: "sha1", hexLength: 40 },
  sha256: { algorithm: "sha256", hexLength: 64 },
  sha512: { algorithm: "sha512", hexLength: 128 },
};

/**
 * GitHub's delivery signature as go-github's ValidatePayload (Argo) checks it: the value of
 * `X-Hub-Signature-256`, else `X-Hub-Signature`, is `<hash>=<hex>` with hash sha1, sha256 or
 * sha512, an HMAC of the raw body keyed with the webhook secret; compared in constant time.
 * Returns undefined when it verifies.
 */
export function verifyGithubSignature(
  secret: Buffer,
  raw: Buffer,
  sha256Header: string | undefined,
  sha1Header: string | undefined,
): Refusal | undefined {
  const value = sha256Header ? sha256Header : sha1Header;
  if (!value)
    return {
      status: 401,
      reason: "missing_signature",
      message: "missing signature: neither X-Hub-Signature-256 nor X-Hub-Signature is set",
    };
  const eq = value.indexOf("=");
  const hash = eq < 0 ? undefined : HASHES[value.slice(0, eq)];
  const hex = eq < 0 ? "" : value.slice(eq + 1);
  if (!hash || hex.length !== hash.hexLength || !/^[0-9a-fA-F]+$/.test(hex))
    return {
      status: 401,
      reason: "malformed_signature",
      message: `error parsing signature: expected sha256=<64 hex digits> (or sha1=<40>) in ${sha256Header ? "X-Hub-Signature-256" : "X-Hub-Signature"}`,
    };
  const given = Buffer.from(hex, "hex");
  const expected = createHmac(hash.algorithm, secret).update(raw).digest();
  // Same algorithm, so the same length: timingSafeEqual compares in constant time.
  if (!timingSafeEqual(given, expected))
    return { status: 403, reason: "signature_mismatch", message: "payload signature check failed" };
  return undefined;
}
