import type { Static } from "typebox";
import { err } from "./findings.js";
import type { EntryCheck } from "./kinds.js";
import type { TLSConfig } from "./schema/common.js";
import type { ValueResolver } from "./secrets.js";

/** Argo's `TLSConfig` (caCertSecret, clientCertSecret, clientKeySecret, insecureSkipVerify). */
export type TlsConfig = Static<typeof TLSConfig>;

/** The PEM material a `TLSConfig` names, read from its Secrets (registered for redaction). */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify: boolean;
}

/**
 * Argo's `ValidateTLSConfig` (pkg/apis/events/v1alpha1 + common/util): the same two messages, at
 * `<at>/tls`. Shared by every EventSource and trigger kind that has a `tls` block.
 */
export function checkTlsConfig(tls: TlsConfig | undefined, { at, report }: EntryCheck): void {
  if (!tls || tls.insecureSkipVerify) return;
  const ca = tls.caCertSecret !== undefined;
  const cert = tls.clientCertSecret !== undefined;
  const key = tls.clientKeySecret !== undefined;
  if (!ca && !cert && !key && !tls.enabled) {
    report(
      err(
        `${at}/tls`,
        "invalid tls config, please configure either caCertSecret, or clientCertSecret and clientKeySecret, or both",
      ),
    );
  } else if ((cert || key) && !(cert && key)) {
    report(
      err(
        `${at}/tls`,
        "invalid tls config, both clientCertSecret and clientKeySecret need to be configured",
      ),
    );
  }
}

/**
 * Reads the Secrets of a `tls` block through the resolver (which registers each value for
 * redaction); `at` names the entry in errors (`spec.redis.orders` → `spec.redis.orders.tls.…`).
 */
export async function readTlsMaterial(
  tls: TlsConfig | undefined,
  at: string,
  values: ValueResolver,
): Promise<TlsMaterial | undefined> {
  if (!tls) return undefined;
  const out: TlsMaterial = { insecureSkipVerify: tls.insecureSkipVerify === true };
  if (tls.caCertSecret) out.ca = await values.secret(tls.caCertSecret, `${at}.tls.caCertSecret`);
  if (tls.clientCertSecret)
    out.cert = await values.secret(tls.clientCertSecret, `${at}.tls.clientCertSecret`);
  if (tls.clientKeySecret)
    out.key = await values.secret(tls.clientKeySecret, `${at}.tls.clientKeySecret`);
  return out;
}
