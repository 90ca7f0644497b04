import { err, join, str } from "../../config/findings.js";
import type { TemplateCheck, TriggerOutput } from "../../config/kinds.js";
import type { TriggerKindDescriptor } from "../kind.js";
import { type HttpTrigger, HttpTriggerSchema } from "./schema.js";

export { type HttpTrigger, HttpTriggerSchema, SecureHeader } from "./schema.js";

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
