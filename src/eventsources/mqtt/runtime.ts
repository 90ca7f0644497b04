import { createHash, randomBytes } from "node:crypto";
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
import { readTlsMaterial } from "../../config/tls.js";
import { EventsError } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import { emitUntilStored, startEntries } from "../entries.js";
import type { AdapterContext, EventSourceAdapter } from "../types.js";
import { brokerUrl, buildMqttPayload, reconnectPlan, topicFilterError } from "./options.js";
import type { MqttEventSpec } from "./schema.js";

/**
 * MQTT EventSource (`spec.mqtt.<eventName>`), on mqtt.js (the only file that imports it). Argo's
 * mqtt/start.go subscribes at QoS 0 on a clean session, so a message is lost whenever the
 * EventSource is down, disconnected or its dispatch fails. sensorbus keeps Argo's fields and
 * payload but subscribes at QoS 1 on a persistent session (`clean: false`, the entry's `clientId`
 * names it) and sends the PUBACK only after `ctx.emit` resolved (mqtt.js calls `handleMessage`
 * before the PUBACK and waits for its callback). A message the bus did not store is retried with
 * backoff while the connection lasts and otherwise left unacknowledged: the broker delivers it
 * again (DUP) on the next connection of the same session, also after a crash. Messages published
 * at QoS 0 arrive at QoS 0 (MQTT delivers at the lower of the two) and cannot be redelivered.
 */

/** Messages remembered per entry to give a redelivery (DUP) the event id of its first delivery. */
export const RECENT_MAX = 10_000;
/** CONNACK wait per attempt, ms. */
export const CONNECT_TIMEOUT_MS = 30_000;
/** How long stop waits for the DISCONNECT to be written before closing the socket, ms. */
const END_TIMEOUT_MS = 5_000;

interface Entry {
  eventName: string;
  spec: MqttEventSpec;
  topic: string;
  log: Logger;
  client: MqttClient;
  connected: boolean;
  everConnected: boolean;
  /** An outage (or the first connection failure) was logged and has not ended yet. */
  outage: boolean;
  lastError: unknown;
  /** Connection attempts since the last success. */
  attempts: number;
  reconnecting: boolean;
  /** Incremented per connection: a callback of an older one must not PUBACK on a newer one. */
  generation: number;
  inflight: Promise<void>;
  /** `topic\0messageId` -> payload digest and event id of the last delivery with that id. */
  recent: Map<string, { digest: string; id: string }>;
}

/**
 * The event id: new for a first delivery; for a redelivery (DUP) of a message this process emitted
 * (same topic, packet id and payload) the id of that emit, so the bus drops the copy whose PUBACK
 * was lost with the connection. Undefined for QoS 0 (the runner assigns one).
 */
export function mqttEventId(
  recent: Map<string, { digest: string; id: string }>,
  packet: Pick<IPublishPacket, "topic" | "messageId" | "qos" | "dup">,
  data: string,
): string | undefined {
  if (packet.qos === 0 || packet.messageId === undefined) return undefined;
  const key = `${packet.topic}\u0000${packet.messageId}`;
  const digest = createHash("sha256").update(data).digest("hex");
  const prev = recent.get(key);
  if (packet.dup && prev && prev.digest === digest) return prev.id;
  const id = randomBytes(16).toString("hex");
  recent.delete(key);
  recent.set(key, { digest, id });
  if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value as string);
  return id;
}

/** Emits one message; resolves true when it may be acknowledged. */
async function handle(
  e: Entry,
  packet: IPublishPacket,
  generation: number,
  ctx: AdapterContext,
): Promise<boolean> {
  const messageId = packet.qos > 0 ? (packet.messageId ?? 0) : 0;
  const where = { topic: packet.topic, messageId, qos: packet.qos };
  let data: string;
  try {
    data = buildMqttPayload(packet.topic, messageId, Buffer.from(packet.payload), e.spec);
  } catch (err) {
    // As Argo ("failed to marshal the event data, rejecting the event"): acknowledged, since a
    // redelivery would fail the same way.
    e.log.error(
      { ...where, err: new EventsError("SB_ERR_EVENTSOURCE_PAYLOAD", (err as Error).message) },
      "jsonBody is set but the message is not JSON; message dropped",
    );
    return true;
  }
  const id = mqttEventId(e.recent, packet, data);
  const redeliverable = packet.qos > 0;
  return emitUntilStored(
    ctx,
    e.eventName,
    { data, ...(id ? { id } : {}) },
    {
      // A QoS 1 message of a closed connection comes again on the next one; QoS 0 never does.
      keepTrying: () => !redeliverable || e.generation === generation,
      refused: (err) =>
        e.log.warn(
          { ...where, err },
          "event not accepted by the bus; retrying with backoff (the message is not acknowledged)",
        ),
      gaveUp: (err) =>
        redeliverable
          ? e.log.warn(
              { ...where, err },
              "event not stored by the bus; message left unacknowledged for the broker to deliver again",
            )
          : e.log.error({ ...where, err }, "event not stored by the bus; QoS 0 message lost"),
      storedAfterRetry: () => e.log.info(where, "event stored by the bus after retries"),
    },
  );
}

