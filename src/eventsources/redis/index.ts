import { err, str } from "../../config/findings.js";
import type { EntryCheck } from "../../config/kinds.js";
import { checkTlsConfig } from "../../config/tls.js";
import type { EventSourceKind } from "../kind.js";
import { RedisEventSchema, type RedisEventSpec } from "./schema.js";

export { RedisEventSchema, type RedisEventSpec } from "./schema.js";

/** Argo's redis/validate.go, in its order (the first failing check is reported). */
function validate(entry: RedisEventSpec, check: EntryCheck): void {
  const { at, report } = check;
  if (str(entry.hostAddress) === "") {
    report(err(at, "host address must be specified"));
    return;
  }
  if (!Array.isArray(entry.channels)) {
    report(err(at, "channel/s must be specified"));
    return;
  }
  if (entry.password !== undefined && str(entry.namespace) === "") {
    report(err(at, "namespace must be defined in order to retrieve the password from the secret"));
    return;
  }
  checkTlsConfig(entry.tls, check);
}

export const redis: EventSourceKind<RedisEventSpec> = {
  key: "redis",
  schema: RedisEventSchema,
  runs: true,
  recreate: true,
  validate,
  graph: {
    detail: (s) => `channels ${Array.isArray(s.channels) ? s.channels.join(", ") : "?"}`,
  },
  load: () => import("./runtime.js"),
};
