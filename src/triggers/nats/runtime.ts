import { createHash } from "node:crypto";
import { readNatsConnection } from "../../config/nats-connection.js";
import { ConfigError, errorMessage, TriggerError } from "../../errors.js";
import { type NatsAuth, redactUrls } from "../../eventbus/nats-auth.js";
import { connectPlainNats } from "../../eventbus/nats-connect.js";
import { type PlainNatsConnection, PlainNatsError } from "../../eventbus/nats-plain.js";
import { subjectProblem } from "../../lib/nats-subject.js";
import { constructPayloadFor, setRenderedBody, withOwnParameters } from "../payload.js";
import type { ExecContext, FiringContext, Rendered, TriggerKind, TriggerResult } from "../types.js";
import type { NatsTrigger } from "./schema.js";

/** Longest a publish waits for the server's answer (and a connect for the server), ms. */
export const PUBLISH_TIMEOUT_MS = 5_000;

interface NatsDetail {
  servers: string[];
  auth: NatsAuth;
  /** The servers as they may be shown (no credentials). */
  at: string;
  subject: string;
  body: string;
}

/**
 * Argo's `nats` trigger: publishes the payload built from `payload` (Argo's ConstructPayload;
 * nothing set: an empty message) to `subject` on a core NATS connection (one per trigger server and
 * credentials, kept open). Kind-level `parameters` apply to the trigger object before it is read
 * (so `dest: subject` sets the subject; Argo applies them but then publishes to the subject as
 * written). A publish is complete when the server answered the PING that follows it, so a
 * resolved firing reached the server; a server that is down or does not answer is a retryable
 * failure (`retryStrategy`, then dlqTrigger / dead letters), a refused subject or credentials a
 * final one. Core NATS has no acknowledgement from subscribers: the server drops a message no one
 * subscribes to, as in Argo.
 */
export function natsTrigger(): TriggerKind<NatsTrigger> {
  const connections = new Map<string, Promise<PlainNatsConnection>>();

  const connection = async (d: NatsDetail): Promise<PlainNatsConnection> => {
    const key = createHash("sha256")
      .update(JSON.stringify([d.servers, d.auth]))
      .digest("hex");
    const cached = connections.get(key);
    if (cached) {
      const conn = await cached.catch(() => undefined);
      // Closed after a lost connection (no automatic reconnect here): dial a new one.
      if (conn?.connected) return conn;
      if (connections.get(key) === cached) connections.delete(key);
      await conn?.close().catch(() => {});
    }
    const dialing = connectPlainNats({
      servers: d.servers,
      auth: d.auth,
      name: "sensorbus-trigger",
      reconnect: false,
      connectTimeoutMs: PUBLISH_TIMEOUT_MS,
    });
    connections.set(key, dialing);
    dialing.catch(() => {
      if (connections.get(key) === dialing) connections.delete(key);
    });
    return dialing;
  };

  return {
    kind: "nats",
    async render(template, ctx: FiringContext): Promise<Rendered> {
      const spec = withOwnParameters(template, ctx);
      if (!spec.url) throw new TriggerError("SB_ERR_TRIGGER_RENDER", "nats trigger: url is empty");
      const subject = spec.subject ?? "";
      const problem = subjectProblem(subject, false);
      if (problem)
        throw new TriggerError(
          "SB_ERR_TRIGGER_RENDER",
          `nats trigger: subject '${subject}' ${problem}`,
        );
      if (spec.payload === undefined)
        throw new TriggerError(
          "SB_ERR_TRIGGER_RENDER",
          "nats trigger: payload parameters are not specified",
        );
      const { servers, auth } = await readNatsConnection(spec, "nats", ctx.values);
      const body = constructPayloadFor(spec.payload, ctx) ?? "";
      const at = servers.map(redactUrls).join(",");
      const detail: NatsDetail = { servers, auth, at, subject, body };
      const rendered: Rendered = {
        kind: "nats",
        request: { method: "PUBLISH", url: `${at} ${subject}`, headers: {} },
        detail,
      };
      setRenderedBody(rendered, body);
      return rendered;
    },

    async execute(rendered: Rendered, _ctx: ExecContext): Promise<TriggerResult> {
      const d = rendered.detail as NatsDetail;
      const data = Buffer.from(d.body, "utf8");
      try {
        const conn = await connection(d);
        await conn.publish(d.subject, data, undefined, PUBLISH_TIMEOUT_MS);
      } catch (err) {
        const final =
          err instanceof ConfigError ||
          (err instanceof PlainNatsError && (err.final || err.refused));
        throw new TriggerError(
          "SB_ERR_TRIGGER_PUBLISH",
          `nats trigger: ${errorMessage(err)}${final ? "" : ` (subject '${d.subject}')`}`,
          { retryable: !final, cause: err },
        );
      }
      return {
        summary: `published ${data.length} bytes to ${d.subject} at ${d.at}`,
        detail: { subject: d.subject, bytes: data.length },
      };
    },

    async close(): Promise<void> {
      const all = [...connections.values()];
      connections.clear();
      await Promise.allSettled(all.map(async (c) => (await c).close()));
    },
  };
}

/** The registry's entry point. */
export function createTrigger(): TriggerKind<NatsTrigger> {
  return natsTrigger();
}
