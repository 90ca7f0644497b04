import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { readNatsConnection } from "../../config/nats-connection.js";
import { ConfigError, errorMessage } from "../../errors.js";
import { type NatsAuth, resolveNatsTarget } from "../../eventbus/nats-auth.js";
import { connectPlainNats } from "../../eventbus/nats-connect.js";
import type {
  PlainNatsConnection,
  PlainNatsEvent,
  PlainNatsMessage,
  PlainNatsSubscription,
} from "../../eventbus/nats-plain.js";
import { type BackoffPlan, exponentialBackoff } from "../../lib/backoff.js";
import { goCompact, goMarshal } from "../../lib/gojson.js";
import type { Logger } from "../../observability/logger.js";
import { startEntries } from "../entries.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import type { NatsEventSpec } from "./schema.js";

/**
 * NATS EventSource (`spec.nats.<eventName>`), as Argo's nats/start.go: a core NATS subscription
 * (a queue subscription with `queue`) on `subject`, one event per message with Argo's payload.
 *
 * Core NATS has no acknowledgement and no redelivery: a message published while sensorbus is
 * disconnected is never delivered to it (as in Argo). What the client did receive is not dropped
 * when the bus refuses its event: it is kept in memory (up to MAX_BUFFERED messages per entry, in
 * arrival order) and its emit retried with backoff (RETRY_BASE_MS doubling to RETRY_MAX_MS), with
 * the same event id, so a retry of a publish that did reach the bus is dropped as a duplicate.
 * Only a stop (or a `kill -9`) while the bus refuses, or more than MAX_BUFFERED waiting messages,
 * loses received messages, and then it says how many in an error line.
 *
 * Connecting: attempts wait as Argo's `connectionBackoff` (default 1 s, 5 steps), then keep
 * retrying at the last wait (at most CONNECT_MAX_WAIT_MS) where Argo gives up; once connected, the
 * client reconnects forever (every 2 s, Go's default) and subscribes again by itself. The entry is
 * named in /readyz while not connected; an outage is logged once when lost and once when restored.
 */

export const RETRY_BASE_MS = 250;
export const RETRY_MAX_MS = 10_000;
export const MAX_BUFFERED = 10_000;
export const CONNECT_MAX_WAIT_MS = 60_000;
const FLUSH_TIMEOUT_MS = 5_000;
const DRAIN_TIMEOUT_MS = 5_000;

const utf8 = new TextDecoder();

/**
 * Argo's NATSEventData: `subject`, `body` (Go marshals `[]byte` as base64; with `jsonBody` it is a
 * json.RawMessage, the JSON itself), `header` (Go's nats.Header, left out when empty) and
 * `metadata` (left out when empty). Throws SyntaxError when `jsonBody` is set and the data is not
 * JSON (Argo's json.Marshal fails and the message is dropped).
 */
export function buildNatsPayload(
  msg: Pick<PlainNatsMessage, "subject" | "data" | "headers">,
  spec: Pick<NatsEventSpec, "jsonBody" | "metadata">,
): string {
  const body = spec.jsonBody
    ? goCompact(utf8.decode(msg.data))
    : `"${Buffer.from(msg.data).toString("base64")}"`;
  const header =
    msg.headers && Object.keys(msg.headers).length > 0 ? `,"header":${goMarshal(msg.headers)}` : "";
  const meta =
    spec.metadata && Object.keys(spec.metadata).length > 0
      ? `,"metadata":${goMarshal(spec.metadata)}`
      : "";
  return `{"subject":${goMarshal(msg.subject)},"body":${body}${header}${meta}}`;
}

interface Entry {
  eventName: string;
  spec: NatsEventSpec;
  servers: string[];
  auth: NatsAuth;
  plan: BackoffPlan;
  log: Logger;
  conn?: PlainNatsConnection | undefined;
  sub?: PlainNatsSubscription | undefined;
  /** Received, not yet stored on the bus, in arrival order. */
  waiting: PlainNatsMessage[];
  /** The latest pump (awaited by stop); `pumpActive` while it runs. */
  pumping?: Promise<void> | undefined;
  pumpActive: boolean;
  /** Messages refused because `waiting` was full, since the last report. */
  overflow: number;
  /** Emits refused in a row. */
  failures: number;
  stopping: boolean;
  /** Aborted by stop: ends connect attempts and emit retries. */
  abort: AbortController;
  connecting: Promise<void>;
}

