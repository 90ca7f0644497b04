import { err, str } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import { checkTlsConfig } from "../../config/tls.js";
import type { EventSourceKind } from "../kind.js";
import { RedisStreamEventSchema, type RedisStreamEventSpec } from "./schema.js";

export { RedisStreamEventSchema, type RedisStreamEventSpec } from "./schema.js";

/** Argo's redis_stream/validate.go, plus a negative maxMsgCountPerRead (Redis refuses it). */
function validate(entry: RedisStreamEventSpec, check: EntryCheck): void {
  const { at, report } = check;
  if (str(entry.hostAddress) === "") {
    report(err(at, "host address must be specified"));
    return;
  }
  if (!Array.isArray(entry.streams) || entry.streams.length === 0) {
    report(err(at, "stream/streams must be specified"));
    return;
  }
  if (typeof entry.maxMsgCountPerRead === "number" && entry.maxMsgCountPerRead < 0) {
    report(err(`${at}/maxMsgCountPerRead`, "must not be negative (0 means 10)"));
  }
  checkTlsConfig(entry.tls, check);
}

export const redisStream: EventSourceKind<RedisStreamEventSpec> = {
  key: "redisStream",
  schema: RedisStreamEventSchema,
  runs: true,
  recreate: true,
  validate,
  graph: {
    detail: (s) =>
      `streams ${Array.isArray(s.streams) ? s.streams.join(", ") : "?"} group ${s.consumerGroup || "argo-events-cg"}`,
  },
  load: () => import("./runtime.js"),
};
