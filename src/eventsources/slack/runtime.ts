import { isUtf8 } from "node:buffer";
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ConfigError, errorMessage } from "../../errors.js";
import { goCompact, goMarshal, goQuote } from "../../lib/gojson.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import {
  firstHeader,
  providerRoute,
  refuseDelivery,
  refuseMethod,
  storeEvent,
} from "../webhook/delivery.js";
import { MASKED, type Route, serveRoutes, sha256, usableId } from "../webhook/runtime.js";
import type { SlackEventSpec } from "./schema.js";
import { verifySlackSignature } from "./signature.js";

/** The secrets of one entry; never logged. */
interface Keys {
  signingSecret: Buffer;
  /** sha256 of the verification token (`token`), compared in constant time. */
  tokenDigest: Buffer;
}

/**
 * Argo's Slack EventSource (pkg/eventsources/sources/slack/start.go): the route of `webhook` on
 * the webhook kind's server machinery; the request signature verified before anything is read;
 * then, as Argo: an Events API `url_verification` is answered with its challenge (nothing stored),
 * an `event_callback` stores its inner event as `{"type": ..., "Data": {...}}`, an interactive
 * `payload=` form stores the parsed payload, a slash command stores slack-go's SlashCommand.
 */
export const slackAdapter: EventSourceAdapter<SlackEventSpec> = {
  key: "slack",
  ceType: "slack",
  async start(entries, ctx): Promise<RunningAdapter> {
    const routes: Route[] = [];
    for (const { eventName, spec } of entries) {
      const at = `/spec/slack/${eventName}`;
      const fail = (field: string, what: string) =>
        new ConfigError(`EventSource ${ctx.eventSourceName}: ${at}/${field}: ${what}`);
      const webhook = spec.webhook;
      if (!webhook) throw fail("webhook", "is required");
      if (!spec.signingSecret) throw fail("signingSecret", "signingSecret not provided");
      if (!spec.token) throw fail("token", "token not provided");
      const signingSecret = await ctx.values.secret(spec.signingSecret, `${at}/signingSecret`);
      // Argo skips verification for an empty secret; sensorbus refuses to start unverified instead.
      if (signingSecret === "") throw fail("signingSecret", "the Secret value is empty");
      const token = await ctx.values.secret(spec.token, `${at}/token`);
      const keys: Keys = {
        signingSecret: Buffer.from(signingSecret, "utf8"),
        tokenDigest: sha256(token),
      };
      routes.push(
        await providerRoute(ctx, eventName, webhook, at, (req, reply, raw) =>
          handle(eventName, spec, keys, req, reply, raw, ctx),
        ),
      );
    }
    return serveRoutes(routes, ctx, (eventName) => `/spec/slack/${eventName}/webhook`, "slack");
  },
};

type Outcome =
  | { kind: "store"; data: string; id?: string | undefined; what: string }
  | { kind: "answer"; status: number; body: string }
  | { kind: "refuse"; reason: string; message: string };