function onConnectionEvent(e: Entry, ctx: AdapterContext, event: PlainNatsEvent): void {
  if (e.stopping) return;
  switch (event.type) {
    case "disconnected":
      e.log.warn(
        { url: e.conn?.at },
        "NATS connection lost; reconnecting (messages published meanwhile are not delivered: core NATS keeps none)",
      );
      break;
    case "reconnected":
      e.log.info({ url: e.conn?.at }, "NATS connection restored; subscribed again");
      break;
    case "error":
      e.log.warn({ url: e.conn?.at, reason: event.error }, "the NATS server reported an error");
      break;
    case "closed":
      // The client gave up (e.g. the server refused the credentials after a reconnect): start over.
      e.log.error(
        { url: e.conn?.at, ...(event.error ? { reason: event.error } : {}) },
        "NATS connection closed; connecting again with backoff",
      );
      e.conn = undefined;
      e.sub = undefined;
      e.connecting = connectLoop(e, ctx);
      break;
  }
}

/** Connects (retrying as connectionBackoff says, then at its last wait) and subscribes. */
async function connectLoop(e: Entry, ctx: AdapterContext): Promise<void> {
  const { spec, log } = e;
  const signal = e.abort.signal;
  let logged = false;
  for (let attempt = 1; !signal.aborted; attempt++) {
    let conn: PlainNatsConnection | undefined;
    try {
      conn = await connectPlainNats({
        servers: e.servers,
        auth: e.auth,
        name: `sensorbus:${ctx.eventSourceName}/${e.eventName}`,
        reconnect: true,
      });
      if (signal.aborted) {
        await conn.close();
        return;
      }
      const c = conn;
      c.onEvent((event) => {
        if (e.conn === c) onConnectionEvent(e, ctx, event);
      });
      e.conn = c;
      e.sub = c.subscribe(
        spec.subject ?? "",
        spec.queue || undefined,
        (m) => receive(e, ctx, m),
        (reason) =>
          log.error({ reason }, "the NATS server ended the subscription; no more messages"),
      );
      await c.flush(FLUSH_TIMEOUT_MS);
      log.info(
        { url: c.at, subject: spec.subject, ...(spec.queue ? { queue: spec.queue } : {}) },
        logged ? "connected to NATS after retrying; subscribed" : "subscribed to NATS",
      );
      return;
    } catch (err) {
      if (signal.aborted) return;
      if (conn && e.conn === conn) {
        // Connected, but the subscription was not confirmed: the client keeps it and reconnects.
        log.warn({ reason: errorMessage(err) }, "subscription not confirmed by NATS yet");
        return;
      }
      if (!logged)
        log.error(
          { reason: errorMessage(err) },
          "cannot connect to NATS; retrying with backoff (connectionBackoff)",
        );
      logged = true;
      const k = Math.min(attempt, Math.max(1, e.plan.steps - 1));
      await ctx.clock.sleep(Math.min(CONNECT_MAX_WAIT_MS, e.plan.delayMs(k)), signal);
    }
  }
}

function receive(e: Entry, ctx: AdapterContext, m: PlainNatsMessage): void {
  if (e.waiting.length >= MAX_BUFFERED) {
    if (e.overflow === 0)
      e.log.error(
        { waiting: e.waiting.length },
        "the bus has refused events for a while and the buffer is full: received NATS messages are dropped until it accepts them again",
      );
    e.overflow++;
    return;
  }
  e.waiting.push(m);
  if (!e.pumpActive) e.pumping = pump(e, ctx);
}

/** Emits the waiting messages in order, each until the bus stored it. */
async function pump(e: Entry, ctx: AdapterContext): Promise<void> {
  e.pumpActive = true;
  try {
    await emitWaiting(e, ctx);
  } finally {
    e.pumpActive = false;
  }
  // `emitWaiting` checked `waiting` a microtask ago: a message received meanwhile found the pump
  // active and was only queued.
  if (e.waiting.length > 0 && !e.abort.signal.aborted) await pump(e, ctx);
}

