import { err, join, str, warn } from "../../config/findings.js";
import type { EntryCheck, TriggerOutput } from "../../config/kinds.js";
import { parseDuration } from "../../lib/duration.js";
import type { EventSourceKind } from "../kind.js";
import { type WebhookContextSpec, WebhookEventSchema, type WebhookEventSpec } from "./schema.js";

export {
  WebhookContextSchema,
  type WebhookContextSpec,
  WebhookEventSchema,
  type WebhookEventSpec,
  type WebhookHmac,
  WebhookHmacSchema,
} from "./schema.js";

function validate(entry: WebhookEventSpec, { at, report }: EntryCheck): void {
  const port = entry.port;
  if (typeof port === "string" && port !== "") {
    if (!/^[+-]?\d+$/.test(port) || !Number.isSafeInteger(Number(port))) {
      report(
        err(
          join(at, "port"),
          `failed to parse server port ${port}. err: strconv.Atoi: parsing ${JSON.stringify(port)}: invalid syntax`,
        ),
      );
    } else if (Number(port) < 0 || Number(port) > 65535) {
      report(warn(join(at, "port"), `port ${port} is outside 0-65535: the server cannot listen`));
    }
  }
  if (str(entry.method) === "") {
    report(warn(join(at, "method"), "method is empty: Argo answers every request with 400"));
  }
  if ((entry.serverCertSecret === undefined) !== (entry.serverKeySecret === undefined)) {
    report(
      warn(
        at,
        "only one of serverCertSecret and serverKeySecret is set: the endpoint serves plain HTTP",
      ),
    );
  }
  if (typeof entry.maxPayloadSize === "number" && entry.maxPayloadSize <= 0) {
    report(warn(join(at, "maxPayloadSize"), "maxPayloadSize <= 0 refuses every POST body"));
  }
  checkHmacTimestamp(entry, at, report);
}

/** Argo's FormattedURL: `webhook.url` joined with `webhook.endpoint`. */
export function hookUrl(w: { url?: string; endpoint?: string } | undefined): string {
  const url = str(w?.url).replace(/\/+$/, "");
  const endpoint = str(w?.endpoint);
  return `${url}${endpoint.startsWith("/") ? "" : "/"}${endpoint}`;
}

/**
 * What sensorbus does not do for a Git host's webhook entry whose hooks it does not register:
 * delete a hook it never registered, and verify deliveries when the entry names no secret.
 */
export function warnUnmanagedHook(
  entry: { deleteHookOnFinish?: boolean | undefined },
  secret: { field: string; value: unknown },
  at: string,
  report: EntryCheck["report"],
): void {
  if (entry.deleteHookOnFinish === true)
    report(
      warn(
        join(at, "deleteHookOnFinish"),
        "deleteHookOnFinish: sensorbus does not register hooks, so it deletes none on stop",
      ),
    );
  warnUnverified(secret, at, report);
}

/** No secret on a Git host's webhook entry: anyone who reaches the endpoint sends events. */
export function warnUnverified(
  secret: { field: string; value: unknown },
  at: string,
  report: EntryCheck["report"],
): void {
  if (secret.value === undefined)
    report(
      warn(
        join(at, secret.field),
        `no ${secret.field}: deliveries are not verified and anyone who can reach the endpoint can send events`,
      ),
    );
}

/**
 * The checks of a Git host entry whose hook sensorbus registers (github, gitlab): `registers` is
 * Argo's NeedToCreateHooks; `credentials` names the field that holds the API credentials.
 */
export function checkHookRegistration(
  entry: {
    webhook?: WebhookContextSpec | undefined;
    deleteHookOnFinish?: boolean | undefined;
  },
  opts: { provider: string; registers: boolean; credentials: string | undefined; targets: number },
  at: string,
  report: EntryCheck["report"],
): void {
  const url = str(entry.webhook?.url);
  if (url !== "" && !isHttpUrl(url))
    report(
      err(
        join(at, "webhook", "url"),
        `'${url}' is not an absolute http(s) URL: ${opts.provider} could not deliver to it`,
      ),
    );
  if (opts.credentials !== undefined && url === "")
    report(
      warn(
        join(at, "webhook", "url"),
        `webhook.url is empty: ${opts.credentials} is set but no hook is registered on ${opts.provider} (as in Argo); set webhook.url to the address ${opts.provider} delivers to`,
      ),
    );
  if (opts.registers && opts.targets === 0)
    report(warn(at, `no repository, project, organization or group named: no hook is registered`));
  if (entry.deleteHookOnFinish === true && !opts.registers)
    report(
      warn(
        join(at, "deleteHookOnFinish"),
        "deleteHookOnFinish: this entry registers no hook (it needs the API credentials and webhook.url), so none is deleted on stop",
      ),
    );
}

