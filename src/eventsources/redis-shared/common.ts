import type { Static } from "typebox";
import { err } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import type { TLSConfig } from "../../config/schema/common.js";
import type { AdapterContext } from "../types.js";
import type { RedisTlsMaterial } from "./client.js";

/** What the `redis` and `redisStream` kinds share without importing the client. */

type Tls = Static<typeof TLSConfig>;

/** Argo's `ValidateTLSConfig`: the same two messages, at `<entry>/tls`. */
export function checkTls(tls: Tls | undefined, { at, report }: EntryCheck): void {
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

/** Reads the TLS secrets through the resolver (which registers them for redaction). */
export async function tlsMaterial(
  tls: Tls | undefined,
  at: string,
  ctx: AdapterContext,
): Promise<RedisTlsMaterial | undefined> {
  if (!tls) return undefined;
  const out: RedisTlsMaterial = { insecureSkipVerify: tls.insecureSkipVerify === true };
  if (tls.caCertSecret)
    out.ca = await ctx.values.secret(tls.caCertSecret, `${at}.tls.caCertSecret`);
  if (tls.clientCertSecret)
    out.cert = await ctx.values.secret(tls.clientCertSecret, `${at}.tls.clientCertSecret`);
  if (tls.clientKeySecret)
    out.key = await ctx.values.secret(tls.clientKeySecret, `${at}.tls.clientKeySecret`);
  return out;
}
