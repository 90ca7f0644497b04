import type { Static } from "typebox";
import {
  EventSourceFilter,
  Int64,
  NonEmptyString,
  SecretKeySelector,
  StringMap,
  Struct,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";

/** sensorbus extension: HMAC signature of the raw request body (Argo manifests never set it). */
export const WebhookHmacSchema = Struct(
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

/** Argo's WebhookContext fields: the webhook entry inlines them, github/gitlab hold them in `webhook`. */
const WEBHOOK_CONTEXT_FIELDS = {
  endpoint: NonEmptyString("exact request path, e.g. /orders"),
  method: Type.Optional(Type.String({ description: "required request method (case-sensitive)" })),
  port: NonEmptyString('port as a string of digits, e.g. "12000"'),
  url: Type.Optional(Type.String()),
  serverCertSecret: Type.Optional(SecretKeySelector),
  serverKeySecret: Type.Optional(SecretKeySelector),
  metadata: Type.Optional(StringMap()),
  authSecret: Type.Optional(SecretKeySelector),
  maxPayloadSize: Type.Optional(Int64("bytes; default 1048576")),
};

/** Argo's WebhookContext (`webhook:` of the github and gitlab kinds). */
export const WebhookContextSchema = Struct(
  WEBHOOK_CONTEXT_FIELDS,
  "The HTTP endpoint the provider delivers to (Argo's WebhookContext)",
);

/** WebhookContext plus `filter` (Argo's WebhookEventSource inlines the context). */
export const WebhookEventSchema = Struct(
  {
    ...WEBHOOK_CONTEXT_FIELDS,
    hmac: Type.Optional(WebhookHmacSchema),
    filter: Type.Optional(EventSourceFilter),
  },
  "One webhook endpoint",
);

/** `hmac` of a webhook entry; see docs/webhook-security.md. */
export type WebhookHmac = Static<typeof WebhookHmacSchema>;
export type WebhookEventSpec = Static<typeof WebhookEventSchema>;
export type WebhookContextSpec = Static<typeof WebhookContextSchema>;
