import type { PubSub } from "@google-cloud/pubsub";
import { ConfigError, EventsError, errorMessage } from "../errors.js";

/*
 * The one module that knows @google-cloud/pubsub (test/unit/import-rules.test.ts, VENDORS): the
 * pubSub EventSource (subscriber), the pubSub trigger and `sensorbus publish` (publishers) get
 * the library, its types and the publish call from here. The library itself is imported on first
 * use only, so `validate`, `replay` and `graph` never load it.
 *
 * `PUBSUB_EMULATOR_HOST` points every client at an emulator (the library then switches to
 * plaintext and skips credentials).
 */

export type { Message, PubSub, Subscription } from "@google-cloud/pubsub";

export const GRPC_NOT_FOUND = 5;

/** The gRPC status code of a library error, if it has one. */
export function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

let pubSubModule: Promise<typeof import("@google-cloud/pubsub")> | undefined;

/** The Pub/Sub client library, loaded when first needed. */
export function loadPubSub(): Promise<typeof import("@google-cloud/pubsub")> {
  pubSubModule ??= import("@google-cloud/pubsub");
  return pubSubModule;
}

export interface PubSubClientOptions {
  /** The client's project; absent: detected from the credentials or the environment. */
  projectID?: string | undefined;
  /** Service-account key JSON, parsed. */
  credentials?: Record<string, unknown> | undefined;
}

/** A client for one project and identity (close it when done). */
export async function newPubSubClient(opts: PubSubClientOptions): Promise<PubSub> {
  const { PubSub } = await loadPubSub();
  return new PubSub({
    ...(opts.projectID ? { projectId: opts.projectID } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
}

/**
 * The project a client without a `projectID` works in, as the library detects it from its
 * credentials or the environment; undefined when it cannot (the caller says which field to set).
 */
export async function detectProjectId(client: PubSub): Promise<string | undefined> {
  try {
    await client.getClientConfig();
  } catch {
    return undefined;
  }
  const id = client.projectId;
  return id && id !== "{{projectId}}" ? id : undefined;
}

/**
 * Service-account key JSON read from a Secret, parsed. Throws ConfigError naming `field` (never
 * the value) when it is not a JSON object.
 */
export function parseCredentials(text: string, field: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${field}: the secret is not service-account JSON`, [], { cause: err });
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) {
    throw new ConfigError(`${field}: the secret is not service-account JSON`, []);
  }
  return v as Record<string, unknown>;
}

/** Pub/Sub's rule for a topic ID. */
const TOPIC_ID = /^[A-Za-z][-A-Za-z0-9_.~+%]{2,254}$/;

/**
 * The full name `projects/<project>/topics/<id>` of `topic` (an ID, or already a full name), or
 * the problems with it.
 */
export function topicNameOf(
  projectID: string,
  topic: string,
): { name: string; problems: string[] } {
  const name = topic.startsWith("projects/") ? topic : `projects/${projectID}/topics/${topic}`;
  const match = /^projects\/([^/]+)\/topics\/([^/]+)$/.exec(name);
  const problems: string[] = [];
  if (!match) problems.push(`topic: '${topic}' is not a topic ID or projects/<p>/topics/<t>`);
  else if (!TOPIC_ID.test(match[2] ?? ""))
    problems.push(`topic: '${match[2]}' is not a valid Pub/Sub topic ID`);
  return { name, problems };
}

/** Default bound (15 s) on one publish, the library's own retries included. */
export const PUBLISH_TIMEOUT_MS = 15_000;

export interface PublishRequest {
  /** Full topic name, `projects/<project>/topics/<id>`. */
  topicName: string;
  /** Message body; a string is sent as its UTF-8 bytes, unchanged. */
  data: string | Uint8Array;
  attributes?: Readonly<Record<string, string>> | undefined;
  /** Longest the publish may take, the library's retries included, ms (default 15 s). */
  timeoutMs?: number | undefined;
}

/**
 * Publishes one message with `client` and resolves with the server's message id once the server
 * stored it (no batching: the message is sent at once). Rejects with ConfigError for a message
 * with neither body nor attributes, and with EventsError(SB_ERR_PUBSUB_PUBLISH) when the server
 * refused or could not be reached: `retryable` false when the topic does not exist, true
 * otherwise (unreachable, timed out, overloaded).
 */
export async function publishWith(client: PubSub, req: PublishRequest): Promise<string> {
  const data = typeof req.data === "string" ? Buffer.from(req.data, "utf8") : req.data;
  const attributes = req.attributes ? { ...req.attributes } : undefined;
  if (data.byteLength === 0 && (!attributes || Object.keys(attributes).length === 0)) {
    const problem = "data: a message needs a non-empty body or at least one attribute";
    throw new ConfigError(problem, [problem]);
  }
  try {
    const topic = client.topic(req.topicName, {
      // One message: send it now instead of waiting for a batch to fill.
      batching: { maxMessages: 1, maxMilliseconds: 0 },
      gaxOpts: { timeout: req.timeoutMs ?? PUBLISH_TIMEOUT_MS },
    });
    return await topic.publishMessage({
      data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      ...(attributes ? { attributes } : {}),
    });
  } catch (err) {
    const missing = grpcCode(err) === GRPC_NOT_FOUND;
    const where = process.env.PUBSUB_EMULATOR_HOST
      ? ` (emulator at ${process.env.PUBSUB_EMULATOR_HOST})`
      : "";
    throw new EventsError(
      "SB_ERR_PUBSUB_PUBLISH",
      missing
        ? `cannot publish to ${req.topicName}${where}: the topic does not exist`
        : // gax appends every earlier attempt's error: the last one says it.
          `cannot publish to ${req.topicName}${where}: ${errorMessage(err).split(" : Previous errors")[0]}`,
      { cause: err, retryable: !missing },
    );
  }
}

/** What `publishPubSubMessage` sends. */
export interface PubSubPublishOptions {
  /** Project of the topic (and of the client; the emulator accepts any). */
  projectID: string;
  /** Topic ID (`workflow-events`) or full name (`projects/<project>/topics/<id>`). */
  topic: string;
  /** Message body; a string is sent as its UTF-8 bytes, unchanged. */
  data: string | Uint8Array;
  attributes?: Readonly<Record<string, string>>;
  /** Longest the publish may take, retries included, ms (default 15 s). */
  timeoutMs?: number;
}

/**
 * Publishes one message with a client of its own (`sensorbus publish --pubsub-topic`, the
 * walk-through, tests). Rejects with ConfigError for a malformed topic or project, else as
 * `publishWith`.
 */
export async function publishPubSubMessage(opts: PubSubPublishOptions): Promise<string> {
  const { name, problems } = topicNameOf(opts.projectID, opts.topic);
  if (!opts.projectID) problems.unshift("project: a GCP project ID is required");
  if (problems.length > 0) throw new ConfigError(problems.join("; "), problems);
  const client = await newPubSubClient({ projectID: opts.projectID });
  try {
    return await publishWith(client, {
      topicName: name,
      data: opts.data,
      attributes: opts.attributes,
      timeoutMs: opts.timeoutMs,
    });
  } finally {
    await client.close().catch(() => {});
  }
}
