import {
  Int32,
  Int64,
  Manifest,
  NonEmptyString,
  Opaque,
  SecretKeySelector,
  StringMap,
  Struct,
} from "./common.js";
import { Type } from "./typebox.js";

/** Entry-level `filter` (expr-lang expression on the payload). */
export const EventSourceFilter = Struct({
  expression: Type.Optional(Type.String()),
});

/** sensorbus extension: HMAC signature of the raw request body (Argo manifests never set it). */
export const WebhookHmac = Struct(
  {
    secret: SecretKeySelector,
    header: Type.Optional(
      NonEmptyString("signature header; default X-Hub-Signature-256 (X-Hub-Signature for sha1)"),
    ),
    algorithm: Type.Optional(
      Type.Union([Type.Literal("sha1"), Type.Literal("sha256"), Type.Literal("sha512")], {
        description: "HMAC hash; default sha256",
      }),
    ),
    prefix: Type.Optional(
      Type.String({
        description: 'text before the hex digest; default "<algorithm>=", e.g. sha256=',
      }),
    ),
    timestamp: Type.Optional(
      Struct(
        {
          header: NonEmptyString(
            "header with the Unix time in seconds, e.g. X-Signature-Timestamp",
          ),
          maxAge: Type.Optional(
            Type.String({ description: "oldest accepted timestamp, a Go duration; default 5m" }),
          ),
          signed: Type.Optional(
            Type.String({
              description: 'signed text with {timestamp} and {body}; default "{timestamp}.{body}"',
            }),
          ),
        },
        "Signed timestamp: requests older than maxAge are refused (401), replays are deduplicated",
      ),
    ),
  },
  "Verify an HMAC of the raw body (GitHub style by default); 401 when missing or wrong",
);

/** WebhookContext plus `filter` (Argo's WebhookEventSource inlines the context). */
export const WebhookEventSource = Struct(
  {
    endpoint: NonEmptyString("exact request path, e.g. /orders"),
    method: Type.Optional(Type.String({ description: "required request method (case-sensitive)" })),
    port: NonEmptyString('port as a string of digits, e.g. "12000"'),
    url: Type.Optional(Type.String()),
    serverCertSecret: Type.Optional(SecretKeySelector),
    serverKeySecret: Type.Optional(SecretKeySelector),
    metadata: Type.Optional(StringMap()),
    authSecret: Type.Optional(SecretKeySelector),
    maxPayloadSize: Type.Optional(Int64("bytes; default 1048576")),
    hmac: Type.Optional(WebhookHmac),
    filter: Type.Optional(EventSourceFilter),
  },
  "One webhook endpoint",
);

export const PubSubEventSource = Struct(
  {
    projectID: Type.Optional(Type.String()),
    topicProjectID: Type.Optional(Type.String()),
    topic: Type.Optional(Type.String()),
    subscriptionID: Type.Optional(Type.String()),
    credentialSecret: Type.Optional(SecretKeySelector),
    deleteSubscriptionOnFinish: Type.Optional(Type.Boolean()),
    jsonBody: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(StringMap()),
    filter: Type.Optional(EventSourceFilter),
  },
  "One Google Cloud Pub/Sub subscription",
);

export const CalendarEventSource = Struct(
  {
    schedule: Type.Optional(Type.String({ description: "5-field cron" })),
    interval: Type.Optional(Type.String({ description: "Go duration" })),
    exclusionDates: Type.Optional(Type.Array(Type.String())),
    timezone: Type.Optional(Type.String()),
    metadata: Type.Optional(StringMap()),
    persistence: Type.Optional(
      Struct({
        catchup: Type.Optional(
          Struct({
            enabled: Type.Optional(Type.Boolean()),
            maxDuration: Type.Optional(Type.String()),
          }),
        ),
        configMap: Type.Optional(
          Struct({
            name: Type.Optional(Type.String()),
            createIfNotExist: Type.Optional(Type.Boolean()),
          }),
        ),
      }),
    ),
    filter: Type.Optional(EventSourceFilter),
  },
  "A schedule or interval timer",
);

const Selector = Struct({
  key: NonEmptyString(),
  operation: Type.Optional(Type.String()),
  value: Type.Optional(Type.String()),
});

export const ResourceEventSource = Struct(
  {
    namespace: Type.Optional(Type.String()),
    group: Type.Optional(Type.String()),
    version: NonEmptyString(),
    resource: NonEmptyString(),
    eventTypes: Type.Optional(Type.Array(Type.String(), { description: "ADD, UPDATE, DELETE" })),
    filter: Type.Optional(
      Struct({
        prefix: Type.Optional(Type.String()),
        labels: Type.Optional(Type.Array(Selector)),
        fields: Type.Optional(Type.Array(Selector)),
        createdBy: Type.Optional(Type.String({ description: "RFC 3339 time" })),
        afterStart: Type.Optional(Type.Boolean()),
      }),
    ),
    metadata: Type.Optional(StringMap()),
  },
  "A Kubernetes resource watch",
);

/** EventSource types sensorbus runs, as `spec.<key>`. */
export const SUPPORTED_EVENTSOURCE_TYPES = ["webhook", "pubSub", "calendar", "resource"] as const;

/** Argo EventSource types sensorbus does not run (accepted, warned about). */
export const OTHER_EVENTSOURCE_TYPES = [
  "minio",
  "file",
  "amqp",
  "kafka",
  "mqtt",
  "nats",
  "sns",
  "sqs",
  "github",
  "gitlab",
  "hdfs",
  "slack",
  "storageGrid",
  "azureEventsHub",
  "stripe",
  "emitter",
  "redis",
  "nsq",
  "pulsar",
  "generic",
  "bitbucketserver",
  "bitbucket",
  "redisStream",
  "azureServiceBus",
  "azureQueueStorage",
  "sftp",
  "gerrit",
  "mns",
] as const;

const otherTypes = Object.fromEntries(
  OTHER_EVENTSOURCE_TYPES.map((k) => [
    k,
    Type.Optional(Type.Record(Type.String(), Opaque(`${k} entry (not run by sensorbus)`))),
  ]),
);

export const EventSourceSpec = Struct({
  eventBusName: Type.Optional(Type.String()),
  template: Type.Optional(Opaque("pod template (ignored by sensorbus)")),
  service: Type.Optional(Opaque("Kubernetes Service (ignored by sensorbus)")),
  replicas: Type.Optional(Int32()),
  webhook: Type.Optional(Type.Record(Type.String(), WebhookEventSource)),
  pubSub: Type.Optional(Type.Record(Type.String(), PubSubEventSource)),
  calendar: Type.Optional(Type.Record(Type.String(), CalendarEventSource)),
  resource: Type.Optional(Type.Record(Type.String(), ResourceEventSource)),
  ...otherTypes,
});

export const EventSourceManifestSchema = Manifest("EventSource", EventSourceSpec);
