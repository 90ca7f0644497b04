/**
 * Argo Events' defaults for fields a manifest may leave out, in one place (fastify's
 * `defaultInitOptions` idea). They are never written into manifest objects: parameters that
 * read whole templates must see what the user wrote. Runtime code reads them from here.
 */
export const DEFAULTS = Object.freeze({
  /** EventSource and Sensor `spec.eventBusName` */
  eventBusName: "default",
  webhook: Object.freeze({
    /** bytes (1 MiB); enforced on non-form POST bodies */
    maxPayloadSize: 1_048_576,
  }),
  pubSub: Object.freeze({
    /** `jsonBody: false`: the body is the message bytes as base64 */
    jsonBody: false,
  }),
  dependency: Object.freeze({
    /** `filtersLogicalOperator`, `dataLogicalOperator`, `exprLogicalOperator` */
    logicalOperator: "and",
  }),
  http: Object.freeze({
    method: "POST",
    /** seconds, whole request */
    timeoutSeconds: 60,
  }),
  k8s: Object.freeze({
    operation: "create",
    patchStrategy: "application/merge-patch+json",
  }),
  argoWorkflow: Object.freeze({
    /** applied at run time; validation requires `operation` to be set */
    operation: "submit",
  }),
  retryStrategy: Object.freeze({
    /** attempts when `retryStrategy` is absent */
    stepsWhenAbsent: 1,
    /** attempts when `steps` is 0 or missing */
    steps: 5,
    /** ms (1 s) */
    durationMs: 1000,
    factor: 1.0,
    jitter: 1,
  }),
  /** `policy.k8s.backoff` when absent */
  k8sPolicyBackoff: Object.freeze({
    steps: 5,
    /** ms (1 s) */
    durationMs: 1000,
    factor: 1.0,
    jitter: 1,
  }),
  trigger: Object.freeze({
    atLeastOnce: false,
    /** resource fetch (`source`) attempts */
    sourceFetchAttempts: 5,
    /** bytes (512 KiB) read from a `source.url` */
    urlSourceMaxBytes: 524_288,
  }),
  /** Prometheus port in every EventSource and Sensor process */
  metricsPort: 7777,
} as const);

export type Defaults = typeof DEFAULTS;
