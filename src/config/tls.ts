import type { Static } from "typebox";
import { err } from "./findings.js";
import type { EntryCheck } from "./kinds.js";
import type { TLSConfig } from "./schema/common.js";
import type { ValueResolver } from "./secrets.js";

/** Argo's `TLSConfig` as kinds (EventSources and triggers) check and read it. */

type Tls = Static<typeof TLSConfig>;

/** PEM texts and the verification switch of a `tls` block, read from its Secrets. */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify?: boolean;
}

/** Argo's `ValidateTLSConfig`: the same two messages, at `<at>/tls`. */
export function checkTls(
  tls: Tls | undefined,
  { at, report }: Pick<EntryCheck, "at" | "report">,
): void {
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
 * Reads the TLS Secrets through the resolver (which registers them for redaction); `at` names the
 * block's owner in errors (`spec.redis.<name>`, `nats`).
 */
export async function readTlsMaterial(
  tls: Tls | undefined,
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
