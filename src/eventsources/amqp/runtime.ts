import {
  type Channel,
  type ChannelModel,
  type ConsumeMessage,
  connect,
  credentials,
  type Options,
  type SocketOptions,
} from "amqplib";
import { readTlsMaterial } from "../../config/tls.js";
import { ConfigError } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import { connectionBackoffProblem, reconnectDelayMs } from "../connection-backoff.js";
import { startEntries } from "../entries.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import {
  type AmqpEndpoint,
  type AmqpSettings,
  type AmqpTable,
  amqpSettings,
  describeEndpoint,
  parseAmqpUrl,
  parseQueueArguments,
} from "./options.js";
import { amqpEventId, amqpExtensions, buildAmqpPayload } from "./payload.js";
import type { AMQPEventSpec } from "./schema.js";

/**
 * AMQP 0-9-1 EventSource (`spec.amqp.<eventName>`), as Argo's amqp/start.go: dial (with
 * `connectionBackoff`), declare the exchange, declare the queue, bind it with `routingKey`,
 * consume. The only file that imports amqplib.
 *
 * Differences from Argo (docs/kinds/eventsources/amqp.md):
 * - Without `consume.autoAck: true` a message is acknowledged only after `ctx.emit` resolved (the
 *   bus stored the event). Argo never acknowledges with `autoAck: false` (the messages pile up
 *   unacknowledged until the connection closes), and without a `consume` block it consumes with
 *   `autoAck: true`. A message the bus refused is nacked with requeue after a backoff.
 * - Prefetch {@link PREFETCH} (Argo sets none: the broker pushes the whole queue).
 * - A lost connection is reconnected (Argo's eventing restarts the listener a few times, then
 *   stops): waits from `connectionBackoff`, then at its last wait, at most a minute apart.
 * - A message with a `message_id` gets a CloudEvent id derived from it, so a redelivery of a
 *   message already stored is dropped by the bus as a duplicate.
 */

/**
 * Unacknowledged messages the broker may push ahead (basic.qos). Events are emitted one at a
 * time in delivery order; 20 keeps the next messages at hand while one is stored, and bounds what
 * is redelivered after a crash. Not used with `autoAck` (the broker ignores it then).
 */
export const PREFETCH = 20;
/** Backoff after the bus refused an event: 250 ms doubling to 10 s. */
export const RETRY_BASE_MS = 250;
export const RETRY_MAX_MS = 10_000;
/** TCP connect plus AMQP handshake, ms. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** How long stop() waits for the broker to confirm the connection close, ms. */
const CLOSE_TIMEOUT_MS = 2_000;

/** One connection with its channel and consumer. */
interface Session {
  conn: ChannelModel;
  ch: Channel;
  queue: string;
  alive: boolean;
  /** The newest delivery on this session (a nack of "all up to it" returns every held one). */
  last?: ConsumeMessage;
  /** Resolves once, with the reason (undefined: closed by sensorbus). */
  ended: Promise<Error | undefined>;
  /** Marks the session dead and closes the connection; resolves when the close is done. */
  end(reason?: Error): Promise<void>;
}

interface Item {
  msg: ConsumeMessage;
  session: Session;
}

interface Entry {
  eventName: string;
  at: string;
  spec: AMQPEventSpec;
  settings: AmqpSettings;
  args: AmqpTable | undefined;
  log: Logger;
  session: Session | undefined;
  /** Messages received and not yet handled, in delivery order. */
  queue: Item[];
  pumping: Promise<void> | undefined;
  emitFailures: number;
  done: Promise<void>;
}

