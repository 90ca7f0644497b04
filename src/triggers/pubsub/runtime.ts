import { createHash } from "node:crypto";
import {
  detectProjectId,
  newPubSubClient,
  PUBLISH_TIMEOUT_MS,
  type PubSub,
  parseCredentials,
  publishWith,
  topicNameOf,
} from "../../clients/pubsub.js";
import { EventsError, errorMessage, TriggerError } from "../../errors.js";
import { constructPayloadFor, setRenderedBody, withOwnParameters } from "../payload.js";
import type { ExecContext, FiringContext, Rendered, TriggerKind, TriggerResult } from "../types.js";
import type { PubSubTrigger } from "./schema.js";

/** Attribute names the pubSub EventSource reads a correlation ID from (the first is written). */
const CORRELATION_ATTRIBUTES = ["correlation_id", "correlationid"];

interface PubSubDetail {
  projectID: string;
  topic: string;
  data: string;
  attributes: Record<string, string>;
  /** Service-account key JSON from `credentialSecret` (never logged or journalled). */
  credentials?: string;
  timeoutMs: number;
}

/** The firing's correlation ID as the `correlation_id` attribute unless one is set already. */
function withCorrelation(
  attributes: Record<string, string>,
  correlationId: string | undefined,
): Record<string, string> {
  if (!correlationId) return attributes;
  const keys = Object.keys(attributes).map((k) => k.toLowerCase());
  if (CORRELATION_ATTRIBUTES.some((a) => keys.includes(a))) return attributes;
  return { ...attributes, [CORRELATION_ATTRIBUTES[0]!]: correlationId };
}

/**
 * The pubSub trigger (sensorbus extension): publishes the rendered `payload` (built as the http
 * trigger builds its body) to a Pub/Sub topic with `attributes`, the firing's correlation ID
 * (`correlation_id`) and W3C `traceparent`, which the pubSub EventSource of the next hop turns
 * back into CloudEvent extensions. One client per project and identity, kept for the process.
 * A missing topic fails the firing for good; an unreachable or overloaded service is retried.
 */
export function pubSubTrigger(): TriggerKind<PubSubTrigger> {
  const clients = new Map<string, Promise<PubSub>>();
  const keyOf = (d: PubSubDetail): string => {
    const who = d.credentials ? createHash("sha256").update(d.credentials).digest("hex") : "";
    return `${d.projectID}|${who}`;
  };
  const forget = (d: PubSubDetail): void => {
    const key = keyOf(d);
    const client = clients.get(key);
    clients.delete(key);
    void client?.then((c) => c.close()).catch(() => {});
  };
  const clientFor = (d: PubSubDetail): Promise<PubSub> => {
    const key = keyOf(d);
    let client = clients.get(key);
    if (!client) {
      const credentials = d.credentials
        ? parseCredentials(d.credentials, "pubSub.credentialSecret")
        : undefined;
      client = newPubSubClient({ projectID: d.projectID, credentials });
      clients.set(key, client);
    }
    return client;
  };

  return {
    kind: "pubSub",
    async render(template, ctx: FiringContext): Promise<Rendered> {
      const spec = withOwnParameters(template, ctx);
      const topic = typeof spec.topic === "string" ? spec.topic : "";
      if (topic === "")
        throw new TriggerError("SB_ERR_TRIGGER_RENDER", "pubSub trigger: topic is empty");
      const data = constructPayloadFor(spec.payload, ctx) ?? "";
      const attributes: Record<string, string> = {};
      for (const [k, v] of Object.entries(spec.attributes ?? {})) attributes[k] = String(v);
      const detail: PubSubDetail = {
        projectID: typeof spec.projectID === "string" ? spec.projectID : "",
        topic,
        data,
        attributes: withCorrelation(attributes, ctx.correlationId),
        timeoutMs:
          typeof spec.timeout === "number" && spec.timeout > 0
            ? spec.timeout * 1000
            : PUBLISH_TIMEOUT_MS,
      };
      if (spec.credentialSecret) {
        detail.credentials = await ctx.values.secret(
          spec.credentialSecret,
          "pubSub.credentialSecret",
        );
      }
      return setRenderedBody({ kind: "pubSub", detail }, data);
    },

    async execute(rendered: Rendered, ctx: ExecContext): Promise<TriggerResult> {
      const d = rendered.detail as PubSubDetail;
      const attributes = { ...d.attributes };
      if (
        ctx.traceparent &&
        !Object.keys(attributes).some((k) => k.toLowerCase() === "traceparent")
      )
        attributes.traceparent = ctx.traceparent;
      const client = await clientFor(d);
      const project = d.projectID || (await detectProjectId(client));
      if (!project && !d.topic.startsWith("projects/")) {
        throw new TriggerError(
          "SB_ERR_PUBSUB_PUBLISH",
          "pubSub trigger: projectID is not given and could not be determined from the credentials or the environment",
        );
      }
      const { name, problems } = topicNameOf(project ?? "", d.topic);
      if (problems.length > 0)
        throw new TriggerError("SB_ERR_PUBSUB_PUBLISH", `pubSub trigger: ${problems.join("; ")}`);
      let id: string;
      try {
        id = await publishWith(client, {
          topicName: name,
          data: d.data,
          attributes,
          timeoutMs: d.timeoutMs,
        });
      } catch (err) {
        const retryable = err instanceof EventsError ? err.retryable : true;
        // A fresh client for the next attempt: the old channel may sit in grpc-js's reconnect
        // back-off (tens of seconds after a few refused connections) after the service is back.
        if (retryable) forget(d);
        throw new TriggerError("SB_ERR_PUBSUB_PUBLISH", errorMessage(err), {
          retryable,
          cause: err,
        });
      }
      return {
        summary: `published message ${id} to ${name}`,
        detail: { topic: name, messageId: id },
      };
    },

    async close(): Promise<void> {
      const all = [...clients.values()];
      clients.clear();
      await Promise.allSettled(all.map(async (c) => (await c).close()));
    },
  };
}

/** The registry's entry point. */
export function createTrigger(): TriggerKind<PubSubTrigger> {
  return pubSubTrigger();
}
