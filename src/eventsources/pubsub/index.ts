import { err, str } from "../../config/findings.js";
import type { EntryCheck, TriggerOutput } from "../../config/kinds.js";
import type { EventSourceKind } from "../kind.js";
import { PubSubEventSchema, type PubSubEventSpec } from "./schema.js";

export { PubSubEventSchema, type PubSubEventSpec } from "./schema.js";

function validate(entry: PubSubEventSpec, { at, report }: EntryCheck): void {
  if (str(entry.topicProjectID) !== "" && str(entry.topic) === "") {
    report(err(at, "you can't specify topicProjectID if you don't specify topic"));
  }
  if (str(entry.topic) === "" && str(entry.subscriptionID) === "") {
    report(err(at, "must specify topic or subscriptionID"));
  }
}

/** Whether the object's spec (container args, env, parameters...) names the topic as a word. */
function mentionsTopic(spec: unknown, topic: string): boolean {
  const escaped = topic.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`(^|[^A-Za-z0-9_-])${escaped}($|[^A-Za-z0-9_-])`);
  const walk = (v: unknown): boolean =>
    typeof v === "string"
      ? re.test(v)
      : Array.isArray(v)
        ? v.some(walk)
        : typeof v === "object" && v !== null && Object.values(v).some(walk);
  return walk(spec);
}

/**
 * A pubSub trigger publishing to the entry's topic (in the same project, when both name one), or
 * an object a trigger creates or changes (a Workflow) that names the topic: either publishes to it.
 */
function receives(spec: PubSubEventSpec, out: TriggerOutput): string | undefined {
  const topic = typeof spec.topic === "string" ? spec.topic : undefined;
  if (!topic) return undefined;
  if (out.type === "message") {
    if (out.broker !== "pubSub" || out.destination !== topic) return undefined;
    const project = str(spec.topicProjectID) || str(spec.projectID);
    return out.scope && project && out.scope !== project ? undefined : `publishes to ${topic}`;
  }
  if (out.type !== "object") return undefined;
  return mentionsTopic(out.manifest.spec, topic) ? `publishes to ${topic}` : undefined;
}

export const pubSub: EventSourceKind<PubSubEventSpec> = {
  key: "pubSub",
  schema: PubSubEventSchema,
  runs: true,
  recreate: true,
  validate,
  graph: { detail: (s) => `topic ${typeof s.topic === "string" ? s.topic : "?"}`, receives },
  load: () => import("./runtime.js"),
};
