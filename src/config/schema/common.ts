import type { TProperties, TSchema } from "typebox";
import { Type } from "./typebox.js";

/*
 * Building blocks shared by the EventSource and Sensor schemas.
 *
 * The schemas describe what Go's JSON decoder accepts for Argo's v1alpha1 structs: a wrong type
 * (a number where Argo has a string, a negative uint) makes Argo fail to decode the object, so it
 * is an error; `required` and `minLength`/`minItems` are used only where Argo's own validation
 * refuses a missing or empty value. Every struct is closed (`additionalProperties: false`): the
 * loader turns those findings into warnings, because Go silently drops unknown fields.
 */

/** A Go struct: known fields only; unknown ones are reported (as warnings) by the loader. */
export function Struct<P extends TProperties>(properties: P, description?: string) {
  return Type.Object(properties, {
    additionalProperties: false,
    ...(description === undefined ? {} : { description }),
  });
}

export const NonEmptyString = (description?: string) =>
  Type.String({ minLength: 1, ...(description === undefined ? {} : { description }) });

/** Go int32: out-of-range numbers fail to decode. */
export const Int32 = (description?: string) =>
  Type.Integer({
    minimum: -2147483648,
    maximum: 2147483647,
    ...(description === undefined ? {} : { description }),
  });

/** Go int64 (JavaScript numbers are exact up to 2^53; larger values are accepted as written). */
export const Int64 = (description?: string) =>
  Type.Integer(description === undefined ? {} : { description });

/** Go uint64: negative numbers fail to decode. */
export const Uint64 = (description?: string) =>
  Type.Integer({ minimum: 0, ...(description === undefined ? {} : { description }) });

/** `map[string]string` */
export const StringMap = (description?: string) =>
  Type.Record(Type.String(), Type.String(), description === undefined ? {} : { description });

/** An opaque JSON value Argo keeps as raw bytes or decodes into Kubernetes types we do not check. */
export const Opaque = (description?: string) =>
  Type.Unknown(description === undefined ? {} : { description });

/** corev1.SecretKeySelector (`optional` is accepted and, as in Argo, means nothing here). */
export const SecretKeySelector = Struct(
  {
    name: Type.String({ description: "Secret name" }),
    key: Type.String({ description: "key within the Secret" }),
    optional: Type.Optional(Type.Boolean()),
  },
  "Reference to one key of a Secret",
);

export const ConfigMapKeySelector = Struct(
  {
    name: Type.String({ description: "ConfigMap name" }),
    key: Type.String({ description: "key within the ConfigMap" }),
    optional: Type.Optional(Type.Boolean()),
  },
  "Reference to one key of a ConfigMap",
);

/** metav1.ObjectMeta: only the fields sensorbus reads are typed; the rest is Kubernetes' business. */
export const ObjectMeta = Type.Object(
  {
    name: NonEmptyString("object name"),
    namespace: Type.Optional(Type.String()),
    labels: Type.Optional(StringMap()),
    annotations: Type.Optional(StringMap()),
  },
  { additionalProperties: true },
);

/** Argo `Backoff`. `duration`: YAML integer = nanoseconds, string = Go duration. */
export const Backoff = Struct(
  {
    duration: Type.Optional(
      Type.Union([Int64(), Type.String()], {
        description: 'initial wait: an integer is nanoseconds, a string a Go duration ("2s")',
      }),
    ),
    factor: Type.Optional(
      Opaque("multiplier per attempt; must be a YAML number (a quoted value fails at run time)"),
    ),
    jitter: Type.Optional(
      Opaque("random extra fraction per wait; must be a YAML number (quoted fails at run time)"),
    ),
    steps: Type.Optional(Int32("maximum attempts (0 means 5)")),
  },
  "Retry/backoff settings",
);

export const TLSConfig = Struct({
  caCertSecret: Type.Optional(SecretKeySelector),
  clientCertSecret: Type.Optional(SecretKeySelector),
  clientKeySecret: Type.Optional(SecretKeySelector),
  insecureSkipVerify: Type.Optional(Type.Boolean()),
  enabled: Type.Optional(Type.Boolean()),
});

export const BasicAuth = Struct({
  username: Type.Optional(SecretKeySelector),
  password: Type.Optional(SecretKeySelector),
});

/** The top-level fields every manifest has. */
export function Manifest(kind: string, spec: TSchema) {
  return Type.Object(
    {
      apiVersion: Type.Literal("argoproj.io/v1alpha1"),
      kind: Type.Literal(kind),
      metadata: ObjectMeta,
      spec,
      status: Type.Optional(Opaque("written by the Argo controller; ignored")),
    },
    { additionalProperties: false, $id: `argoproj.io/v1alpha1/${kind}` },
  );
}