async function handle(
  eventName: string,
  spec: SlackEventSpec,
  keys: Keys,
  req: FastifyRequest,
  reply: FastifyReply,
  raw: Buffer,
  ctx: AdapterContext,
): Promise<FastifyReply> {
  const h = req.headers;
  const signature = firstHeader(h["x-slack-signature"]);
  const timestamp = firstHeader(h["x-slack-request-timestamp"]);
  const wrongMethod = refuseMethod(spec.webhook?.method, req, reply);
  if (wrongMethod) return wrongMethod;
  const refused = verifySlackSignature(
    keys.signingSecret,
    raw,
    signature,
    timestamp,
    ctx.clock.now(),
  );
  if (refused)
    return refuseDelivery(ctx, eventName, "Slack", refused, req, reply, {
      retry: firstHeader(h["x-slack-retry-num"]),
    });
  // The signature covers timestamp and body: the same request replayed within the five minutes
  // is the same event (stored once), wherever Slack gives no id of its own.
  const replayId = createHash("sha256")
    .update(`${timestamp}\n${signature}`)
    .digest("hex")
    .slice(0, 32);
  if (!isUtf8(raw)) return text(reply, 400, "invalid body: not valid UTF-8");
  const media = String(h["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
  const outcome =
    media === "application/x-www-form-urlencoded"
      ? formRequest(raw.toString("utf8"))
      : eventsApiRequest(raw.toString("utf8"), keys);
  switch (outcome.kind) {
    case "refuse":
      return refuseDelivery(
        ctx,
        eventName,
        "Slack",
        { status: 403, reason: outcome.reason, message: outcome.message },
        req,
        reply,
        {},
      );
    case "answer":
      return text(reply, outcome.status, outcome.body);
    case "store":
      return storeEvent({
        ctx,
        eventName,
        reply,
        data: outcome.data,
        id: usableId(outcome.id) ? outcome.id : replayId,
        logFields: { slack: outcome.what },
      });
  }
}

const text = (reply: FastifyReply, code: number, body: string) =>
  reply.code(code).type("text/plain").send(body);

/**
 * An Events API request (JSON), as slack-go's ParseEvent with Argo's verification-token check:
 * the outer `token` must equal `token` (else refused), `url_verification` is answered with its
 * `challenge`, `event_callback` stores `{"type": <inner type>, "Data": <inner event>}` with the
 * outer `event_id` as the event id, any other type is answered 200 and not stored.
 */
export function eventsApiRequest(body: string, keys: Pick<Keys, "tokenDigest">): Outcome {
  let outer: unknown;
  try {
    outer = JSON.parse(body);
  } catch (err) {
    return { kind: "answer", status: 400, body: `failed to extract event: ${errorMessage(err)}` };
  }
  if (outer === null || typeof outer !== "object" || Array.isArray(outer))
    return { kind: "answer", status: 400, body: "failed to extract event: not a JSON object" };
  const o = outer as Record<string, unknown>;
  const token = typeof o.token === "string" ? o.token : "";
  if (!timingSafeEqual(sha256(token), keys.tokenDigest))
    return { kind: "refuse", reason: "token_mismatch", message: "invalid verification token" };
  if (o.type === "url_verification") {
    if (typeof o.challenge !== "string")
      return { kind: "answer", status: 400, body: "url_verification without a challenge" };
    return { kind: "answer", status: 200, body: o.challenge };
  }
  if (o.type !== "event_callback")
    return { kind: "answer", status: 200, body: `success: '${String(o.type)}' is not stored` };
  const inner = o.event;
  if (inner === null || typeof inner !== "object" || Array.isArray(inner))
    return { kind: "answer", status: 400, body: "failed to extract event: no inner event" };
  const type = (inner as Record<string, unknown>).type;
  if (typeof type !== "string" || type === "")
    return {
      kind: "answer",
      status: 400,
      body: "failed to extract event: inner event has no type",
    };
  // The inner event as Slack sent it, re-encoded as Go does, under Argo's `type` and `Data`.
  const data = `{"type":${goQuote(type)},"Data":${goMarshal(inner)}}`;
  const id = typeof o.event_id === "string" ? o.event_id : undefined;
  return { kind: "store", data, id, what: type };
}

/** slack-go's SlashCommand, in its field order, as Go marshals it. */
const SLASH_FIELDS: ReadonlyArray<readonly [string, "string" | "omitempty" | "bool"]> = [
  ["token", "string"],
  ["team_id", "string"],
  ["team_domain", "string"],
  ["enterprise_id", "omitempty"],
  ["enterprise_name", "omitempty"],
  ["is_enterprise_install", "bool"],
  ["channel_id", "string"],
  ["channel_name", "string"],
  ["user_id", "string"],
  ["user_name", "string"],
  ["command", "string"],
  ["text", "string"],
  ["response_url", "string"],
  ["trigger_id", "string"],
  ["api_app_id", "string"],
];

/**
 * A form-encoded request, as Argo tells them apart: a non-empty `payload` is an interaction (its
 * JSON stored), else a non-empty `command` is a slash command (slack-go's SlashCommand stored),
 * else refused (400). Slack echoes its verification token in both: it is masked in the event.
 */
export function formRequest(body: string): Outcome {
  const form = new URLSearchParams(body);
  const payload = form.get("payload") ?? "";
  const mask = (v: string) => (v !== "" ? MASKED : v);
  if (payload !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
      goCompact(payload);
    } catch (err) {
      return {
        kind: "answer",
        status: 400,
        body: `failed to parse interaction event: ${errorMessage(err)}`,
      };
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      return {
        kind: "answer",
        status: 400,
        body: "failed to parse interaction event: not an object",
      };
    const p = parsed as Record<string, unknown>;
    if (typeof p.token === "string") p.token = mask(p.token);
    return { kind: "store", data: goMarshal(p), what: String(p.type ?? "interaction") };
  }
  const command = form.get("command") ?? "";
  if (command !== "") {
    const parts: string[] = [];
    for (const [name, how] of SLASH_FIELDS) {
      const v = form.get(name) ?? "";
      if (how === "bool") parts.push(`${goQuote(name)}:${v === "true"}`);
      else if (how === "string" || v !== "")
        parts.push(`${goQuote(name)}:${goQuote(name === "token" ? mask(v) : v)}`);
    }
    return { kind: "store", data: `{${parts.join(",")}}`, what: command };
  }
  return {
    kind: "answer",
    status: 400,
    body: "could not determine slack type from form parameters",
  };
}

/** The registry's entry point. */
export function createAdapter(): EventSourceAdapter<SlackEventSpec> {
  return slackAdapter;
}