/** The entry's checks that must hold before anything connects (validate reports the same). */
function checkEntry(at: string, spec: AMQPEventSpec): AmqpTable | undefined {
  if (!spec.url && !spec.urlSecret)
    throw new ConfigError(`${at}: either url or urlSecret must be specified`);
  if (spec.url && spec.urlSecret)
    throw new ConfigError(`${at}: only one of url or urlSecret can be specified`);
  if (!spec.routingKey) throw new ConfigError(`${at}: routing key must be specified`);
  if (!spec.exchangeType) throw new ConfigError(`${at}: exchange type must be specified`);
  if (!spec.exchangeName)
    throw new ConfigError(`${at}.exchangeName: exchange name must be specified`);
  if (spec.url) {
    const parsed = parseAmqpUrl(spec.url);
    if (typeof parsed === "string") throw new ConfigError(`${at}.url: ${parsed}`);
  }
  const backoff = connectionBackoffProblem(spec.connectionBackoff);
  if (backoff) throw new ConfigError(`${at}.${backoff}`);
  try {
    return parseQueueArguments(spec.queueDeclare?.arguments);
  } catch (e) {
    throw new ConfigError(`${at}.queueDeclare.arguments: ${(e as Error).message}`);
  }
}

async function endpointOf(e: Entry, ctx: AdapterContext): Promise<AmqpEndpoint> {
  const url = e.spec.urlSecret
    ? await ctx.values.secret(e.spec.urlSecret, `${e.at}.urlSecret`)
    : (e.spec.url ?? "");
  const parsed = parseAmqpUrl(url);
  if (typeof parsed === "string") throw new Error(`${e.at}.urlSecret: ${parsed}`);
  return parsed;
}

/** Connects, declares, binds and starts consuming; closes what it opened when a step fails. */
async function openSession(
  e: Entry,
  ctx: AdapterContext,
  endpoint: AmqpEndpoint,
  onMessage: (s: Session, msg: ConsumeMessage | null) => void,
): Promise<Session> {
  let user = endpoint.username;
  let pass = endpoint.password;
  if (e.spec.auth?.username && e.spec.auth.password) {
    // Argo's SASL PlainAuth from the Secrets replaces the URL's user info.
    user = await ctx.values.secret(e.spec.auth.username, `${e.at}.auth.username`);
    pass = await ctx.values.secret(e.spec.auth.password, `${e.at}.auth.password`);
  }
  const socket: SocketOptions = {
    credentials: credentials.plain(user, pass),
    timeout: CONNECT_TIMEOUT_MS,
    clientProperties: { connection_name: `sensorbus:${ctx.eventSourceName}/${e.eventName}` },
  };
  // As amqp091: the TLS settings apply to an amqps:// URL only.
  const tls =
    endpoint.protocol === "amqps" ? await readTlsMaterial(e.spec.tls, e.at, ctx.values) : undefined;
  if (tls) {
    if (tls.ca) socket.ca = tls.ca;
    if (tls.cert) socket.cert = tls.cert;
    if (tls.key) socket.key = tls.key;
    socket.rejectUnauthorized = tls.insecureSkipVerify !== true;
  }
  const target: Options.Connect = {
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port,
    vhost: endpoint.vhost,
    heartbeat: endpoint.heartbeat,
    locale: "en_US",
  };
  const conn = await connect(target, socket);
  let resolveEnded!: (r: Error | undefined) => void;
  let closing: Promise<void> | undefined;
  const s: Session = {
    conn,
    ch: undefined as unknown as Channel,
    queue: "",
    alive: true,
    ended: new Promise((r) => {
      resolveEnded = r;
    }),
    end(reason) {
      if (s.alive) {
        s.alive = false;
        resolveEnded(reason);
        // Unacknowledged deliveries go back to the queue when the connection closes.
        closing = Promise.resolve()
          .then(() => conn.close())
          .catch(() => {});
      }
      return closing ?? Promise.resolve();
    },
  };
  // An 'error' is followed by 'close'; both must be listened to (amqplib throws otherwise).
  let lastError: Error | undefined;
  conn.on("error", (err: Error) => {
    lastError = err;
  });
  conn.on("close", (err?: Error) => s.end(err ?? lastError ?? new Error("connection closed")));
  try {
    const ch = await conn.createChannel();
    s.ch = ch;
    ch.on("error", (err: Error) => {
      lastError = err;
    });
    ch.on("close", () => s.end(lastError ?? new Error("channel closed by the broker")));
    const { exchange, queue, consume } = e.settings;
    if (!consume.autoAck) await ch.prefetch(PREFETCH);
    await ch.assertExchange(e.spec.exchangeName ?? "", e.spec.exchangeType ?? "", exchange);
    const q = await ch.assertQueue(queue.name, {
      durable: queue.durable,
      autoDelete: queue.autoDelete,
      exclusive: queue.exclusive,
      ...(e.args ? { arguments: e.args } : {}),
    });
    s.queue = q.queue;
    await ch.bindQueue(q.queue, e.spec.exchangeName ?? "", e.spec.routingKey ?? "");
    await ch.consume(q.queue, (msg) => onMessage(s, msg), {
      ...(consume.consumerTag ? { consumerTag: consume.consumerTag } : {}),
      noAck: consume.autoAck,
      exclusive: consume.exclusive,
      noLocal: consume.noLocal,
    });
  } catch (err) {
    void s.end(err as Error);
    throw err;
  }
  return s;
}

