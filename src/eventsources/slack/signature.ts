import { createHmac, timingSafeEqual } from "node:crypto";
import type { Refusal } from "../webhook/delivery.js";

/** Slack's tolerance: a request timestamp more than five minutes from now is refused. */
export const SLACK_TOLERANCE_MS = 5 * 60 * 1000;

/**
 * Slack's request signature ("Verifying requests from Slack", slack-go's SecretsVerifier, which
 * Argo uses): `X-Slack-Signature` is `v0=<hex>`, the HMAC-SHA256 keyed with the signing secret of
 * `v0:<X-Slack-Request-Timestamp>:<raw body>`, compared in constant time; a timestamp more than
 * five minutes from `nowMs` (either way) is refused, so a captured request cannot be replayed
 * later. Returns undefined when the request verifies.
 */
export function verifySlackSignature(
  secret: Buffer,
  raw: Buffer,
  signature: string | undefined,
  timestamp: string | undefined,
  nowMs: number,
): Refusal | undefined {
  if (!signature || !timestamp)
    return {
      status: 401,
      reason: "missing_signature",
      message: `missing ${signature ? "X-Slack-Request-Timestamp" : "X-Slack-Signature"}`,
    };
  const hex = signature.startsWith("v0=") ? signature.slice(3) : "";
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    return {
      status: 401,
      reason: "malformed_signature",
      message: "malformed X-Slack-Signature: expected v0=<64 hex digits>",
    };
  if (!/^\d{1,15}$/.test(timestamp))
    return {
      status: 401,
      reason: "malformed_timestamp",
      message: "malformed X-Slack-Request-Timestamp: expected Unix seconds",
    };
  if (Math.abs(nowMs - Number(timestamp) * 1000) > SLACK_TOLERANCE_MS)
    return {
      status: 401,
      reason: "stale_timestamp",
      message:
        "X-Slack-Request-Timestamp is more than 5 minutes from now: refused as a possible replay",
    };
  const expected = createHmac("sha256", secret).update(`v0:${timestamp}:`).update(raw).digest();
  if (!timingSafeEqual(Buffer.from(hex, "hex"), expected))
    return { status: 403, reason: "signature_mismatch", message: "signature mismatch" };
  return undefined;
}
