/**
 * Argo Events v1alpha1 manifests as sensorbus reads them. Field names are Argo's, unchanged.
 * The JSON Schemas in config/schema/ validate documents against these shapes.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export interface SecretKeySelector {
  name: string;
  key: string;
  optional?: boolean;
}
export type ConfigMapKeySelector = SecretKeySelector;

export interface EventSourceFilter {
  expression?: string;
}

export interface WebhookEventSpec {
  port: string;
  endpoint: string;
  method?: string;
  url?: string;
  authSecret?: SecretKeySelector;
  maxPayloadSize?: number;
  metadata?: Record<string, string>;
  serverCertSecret?: SecretKeySelector;
  serverKeySecret?: SecretKeySelector;
  /** sensorbus extension (Argo has no signature check): HMAC of the raw body in a header. */
  hmac?: WebhookHmac;
  filter?: EventSourceFilter;
  [k: string]: unknown;
}

/** `hmac` of a webhook entry; see docs/webhook-security.md. */
export interface WebhookHmac {
  secret: SecretKeySelector;
  /** Default `X-Hub-Signature-256` (`X-Hub-Signature` for sha1, `X-Hub-Signature-512`). */
  header?: string;
  /** Default sha256. */
  algorithm?: "sha1" | "sha256" | "sha512";
  /** Text before the hex digest; default `<algorithm>=` (GitHub), "" for a bare digest. */
  prefix?: string;
  /** Signed timestamp and replay bound (docs/webhook-security.md); off when absent. */
  timestamp?: WebhookHmacTimestamp;
}

/** `hmac.timestamp`: the signature covers a Unix-seconds timestamp header; old requests are refused. */
export interface WebhookHmacTimestamp {
  /** Header carrying the Unix time in seconds, e.g. X-Signature-Timestamp. */
  header: string;
  /** Oldest (and furthest in the future) accepted timestamp, a Go duration; default 5m. */
  maxAge?: string;
  /** What is signed: `{timestamp}` and `{body}` placeholders; default `{timestamp}.{body}`. */
  signed?: string;
}

export interface PubSubEventSpec {
  projectID?: string;
  topicProjectID?: string;
  topic?: string;
  subscriptionID?: string;
  credentialSecret?: SecretKeySelector;
  deleteSubscriptionOnFinish?: boolean;
  jsonBody?: boolean;
  metadata?: Record<string, string>;
  filter?: EventSourceFilter;
  [k: string]: unknown;
}

export interface CalendarEventSpec {
  schedule?: string;
  interval?: string;
  timezone?: string;
  exclusionDates?: string[];
  metadata?: Record<string, string>;
  persistence?: {
    catchup?: { enabled?: boolean; maxDuration?: string };
    configMap?: { name?: string; createIfNotExist?: boolean };
  };
  filter?: EventSourceFilter;
  [k: string]: unknown;
}

export interface ResourceEventSpec {
  namespace?: string;
  group?: string;
  version: string;
  resource: string;
  eventTypes?: string[];
  filter?: {
    prefix?: string;
    labels?: Array<{ key: string; operation?: string; value?: string }>;
    fields?: Array<{ key: string; operation?: string; value?: string }>;
    createdBy?: string;
    afterStart?: boolean;
  };
  metadata?: Record<string, string>;
  [k: string]: unknown;
}

export interface EventSourceSpec {
  eventBusName?: string;
  replicas?: number;
  webhook?: Record<string, WebhookEventSpec>;
  pubSub?: Record<string, PubSubEventSpec>;
  calendar?: Record<string, CalendarEventSpec>;
  resource?: Record<string, ResourceEventSpec>;
  [k: string]: unknown;
}

export interface EventSourceManifest {
  apiVersion: string;
  kind: "EventSource";
  metadata: ObjectMeta;
  spec: EventSourceSpec;
}

export interface DataFilter {
  path: string;
  type: string;
  value?: string[];
  comparator?: string;
  template?: string;
}

export interface ExprFilter {
  expr: string;
  fields?: Array<{ name: string; path: string }>;
}

export interface EventContextFilter {
  type?: string;
  subject?: string;
  source?: string;
  datacontenttype?: string;
}

export interface TimeFilter {
  start: string;
  stop: string;
  timezone?: string;
}

export interface EventDependencyFilter {
  time?: TimeFilter;
  context?: EventContextFilter;
  data?: DataFilter[];
  exprs?: ExprFilter[];
  dataLogicalOperator?: string;
  exprLogicalOperator?: string;
  script?: string;
}

export interface EventDependency {
  name: string;
  eventSourceName: string;
  eventName: string;
  filters?: EventDependencyFilter;
  filtersLogicalOperator?: string;
  transform?: { jq?: string; script?: string };
}

