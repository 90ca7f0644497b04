import { publishPubSubMessage } from "../clients/pubsub.js";
import type { CloudEvent } from "../cloudevents/event.js";
import { newEventId, nowRfc3339Nano } from "../cloudevents/event.js";
import { ConfigError, errorMessage } from "../errors.js";
import type { NatsAuth } from "../eventbus/index.js";
import { checkSubjectToken, createBus } from "../eventbus/index.js";
import type { Logger } from "../observability/logger.js";

/** CloudEvent `type` of events sent with `sensorbus publish --bus` unless `type` is given. */
export const PUBLISH_CE_TYPE = "publish";

export interface PublishToBusOptions {
  /** `nats://...` URL list (see resolveBusUrl). The in-memory bus lives in one process: refused. */
  busUrl: string | undefined;
  /** NATS credentials and TLS settings (app/nats-options.ts). */
  busAuth?: NatsAuth;
  /** CloudEvent `source`: the EventSource name a Sensor dependency names in `eventSourceName`. */
  eventSource: string;
  /** CloudEvent `subject`: the event name a dependency names in `eventName`. */
  eventName: string;
  /** The event data, JSON text (what an EventSource would emit, e.g. `{"body":{...}}`). */
  data: string;
  /** Event id (dedupe key on the bus and in sensors); a fresh random one when omitted. */
  id?: string;
  /** CloudEvent `type` (default "publish"). Sensors do not match on it. */
  type?: string;
  log: Logger;
}

export interface PublishToBusResult {
  id: string;
  /** Stream sequence the bus assigned (of the earlier copy when `duplicate`). */
  seq: number;
  /** The bus already held an event with this id (dedupe window) and dropped this one. */
  duplicate: boolean;
}

/**
 * Puts one event on the bus as if EventSource `eventSource` had emitted it for entry
 * `eventName`: the same CloudEvent envelope (id, source, subject, time, datacontenttype) the
 * EventSource runner builds, published on `default.<eventSource>.<eventName>`. Entry-level
 * `filter.expression`s are not applied (there is no EventSource manifest here).
 *
 * Throws ConfigError for unusable input (no NATS URL, a name that cannot be a subject token,
 * data that is not JSON) and EventBusError when the bus is unreachable or did not store it.
 */
export async function publishToBus(opts: PublishToBusOptions): Promise<PublishToBusResult> {
  const problems: string[] = [];
  const url = opts.busUrl?.trim();
  if (!url || url.toLowerCase() === "memory") {
    problems.push(
      "bus: publishing needs a NATS JetStream bus (--bus nats://host:port or NATS_URL); the " +
        "in-memory bus exists only inside a running `sensorbus run`",
    );
  }
  for (const [what, name] of [
    ["--event-source", opts.eventSource],
    ["--event", opts.eventName],
  ] as const) {
    const problem = checkSubjectToken(what, name);
    if (problem) problems.push(problem);
  }
  try {
    JSON.parse(opts.data);
  } catch (err) {
    problems.push(`--data: not valid JSON (${errorMessage(err)})`);
  }
  if (opts.id !== undefined && opts.id.trim() === "") problems.push("--id: must not be empty");
  if (opts.type !== undefined && opts.type.trim() === "")
    problems.push("--type: must not be empty");
  if (problems.length > 0) throw new ConfigError(problems.join("; "), problems);

  // Same envelope as EventSourceRunner.emit (semantics §1.1).
  const event: CloudEvent = {
    specversion: "1.0",
    id: opts.id ?? newEventId(),
    source: opts.eventSource,
    subject: opts.eventName,
    type: opts.type ?? PUBLISH_CE_TYPE,
    time: nowRfc3339Nano(new Date()),
    datacontenttype: "application/json",
    data: opts.data,
  };
  const bus = await createBus(url, { log: opts.log, auth: opts.busAuth });
  try {
    const res = await bus.publish(event);
    opts.log.debug(
      {
        eventSourceName: event.source,
        eventName: event.subject,
        eventId: event.id,
        seq: res.seq,
        duplicate: res.duplicate,
      },
      res.duplicate ? "event was already on the bus (duplicate id)" : "event published",
    );
    return { id: event.id, seq: res.seq, duplicate: res.duplicate };
  } finally {
    await bus.close();
  }
}

export interface PublishToPubSubOptions {
  projectID: string;
  /** Topic ID or `projects/<project>/topics/<id>`. */
  topic: string;
  /** Message body, sent as its UTF-8 bytes unchanged (JSON for a `jsonBody: true` entry). */
  data: string;
  attributes?: Record<string, string>;
}

/**
 * Publishes one message to a GCP Pub/Sub topic (or the emulator named by PUBSUB_EMULATOR_HOST)
 * and resolves with its message id. The message reaches sensorbus through a `spec.pubSub`
 * EventSource entry subscribed to that topic.
 */
export async function publishToPubSub(opts: PublishToPubSubOptions): Promise<string> {
  return publishPubSubMessage({
    projectID: opts.projectID,
    topic: opts.topic,
    data: opts.data,
    ...(opts.attributes ? { attributes: opts.attributes } : {}),
  });
}

/**
 * Parses repeated `--attribute key=value` options into a map; the first `=` splits, so values
 * may contain `=`. Throws ConfigError naming each malformed entry.
 */
export function parseAttributes(pairs: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      problems.push(`--attribute: '${pair}' is not key=value`);
      continue;
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (problems.length > 0) throw new ConfigError(problems.join("; "), problems);
  return out;
}