/** An absolute http or https URL (an API base or the URL a provider delivers to). */
export function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === "http:" || u.protocol === "https:") && u.host !== "";
  } catch {
    return false;
  }
}

/**
 * The graph detail of a Git host's webhook entry: `GitHub POST :12000/push [push, pull_request]`,
 * then, when it registers its hook, `· registers <url> on repository octo/hello` (`registers`: the
 * targets' labels).
 */
export function hookDetail(
  provider: string,
  spec: {
    webhook?: WebhookContextSpec | undefined;
    events?: string[] | undefined;
    deleteHookOnFinish?: boolean | undefined;
  },
  registers?: readonly string[],
): string {
  const w = spec.webhook;
  const events = (spec.events ?? []).length > 0 ? ` [${(spec.events ?? []).join(", ")}]` : "";
  const route = `${provider} ${text(w?.method) ?? "POST"} :${text(w?.port) ?? "?"}${text(w?.endpoint) ?? "/"}${events}`;
  if (registers === undefined) return route;
  const onStop = spec.deleteHookOnFinish === true ? " (deleted on stop)" : "";
  return `${route} · registers ${hookUrl(w)} on ${registers.join(", ") || "nothing"}${onStop}`;
}

/**
 * Argo's ValidateWebhookContext for the `webhook:` of github/gitlab entries (pkg/eventsources/
 * common/webhook/validate.go): present, endpoint and port non-empty, port an integer.
 */
export function validateWebhookContext(
  context: WebhookContextSpec | undefined,
  at: string,
  report: EntryCheck["report"],
): void {
  if (!context || typeof context !== "object") {
    report(err(at, "webhook is required: the endpoint the provider delivers to"));
    return;
  }
  if (str(context.endpoint) === "") report(err(join(at, "endpoint"), "endpoint can't be empty"));
  const port = context.port;
  if (str(port) === "") report(err(join(at, "port"), "port can't be empty"));
  else if (
    typeof port === "string" &&
    (!/^[+-]?\d+$/.test(port) || !Number.isSafeInteger(Number(port)))
  )
    report(
      err(
        join(at, "port"),
        `failed to parse server port ${port}. err: strconv.Atoi: parsing ${JSON.stringify(port)}: invalid syntax`,
      ),
    );
  else if (Number(port) < 0 || Number(port) > 65535)
    report(warn(join(at, "port"), `port ${port} is outside 0-65535: the server cannot listen`));
  if ((context.serverCertSecret === undefined) !== (context.serverKeySecret === undefined))
    report(
      warn(
        at,
        "only one of serverCertSecret and serverKeySecret is set: the endpoint serves plain HTTP",
      ),
    );
}

/** `hmac.timestamp` (sensorbus extension): what the webhook refuses at start, said up front. */
function checkHmacTimestamp(
  entry: WebhookEventSpec,
  at: string,
  report: EntryCheck["report"],
): void {
  const ts = entry.hmac && typeof entry.hmac === "object" ? entry.hmac.timestamp : undefined;
  if (!ts || typeof ts !== "object") return;
  const where = join(at, "hmac", "timestamp");
  if (typeof ts.maxAge === "string") {
    const nanos = parseDuration(ts.maxAge);
    if (nanos === undefined || nanos < 1_000_000_000n)
      report(err(join(where, "maxAge"), `'${ts.maxAge}' is not a Go duration of at least 1s`));
  }
  if (typeof ts.signed === "string") {
    const t = ts.signed.indexOf("{timestamp}");
    const b = ts.signed.indexOf("{body}");
    if (
      t < 0 ||
      b < t ||
      ts.signed.indexOf("{timestamp}", t + 1) >= 0 ||
      ts.signed.indexOf("{body}", b + 1) >= 0
    )
      report(
        err(join(where, "signed"), `'${ts.signed}' must hold {timestamp} once, then {body} once`),
      );
  }
}

const text = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;

function normalizePath(p: string): string {
  const withSlash = p.startsWith("/") ? p : `/${p}`;
  return withSlash.length > 1 ? withSlash.replace(/\/+$/, "") : withSlash;
}

/** An HTTP request a trigger sends reaches this endpoint (same port and path). */
function receives(spec: WebhookEventSpec, out: TriggerOutput): string | undefined {
  if (out.type !== "request") return undefined;
  const endpoint = normalizePath(text(spec.endpoint) ?? "/");
  return text(spec.port) === out.port && endpoint === normalizePath(out.path)
    ? `${out.method} ${normalizePath(out.path)}`
    : undefined;
}

export const webhook: EventSourceKind<WebhookEventSpec> = {
  key: "webhook",
  schema: WebhookEventSchema,
  runs: true,
  recreate: false,
  validate,
  graph: {
    detail: (s) => `${text(s.method) ?? "POST"} :${text(s.port) ?? "?"}${text(s.endpoint) ?? "/"}`,
    receives,
  },
  load: () => import("./runtime.js"),
};