function enqueue(e: Entry, ctx: AdapterContext, s: Session, msg: ConsumeMessage | null): void {
  if (msg === null) {
    // basic.cancel from the broker: the queue was deleted (or the node holding it went away).
    void s.end(new Error(`the broker cancelled the consumer of queue ${s.queue}`));
    return;
  }
  s.last = msg;
  e.queue.push({ msg, session: s });
  if (e.pumping) return;
  // Handles the queue one message at a time, in delivery order. `pumping` is cleared in the same
  // turn as the loop's last check, so a message enqueued after it starts a new pump.
  let done!: () => void;
  e.pumping = new Promise<void>((r) => {
    done = r;
  });
  void (async () => {
    try {
      while (e.queue.length > 0 && !ctx.signal.aborted) await handle(e, ctx, e.queue.shift()!);
    } catch (err) {
      e.log.error({ err }, "AMQP message handling failed");
    } finally {
      e.pumping = undefined;
      done();
    }
  })();
}

async function backoff(e: Entry, ctx: AdapterContext): Promise<void> {
  e.emitFailures++;
  await ctx.clock.sleep(
    Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(e.emitFailures - 1, 16)),
    ctx.signal,
  );
}

/** Runs a channel call that throws once the channel is closed (the broker then redelivers). */
function onChannel(item: Item, what: string, log: Logger, f: (ch: Channel) => void): void {
  if (!item.session.alive) return;
  try {
    f(item.session.ch);
  } catch (err) {
    log.debug({ err }, `${what} not sent: the channel is closed; the broker redelivers`);
  }
}

async function handle(e: Entry, ctx: AdapterContext, item: Item): Promise<void> {
  const { msg } = item;
  const autoAck = e.settings.consume.autoAck;
  // Held by a session that ended: the broker has put it back in the queue (or deleted the queue).
  if (!autoAck && !item.session.alive) return;
  const where = {
    messageId: msg.properties.messageId,
    deliveryTag: msg.fields.deliveryTag,
    redelivered: msg.fields.redelivered,
  };
  let data: string;
  try {
    data = buildAmqpPayload(msg, e.spec.jsonBody === true, e.spec.metadata);
  } catch (err) {
    e.log.error(
      { err, ...where },
      autoAck
        ? "jsonBody is set but the message body is not JSON; message dropped"
        : "jsonBody is set but the message body is not JSON; rejected without requeue (dead-lettered if the queue has a dead-letter exchange)",
    );
    if (!autoAck) onChannel(item, "reject", e.log, (ch) => ch.nack(msg, false, false));
    return;
  }
  const id = amqpEventId(ctx.eventSourceName, e.eventName, msg.properties.messageId);
  const extensions = amqpExtensions(msg);
  for (;;) {
    try {
      await ctx.emit(e.eventName, {
        data,
        ...(id ? { id } : {}),
        ...(extensions ? { extensions } : {}),
      });
      e.emitFailures = 0;
      if (!autoAck) onChannel(item, "ack", e.log, (ch) => ch.ack(msg));
      return;
    } catch (err) {
      if (autoAck) {
        e.log.warn(
          { err, ...where, failuresInARow: e.emitFailures + 1 },
          "event not accepted by the bus; retrying (autoAck: the broker no longer holds the message)",
        );
        await backoff(e, ctx);
        if (ctx.signal.aborted) {
          e.log.error(where, "stopped before the bus accepted the event; message lost (autoAck)");
          return;
        }
        continue;
      }
      e.log.warn(
        { err, ...where, failuresInARow: e.emitFailures + 1 },
        "event not accepted by the bus; message nacked with requeue after a backoff",
      );
      await backoff(e, ctx);
      const s = item.session;
      const last = s.last ?? msg;
      // Return this message and every later one held from the same session, in one nack, so the
      // broker keeps their order; they come back as redelivered.
      onChannel(item, "nack", e.log, (ch) => ch.nack(last, true, true));
      e.queue = e.queue.filter(
        (i) => i.session !== s || i.msg.fields.deliveryTag > last.fields.deliveryTag,
      );
      return;
    }
  }
}

