import type { PlainNatsConnection, PlainNatsOptions } from "./nats-plain.js";

/**
 * Connects once (no retry: the caller decides how to back off). Rejects with PlainNatsError, or
 * ConfigError for settings that cannot work (a URL that is not one, an NKey seed that is not one).
 */
export async function connectPlainNats(opts: PlainNatsOptions): Promise<PlainNatsConnection> {
  const { dialPlainNats } = await import("./jetstream/plain.js");
  return dialPlainNats(opts);
}
