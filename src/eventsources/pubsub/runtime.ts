import { createHash } from "node:crypto";
import {
  detectProjectId,
  GRPC_NOT_FOUND,
  grpcCode,
  loadPubSub,
  type Message,
  newPubSubClient,
  type PubSub,
  parseCredentials,
  type Subscription,
} from "../../clients/pubsub.js";
import { ConfigError, EventsError, errorMessage } from "../../errors.js";
import { goCompact, goMarshal, goQuote } from "../../lib/gojson.js";
import { formatGoTime } from "../../lib/gotime.js";
import { fnv32a } from "../../lib/hash.js";
import type { Logger } from "../../observability/logger.js";
import { startEntries } from "../entries.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import type { PubSubEventSpec } from "./schema.js";

/**
 * GCP Pub/Sub EventSource (`spec.pubSub.<eventName>`, semantics §2.2). One streaming-pull
 * subscriber per entry; a message is acked only after `ctx.emit` resolved and nacked when it
 * rejected, so the bus never silently misses an accepted message.
 *
 * `PUBSUB_EMULATOR_HOST` points the client library at an emulator (it switches to plaintext and
 * skips credentials). `SENSORBUS_PUBSUB_MAX_OUTSTANDING` bounds the messages held (leased, not yet
 * acked) per entry; Argo's schema has no field for it.
 */

/** Messages leased but not yet acked, per entry, when SENSORBUS_PUBSUB_MAX_OUTSTANDING is unset. */
export const DEFAULT_MAX_OUTSTANDING = 1000;
/** Longest wait (30 s) in stop() for in-flight emits before the remaining messages are nacked. */
const CLOSE_TIMEOUT_SECONDS = 30;
const DELETED_TOPIC = "_deleted-topic_";

/** The parts of a received message the payload is built from (a library `Message` fits). */
export interface PubSubMessageLike {
  id: string;
  data: Uint8Array;
  attributes?: Readonly<Record<string, string>> | null;
  /** Publish time; a PreciseDate keeps its sub-millisecond digits. */
  publishTime: Date;
}

/** The payload could not be built (jsonBody set but the message is not JSON). Not retryable. */
export class PubSubPayloadError extends EventsError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("SB_ERR_EVENTSOURCE_PAYLOAD", message, { ...options, retryable: false });
    this.name = "PubSubPayloadError";
  }
}

/**
 * The event payload Argo's Go code marshals: struct field order `id, body, attributes,
 * publishTime, metadata`, maps with sorted keys, HTML characters escaped. An empty message body
 * is `null` (Go sees a nil byte slice), as are empty attributes (a nil map).
 * Throws PubSubPayloadError when `spec.jsonBody` is set and the body is not valid JSON.
 */
export function buildPubSubPayload(
  msg: PubSubMessageLike,
  spec: Pick<PubSubEventSpec, "jsonBody" | "metadata">,
): string {
  const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  let body: string;
  if (data.length === 0) {
    body = "null";
  } else if (spec.jsonBody) {
    try {
      body = goCompact(data.toString("utf8"));
    } catch (err) {
      throw new PubSubPayloadError(
        `message ${msg.id}: jsonBody is set but the body is not valid JSON (${errorMessage(err)})`,
        {
          cause: err,
        },
      );
    }
  } else {
    body = goQuote(data.toString("base64"));
  }
  const attributes =
    msg.attributes && Object.keys(msg.attributes).length > 0 ? goMarshal(msg.attributes) : "null";
  const metadata =
    spec.metadata && Object.keys(spec.metadata).length > 0
      ? `,"metadata":${goMarshal(spec.metadata)}`
      : "";
  const publishTime = goQuote(formatGoTime(msg.publishTime, nanosOfSecond(msg.publishTime)));
  return `{"id":${goQuote(msg.id)},"body":${body},"attributes":${attributes},"publishTime":${publishTime}${metadata}}`;
}

/** Nanosecond-of-second of a Date, using PreciseDate's extra digits when present. */
function nanosOfSecond(d: Date): number {
  const precise = d as Date & { getMicroseconds?: () => number; getNanoseconds?: () => number };
  const micro = typeof precise.getMicroseconds === "function" ? precise.getMicroseconds() : 0;
  const nano = typeof precise.getNanoseconds === "function" ? precise.getNanoseconds() : 0;
  return d.getUTCMilliseconds() * 1_000_000 + micro * 1000 + nano;
}

/**
 * Argo's generated subscription ID: `<eventName>-<fnv32a(eventName + json(spec))>` in unsigned
 * decimal. Argo hashes after filling defaults, so `spec` must already carry `projectID` (and
 * `topicProjectID` when `topic` is set); `subscriptionID` is hashed as empty. The JSON is Go's
 * encoding of PubSubEventSource: field order as declared, `omitempty` where Argo has it.
 */
