import type { Static } from "typebox";
import type { TLSConfig } from "../../config/schema/common.js";
import { readTlsMaterial } from "../../config/tls.js";
import type { AdapterContext } from "../types.js";
import type { RedisTlsMaterial } from "./client.js";

/** What the `redis` and `redisStream` kinds share without importing the client. */

export { checkTls } from "../../config/tls.js";

/** Reads the TLS secrets through the resolver (which registers them for redaction). */
export function tlsMaterial(
  tls: Static<typeof TLSConfig> | undefined,
  at: string,
  ctx: AdapterContext,
): Promise<RedisTlsMaterial | undefined> {
  return readTlsMaterial(tls, at, ctx.values);
}