async function run(e: Entry, ctx: AdapterContext): Promise<void> {
  let attempt = 0;
  let outage = false;
  let everConnected = false;
  let endpoint: string | undefined;
  while (!ctx.signal.aborted) {
    let s: Session;
    try {
      const target = await endpointOf(e, ctx);
      endpoint = describeEndpoint(target);
      s = await openSession(e, ctx, target, (session, msg) => enqueue(e, ctx, session, msg));
    } catch (err) {
      if (ctx.signal.aborted) return;
      attempt++;
      if (!outage) {
        outage = true;
        e.log.error(
          { err, endpoint, exchange: e.spec.exchangeName, queue: e.settings.queue.name },
          everConnected
            ? "cannot reconnect to the AMQP broker; retrying with backoff"
            : "cannot connect to the AMQP broker and consume; retrying with backoff",
        );
      } else {
        e.log.debug({ err, attempt }, "AMQP connection attempt failed");
      }
      await ctx.clock.sleep(reconnectDelayMs(e.spec.connectionBackoff, attempt), ctx.signal);
      continue;
    }
    if (ctx.signal.aborted) {
      await s.end();
      return;
    }
    e.session = s;
    attempt = 0;
    const where = { endpoint, exchange: e.spec.exchangeName, queue: s.queue };
    if (outage) e.log.info(where, "AMQP connection restored");
    else if (!everConnected) e.log.info(where, "consuming from the AMQP queue");
    outage = false;
    everConnected = true;
    const reason = await s.ended;
    if (ctx.signal.aborted) return;
    outage = true;
    e.log.warn({ err: reason, ...where }, "AMQP connection lost; reconnecting with backoff");
    attempt = 1;
    await ctx.clock.sleep(reconnectDelayMs(e.spec.connectionBackoff, attempt), ctx.signal);
  }
}

async function stopEntry(e: Entry): Promise<void> {
  // The event being stored finishes (and is acknowledged) first; held ones go back to the queue.
  await e.pumping;
  const s = e.session;
  if (s) {
    await Promise.race([s.end(), new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS).unref())]);
  }
  await e.done;
  if (e.settings.consume.autoAck && e.queue.length > 0) {
    e.log.error(
      { lost: e.queue.length },
      "stopped with messages received but not yet stored; they are lost (autoAck)",
    );
  }
}

export const amqpAdapter: EventSourceAdapter<AMQPEventSpec> = {
  key: "amqp",
  ceType: "amqp",
  start: (entries, ctx): Promise<RunningAdapter> =>
    startEntries(entries, ctx, {
      start: async (eventName, spec, c) => {
        const at = `spec.amqp.${eventName}`;
        const args = checkEntry(at, spec);
        const e: Entry = {
          eventName,
          at,
          spec,
          settings: amqpSettings(spec),
          args,
          log: c.log.child({ eventName }),
          session: undefined,
          queue: [],
          pumping: undefined,
          emitFailures: 0,
          done: Promise.resolve(),
        };
        // Not awaited: an unreachable broker must not hold up the EventSource's start. The entry
        // is named in /readyz until it consumes.
        e.done = run(e, c).catch((err: unknown) => e.log.error({ err }, "AMQP consumer stopped"));
        return e;
      },
      stop: stopEntry,
      down: (e) => !e.session?.alive,
    }),
};

export function createAdapter(): EventSourceAdapter<AMQPEventSpec> {
  return amqpAdapter;
}
