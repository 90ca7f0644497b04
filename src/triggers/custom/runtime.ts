import { createHash } from "node:crypto";
import type * as Grpc from "@grpc/grpc-js";
import { stringify as stringifyYaml } from "yaml";
import type { TriggerParameter } from "../../config/types.js";
import { errorMessage, TriggerError } from "../../errors.js";
import { constructPayloadFor, setRenderedBody } from "../payload.js";
import type { ExecContext, FiringContext, Rendered, TriggerKind, TriggerResult } from "../types.js";
import { TRIGGER_DESCRIPTOR } from "./proto.js";
import type { CustomTrigger } from "./schema.js";

/** Longest one call (FetchResource, Execute, ApplyPolicy) may take: 60 s (Argo sets none). */
export const CALL_TIMEOUT_MS = 60_000;

/**
 * gRPC status codes that say the same request will fail again (the server refused it as it is);
 * every other code (UNAVAILABLE, DEADLINE_EXCEEDED, UNKNOWN, INTERNAL, RESOURCE_EXHAUSTED, ...) is
 * retried per retryStrategy.
 */
const FINAL_CODES = new Set([3, 5, 6, 7, 9, 11, 12, 16]); // INVALID_ARGUMENT .. UNAUTHENTICATED

interface CustomDetail {
  triggerName: string;
  serverURL: string;
  secure: boolean;
  /** PEM CA certificate(s) from certSecret (secure only). */
  ca?: string;
  serverNameOverride?: string;
  /** The spec map as YAML, as Argo's FetchResource sends it. */
  resource: string;
  /** The rendered payload; undefined when the trigger has no `payload` (Argo sends none). */
  payload?: string;
  parameters: TriggerParameter[];
  /** Applies `parameters` to the fetched resource with this firing's events. */
  applyParameters(doc: string): string;
}

interface TriggerClient extends Grpc.Client {
  FetchResource: Unary<{ resource: Buffer }, { resource: Buffer }>;
  Execute: Unary<{ resource: Buffer; payload: Buffer }, { response: Buffer }>;
  ApplyPolicy: Unary<{ request: Buffer }, { success: boolean; message: string }>;
}

type Unary<Req, Res> = (
  req: Req,
  metadata: Grpc.Metadata,
  options: Grpc.CallOptions,
  callback: (err: Grpc.ServiceError | null, res?: Res) => void,
) => Grpc.ClientUnaryCall;

type ClientConstructor = new (
  target: string,
  credentials: Grpc.ChannelCredentials,
  options?: Grpc.ChannelOptions,
) => TriggerClient;

interface GrpcRuntime {
  grpc: typeof Grpc;
  Client: ClientConstructor;
}

/** grpc-js and the service definition, loaded with the first call (never by validate/replay). */
let runtime: Promise<GrpcRuntime> | undefined;
function loadGrpc(): Promise<GrpcRuntime> {
  runtime ??= (async () => {
    const [grpc, protoLoader] = await Promise.all([
      import("@grpc/grpc-js"),
      import("@grpc/proto-loader"),
    ]);
    const definition = protoLoader.fromJSON(
      structuredClone(TRIGGER_DESCRIPTOR) as Parameters<typeof protoLoader.fromJSON>[0],
      { keepCase: true, defaults: true },
    );
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      triggers: { Trigger: ClientConstructor };
    };
    return { grpc, Client: pkg.triggers.Trigger };
  })();
  return runtime;
}

/**
 * The spec map as Argo's FetchResource sends it: `yaml.Marshal` of ghodss/yaml (go-yaml v2, YAML
 * 1.1), keys sorted, strings that would read as another type quoted.
 */
export function specYaml(spec: Readonly<Record<string, string>>): string {
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(spec).sort()) sorted[k] = String(spec[k]);
  return stringifyYaml(sorted, { version: "1.1" });
}

function grpcError(
  what: string,
  d: CustomDetail,
  err: unknown,
  statusNames: Record<number, string>,
): TriggerError {
  const e = err as Partial<Grpc.ServiceError>;
  const code = typeof e.code === "number" ? e.code : undefined;
  const detail = e.details || errorMessage(err);
  const status = code !== undefined ? ` (gRPC ${statusNames[code] ?? code})` : "";
  return new TriggerError(
    "SB_ERR_TRIGGER_GRPC",
    `failed to ${what} the custom trigger resource for ${d.triggerName} at ${d.serverURL}: ${detail}${status}`,
    { retryable: code === undefined || !FINAL_CODES.has(code), cause: err },
  );
}

/**
 * Argo's custom trigger: per firing FetchResource(spec as YAML) → the trigger's `parameters`
 * applied to the fetched resource (which must then be JSON) → Execute(resource, payload) →
 * ApplyPolicy(Execute's response). As in Argo, a policy answer of `success: false` is logged and
 * the firing still succeeds; a failed call fails it. One channel per server and TLS setting, kept
 * for the process (grpc-js reconnects it); a call fails fast when the server is down.
 */
