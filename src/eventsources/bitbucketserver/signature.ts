import { createHmac, timingSafeEqual } from "node:crypto";

/** Why a delivery failed verification: the `reason` label of the refusal metric. */
export type RefusalReason = "missing_signature" | "malformed_signature" | "signature_mismatch";

export interface Refusal {
  /** 401: no usable signature; 403: a signature that does not match. */
  status: 401 | 403;
  reason: RefusalReason;
  /** Said to the sender and logged; never holds the secret. */
  message: string;
}

/**
 * Bitbucket Server's delivery signature (Argo's validateBitbucketServerRequest): with a webhook
 * secret, `X-Hub-Signature: sha256=<hex>` is the HMAC-SHA256 of the raw body keyed with it.
 * Compared in constant time; undefined when it verifies.
 */
export function verifyBitbucketServerSignature(
  secret: Buffer,
  raw: Buffer,
  header: string | undefined,
): Refusal | undefined {
  if (!header)
    return {
      status: 401,
      reason: "missing_signature",
      message: "missing signature header X-Hub-Signature",
    };
  const hex = header.startsWith("sha256=") ? header.slice("sha256=".length) : "";
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    return {
      status: 401,
      reason: "malformed_signature",
      message: "invalid signature header X-Hub-Signature: expected sha256=<64 hex digits>",
    };
  const expected = createHmac("sha256", secret).update(raw).digest();
  // Both are 32 bytes: timingSafeEqual compares in constant time.
  if (!timingSafeEqual(Buffer.from(hex, "hex"), expected))
    return { status: 403, reason: "signature_mismatch", message: "hmac verification failed" };
  return undefined;
}