async function emitWaiting(e: Entry, ctx: AdapterContext): Promise<void> {
  const { log } = e;
  while (e.waiting.length > 0) {
    const m = e.waiting[0]!;
    let data: string;
    try {
      data = buildNatsPayload(m, e.spec);
    } catch (err) {
      log.error(
        { subject: m.subject, reason: errorMessage(err), code: "SB_ERR_EVENTSOURCE_PAYLOAD" },
        "jsonBody is set but the message is not JSON; message dropped (as Argo)",
      );
      e.waiting.shift();
      continue;
    }
    // One id for every attempt: a retry of an emit that did reach the bus is a duplicate there.
    const id = randomUUID().replaceAll("-", "");
    for (;;) {
      try {
        await ctx.emit(e.eventName, { data, id });
        if (e.failures > 0) log.info({ refusedInARow: e.failures }, "the bus accepts events again");
        e.failures = 0;
        break;
      } catch (err) {
        if (e.abort.signal.aborted) {
          log.error(
            { lost: e.waiting.length, reason: errorMessage(err) },
            "stopping while the bus refuses events: received NATS messages not stored are lost",
          );
          e.waiting.length = 0;
          return;
        }
        e.failures++;
        if (e.failures === 1)
          log.warn(
            { subject: m.subject, reason: errorMessage(err) },
            "event not accepted by the bus; kept in memory and retried with backoff (core NATS cannot redeliver)",
          );
        await ctx.clock.sleep(
          Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(e.failures - 1, 16)),
          e.abort.signal,
        );
      }
    }
    e.waiting.shift();
    if (e.overflow > 0 && e.waiting.length === 0) {
      log.error({ dropped: e.overflow }, "NATS messages dropped while the buffer was full");
      e.overflow = 0;
    }
  }
}

async function startEntry(
  eventName: string,
  spec: NatsEventSpec,
  ctx: AdapterContext,
): Promise<Entry> {
  const at = `spec.nats.${eventName}`;
  const { servers, auth } = await readNatsConnection(spec, at, ctx.values);
  if (!spec.subject) throw new ConfigError(`${at}: subject must be specified`);
  // Settings the client cannot use (a seed that is not one, ...) fail the start, not each attempt.
  resolveNatsTarget(servers, auth);
  const plan = exponentialBackoff(spec.connectionBackoff ?? {});
  const log = ctx.log.child({ eventName, subject: spec.subject });
  const e: Entry = {
    eventName,
    spec,
    servers,
    auth,
    plan,
    log,
    waiting: [],
    pumpActive: false,
    overflow: 0,
    failures: 0,
    stopping: false,
    abort: new AbortController(),
    connecting: Promise.resolve(),
  };
  if (spec.jsonBody) log.info("assuming all events have a JSON body");
  // Not awaited: an unreachable server must not hold up the EventSource; /readyz names the entry.
  e.connecting = connectLoop(e, ctx);
  return e;
}

async function stopEntry(e: Entry): Promise<void> {
  e.stopping = true;
  // Take no more messages; those the server already sent are handed over first.
  if (e.sub && e.conn?.connected)
    await Promise.race([
      e.sub.drain().catch(() => {}),
      sleep(DRAIN_TIMEOUT_MS, undefined, { ref: false }),
    ]);
  // Ends connect attempts and emit retries; emits that succeed go on until `waiting` is empty.
  e.abort.abort();
  await e.connecting;
  await e.pumping;
  await e.conn?.close().catch(() => {});
}

export const natsAdapter: EventSourceAdapter<NatsEventSpec> = {
  key: "nats",
  ceType: "nats",
  start: (entries, ctx): Promise<RunningAdapter> =>
    startEntries(entries, ctx, {
      start: startEntry,
      stop: stopEntry,
      down: (e) => e.conn?.connected !== true,
    }),
};

export function createAdapter(): EventSourceAdapter<NatsEventSpec> {
  return natsAdapter;
}
