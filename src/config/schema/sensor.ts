import type { TSchema } from "typebox";
import {
  Backoff,
  BasicAuth,
  ConfigMapKeySelector,
  Int32,
  Int64,
  Manifest,
  NonEmptyString,
  Opaque,
  SecretKeySelector,
  StringMap,
  Struct,
  TLSConfig,
  Uint64,
} from "./common.js";
import { Type } from "./typebox.js";

// ----- dependencies ---------------------------------------------------------------------------

export const DataFilter = Struct({
  path: NonEmptyString("gjson path into the event data"),
  type: NonEmptyString("string | number | bool"),
  value: Type.Array(Type.String(), { minItems: 1 }),
  comparator: Type.Optional(Type.String({ description: "= != < <= > >= (empty means =)" })),
  template: Type.Optional(Type.String()),
});

export const ExprFilter = Struct({
  expr: NonEmptyString("govaluate expression"),
  fields: Type.Array(Struct({ name: NonEmptyString(), path: NonEmptyString() }), { minItems: 1 }),
});

export const EventContextFilter = Struct({
  id: Type.Optional(Type.String()),
  source: Type.Optional(Type.String()),
  specversion: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  datacontenttype: Type.Optional(Type.String()),
  subject: Type.Optional(Type.String()),
  time: Type.Optional(Type.String()),
});

export const TimeFilter = Struct({
  start: Type.String({ description: "hh:mm:ss" }),
  stop: Type.String({ description: "hh:mm:ss" }),
  timezone: Type.Optional(Type.String()),
});

export const EventDependencyFilter = Struct({
  time: Type.Optional(TimeFilter),
  context: Type.Optional(EventContextFilter),
  data: Type.Optional(Type.Array(DataFilter)),
  exprs: Type.Optional(Type.Array(ExprFilter)),
  dataLogicalOperator: Type.Optional(Type.String()),
  exprLogicalOperator: Type.Optional(Type.String()),
  script: Type.Optional(Type.String({ description: "Lua" })),
});

export const EventDependency = Struct({
  name: NonEmptyString(),
  eventSourceName: NonEmptyString(),
  eventName: NonEmptyString(),
  filters: Type.Optional(EventDependencyFilter),
  transform: Type.Optional(
    Struct({ jq: Type.Optional(Type.String()), script: Type.Optional(Type.String()) }),
  ),
  filtersLogicalOperator: Type.Optional(Type.String()),
});

// ----- parameters -----------------------------------------------------------------------------

export const TriggerParameterSource = Struct({
  dependencyName: NonEmptyString(),
  contextKey: Type.Optional(Type.String()),
  contextTemplate: Type.Optional(Type.String()),
  dataKey: Type.Optional(Type.String()),
  dataTemplate: Type.Optional(Type.String()),
  value: Type.Optional(Type.String()),
  useRawData: Type.Optional(Type.Boolean()),
});

/** `dest` is required everywhere except `http.payload` (checked in code, see validate.ts). */
export const TriggerParameter = Struct({
  src: TriggerParameterSource,
  dest: Type.Optional(Type.String({ description: "sjson path" })),
  operation: Type.Optional(Type.String({ description: "overwrite | append | prepend" })),
});

const Parameters = Type.Optional(Type.Array(TriggerParameter));

// ----- trigger kinds --------------------------------------------------------------------------

export const ArtifactLocation = Struct({
  s3: Type.Optional(Opaque("S3 artifact (not fetched by sensorbus)")),
  inline: Type.Optional(Type.String()),
  file: Type.Optional(Struct({ path: Type.Optional(Type.String()) })),
  url: Type.Optional(
    Struct({ path: Type.Optional(Type.String()), verifyCert: Type.Optional(Type.Boolean()) }),
  ),
  configmap: Type.Optional(ConfigMapKeySelector),
  git: Type.Optional(Opaque("git artifact")),
  resource: Type.Optional(Opaque("the Kubernetes object, inline")),
});

export const StandardK8STrigger = Struct({
  source: ArtifactLocation,
  operation: Type.Optional(Type.String({ description: "create | update | patch | delete" })),
  parameters: Parameters,
  patchStrategy: Type.Optional(Type.String()),
  liveObject: Type.Optional(Type.Boolean()),
});

export const ArgoWorkflowTrigger = Struct({
  source: ArtifactLocation,
  operation: Type.Optional(
    Type.String({
      description: "submit | submit-from | suspend | resume | retry | resubmit | terminate | stop",
    }),
  ),
  parameters: Parameters,
  args: Type.Optional(Type.Array(Type.String())),
  concurrencyPolicy: Type.Optional(
    Type.Union([Type.Literal("Allow"), Type.Literal("Forbid"), Type.Literal("Replace")], {
      description:
        "sensorbus extension, like a CronWorkflow's: Allow (default), Forbid (skip while this trigger's last Workflow runs) or Replace (terminate it, then submit)",
    }),
  ),
});

const SecureHeader = Struct({
  name: Type.Optional(Type.String()),
  valueFrom: Type.Optional(
    Struct({
      secretKeyRef: Type.Optional(SecretKeySelector),
      configMapKeyRef: Type.Optional(ConfigMapKeySelector),
    }),
  ),
});

export const HTTPTrigger = Struct({
  url: NonEmptyString(),
  payload: Parameters,
  tls: Type.Optional(TLSConfig),
  method: Type.Optional(Type.String({ description: "GET | POST | PUT | PATCH | DELETE" })),
  parameters: Parameters,
  timeout: Type.Optional(Int64("seconds; default 60")),
  basicAuth: Type.Optional(BasicAuth),
  headers: Type.Optional(StringMap()),
  secureHeaders: Type.Optional(Type.Array(SecureHeader)),
  dynamicHeaders: Parameters,
  host: Type.Optional(Type.String()),
});