async function startEntry(
  eventName: string,
  spec: MqttEventSpec,
  ctx: AdapterContext,
): Promise<Entry> {
  const at = `spec.mqtt.${eventName}`;
  const fail = (message: string) =>
    new EventsError("SB_ERR_EVENTSOURCE_START", `${at}${message}`, { retryable: false });
  if (!spec.url) throw fail(": url must be specified");
  if (!spec.topic) throw fail(": topic must be specified");
  if (!spec.clientId) throw fail(": client id must be specified");
  const url = brokerUrl(spec.url);
  if (typeof url === "string") throw fail(`.url: ${url}`);
  const topicError = topicFilterError(spec.topic);
  if (topicError) throw fail(`.topic: ${topicError}`);
  let delay: (k: number) => number;
  try {
    delay = reconnectPlan(spec.connectionBackoff);
  } catch (err) {
    throw fail(`.connectionBackoff: invalid backoff configuration, ${(err as Error).message}`);
  }
  const options: IClientOptions = {
    protocol: url.protocol,
    host: url.host,
    port: url.port,
    ...(url.path ? { path: url.path } : {}),
    clientId: spec.clientId,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 0,
    resubscribe: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
  };
  if (spec.auth) {
    if (!spec.auth.username) throw fail(".auth: username missing");
    if (!spec.auth.password) throw fail(".auth: password missing");
    options.username = await ctx.values.secret(spec.auth.username, `${at}.auth.username`);
    options.password = await ctx.values.secret(spec.auth.password, `${at}.auth.password`);
  }
  // Like paho (Argo's client), TLS settings apply to TLS schemes only.
  const tls = url.tls ? await readTlsMaterial(spec.tls, at, ctx.values) : undefined;
  if (tls) {
    if (tls.ca) options.ca = tls.ca;
    if (tls.cert) options.cert = tls.cert;
    if (tls.key) options.key = tls.key;
    options.rejectUnauthorized = tls.insecureSkipVerify !== true;
  }
  const log = ctx.log.child({ eventName, topic: spec.topic });
  const client = connect(options);
  const e: Entry = {
    eventName,
    spec,
    topic: spec.topic,
    log,
    client,
    connected: false,
    everConnected: false,
    outage: false,
    lastError: undefined,
    attempts: 0,
    reconnecting: false,
    generation: 0,
    inflight: Promise.resolve(),
    recent: new Map(),
  };
  const broker = `${url.scheme}://${url.host}:${url.port}`;
  client.on("error", (err: unknown) => {
    e.lastError = err;
  });
  client.on("connect", (connack) => {
    e.generation++;
    e.attempts = 0;
    e.connected = true;
    if (e.outage) log.info({ broker }, "MQTT connection restored");
    else if (!e.everConnected)
      log.info({ broker, clientId: spec.clientId }, "connected to the MQTT broker");
    e.outage = false;
    e.everConnected = true;
    e.lastError = undefined;
    client.subscribe(e.topic, { qos: 1 }, (err, granted) => {
      const refused = granted?.some((g) => g.qos === 128);
      if (err || refused)
        log.error(
          { err: err ?? undefined, broker, sessionPresent: connack.sessionPresent },
          `the broker refused the subscription to ${e.topic}`,
        );
    });
  });
  client.on("close", () => {
    // Callbacks of messages of the closed connection must not PUBACK (mqtt.js would queue the
    // PUBACK for the next connection); the broker delivers them again instead.
    if (e.connected) e.generation++;
    e.connected = false;
    if (ctx.signal.aborted) return;
    if (!e.outage) {
      e.outage = true;
      const fields = { err: e.lastError, broker, clientId: spec.clientId };
      if (e.everConnected) log.warn(fields, "MQTT connection lost; reconnecting with backoff");
      else log.error(fields, "cannot connect to the MQTT broker; retrying with backoff");
    }
    if (e.reconnecting) return;
    e.reconnecting = true;
    e.attempts++;
    void ctx.clock.sleep(delay(e.attempts), ctx.signal).then((slept) => {
      e.reconnecting = false;
      if (slept && !ctx.signal.aborted) client.reconnect();
    });
  });
  // mqtt.js calls this for every PUBLISH and sends the PUBACK (QoS 1) when `callback` is called;
  // the next packet is processed only then, so messages are emitted one at a time, in order.
  client.handleMessage = (packet, callback) => {
    // A packet parsed before the connection closed (mqtt.js goes on with its queue until the next
    // connect): not emitted, not acknowledged; the broker delivers it again.
    if (ctx.signal.aborted || !e.connected) return;
    const generation = e.generation;
    e.inflight = handle(e, packet as IPublishPacket, generation, ctx).then((ack) => {
      if (ack && e.generation === generation && !ctx.signal.aborted) callback();
    });
  };
  log.info({ broker, clientId: spec.clientId }, "subscribing to the MQTT topic at QoS 1");
  return e;
}

async function stopEntry(e: Entry): Promise<void> {
  await e.inflight;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    new Promise<void>((resolve) => e.client.end(false, {}, () => resolve())),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, END_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (!e.client.disconnected) e.client.end(true);
  e.connected = false;
}

export const mqttAdapter: EventSourceAdapter<MqttEventSpec> = {
  key: "mqtt",
  ceType: "mqtt",
  start: (entries, ctx) =>
    startEntries(entries, ctx, { start: startEntry, stop: stopEntry, down: (e) => !e.connected }),
};

export function createAdapter(): EventSourceAdapter<MqttEventSpec> {
  return mqttAdapter;
}
