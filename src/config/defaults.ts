/**
 * Argo Events' defaults for fields a manifest may leave out, in one place (fastify's
 * `defaultInitOptions` idea). They are never written into manifest objects: parameters that
 * read whole templates must see what the user wrote. Runtime code reads every value from here
 * (test/unit/defaults.test.ts checks that each one is read). Fields that are off when absent
 * (`jsonBody`, `atLeastOnce`) are checked as `=== true` and need no entry; the retry back-off
 * defaults live with the one back-off implementation, below config/ in the layer order.
 */
export const DEFAULTS = Object.freeze({
  webhook: Object.freeze({
    /** bytes (1 MiB); enforced on non-form POST bodies */
    maxPayloadSize: 1_048_576,
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
  trigger: Object.freeze({
    /** resource fetch (`source.url`) attempts */
    sourceFetchAttempts: 5,
    /** bytes (512 KiB) read from a `source.url` */
    urlSourceMaxBytes: 524_288,
  }),
  /** Prometheus port in every EventSource and Sensor process (`--metrics-port`) */
  metricsPort: 7777,
} as const);

export type Defaults = typeof DEFAULTS;