export interface TriggerParameterSource {
  dependencyName: string;
  contextKey?: string;
  contextTemplate?: string;
  dataKey?: string;
  dataTemplate?: string;
  value?: string;
  useRawData?: boolean;
}

export interface TriggerParameter {
  src: TriggerParameterSource;
  dest: string;
  operation?: string;
}

export interface ArtifactLocation {
  inline?: string;
  file?: { path: string };
  url?: { path: string; verifyCert?: boolean };
  configmap?: ConfigMapKeySelector;
  resource?: unknown;
  s3?: unknown;
  git?: unknown;
}

export interface ArgoWorkflowTrigger {
  source?: ArtifactLocation;
  operation?: string;
  parameters?: TriggerParameter[];
  args?: string[];
  /** sensorbus extension (like a CronWorkflow's): Allow (default), Forbid or Replace. */
  concurrencyPolicy?: string;
  [k: string]: unknown;
}

export interface K8sTrigger {
  source?: ArtifactLocation;
  operation?: string;
  parameters?: TriggerParameter[];
  patchStrategy?: string;
  liveObject?: boolean;
  [k: string]: unknown;
}

export interface HttpTrigger {
  url: string;
  method?: string;
  payload?: TriggerParameter[];
  parameters?: TriggerParameter[];
  headers?: Record<string, string>;
  secureHeaders?: Array<{
    name: string;
    valueFrom?: { secretKeyRef?: SecretKeySelector; configMapKeyRef?: ConfigMapKeySelector };
  }>;
  dynamicHeaders?: TriggerParameter[];
  basicAuth?: { username?: SecretKeySelector; password?: SecretKeySelector };
  tls?: {
    caCertSecret?: SecretKeySelector;
    clientCertSecret?: SecretKeySelector;
    clientKeySecret?: SecretKeySelector;
    insecureSkipVerify?: boolean;
  };
  timeout?: number;
  host?: string;
  [k: string]: unknown;
}

export interface LogTrigger {
  intervalSeconds?: number;
}

export interface ConditionsResetCriteria {
  byTime?: { cron: string; timezone?: string };
}

/** Argo's precedence when several trigger kinds are set on one template (§4.2): the first present wins. */
export const KIND_PRECEDENCE = [
  "k8s",
  "argoWorkflow",
  "http",
  "awsLambda",
  "azureEventHubs",
  "azureServiceBus",
  "kafka",
  "pulsar",
  "nats",
  "slack",
  "openWhisk",
  "custom",
  "log",
  "email",
] as const;

/**
 * sensorbus extension (not in Argo): keyed correlation. The condition is evaluated per correlation
 * key; partial matches expire `window` after the key's first event (docs/correlation.md).
 */
export interface CorrelationConfig {
  /** Go duration, e.g. "30m". */
  window: string;
  /** Default key for every dependency: a gjson path into the event data, or `ce:<attribute>`. */
  key?: string;
  /** Per dependency name, overriding `key`. */
  keys?: Record<string, string>;
}

export interface TriggerTemplate {
  name: string;
  conditions?: string;
  conditionsReset?: ConditionsResetCriteria[];
  /** sensorbus extension: keyed correlation. */
  correlation?: CorrelationConfig;
  argoWorkflow?: ArgoWorkflowTrigger;
  k8s?: K8sTrigger;
  http?: HttpTrigger;
  log?: LogTrigger;
  [k: string]: unknown;
}

export interface Backoff {
  steps?: number;
  /** A YAML integer is nanoseconds; a string is a Go duration. */
  duration?: number | string;
  factor?: number;
  jitter?: number;
}

export interface TriggerPolicy {
  k8s?: { backoff?: Backoff; labels?: Record<string, string>; errorOnBackoffTimeout?: boolean };
  status?: { allow?: number[] };
}

export interface Trigger {
  template?: TriggerTemplate;
  parameters?: TriggerParameter[];
  policy?: TriggerPolicy;
  retryStrategy?: Backoff;
  rateLimit?: { unit?: string; requestsPerUnit?: number };
  atLeastOnce?: boolean;
  dlqTrigger?: Trigger;
}

export interface SensorSpec {
  dependencies: EventDependency[];
  triggers: Trigger[];
  eventBusName?: string;
  replicas?: number;
  loggingFields?: Record<string, string>;
  errorOnFailedRound?: boolean;
  template?: unknown;
  [k: string]: unknown;
}

export interface SensorManifest {
  apiVersion: string;
  kind: "Sensor";
  metadata: ObjectMeta;
  spec: SensorSpec;
}

export type Manifest = EventSourceManifest | SensorManifest;

/** A manifest plus where it came from (for error messages). */
export interface Loaded<M extends Manifest = Manifest> {
  manifest: M;
  file: string;
  /** 0-based document index within the file. */
  doc: number;
}
