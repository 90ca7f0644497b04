import { createHash } from "node:crypto";

/** Stable across redeliveries of the same events: trigger name + sorted event ids. */
export function idempotencyKey(trigger: string, eventIds: readonly string[]): string {
  return createHash("sha256")
    .update(`${trigger}\n${[...eventIds].sort().join("\n")}`)
    .digest("hex")
    .slice(0, 32);
}
