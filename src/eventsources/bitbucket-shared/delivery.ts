import type { FastifyReply } from "fastify";
import type { Logger } from "../../observability/logger.js";

/**
 * `events` applied to a delivery's `X-Event-Key`: an event type the entry does not list is
 * answered 200 and not stored (Bitbucket Server's "Test connection" ping, a hook made by hand
 * with more events). Empty `events`: every type. Returns the reply when it answered.
 */
export function refuseUnlistedEvent(
  events: readonly string[] | undefined,
  eventKey: string,
  reply: FastifyReply,
  log: () => Logger,
  fields: Record<string, unknown>,
): FastifyReply | undefined {
  if (!events || events.length === 0 || events.includes(eventKey)) return undefined;
  log().info({ ...fields, eventKey }, "Bitbucket event type not in events: not recorded");
  return reply
    .code(200)
    .type("text/plain")
    .send(`event type '${eventKey}' is not in events: not recorded`);
}

/** Multiset equality of two event lists (Argo's ElementsMatch), for "does the hook differ?". */
export function sameEvents(a: readonly unknown[] | undefined, b: readonly string[]): boolean {
  const left = (a ?? []).map(String).sort();
  const right = [...b].sort();
  return left.length === right.length && left.every((v, i) => v === right[i]);
}
