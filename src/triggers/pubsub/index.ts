import { topicNameOf } from "../../clients/pubsub.js";
import { err, join, str, warn } from "../../config/findings.js";
import type { TemplateCheck, TriggerOutput } from "../../config/kinds.js";
import type { TriggerKindDescriptor } from "../kind.js";
import { type PubSubTrigger, PubSubTriggerSchema } from "./schema.js";

export { type PubSubTrigger, PubSubTriggerSchema } from "./schema.js";

/** Pub/Sub's limits on attributes (a message with more is refused by the server). */
const MAX_ATTRIBUTES = 100;
const MAX_KEY_BYTES = 256;
const MAX_VALUE_BYTES = 1024;

/** A parameter (trigger-level or the kind's own) writes `field` at firing time. */
function written(spec: PubSubTrigger, check: TemplateCheck, field: string): boolean {
  return (
    check.touches(`pubSub.${field}`) ||
    (spec.parameters ?? []).some((p) => p.dest === field || str(p.dest).startsWith(`${field}.`))
  );
}

function validate(spec: PubSubTrigger, check: TemplateCheck): void {
  check.report(
    warn(
      check.at,
      "pubSub is a sensorbus extension: Argo Events refuses a Sensor with this trigger, so it runs on sensorbus only",
    ),
  );
  const topic = str(spec.topic);
  if (written(spec, check, "topic")) {
    // judged when the firing renders it
  } else if (topic === "") {
    check.report(err(check.at, "topic can't be empty"));
  } else {
    // A placeholder project: only the topic's own form is judged here.
    for (const p of topicNameOf(str(spec.projectID) || "p", topic).problems) {
      check.report(err(join(check.at, "topic"), p.replace(/^topic: /, "")));
    }
  }
  if (spec.payload === undefined) check.report(err(check.at, "payload can't be nil"));
  check.parameters(spec.parameters, "parameters", "resource parameter");
  check.parameters(spec.payload, "payload", "payload", { emptyDest: true });
  const attributes = spec.attributes ?? {};
  if (Object.keys(attributes).length > MAX_ATTRIBUTES) {
    check.report(
      err(join(check.at, "attributes"), `at most ${MAX_ATTRIBUTES} attributes per message`),
    );
  }
  for (const [key, value] of Object.entries(attributes)) {
    const at = join(check.at, "attributes", key);
    if (key === "" || Buffer.byteLength(key) > MAX_KEY_BYTES) {
      check.report(err(at, `an attribute key is 1 to ${MAX_KEY_BYTES} bytes`));
    } else if (key.toLowerCase().startsWith("goog")) {
      check.report(err(at, "attribute keys starting with 'goog' are reserved by Google"));
    }
    if (Buffer.byteLength(str(value)) > MAX_VALUE_BYTES) {
      check.report(err(at, `an attribute value is at most ${MAX_VALUE_BYTES} bytes`));
    }
  }
  if (typeof spec.timeout === "number" && spec.timeout < 0) {
    check.report(err(join(check.at, "timeout"), "timeout can't be negative"));
  }
}

/**
 * The topic a firing publishes to (graph: a pubSub EventSource on the same topic receives it).
 * `project` only when the topic names it (full name or `projectID`).
 */
function outputs(spec: PubSubTrigger): TriggerOutput[] {
  const topic = str(spec.topic);
  if (topic === "") return [];
  const m = /^projects\/([^/]+)\/topics\/([^/]+)$/.exec(topic);
  const project = m ? m[1] : str(spec.projectID);
  return [
    {
      type: "message",
      broker: "pubSub",
      destination: m?.[2] ?? topic,
      ...(project ? { scope: project } : {}),
    },
  ];
}

export const pubSub: TriggerKindDescriptor<PubSubTrigger> = {
  key: "pubSub",
  schema: PubSubTriggerSchema,
  runs: true,
  validate,
  graph: {
    detail: (s) => `publish to ${str(s.topic) || "?"}`,
    outputs,
  },
  load: () => import("./runtime.js"),
};
