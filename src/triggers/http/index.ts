import type { Static } from "typebox";
import { err, join, str } from "../../config/findings.js";
import type { TemplateCheck, TriggerOutput } from "../../config/kinds.js";
import {
  BasicAuth,
  ConfigMapKeySelector,
  Int64,
  NonEmptyString,
  SecretKeySelector,
  StringMap,
  Struct,
  TLSConfig,
} from "../../config/schema/common.js";
import { Parameters } from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { TriggerParameter } from "../../config/types.js";
import type { TriggerKindDescriptor } from "../kind.js";

const SecureHeader = Struct({
  name: Type.Optional(Type.String()),
  valueFrom: Type.Optional(
    Struct({
      secretKeyRef: Type.Optional(SecretKeySelector),
      configMapKeyRef: Type.Optional(ConfigMapKeySelector),
    }),
  ),
});

export const HttpTriggerSchema = Struct({
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

/**
 * The schema's shape, with the shared Argo structs as the runtime reads them after validate
 * (config/types.ts: parameters with a `dest`, sources with a path).
 */
export type HttpTrigger = Omit<
  Static<typeof HttpTriggerSchema>,
  "parameters" | "payload" | "dynamicHeaders" | "secureHeaders"
> & {
  parameters?: TriggerParameter[];
  payload?: TriggerParameter[];
  dynamicHeaders?: TriggerParameter[];
  secureHeaders?: Array<Omit<Static<typeof SecureHeader>, "name"> & { name: string }>;
};

const METHODS = new Set(["GET", "DELETE", "PATCH", "POST", "PUT"]);

function validate(spec: HttpTrigger, check: TemplateCheck): void {
  const method = str(spec.method);
  if (method !== "" && !METHODS.has(method)) {
    check.report(
      err(join(check.at, "method"), "only GET, DELETE, PATCH, POST and PUT methods are supported"),
    );
  }
  check.parameters(spec.parameters, "parameters", "resource parameter");
  check.parameters(spec.payload, "payload", "payload", { emptyDest: true });
  check.parameters(spec.dynamicHeaders, "dynamicHeaders", "", { argoChecks: false });
}

const text = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;

/** The request a firing sends (graph: a webhook entry on the same port and path receives it). */
function outputs(spec: HttpTrigger): TriggerOutput[] {
  const url = text(spec.url);
  if (!url) return [];
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === "https:" ? "443" : "80");
    return [
      {
        type: "request",
        method: text(spec.method) ?? "POST",
        port,
        path: decodeURIComponent(u.pathname),
      },
    ];
  } catch {
    return [];
  }
}

export const http: TriggerKindDescriptor<HttpTrigger> = {
  key: "http",
  schema: HttpTriggerSchema,
  runs: true,
  policy: "status",
  validate,
  graph: {
    detail: (s) => `${text(s.method) ?? "POST"} ${text(s.url) ?? "?"}`,
    outputs,
  },
  load: () => import("./runtime.js"),
};