export function defaultSubscriptionId(eventName: string, spec: PubSubEventSpec): string {
  return `${eventName}-${fnv32a(eventName + pubSubSpecJson(spec))}`;
}

function pubSubSpecJson(spec: PubSubEventSpec): string {
  const parts = [
    `"projectID":${goQuote(spec.projectID ?? "")}`,
    `"topicProjectID":${goQuote(spec.topicProjectID ?? "")}`,
    `"topic":${goQuote(spec.topic ?? "")}`,
    `"subscriptionID":""`,
  ];
  const cred = spec.credentialSecret;
  if (cred) {
    // corev1.SecretKeySelector: inlined LocalObjectReference{name,omitempty}, key, optional *bool.
    const credParts: string[] = [];
    if (cred.name) credParts.push(`"name":${goQuote(cred.name)}`);
    credParts.push(`"key":${goQuote(cred.key ?? "")}`);
    if (typeof cred.optional === "boolean") credParts.push(`"optional":${cred.optional}`);
    parts.push(`"credentialSecret":{${credParts.join(",")}}`);
  }
  if (spec.deleteSubscriptionOnFinish) parts.push(`"deleteSubscriptionOnFinish":true`);
  if (spec.jsonBody) parts.push(`"jsonBody":true`);
  if (spec.metadata && Object.keys(spec.metadata).length > 0)
    parts.push(`"metadata":${goMarshal(spec.metadata)}`);
  if (spec.filter) {
    const expr = spec.filter.expression;
    parts.push(`"filter":${expr ? `{"expression":${goQuote(expr)}}` : "{}"}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * sensorbus: the CloudEvent id of a message, 32 lowercase hex chars from SHA-256 of the full
 * subscription name and the message id, so a redelivered message gets the same id and the bus
 * dedupe window and sensors absorb it.
 */
export function pubSubEventId(subscriptionName: string, messageId: string): string {
  return createHash("sha256")
    .update(subscriptionName)
    .update("\u0000")
    .update(messageId)
    .digest("hex")
    .slice(0, 32);
}

/** Trace and correlation attributes carried over as CloudEvent extensions. */
export function pubSubExtensions(
  attributes: Readonly<Record<string, string>> | null | undefined,
): Record<string, string> | undefined {
  if (!attributes) return undefined;
  const ext: Record<string, string> = {};
  const traceparent = attributes.traceparent ?? attributes.googclient_traceparent;
  if (traceparent) ext.traceparent = traceparent;
  const correlation = attributes.correlation_id ?? attributes.correlationid;
  if (correlation) ext.correlationid = correlation;
  return Object.keys(ext).length > 0 ? ext : undefined;
}

/** Validation Argo runs on each entry (§2.2), plus the field-level checks it implies. */
export function validatePubSubSpec(eventName: string, spec: PubSubEventSpec): string[] {
  const at = `spec.pubSub.${eventName}`;
  const problems: string[] = [];
  if (spec.topicProjectID && !spec.topic)
    problems.push(`${at}.topicProjectID: can't be set without topic`);
  if (!spec.topic && !spec.subscriptionID)
    problems.push(`${at}: must specify topic or subscriptionID`);
  return problems;
}

function maxOutstanding(): number {
  const raw = process.env.SENSORBUS_PUBSUB_MAX_OUTSTANDING;
  if (raw === undefined || raw === "") return DEFAULT_MAX_OUTSTANDING;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new ConfigError(
      `SENSORBUS_PUBSUB_MAX_OUTSTANDING must be a positive integer, got '${raw}'`,
    );
  }
  return n;
}

function startError(
  eventName: string,
  message: string,
  cause?: unknown,
  retryable = false,
): EventsError {
  return new EventsError("SB_ERR_EVENTSOURCE_START", `spec.pubSub.${eventName}: ${message}`, {
    retryable,
    ...(cause === undefined ? {} : { cause }),
  });
}

interface RunningEntry {
  eventName: string;
  client: PubSub;
  subscription: Subscription;
  deleteOnFinish: boolean;
  inflight: Set<Promise<void>>;
  log: Logger;
  /** Messages of this entry that failed in a row (reset by the next acked one). */
  failures: number;
}

/**
 * Before a failed message is nacked it is held for NACK_DELAY_MS * 2^(failures in a row - 1), at
 * most NACK_DELAY_MAX_MS: a nack means immediate redelivery, so while the bus is down (or for a
 * message that cannot become an event) nacking at once would spin through receive, fail and nack
 * as fast as Pub/Sub redelivers. A held message counts against flowControl, so no more arrive
 * meanwhile; the client keeps extending its ack deadline. Stopping nacks held messages at once.
 */
export const NACK_DELAY_MS = 250;
export const NACK_DELAY_MAX_MS = 10_000;

function nackDelay(failures: number): number {
  return Math.min(NACK_DELAY_MAX_MS, NACK_DELAY_MS * 2 ** Math.min(failures - 1, 16));
}

/** Holds `m` for the entry's back-off (cut short when the source stops), then nacks it. */
async function nackLater(entry: RunningEntry, m: Message, ctx: AdapterContext): Promise<void> {
  entry.failures++;
  await ctx.clock.sleep(nackDelay(entry.failures), ctx.signal);
  m.nack();
}

async function startEntry(
  eventName: string,
  rawSpec: PubSubEventSpec,
  ctx: AdapterContext,
  outstanding: number,
): Promise<RunningEntry> {
  const at = `spec.pubSub.${eventName}`;
  const problems = validatePubSubSpec(eventName, rawSpec);
  if (problems.length > 0) throw new ConfigError(`invalid pubSub entry '${eventName}'`, problems);

  const credentials = rawSpec.credentialSecret
    ? parseCredentials(
        await ctx.values.secret(rawSpec.credentialSecret, `${at}.credentialSecret`),
        `${at}.credentialSecret`,
      )
    : undefined;

  const { Duration } = await loadPubSub();
  const client = await newPubSubClient({ projectID: rawSpec.projectID, credentials });
  try {
    const spec: PubSubEventSpec = { ...rawSpec };
    if (!spec.projectID) {
      spec.projectID = await detectProjectId(client);
      if (!spec.projectID) {
        throw startError(
          eventName,
          "projectID is not given and could not be determined from the environment",
        );
      }
    }
    if (spec.topic && !spec.topicProjectID) spec.topicProjectID = spec.projectID;
    const subscriptionId = spec.subscriptionID || defaultSubscriptionId(eventName, spec);
    const subscriptionName = `projects/${spec.projectID}/subscriptions/${subscriptionId}`;
    const log = ctx.log.child({ eventName, subscription: subscriptionName });

    await prepareSubscription(eventName, client, spec, subscriptionName, log);

    const subscription = client.subscription(subscriptionName, {
      flowControl: { maxMessages: outstanding, allowExcessMessages: false },
      closeOptions: {
        behavior: "WAIT",
        timeout: Duration.from({ seconds: CLOSE_TIMEOUT_SECONDS }),
      },
    });
    const entry: RunningEntry = {
      eventName,
      client,
      subscription,
      deleteOnFinish: spec.deleteSubscriptionOnFinish === true,
      inflight: new Set(),
      log,
      failures: 0,
    };
    subscription.on("message", (m: Message) => {
      const p = handleMessage(entry, spec, subscriptionName, m, ctx)
        .catch((err: unknown) =>
          log.error({ err, messageId: m.id }, "Pub/Sub message handling failed"),
        )
        .finally(() => entry.inflight.delete(p));
      entry.inflight.add(p);
    });
    subscription.on("error", (err: unknown) => {
      // The library retries transient stream errors itself; what reaches us ends the stream.
      log.error({ err }, "Pub/Sub subscriber stopped receiving messages");
    });
    log.info(
      { jsonBody: spec.jsonBody === true, maxOutstanding: outstanding },
      "listening for Pub/Sub messages",
    );
    return entry;
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}

/**
 * Argo's start-up table: subscription exists and no topic => use it; exists and topic given =>
 * its topic must match; missing and topic given => create it (and the topic when missing);
 * missing without topic => error.
 */
async function prepareSubscription(
  eventName: string,
  client: PubSub,
  spec: PubSubEventSpec,
  subscriptionName: string,
  log: Logger,
): Promise<void> {
  const subscription = client.subscription(subscriptionName);
  let exists: boolean;
  let actualTopic: string | undefined;
  if (process.env.PUBSUB_EMULATOR_HOST) {
    try {
      const [meta] = await subscription.getMetadata();
      exists = true;
      actualTopic = meta.topic ?? undefined;
    } catch (err) {
      if (grpcCode(err) !== GRPC_NOT_FOUND) {
        throw startError(
          eventName,
          `cannot check whether subscription ${subscriptionName} exists`,
          err,
          true,
        );
      }
      exists = false;
    }
  } else {
    // Like Argo: testing the consume permission needs no subscriptions.get permission.
    try {
      const [perms] = await subscription.iam.testPermissions(["pubsub.subscriptions.consume"]);
      exists = perms["pubsub.subscriptions.consume"] === true;
      if (!exists)
        throw startError(eventName, `you lack permission to pull from ${subscriptionName}`);
    } catch (err) {
      if (err instanceof EventsError) throw err;
      if (grpcCode(err) !== GRPC_NOT_FOUND) {
        throw startError(
          eventName,
          `failed to test permission for subscription ${subscriptionName}`,
          err,
          true,
        );
      }
      exists = false;
    }
  }

  if (!spec.topic) {
    if (!exists) {
      throw startError(
        eventName,
        `subscription ${subscriptionName} does not exist; set topic so it can be created`,
      );
    }
    log.debug("subscription exists and no topic given");
    return;
  }

  const topicName = `projects/${spec.topicProjectID}/topics/${spec.topic}`;
  if (exists) {
    if (actualTopic === undefined) {
      try {
        const [meta] = await subscription.getMetadata();
        actualTopic = meta.topic ?? "";
      } catch (err) {
        throw startError(
          eventName,
          `failed to get subscription ${subscriptionName} for verifying topic`,
          err,
          true,
        );
      }
    }
    if (actualTopic === DELETED_TOPIC) {
      throw startError(eventName, `the topic of subscription ${subscriptionName} has been deleted`);
    }
    if (actualTopic !== topicName) {
      throw startError(
        eventName,
        `topic: subscription ${subscriptionName} belongs to topic ${actualTopic}, not ${topicName}`,
      );
    }
    log.debug("subscription exists and its topic matches");
    return;
  }

  try {
    await client.createSubscription(topicName, subscriptionName);
    log.info({ topic: topicName }, "created Pub/Sub subscription");
    return;
  } catch (err) {
    if (grpcCode(err) !== GRPC_NOT_FOUND) {
      throw startError(
        eventName,
        `failed to create subscription ${subscriptionName} for ${topicName}`,
        err,
        true,
      );
    }
  }
  try {
    await client.createTopic(topicName);
    log.info({ topic: topicName }, "created Pub/Sub topic");
  } catch (err) {
    throw startError(eventName, `failed to create topic ${topicName}`, err, true);
  }
  try {
    await client.createSubscription(topicName, subscriptionName);
    log.info({ topic: topicName }, "created Pub/Sub subscription");
  } catch (err) {
    throw startError(
      eventName,
      `failed to create subscription ${subscriptionName} for ${topicName}`,
      err,
      true,
    );
  }
}

async function handleMessage(
  entry: RunningEntry,
  spec: PubSubEventSpec,
  subscriptionName: string,
  m: Message,
  ctx: AdapterContext,
): Promise<void> {
  let data: string;
  try {
    data = buildPubSubPayload(m, spec);
  } catch (err) {
    // Argo nacks it too, so it is redelivered until it expires or a dead-letter policy on the
    // subscription takes it; acking would lose a message nobody has seen.
    entry.log.error(
      { err, messageId: m.id, failuresInARow: entry.failures + 1 },
      "cannot build the event payload; message nacked",
    );
    await nackLater(entry, m, ctx);
    return;
  }
  const extensions = pubSubExtensions(m.attributes);
  try {
    await ctx.emit(entry.eventName, {
      data,
      id: pubSubEventId(subscriptionName, m.id),
      ...(extensions ? { extensions } : {}),
    });
  } catch (err) {
    entry.log.warn(
      { err, messageId: m.id, failuresInARow: entry.failures + 1 },
      "event not accepted by the bus; message nacked for redelivery",
    );
    await nackLater(entry, m, ctx);
    return;
  }
  entry.failures = 0;
  m.ack();
}

async function stopEntry(entry: RunningEntry): Promise<void> {
  // WAIT close: the stream stops at once, then messages already handed to us get up to
  // CLOSE_TIMEOUT_SECONDS to be acked or nacked before the rest are nacked.
  try {
    await entry.subscription.close();
  } catch (err) {
    entry.log.warn({ err }, "error while closing the Pub/Sub subscriber");
  }
  await Promise.allSettled([...entry.inflight]);
  if (entry.deleteOnFinish) {
    try {
      await entry.subscription.delete();
      entry.log.info("deleted Pub/Sub subscription");
    } catch (err) {
      entry.log.error({ err }, "failed to delete the Pub/Sub subscription");
    }
  }
  try {
    await entry.client.close();
  } catch (err) {
    entry.log.warn({ err }, "error while closing the Pub/Sub client");
  }
}

export const pubSubAdapter: EventSourceAdapter<PubSubEventSpec> = {
  key: "pubSub",
  ceType: "pubsub",
  start(entries, ctx): Promise<RunningAdapter> {
    const outstanding = maxOutstanding();
    return startEntries(entries, ctx, {
      start: (eventName, spec, c) => startEntry(eventName, spec, c, outstanding),
      stop: stopEntry,
    });
  },
};

/** The registry's entry point. */
export function createAdapter(): EventSourceAdapter<PubSubEventSpec> {
  return pubSubAdapter;
}