export const LogTrigger = Struct({
  intervalSeconds: Type.Optional(Uint64()),
});

/**
 * Trigger kinds sensorbus does not execute. Only the fields Argo's validation reads are typed;
 * the rest of each object is accepted as written.
 */
const Loose = (props: Record<string, TSchema>) =>
  Type.Object(props, { additionalProperties: true });

export const OTHER_TRIGGER_KINDS = {
  awsLambda: Loose({
    functionName: Type.Optional(Type.String()),
    region: Type.Optional(Type.String()),
    payload: Parameters,
    parameters: Parameters,
  }),
  custom: Loose({
    serverURL: Type.Optional(Type.String()),
    secure: Type.Optional(Type.Boolean()),
    certSecret: Type.Optional(SecretKeySelector),
    spec: Type.Optional(StringMap()),
    parameters: Parameters,
    payload: Parameters,
  }),
  kafka: Loose({
    url: Type.Optional(Type.String()),
    topic: Type.Optional(Type.String()),
    partition: Type.Optional(Int32()),
    payload: Parameters,
    parameters: Parameters,
  }),
  nats: Loose({
    url: Type.Optional(Type.String()),
    subject: Type.Optional(Type.String()),
    payload: Parameters,
    parameters: Parameters,
  }),
  slack: Loose({ slackToken: Type.Optional(SecretKeySelector), parameters: Parameters }),
  openWhisk: Loose({
    host: Type.Optional(Type.String()),
    actionName: Type.Optional(Type.String()),
    authToken: Type.Optional(SecretKeySelector),
    payload: Parameters,
    parameters: Parameters,
  }),
  azureEventHubs: Loose({ payload: Parameters, parameters: Parameters }),
  pulsar: Loose({ payload: Parameters, parameters: Parameters }),
  azureServiceBus: Loose({ payload: Parameters, parameters: Parameters }),
  email: Loose({ port: Type.Optional(Int32()), parameters: Parameters }),
} as const;

/** sensorbus extension: keyed correlation (docs/correlation.md). */
export const Correlation = Struct(
  {
    window: Type.String({
      pattern: "^([0-9]+(\\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$",
      description: "Go duration: a key's partial match expires this long after its first event",
    }),
    key: Type.Optional(
      NonEmptyString("correlation key of every dependency: a gjson data path or ce:<attribute>"),
    ),
    keys: Type.Optional(
      Type.Record(Type.String(), NonEmptyString(), {
        description: "per dependency name: a gjson data path or ce:<attribute> (overrides key)",
      }),
    ),
  },
  "sensorbus extension: fire when the condition holds for one correlation key within window",
);

export const TriggerTemplate = Struct({
  name: NonEmptyString(),
  conditions: Type.Optional(Type.String({ description: "dependency names with && || ( )" })),
  correlation: Type.Optional(Correlation),
  k8s: Type.Optional(StandardK8STrigger),
  argoWorkflow: Type.Optional(ArgoWorkflowTrigger),
  http: Type.Optional(HTTPTrigger),
  log: Type.Optional(LogTrigger),
  conditionsReset: Type.Optional(
    Type.Array(
      Struct({
        byTime: Type.Optional(
          Struct({ cron: Type.Optional(Type.String()), timezone: Type.Optional(Type.String()) }),
        ),
      }),
    ),
  ),
  ...Object.fromEntries(Object.entries(OTHER_TRIGGER_KINDS).map(([k, s]) => [k, Type.Optional(s)])),
});

const TriggerPolicy = Struct({
  k8s: Type.Optional(
    Struct({
      labels: Type.Optional(StringMap()),
      backoff: Type.Optional(Backoff),
      errorOnBackoffTimeout: Type.Optional(Type.Boolean()),
    }),
  ),
  status: Type.Optional(Struct({ allow: Type.Optional(Type.Array(Int32())) })),
});

const RateLimit = Struct({
  unit: Type.Optional(Type.String({ description: "Second | Minute | Hour" })),
  requestsPerUnit: Type.Optional(Int32()),
});

/** `dlqTrigger` nests a Trigger; the schema is unrolled a few levels (deeper levels are opaque). */
function trigger(depth: number): TSchema {
  return Struct({
    template: TriggerTemplate,
    parameters: Parameters,
    policy: Type.Optional(TriggerPolicy),
    retryStrategy: Type.Optional(Backoff),
    rateLimit: Type.Optional(RateLimit),
    atLeastOnce: Type.Optional(Type.Boolean()),
    dlqTrigger: Type.Optional(depth > 0 ? trigger(depth - 1) : Opaque("nested dlqTrigger")),
  });
}

export const Trigger = trigger(3);

export const SensorSpec = Struct({
  dependencies: Type.Array(EventDependency, { minItems: 1 }),
  triggers: Type.Array(Trigger, { minItems: 1 }),
  template: Type.Optional(Opaque("pod template (ignored by sensorbus)")),
  errorOnFailedRound: Type.Optional(Type.Boolean()),
  eventBusName: Type.Optional(Type.String()),
  replicas: Type.Optional(Int32()),
  revisionHistoryLimit: Type.Optional(Int32()),
  loggingFields: Type.Optional(StringMap()),
});

export const SensorManifestSchema = Manifest("Sensor", SensorSpec);