export function customTrigger(): TriggerKind<CustomTrigger> {
  const clients = new Map<string, TriggerClient>();
  const clientFor = async (
    d: CustomDetail,
  ): Promise<{ client: TriggerClient; rt: GrpcRuntime }> => {
    const rt = await loadGrpc();
    const ca = d.ca ? createHash("sha256").update(d.ca).digest("hex") : "";
    const key = `${d.serverURL}|${d.secure}|${ca}|${d.serverNameOverride ?? ""}`;
    let client = clients.get(key);
    if (!client) {
      const { grpc } = rt;
      const credentials = d.secure
        ? grpc.credentials.createSsl(Buffer.from(d.ca ?? "", "utf8"))
        : grpc.credentials.createInsecure();
      const options: Grpc.ChannelOptions = d.serverNameOverride
        ? {
            "grpc.ssl_target_name_override": d.serverNameOverride,
            "grpc.default_authority": d.serverNameOverride,
          }
        : {};
      try {
        client = new rt.Client(d.serverURL, credentials, options);
      } catch (err) {
        throw new TriggerError(
          "SB_ERR_TRIGGER_GRPC",
          `failed to connect to trigger server ${d.serverURL} for ${d.triggerName}: ${errorMessage(err)}`,
          { retryable: false, cause: err },
        );
      }
      clients.set(key, client);
    }
    return { client, rt };
  };

  /**
   * Forgets a channel whose server was unavailable, as Argo makes a new connection when the cached
   * one is not ready: the next attempt connects at once instead of waiting out grpc-js's reconnect
   * back-off (up to 120 s after a long outage).
   */
  const drop = (client: TriggerClient) => {
    for (const [key, c] of clients) if (c === client) clients.delete(key);
    client.close();
  };

  return {
    kind: "custom",
    async render(template, ctx: FiringContext): Promise<Rendered> {
      const serverURL = typeof template.serverURL === "string" ? template.serverURL : "";
      if (serverURL === "") {
        throw new TriggerError(
          "SB_ERR_TRIGGER_RENDER",
          "custom trigger gRPC server url is not defined",
        );
      }
      if (!template.spec) {
        throw new TriggerError(
          "SB_ERR_TRIGGER_RENDER",
          "custom trigger: trigger body can't be empty",
        );
      }
      const secure = template.secure === true;
      if (secure && !template.certSecret) {
        throw new TriggerError(
          "SB_ERR_TRIGGER_RENDER",
          "custom trigger: invalid config, CERT secret not defined",
        );
      }
      const parameters = template.parameters ?? [];
      const detail: CustomDetail = {
        triggerName: ctx.triggerName,
        serverURL,
        secure,
        resource: specYaml(template.spec),
        parameters,
        applyParameters: (doc) => ctx.applyParameters(doc, parameters),
        ...(template.serverNameOverride ? { serverNameOverride: template.serverNameOverride } : {}),
      };
      if (secure && template.certSecret) {
        detail.ca = await ctx.values.secret(template.certSecret, "custom.certSecret");
      }
      // Argo sends a payload only when the trigger has a `payload` list.
      if (template.payload) detail.payload = constructPayloadFor(template.payload, ctx) ?? "";
      return setRenderedBody({ kind: "custom", detail }, detail.payload);
    },

    async execute(rendered: Rendered, ctx: ExecContext): Promise<TriggerResult> {
      const d = rendered.detail as CustomDetail;
      const { client, rt } = await clientFor(d);
      const names = Object.fromEntries(
        Object.entries(rt.grpc.status)
          .filter(([, v]) => typeof v === "number")
          .map(([k, v]) => [v as number, k]),
      );
      const call = <Req, Res>(what: string, method: Unary<Req, Res>, req: Req): Promise<Res> =>
        new Promise<Res>((resolve, reject) => {
          const metadata = new rt.grpc.Metadata();
          if (ctx.traceparent) metadata.set("traceparent", ctx.traceparent);
          const pending = method.call(
            client,
            req,
            metadata,
            { deadline: Date.now() + CALL_TIMEOUT_MS },
            (err, res) => {
              ctx.signal.removeEventListener("abort", cancel);
              if (err?.code === rt.grpc.status.UNAVAILABLE) drop(client);
              if (err || !res) reject(grpcError(what, d, err ?? new Error("no response"), names));
              else resolve(res);
            },
          );
          const cancel = () => pending.cancel();
          if (ctx.signal.aborted) cancel();
          else ctx.signal.addEventListener("abort", cancel, { once: true });
        });

      const fetched = await call("fetch", client.FetchResource, {
        resource: Buffer.from(d.resource, "utf8"),
      });
      let resource = fetched.resource ?? Buffer.alloc(0);
      if (d.parameters.length > 0) {
        // Argo: only a JSON object is eligible for parameters.
        const text = resource.toString("utf8");
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
          throw new TriggerError(
            "SB_ERR_TRIGGER_GRPC",
            `fetched resource body is not valid JSON for trigger ${d.triggerName} (from ${d.serverURL})`,
          );
        }
        try {
          resource = Buffer.from(d.applyParameters(text), "utf8");
        } catch (err) {
          throw new TriggerError(
            "SB_ERR_TRIGGER_RENDER",
            `failed to apply the parameters to the custom trigger resource for ${d.triggerName}: ${errorMessage(err)}`,
            { cause: err },
          );
        }
      }
      const executed = await call("execute", client.Execute, {
        resource,
        payload: Buffer.from(d.payload ?? "", "utf8"),
      });
      const response = executed.response ?? Buffer.alloc(0);
      const policy = await call("apply the policy for", client.ApplyPolicy, { request: response });
      const success = policy.success === true;
      const message = policy.message ?? "";
      // Argo logs the policy result and counts the firing as done either way.
      (success ? ctx.log.info : ctx.log.warn).call(
        ctx.log,
        { success, message, server: d.serverURL },
        "custom trigger policy application result",
      );
      return {
        summary: `custom trigger at ${d.serverURL}: executed; policy ${success ? "succeeded" : "did not succeed"}${message ? `: ${message}` : ""}`,
        detail: {
          server: d.serverURL,
          policy: { success, message },
          responseBytes: response.length,
        },
      };
    },

    async close(): Promise<void> {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}

/** The registry's entry point. */
export function createTrigger(): TriggerKind<CustomTrigger> {
  return customTrigger();
}
