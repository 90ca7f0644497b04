import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { SecretKeySelector } from "../../config/types.js";
import { ConfigError } from "../../errors.js";
import type { AdapterContext } from "../types.js";
import {
  firstHeader,
  refuseDelivery,
  type Refusal as WebhookRefusal,
} from "../webhook/delivery.js";

/** Why a delivery failed verification: the `reason` label of the refusal metric. */
export type RefusalReason = "missing_signature" | "malformed_signature" | "signature_mismatch";

export interface Refusal extends WebhookRefusal {
  reason: RefusalReason;
}

/**
 * The delivery signature of Bitbucket Server (Argo's validateBitbucketServerRequest) and of
 * Bitbucket Cloud (webhook secrets): with a secret on the hook, `X-Hub-Signature: sha256=<hex>` is
 * the HMAC-SHA256 of the raw body keyed with it. Compared in constant time; undefined when it
 * verifies.
 */
export function verifyBitbucketSignature(
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

/**
 * An entry's `webhookSecret`, read at start: undefined when the field is absent; an empty value
 * stops the start (Argo skips the check for an empty secret; sensorbus refuses to run unverified
 * instead).
 */
export async function readWebhookSecret(
  ctx: AdapterContext,
  selector: SecretKeySelector | undefined,
  at: string,
): Promise<Buffer | undefined> {
  if (!selector) return undefined;
  const text = await ctx.values.secret(selector, `${at}/webhookSecret`);
  if (text === "")
    throw new ConfigError(
      `EventSource ${ctx.eventSourceName}: ${at}/webhookSecret: the Secret value is empty`,
    );
  return Buffer.from(text, "utf8");
}

/**
 * With a webhook secret, a delivery's `X-Hub-Signature` checked before anything is stored: a
 * refusal is counted, logged (without the secret or the signature) and answered 401 / 403 through
 * the webhook kind's refuseDelivery. Returns the reply when it refused; undefined to go on.
 */
export function refuseUnsigned(
  secret: Buffer | undefined,
  d: {
    ctx: AdapterContext;
    eventName: string;
    provider: string;
    req: FastifyRequest;
    reply: FastifyReply;
    raw: Buffer;
    logFields: Record<string, unknown>;
  },
): FastifyReply | undefined {
  if (!secret) return undefined;
  const refusal = verifyBitbucketSignature(
    secret,
    d.raw,
    firstHeader(d.req.headers["x-hub-signature"]),
  );
  if (!refusal) return undefined;
  return refuseDelivery(d.ctx, d.eventName, d.provider, refusal, d.req, d.reply, d.logFields);
}
