import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import {
  type Authenticator,
  type ConnectionOptions,
  connect,
  createInbox,
  credsAuthenticator,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription as NatsSubscription,
  nkeyAuthenticator,
  type TlsOptions,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/transport-node";
import type { CloudEvent } from "../cloudevents/event.js";
import { decodeStructured, encodeStructured, scanTopLevelMembers } from "../cloudevents/event.js";
import { ConfigError, EventBusError, errorMessage } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { type NatsAuth, type NatsTarget, resolveNatsTarget, scrubSecrets } from "./nats-auth.js";
import {
  checkRecordLogToken,
  dedupeKey,
  STREAM_NAME,
  SUBJECT_PREFIX,
  subjectFor,
} from "./subjects.js";
import type {
  BusMessage,
  DeadLetterRecord,
  EventBus,
  KeyValueStore,
  KvEntry,
  KvOptions,
  MessageHandler,
  PublishOptions,
  PublishResult,
  RecordLog,
  RecordLogOptions,
  ReplayTarget,
  StoredDeadLetter,
  SubscribeOptions,
  Subscription,
} from "./types.js";

export interface JetStreamBusOptions {
  /**
   * NATS URLs (`nats://host:port`, `tls://host:port`); credentials in them
   * (`nats://user:password@host`, `nats://token@host`) are used and never logged.
   */
  servers: string[];
  /** Credentials and TLS settings (see NatsAuth); merged with URL credentials. */
  auth?: NatsAuth;
  /** Connection name shown by the server (default `sensorbus`). */
  name?: string;
  /** Stream `max_msgs` when this client creates the stream (default 50,000). */
  maxMsgs?: number;
  /** Stream dedupe window when this client creates the stream, ms (default 300 s). */
  duplicateWindowMs?: number;
  log?: Logger;
  /** Reconnect forever after a lost connection (default true). */
  reconnect?: boolean;
  /** Longest a publish waits for the stream's acknowledgement, ms (default 5 s). */
  publishTimeoutMs?: number;
  /** Interval of "in progress" acks while a handler runs, ms (default 5 s; ack wait is 30 s). */
  inProgressIntervalMs?: number;
  /** Longest close() waits for in-flight handlers, ms (default 30 s). */
  closeTimeoutMs?: number;
  /** Ack wait of consumers this client creates, ms (default: the server's, 30 s). For tests. */
  ackWaitMs?: number;
  /** How often acknowledged events are purged from the stream, ms (default 2 s; 0: only when full). */
  reclaimIntervalMs?: number;
}

/** Timers that bound a wait and must not keep the process alive on their own. */
const UNREF = { ref: false } as const;

const DEFAULTS = {
  maxMsgs: 50_000,
  maxAgeMs: 168 * 3600_000, // 168 h, as Argo
  duplicateWindowMs: 300_000, // 300 s, as Argo
  publishTimeoutMs: 5_000,
  inProgressIntervalMs: 5_000,
  closeTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  reconnectTimeWaitMs: 500,
  /** How long a pull request waits on the server before it is renewed. */
  fetchExpiresMs: 30_000,
  /**
   * Idle heartbeat the server sends on an open pull request; two missed end it and a new one is
   * issued. A pull request lives on the consumer leader only, so when that node dies while the
   * client stays connected to another, this (not the 30 s expiry) bounds the stall.
   */
  fetchHeartbeatMs: 1_000,
  /** JetStream may need a moment after a (cluster) start to elect a meta leader. */
  streamSetupTimeoutMs: 20_000,
  setupRequestTimeoutMs: 1_500,
  nakDelayMs: 1_000,
  reclaimIntervalMs: 2_000,
} as const;

/**
 * The dead-letter stream: firings that failed for good, kept until replayed or removed
 * (`sensorbus deadletters`). File storage, discard New: when full (10,000 records or 256 MiB) a new
 * dead letter is refused, so its bus message stays unacknowledged and is redelivered rather than
 * lost. Nothing expires by age. A 2-minute dedupe window on (sensor, trigger, event ids) keeps a
 * firing that failed again after a crash from being stored twice.
 */
export const DEAD_LETTER_STREAM = "sensorbus-deadletter";
const DEAD_LETTER_LIMITS = { maxMsgs: 10_000, maxBytes: 256 * 1024 * 1024, dedupeMs: 120_000 };

const MS = 1_000_000; // nanoseconds per millisecond
/** Bound on reading one partition of a record log. */
const RECORD_READ_TIMEOUT_MS = 30_000;
const BUCKET_NAME = /^[-\w]+$/;
const KV_KEY = /^[-/=.\w]+$/;

/**
 * The production bus: one file-backed JetStream stream `default` holding `default.*.*`, one durable
 * pull consumer per subscription, JetStream KV for sensor state. Only this file imports @nats-io.
 */
export class JetStreamBus implements EventBus {
  readonly kind = "jetstream" as const;
  private closed = false;
  private linkUp = true;
  private readonly subscriptions = new Set<JetStreamSubscription>();
  private readonly buckets = new Map<string, Promise<KV>>();
  private turn: Promise<void> | undefined;
  private readonly ownStreams = new Map<string, Promise<void>>();
  private reclaimTimer: NodeJS.Timeout | undefined;
  private reclaiming: Promise<number> | undefined;
  private readonly acks: PublishAcks;

  private constructor(
    private readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly replicas: number,
    private readonly opts: JetStreamBusOptions,
    private readonly log: Logger | undefined,
  ) {
    this.acks = new PublishAcks(nc);
    void this.watchStatus();
    const every = opts.reclaimIntervalMs ?? DEFAULTS.reclaimIntervalMs;
    if (every > 0) {
      this.reclaimTimer = setInterval(() => {
        if (this.connected) void this.reclaim().catch(() => undefined);
      }, every);
      this.reclaimTimer.unref();
    }
  }

  /**
   * Connects, then creates the stream when it is missing (replicas = min(3, cluster size)) or uses
   * the existing one, warning when its configuration differs from sensorbus's.
   */
  static async connect(opts: JetStreamBusOptions): Promise<JetStreamBus> {
    const log = opts.log?.child({ component: "eventbus" });
    if (opts.servers.length === 0) {
      throw new ConfigError("no NATS server URL given", ["NATS server list is empty"]);
    }
    const target = resolveNatsTarget(opts.servers, opts.auth);
    const at = target.display.join(",");
    const scrub = (err: unknown) => scrubSecrets(errorMessage(err), target.secrets);
    const reconnect = opts.reconnect ?? true;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: target.servers,
        name: opts.name ?? "sensorbus",
        reconnect,
        maxReconnectAttempts: reconnect ? -1 : 0,
        reconnectTimeWait: DEFAULTS.reconnectTimeWaitMs,
        timeout: DEFAULTS.connectTimeoutMs,
        // Each request would otherwise build two Error objects (stack captures) up front just in
        // case it fails: 12 % of sensorbus's CPU at 2,000 events/s. Our errors name the operation.
        noAsyncTraces: true,
        ...connectionAuth(target),
      });
    } catch (err) {
      // The client never saw a secret in a URL (resolveNatsTarget took them out), so its error
      // (kept as the cause) carries none; the message is scrubbed all the same.
      const message = scrub(err);
      const problem = connectProblem(message, target);
      // Refused credentials or a missing TLS do not get better by retrying.
      throw new EventBusError(
        "SB_ERR_BUS_UNAVAILABLE",
        `cannot connect to NATS at ${at}: ${problem}`,
        {
          cause: err,
          retryable: problem === message,
        },
      );
    }
    try {
      // checkAPI would fail while a fresh cluster elects its meta leader; ensureStream retries instead.
      const jsm = await jetstreamManager(nc, {
        timeout: DEFAULTS.publishTimeoutMs,
        checkAPI: false,
      });
      const js = jetstream(nc, { timeout: DEFAULTS.publishTimeoutMs });
      // Short API timeouts while setting up: a fresh cluster drops requests until it has a leader.
      const setupJsm = await jetstreamManager(nc, {
        timeout: DEFAULTS.setupRequestTimeoutMs,
        checkAPI: false,
      });
      const replicas = await ensureStream(setupJsm, opts, log);
      log?.info(
        {
          servers: target.display,
          stream: STREAM_NAME,
          replicas,
          tls: nc.info?.tls_required === true || target.auth.tls === true,
          auth: authMethod(target.auth),
        },
        "connected to NATS JetStream",
      );
      return new JetStreamBus(nc, js, jsm, replicas, opts, log);
    } catch (err) {
      await nc.close().catch(() => undefined);
      if (err instanceof EventBusError) throw err;
      throw new EventBusError(
        "SB_ERR_BUS_UNAVAILABLE",
        `cannot set up JetStream stream '${STREAM_NAME}' at ${at}: ${scrub(err)}`,
        { cause: err },
      );
    }
  }

  get connected(): boolean {
    return !this.closed && this.linkUp && !this.nc.isClosed();
  }

  async publish(event: CloudEvent, options: PublishOptions = {}): Promise<PublishResult> {
    this.assertOpen();
    const subject = subjectFor(event.source, event.subject);
    if (!this.connected) {
      throw new EventBusError(
        "SB_ERR_BUS_UNAVAILABLE",
        `event bus is disconnected; event ${event.id} for '${subject}' was not published`,
      );
    }
    const data = encodeStructured(event);
    await this.nextTurn();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.publishAcked(
          subject,
          data,
          dedupeKey(subject, event.id),
          options.replayFor,
        );
      } catch (err) {
        const mapped = this.publishError(err, `event ${event.id} for '${subject}'`);
        // Full: purge what every consumer has acknowledged, then try once more.
        if (mapped.code !== "SB_ERR_BUS_FULL" || attempt > 1) throw mapped;
        if ((await this.reclaim().catch(() => 0)) === 0) throw mapped;
      }
    }
  }

  /**
   * Resolves in this event-loop turn's check phase (setImmediate), the same for every caller.
   * Publishes and acks issued after it leave in one socket write instead of one each: the NATS
   * client flushes once per microtask checkpoint, and a loopback write costs tens of µs.
   */
  nextTurn(): Promise<void> {
    this.turn ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.turn = undefined;
        resolve();
      }),
    );
    return this.turn;
  }

  /**
   * Purges the events every consumer of the stream has acknowledged; resolves with how many.
   * The stream keeps events by limits (not by interest: nats-server 2.9 can drop unacknowledged
   * messages of interest streams on restart), so without this it would fill up with processed
   * events and, with discard New, refuse everything. A consumer with work left holds back what is
   * above its ack floor; one with nothing pending or unacknowledged holds back nothing up to the
   * stream's last sequence read before the consumers (every event it wanted up to there is
   * acknowledged). Several replicas doing this at once is harmless.
   */
  reclaim(): Promise<number> {
    this.reclaiming ??= (async () => {
      try {
        const stream = await this.jsm.streams.info(STREAM_NAME);
        const { first_seq: first, last_seq: last, messages } = stream.state;
        if (messages === 0) return 0;
        // Per consumer: everything below its ack floor is done, or everything up to `last` when
        // it has nothing pending or unacknowledged.
        let bound = last + 1;
        const bySubject = new Map<string, number>();
        let literalFilters = true;
        for await (const ci of this.jsm.consumers.list(STREAM_NAME)) {
          const busy = ci.num_pending > 0 || ci.num_ack_pending > 0;
          const own = busy ? ci.ack_floor.stream_seq + 1 : last + 1;
          bound = Math.min(bound, own);
          const filter = ci.config.filter_subject ?? "";
          if (filter === "" || /[*>]/.test(filter)) literalFilters = false;
          else bySubject.set(filter, Math.min(bySubject.get(filter) ?? last + 1, own));
        }
        let purged = 0;
        if (bound > first)
          purged += (await this.jsm.streams.purge(STREAM_NAME, { seq: bound })).purged;
        // A busy consumer's floor only holds back its own subject when every consumer filters one
        // literal subject: the other subjects are purged up to their own consumers' bounds.
        if (literalFilters) {
          for (const [filter, own] of bySubject) {
            if (own > bound) {
              const res = await this.jsm.streams.purge(STREAM_NAME, { filter, seq: own });
              purged += res.purged;
            }
          }
        }
        return purged;
      } finally {
        this.reclaiming = undefined;
      }
    })();
    return this.reclaiming;
  }

  async subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    this.assertOpen();
    const subject = subjectFor(options.eventSourceName, options.eventName);
    try {
      await this.ensureConsumer(options.durable, subject);
    } catch (err) {
      throw this.apiError(err, `create consumer '${options.durable}' on '${subject}'`);
    }
    const sub = new JetStreamSubscription(
      this,
      options.durable,
      subject,
      handler,
      Math.max(1, options.maxInFlight ?? 1),
      options.nakDelayMs ?? DEFAULTS.nakDelayMs,
      this.opts.inProgressIntervalMs ?? DEFAULTS.inProgressIntervalMs,
      this.log?.child({ durable: options.durable, subject }),
      () => this.subscriptions.delete(sub),
    );
    this.subscriptions.add(sub);
    sub.start();
    return sub;
  }

  async deleteDurable(durable: string): Promise<void> {
    this.assertOpen();
    for (const sub of this.subscriptions) {
      if (sub.durable === durable) await sub.stop();
    }
    try {
      await this.jsm.consumers.delete(STREAM_NAME, durable);
    } catch (err) {
      if (isConsumerNotFound(err)) return;
      throw this.apiError(err, `delete consumer '${durable}'`);
    }
  }

  async kv(bucket: string, options: KvOptions = {}): Promise<KeyValueStore> {
    this.assertOpen();
    if (!BUCKET_NAME.test(bucket)) {
      const problem = `KV bucket name '${bucket}' may only contain letters, digits, '-' and '_'`;
      throw new ConfigError(problem, [problem]);
    }
    let kv = this.buckets.get(bucket);
    if (!kv) {
      kv = new Kvm(this.js).create(bucket, {
        history: options.history ?? 1,
        ttl: options.ttlMs ?? 0,
        replicas: this.replicas,
        storage: StorageType.File,
      });
      this.buckets.set(bucket, kv);
      kv.catch(() => this.buckets.delete(bucket));
    }
    try {
      return new JetStreamKv(bucket, await kv, this);
    } catch (err) {
      throw this.apiError(err, `open KV bucket '${bucket}'`);
    }
  }

  async recordLog(name: string, options: RecordLogOptions): Promise<RecordLog> {
    this.assertOpen();
    checkRecordLogToken("record log name", name);
    try {
      await this.ensureOwnStream(
        {
          name,
          subjects: [`${name}.*`],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
          max_age: options.maxAgeMs * MS,
          max_bytes: options.maxBytes,
          num_replicas: this.replicas,
        },
        options.keepLimits !== true,
      );
    } catch (err) {
      throw this.apiError(err, `open record stream '${name}'`);
    }
    return new JetStreamRecordLog(name, this);
  }

  async deadLetter(record: DeadLetterRecord): Promise<number> {
    this.assertOpen();
    const subject = `deadletter.${subjectToken(record.sensor)}.${subjectToken(record.trigger)}`;
    const ids = Object.values(record.events)
      .map((e) => e.id)
      .sort();
    try {
      await this.ensureDeadLetterStream();
      const ack = await this.publishAcked(
        subject,
        encodeDeadLetter(record),
        createHash("sha256")
          .update(`${record.sensor}\n${record.trigger}\n${ids.join(",")}`)
          .digest("hex"),
      );
      return ack.seq;
    } catch (err) {
      throw this.publishError(err, `dead letter of trigger '${record.trigger}'`);
    }
  }

  async listDeadLetters(): Promise<StoredDeadLetter[]> {
    this.assertOpen();
    try {
      await this.ensureDeadLetterStream();
      const info = await this.jsm.streams.info(DEAD_LETTER_STREAM);
      const out: StoredDeadLetter[] = [];
      const { first_seq, last_seq, messages } = info.state;
      for (let seq = first_seq; seq <= last_seq && out.length < messages; seq++) {
        const m = await this.jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq });
        if (m) out.push({ ...decodeDeadLetter(m.string()), seq: m.seq });
      }
      return out;
    } catch (err) {
      throw this.apiError(err, `list dead letters on stream '${DEAD_LETTER_STREAM}'`);
    }
  }

  async removeDeadLetter(seq: number): Promise<boolean> {
    this.assertOpen();
    try {
      await this.ensureDeadLetterStream();
      if (!(await this.jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq }))) return false;
      return await this.jsm.streams.deleteMessage(DEAD_LETTER_STREAM, seq, false);
    } catch (err) {
      if (/no message found/i.test(errorMessage(err))) return false;
      throw this.apiError(err, `remove dead letter ${seq} from stream '${DEAD_LETTER_STREAM}'`);
    }
  }

  /** Creates the dead-letter stream on first use (same replica count as `default`). */
  private ensureDeadLetterStream(): Promise<void> {
    return this.ensureOwnStream({
      name: DEAD_LETTER_STREAM,
      subjects: ["deadletter.*.*"],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.New,
      max_msgs: DEAD_LETTER_LIMITS.maxMsgs,
      max_bytes: DEAD_LETTER_LIMITS.maxBytes,
      max_age: 0,
      duplicate_window: DEAD_LETTER_LIMITS.dedupeMs * MS,
      num_replicas: this.replicas,
    });
  }

  /**
   * Creates one of sensorbus's own streams (dead letters, record logs) on first use, once per
   * name (again after a failure). With `retune`, an existing stream takes the given age and size
   * limits.
   */
  private ensureOwnStream(
    config: Partial<StreamConfig> & { name: string },
    retune = false,
  ): Promise<void> {
    const known = this.ownStreams.get(config.name);
    if (known) return known;
    const ready = (async () => {
      try {
        const info = await this.jsm.streams.info(config.name);
        const { max_age, max_bytes } = info.config;
        if (retune && (max_age !== config.max_age || max_bytes !== config.max_bytes))
          await this.jsm.streams.update(config.name, { ...info.config, ...config });
      } catch (err) {
        if (!isStreamNotFound(err)) throw err;
        try {
          await this.jsm.streams.add(config);
        } catch (e) {
          if (!/already in use|stream name already/i.test(errorMessage(e))) throw e;
        }
      }
    })();
    this.ownStreams.set(config.name, ready);
    ready.catch(() => {
      if (this.ownStreams.get(config.name) === ready) this.ownStreams.delete(config.name);
    });
    return ready;
  }

  /**
   * Publishes messages to stream subjects without a per-message acknowledgement, then flushes:
   * resolves once the server has received them all (RecordLog.appendBatch).
   */
  async publishUnacked(messages: ReadonlyArray<readonly [string, string]>): Promise<void> {
    this.assertOpen();
    for (const [subject, data] of messages) this.nc.publish(subject, data);
    await this.nc.flush();
  }

  /** Publishes `data` to a stream's subject; resolves with the stream's acknowledgement. */
  publishAcked(
    subject: string,
    data: string | Uint8Array,
    msgId?: string,
    replayFor?: ReplayTarget,
  ): Promise<PublishResult> {
    return this.acks.publish(
      subject,
      data,
      this.opts.publishTimeoutMs ?? DEFAULTS.publishTimeoutMs,
      msgId,
      replayFor,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.reclaimTimer);
    const timeout = this.opts.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs;
    const stops = Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeout);
    });
    if ((await Promise.race([stops, timedOut])) === "timeout") {
      this.log?.warn(
        { timeoutMs: timeout },
        "handlers still running at close; their messages will be redelivered",
      );
    }
    clearTimeout(timer);
    if (this.nc.isClosed()) return;
    // Drain flushes through the server; while disconnected (or on a hung server) just close.
    if (this.linkUp) {
      const drained = this.nc.drain().then(
        () => true,
        () => false,
      );
      const bound = delay(DEFAULTS.publishTimeoutMs, undefined, UNREF).then(() => false);
      if (await Promise.race([drained, bound])) return this.acks.close();
    }
    await this.nc.close().catch(() => undefined);
    this.acks.close();
  }

  /** Current server-side state of a durable consumer. */
  async consumerPending(durable: string): Promise<number> {
    try {
      const ci = await this.jsm.consumers.info(STREAM_NAME, durable);
      return ci.num_pending + ci.num_ack_pending;
    } catch (err) {
      throw this.apiError(err, `read consumer '${durable}'`);
    }
  }

  /** Creates the durable pull consumer, or checks an existing one still filters `subject`. */
  async ensureConsumer(durable: string, subject: string): Promise<void> {
    try {
      const ci = await this.jsm.consumers.info(STREAM_NAME, durable);
      if (ci.config.filter_subject === subject) return;
      this.log?.warn(
        { durable, had: ci.config.filter_subject, want: subject },
        "durable consumer filters another subject; recreating it (it sees only new events)",
      );
      await this.jsm.consumers.delete(STREAM_NAME, durable);
    } catch (err) {
      if (!isConsumerNotFound(err)) throw err;
    }
    // nats-server 2.9: exactly one filter subject per consumer.
    const config: Partial<ConsumerConfig> = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: subject,
    };
    if (this.opts.ackWaitMs !== undefined) config.ack_wait = this.opts.ackWaitMs * MS;
    await this.jsm.consumers.add(STREAM_NAME, config);
  }

  assertOpen(): void {
    if (this.closed) throw new EventBusError("SB_ERR_BUS_CLOSED", "event bus is closed");
  }

  /** Maps a failed JetStream request to an EventBusError naming `what`. */
  apiError(err: unknown, what: string): EventBusError {
    if (err instanceof EventBusError) return err;
    if (this.closed) {
      return new EventBusError("SB_ERR_BUS_CLOSED", `event bus is closed: ${what} failed`, {
        cause: err,
      });
    }
    return new EventBusError("SB_ERR_BUS_UNAVAILABLE", `${what} failed: ${errorMessage(err)}`, {
      cause: err,
    });
  }

  publishError(err: unknown, what: string): EventBusError {
    const text = errorMessage(err);
    if (
      /maximum (messages|bytes)[a-z ]* exceeded|resource limits exceeded|insufficient storage/i.test(
        text,
      )
    ) {
      return new EventBusError(
        "SB_ERR_BUS_FULL",
        `event bus is full (stream '${STREAM_NAME}': ${text}); ${what} was not published`,
        { cause: err },
      );
    }
    if (err instanceof UnansweredPublishError) {
      return new EventBusError(
        this.closed ? "SB_ERR_BUS_CLOSED" : "SB_ERR_BUS_UNAVAILABLE",
        `publishing ${what} failed: ${text}`,
        { cause: err, maybeStored: true },
      );
    }
    return this.apiError(err, `publishing ${what}`);
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect") {
        this.linkUp = false;
        if (!this.closed)
          this.log?.warn({ server: s.server }, "NATS connection lost; reconnecting");
      } else if (s.type === "reconnect") {
        this.linkUp = true;
        this.log?.info({ server: s.server }, "NATS connection re-established");
        // Pull requests died with the old connection (or server): issue fresh ones now rather than
        // waiting for the client's heartbeat-based recovery.
        for (const sub of this.subscriptions) sub.renewPull();
      } else if (s.type === "close") {
        this.linkUp = false;
      }
    }
  }
}

/** The authenticator and TLS options for a resolved target (one method; see resolveNatsTarget). */
function connectionAuth(target: NatsTarget): Partial<ConnectionOptions> {
  const { auth } = target;
  const enc = new TextEncoder();
  let authenticator: Authenticator | undefined;
  if (auth.creds !== undefined) authenticator = credsAuthenticator(enc.encode(auth.creds));
  else if (auth.nkeySeed !== undefined)
    authenticator = nkeyAuthenticator(enc.encode(auth.nkeySeed));
  else if (auth.token !== undefined) authenticator = tokenAuthenticator(auth.token);
  else if (auth.user !== undefined)
    authenticator = usernamePasswordAuthenticator(auth.user, auth.password ?? "");
  const out: Partial<ConnectionOptions> = authenticator ? { authenticator } : {};
  if (auth.tls) {
    // An object (even empty) makes the client refuse a server that does not offer TLS.
    const tls: TlsOptions = {};
    if (auth.ca !== undefined) tls.ca = auth.ca;
    if (auth.cert !== undefined) tls.cert = auth.cert;
    if (auth.key !== undefined) tls.key = auth.key;
    // The client sends no server name for an IP address, so Node checks the certificate against
    // "localhost": check it against the IP addresses configured instead (a certificate with that
    // IP in its subjectAltName). Host names are checked by Node as usual.
    const ips = target.servers
      .map((s) => s.replace(/:\d+$/, "").replace(/^\[|\]$/g, ""))
      .filter((h) => isIP(h) !== 0);
    if (ips.length > 0) {
      Object.assign(tls, {
        checkServerIdentity: (host: string, cert: PeerCertificate) => {
          const direct = checkServerIdentity(host, cert);
          if (direct === undefined) return undefined;
          return ips.some((ip) => checkServerIdentity(ip, cert) === undefined) ? undefined : direct;
        },
      });
    }
    out.tls = tls;
  }
  return out;
}

function authMethod(auth: NatsAuth): string {
  if (auth.creds !== undefined) return "creds";
  if (auth.nkeySeed !== undefined) return "nkey";
  if (auth.token !== undefined) return "token";
  if (auth.user !== undefined) return "user/password";
  return "none";
}

/** The client's connect error, with what it means for sensorbus's settings. */
function connectProblem(message: string, target: NatsTarget): string {
  if (/server does not support 'tls'|tls.*not available/i.test(message))
    return `TLS was required (${target.auth.from?.tls ?? "--nats-tls"}) but the server offers only plain text; refusing to connect without TLS`;
  if (/timeout/i.test(message) && target.auth.tls && target.auth.cert === undefined)
    return `${message} (if the server requires a client certificate, give --nats-cert and --nats-key)`;
  if (/authorization violation/i.test(message))
    return target.auth.from === undefined || authMethod(target.auth) === "none"
      ? `${message}: the server requires credentials (--nats-user with --nats-password-file, --nats-token-file, --nats-nkey-file or --nats-creds)`
      : `${message}: the server refused the ${authMethod(target.auth)} credentials from ${credentialSource(target.auth)}`;
  return message;
}

function credentialSource(auth: NatsAuth): string {
  const f = auth.from ?? {};
  return (
    (auth.creds !== undefined && f.creds) ||
    (auth.nkeySeed !== undefined && f.nkeySeed) ||
    (auth.token !== undefined && f.token) ||
    (auth.password !== undefined && f.password) ||
    "the options"
  );
}

/** Creates the `default` stream or checks the existing one; returns its replica count. */
async function ensureStream(
  jsm: JetStreamManager,
  opts: JetStreamBusOptions,
  log: Logger | undefined,
): Promise<number> {
  const want: Partial<StreamConfig> & { name: string } = {
    name: STREAM_NAME,
    subjects: [`${SUBJECT_PREFIX}.*.*`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    // sensorbus: a full stream rejects publishes instead of dropping old events; events every
    // consumer has acknowledged are purged (JetStreamBus.reclaim), so "full" means unprocessed.
    discard: DiscardPolicy.New,
    max_msgs: opts.maxMsgs ?? DEFAULTS.maxMsgs,
    max_age: DEFAULTS.maxAgeMs * MS,
    max_bytes: -1,
    duplicate_window: (opts.duplicateWindowMs ?? DEFAULTS.duplicateWindowMs) * MS,
  };
  const deadline = Date.now() + DEFAULTS.streamSetupTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const info = await jsm.streams.info(STREAM_NAME);
      const differs = (Object.keys(want) as (keyof StreamConfig)[])
        .filter((k) => JSON.stringify(info.config[k]) !== JSON.stringify(want[k]))
        .map((k) => ({ field: k, have: info.config[k], want: want[k] }));
      if (differs.length > 0) {
        log?.warn(
          { stream: STREAM_NAME, differs },
          "existing stream differs from sensorbus's layout; using it as is",
        );
      }
      return info.config.num_replicas;
    } catch (err) {
      if (!isStreamNotFound(err)) {
        if (Date.now() > deadline || !isTransient(err)) throw err;
        // JetStream not ready yet (no meta leader, timeout): try again shortly.
        await delay(Math.min(1000, 100 * 2 ** attempt));
        continue;
      }
    }
    return await addStream(jsm, want, deadline);
  }
}

/** Adds the stream with replicas = min(3, cluster size): tries 3, then fewer. */
async function addStream(
  jsm: JetStreamManager,
  want: Partial<StreamConfig> & { name: string },
  deadline: number,
): Promise<number> {
  for (let replicas = 3; ; ) {
    try {
      const info = await jsm.streams.add({ ...want, num_replicas: replicas });
      return info.config.num_replicas;
    } catch (err) {
      const text = errorMessage(err);
      // A cluster that just started may not know all its peers yet: wait a while before settling
      // for fewer replicas.
      if (/no suitable peers/i.test(text) && Date.now() < deadline - 10_000) {
        await delay(250);
        continue;
      }
      if (
        replicas > 1 &&
        /replicas|insufficient resources|clustered|no suitable peers/i.test(text)
      ) {
        replicas--;
        continue;
      }
      if (/already in use|stream name already/i.test(text)) {
        // Another client created it meanwhile.
        const info = await jsm.streams.info(STREAM_NAME);
        return info.config.num_replicas;
      }
      if (Date.now() > deadline || !isTransient(err)) throw err;
      await delay(250);
    }
  }
}

class JetStreamSubscription implements Subscription {
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private current: ConsumerMessages | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Resolved (and replaced) whenever something the pull loop may wait on changes. */
  private changed = signal();
  private stopping: Promise<void> | undefined;
  /** Messages being handled, with when their handling started (performance.now()). */
  private readonly working = new Map<JsMsg, number>();
  private workingTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: JetStreamBus,
    readonly durable: string,
    private readonly subject: string,
    private readonly handler: MessageHandler,
    private readonly maxInFlight: number,
    private readonly nakDelayMs: number,
    private readonly inProgressMs: number,
    private readonly log: Logger | undefined,
    private readonly onStopped: () => void,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      this.poke();
      await this.current?.close().catch(() => undefined);
      await this.loop;
      await Promise.allSettled([...this.inFlight]);
      this.onStopped();
    })();
    return this.stopping;
  }

  pending(): Promise<number> {
    return this.bus.consumerPending(this.durable);
  }

  /** Ends the outstanding pull request (it died with the old connection); the loop issues a new one. */
  renewPull(): void {
    void this.current?.close().catch(() => undefined);
    this.poke();
  }

  /**
   * Requests exactly as many messages as there are free handler slots, so no message waits in a
   * client buffer while its ack wait runs out. A failed pull (server restart, consumer lost) is
   * retried once the connection is up again, until stop().
   */
  private async run(): Promise<void> {
    let failures = 0;
    let consumer: Consumer | undefined;
    while (!this.stopped) {
      try {
        consumer ??= await this.bus.js.consumers.get(STREAM_NAME, this.durable);
        while (!this.stopped) {
          while (this.inFlight.size >= this.maxInFlight && !this.stopped)
            await this.changed.promise;
          if (this.stopped) break;
          const batch = await consumer.fetch({
            max_messages: this.maxInFlight - this.inFlight.size,
            expires: DEFAULTS.fetchExpiresMs,
            idle_heartbeat: DEFAULTS.fetchHeartbeatMs,
          });
          this.current = batch;
          if (this.stopped) await batch.close();
          for await (const m of batch) {
            if (this.stopped)
              m.nak(); // fetched while stopping: hand it back at once
            else this.dispatch(m);
          }
          this.current = undefined;
          failures = 0;
        }
      } catch (err) {
        this.current = undefined;
        if (this.stopped) break;
        failures++;
        if (failures === 1 || failures % 20 === 0) {
          this.log?.warn({ err, failures }, "pulling from the event bus failed; retrying");
        }
        // Missed heartbeats: the pull request died with the consumer leader (a cluster node lost)
        // and waiting for them already took two heartbeat intervals. The consumer itself is not
        // in doubt, and asking the API about it would block until a new leader is elected.
        const leaderLost = err instanceof Error && /heartbeats missed/i.test(err.message);
        await this.pause(leaderLost ? 0 : Math.min(2000, 50 * 2 ** Math.min(failures, 6)));
        if (this.stopped) break;
        if (consumer && failures > 1 && !leaderLost) {
          // Still failing while connected: the consumer may be gone (deleted, stream recreated).
          await this.bus.ensureConsumer(this.durable, this.subject).catch((e: unknown) => {
            this.log?.warn({ err: e }, "cannot check the durable consumer");
          });
        }
      }
    }
  }

  /** Waits `ms`, then until the connection is up; returns early on stop. */
  private async pause(ms: number): Promise<void> {
    let done = false;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        done = true;
        resolve();
      }, ms);
      const check = (): void => {
        if (done) return;
        if (this.stopped) {
          done = true;
          clearTimeout(t);
          resolve();
        } else void this.changed.promise.then(check);
      };
      void this.changed.promise.then(check);
    });
    while (!this.stopped && !this.bus.connected) {
      // Woken by renewPull() on reconnect; the timer only guards against a missed status event.
      await Promise.race([this.changed.promise, delay(1000, undefined, UNREF)]);
    }
  }

  private poke(): void {
    const prev = this.changed;
    this.changed = signal();
    prev.resolve();
  }

  /**
   * One timer for the subscription's in-progress acks instead of one per message: every half
   * interval, each message handled for at least half an interval gets its `+WPI`, so none goes
   * longer than inProgressMs without one (as with a timer of its own).
   */
  private keepWorking(): void {
    if (this.workingTimer) return;
    const half = Math.max(1, Math.floor(this.inProgressMs / 2));
    this.workingTimer = setInterval(() => {
      if (this.working.size === 0) {
        clearInterval(this.workingTimer);
        this.workingTimer = undefined;
        return;
      }
      const now = performance.now();
      for (const [m, since] of this.working) if (now - since >= half) m.working();
    }, half);
    this.workingTimer.unref();
  }

  private dispatch(m: JsMsg): void {
    const p = this.handle(m);
    this.inFlight.add(p);
    void p.finally(() => {
      this.inFlight.delete(p);
      this.poke();
    });
  }

  private async handle(m: JsMsg): Promise<void> {
    let event: CloudEvent;
    try {
      event = decodeStructured(m.string());
    } catch (err) {
      // Argo drops undecodable messages too; redelivering them cannot help.
      this.log?.error({ err, seq: m.seq }, "dropping a bus message that is not a CloudEvent");
      m.term();
      return;
    }
    const msg: BusMessage = {
      event,
      seq: m.seq,
      deliveryCount: m.info.deliveryCount,
      timestamp: rfc3339Nanos(m.timestampNanos, m.time),
    };
    const replaySensor = m.headers?.get(REPLAY_SENSOR_HEADER);
    if (replaySensor)
      msg.replayFor = { sensor: replaySensor, trigger: m.headers!.get(REPLAY_TRIGGER_HEADER) };
    this.working.set(m, performance.now());
    this.keepWorking();
    let ok = false;
    try {
      await this.handler(msg);
      ok = true;
    } catch (err) {
      this.log?.debug(
        { err, seq: m.seq, eventId: event.id },
        "handler failed; message will be redelivered",
      );
    } finally {
      this.working.delete(m);
    }
    await this.bus.nextTurn(); // acks of handlers that finished in this turn: one write
    if (ok) m.ack();
    else m.nak(this.nakDelayMs > 0 ? this.nakDelayMs : undefined);
  }
}

interface PendingAck {
  resolve: (ack: PublishResult) => void;
  reject: (err: Error) => void;
  deadline: number;
  timeoutMs: number;
  subject: string;
}

/** How often unanswered publishes are checked against their deadline. */
const ACK_SWEEP_MS = 100;

/**
 * A publish sent and never answered (no acknowledgement in time, or the connection closed first):
 * the stream may have stored it all the same.
 */
class UnansweredPublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnansweredPublishError";
  }
}

/** Headers of a replayed dead letter: the Sensor and trigger it is for (see PublishOptions). */
const REPLAY_SENSOR_HEADER = "Sensorbus-Replay-Sensor";
const REPLAY_TRIGGER_HEADER = "Sensorbus-Replay-Trigger";

/**
 * JetStream publishes as plain NATS publishes whose reply subjects share one wildcard inbox
 * subscription, answered from a map: what `js.publish` does through nats-core's request(), without
 * a timer, two promises and an Error object (`RequestError("cancelled")`, with its stack capture)
 * per publish. Deadlines are checked every ACK_SWEEP_MS by one timer.
 */
class PublishAcks {
  private readonly prefix: string;
  private readonly sub: NatsSubscription;
  private readonly pending = new Map<string, PendingAck>();
  private next = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly nc: NatsConnection) {
    this.prefix = createInbox();
    this.sub = nc.subscribe(`${this.prefix}.*`, {
      callback: (err, msg) => {
        if (!err) this.answer(msg);
      },
    });
    this.sweeper = setInterval(() => this.sweep(), ACK_SWEEP_MS);
    this.sweeper.unref();
  }

  publish(
    subject: string,
    data: string | Uint8Array,
    timeoutMs: number,
    msgId?: string,
    replayFor?: ReplayTarget,
  ): Promise<PublishResult> {
    const token = (this.next++).toString(36);
    return new Promise<PublishResult>((resolve, reject) => {
      let h: ReturnType<typeof headers> | undefined;
      if (msgId !== undefined || replayFor !== undefined) h = headers();
      if (msgId !== undefined) h!.set("Nats-Msg-Id", msgId);
      if (replayFor !== undefined) {
        h!.set(REPLAY_SENSOR_HEADER, replayFor.sensor);
        h!.set(REPLAY_TRIGGER_HEADER, replayFor.trigger);
      }
      try {
        this.nc.publish(subject, data, {
          reply: `${this.prefix}.${token}`,
          ...(h ? { headers: h } : {}),
        });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.pending.set(token, {
        resolve,
        reject,
        deadline: performance.now() + timeoutMs,
        timeoutMs,
        subject,
      });
    });
  }

  private answer(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length + 1);
    const p = this.pending.get(token);
    if (!p) return; // answered after its deadline
    this.pending.delete(token);
    if (msg.headers?.code === 503) {
      p.reject(new Error(`no responders: no JetStream stream takes subject '${p.subject}'`));
      return;
    }
    let ack: { seq?: number; duplicate?: boolean; error?: { code?: number; description?: string } };
    try {
      ack = JSON.parse(msg.string()) as typeof ack;
    } catch {
      p.reject(
        new Error(`invalid JetStream publish acknowledgement: ${msg.string().slice(0, 200)}`),
      );
      return;
    }
    if (ack.error) {
      p.reject(
        new Error(`${ack.error.description ?? "publish failed"} (${ack.error.code ?? "?"})`),
      );
    } else if (typeof ack.seq !== "number") {
      p.reject(new Error("invalid JetStream publish acknowledgement: no sequence"));
    } else {
      p.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
    }
  }

  private sweep(): void {
    if (this.pending.size === 0) return;
    const now = performance.now();
    for (const [token, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(token);
      p.reject(
        new UnansweredPublishError(
          `no acknowledgement from JetStream within ${p.timeoutMs} ms for '${p.subject}'`,
        ),
      );
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    for (const p of this.pending.values())
      p.reject(new UnansweredPublishError("connection closed before JetStream acknowledged"));
    this.pending.clear();
  }
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

class JetStreamRecordLog implements RecordLog {
  constructor(
    private readonly name: string,
    private readonly bus: JetStreamBus,
  ) {}

  async append(partition: string, record: string): Promise<void> {
    checkRecordLogToken("record log partition", partition);
    try {
      await this.bus.publishAcked(`${this.name}.${partition}`, record);
    } catch (err) {
      throw this.bus.publishError(err, `a record on stream '${this.name}'`);
    }
  }

  async appendBatch(records: ReadonlyArray<readonly [string, string]>): Promise<void> {
    for (const [partition] of records) checkRecordLogToken("record log partition", partition);
    try {
      await this.bus.publishUnacked(
        records.map(([partition, record]) => [`${this.name}.${partition}`, record] as const),
      );
    } catch (err) {
      throw this.bus.publishError(err, `${records.length} records on stream '${this.name}'`);
    }
  }

  /**
   * Streams the partition through an ordered consumer (ephemeral, filtered on its subject) until
   * nothing is pending: tens of thousands of records take a second, not one request each.
   */
  async read(partition: string): Promise<string[]> {
    checkRecordLogToken("record log partition", partition);
    const subject = `${this.name}.${partition}`;
    const out: string[] = [];
    try {
      const info = await this.bus.jsm.streams.info(this.name, { subjects_filter: subject });
      if ((info.state.subjects?.[subject] ?? 0) === 0) return out;
      const consumer = await this.bus.js.consumers.get(this.name, { filter_subjects: subject });
      const messages = await consumer.consume({ max_messages: 256 });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        messages.stop();
      }, RECORD_READ_TIMEOUT_MS);
      try {
        for await (const m of messages) {
          out.push(m.string());
          if (m.info.pending === 0) break;
        }
      } finally {
        clearTimeout(timer);
        await messages.close();
      }
      if (timedOut) throw new Error(`timed out after ${RECORD_READ_TIMEOUT_MS} ms`);
      return out;
    } catch (err) {
      throw this.bus.apiError(err, `read '${subject}' from stream '${this.name}'`);
    }
  }
}

class JetStreamKv implements KeyValueStore {
  constructor(
    private readonly bucket: string,
    private readonly kv: KV,
    private readonly bus: JetStreamBus,
  ) {}

  async get(key: string): Promise<KvEntry | undefined> {
    const e = await this.call("get", key, () => this.kv.get(key));
    if (e?.operation !== "PUT") return undefined;
    return { key, value: e.string(), revision: e.revision };
  }

  put(key: string, value: string): Promise<number> {
    return this.call("put", key, () => this.kv.put(key, value));
  }

  create(key: string, value: string): Promise<number> {
    return this.call("create", key, () => this.kv.create(key, value), `key '${key}' exists`);
  }

  update(key: string, value: string, revision: number): Promise<number> {
    const conflict = `key '${key}' changed (expected revision ${revision})`;
    if (!(revision > 0)) return Promise.reject(new EventBusError("SB_ERR_KV_CONFLICT", conflict));
    return this.call("update", key, () => this.kv.update(key, value, revision), conflict);
  }

  async delete(key: string, revision?: number): Promise<void> {
    if (revision === undefined) {
      await this.call("delete", key, () => this.kv.delete(key));
      return;
    }
    const conflict = `key '${key}' changed (expected revision ${revision})`;
    await this.call("delete", key, () => this.kv.delete(key, { previousSeq: revision }), conflict);
  }

  async keys(prefix = ""): Promise<string[]> {
    return this.call("keys", prefix, async () => {
      const out: string[] = [];
      for await (const k of await this.kv.keys()) if (k.startsWith(prefix)) out.push(k);
      return out;
    });
  }

  async purgeDeleted(prefix: string, before: number): Promise<number> {
    return this.call("purge deleted", prefix, async () => {
      const markers: Array<{ key: string; revision: number }> = [];
      // Headers only: the operation, revision and time of each key's messages, not the values.
      const history = await this.kv.history({ key: ">", headers_only: true } as { key: string });
      for await (const e of history) {
        if (
          (e.operation === "DEL" || e.operation === "PURGE") &&
          e.key.startsWith(prefix) &&
          e.created.getTime() <= before
        )
          markers.push({ key: e.key, revision: e.revision });
      }
      let removed = 0;
      for (const m of markers) {
        // Up to and including the marker only: a value written after it stays.
        const res = await this.bus.jsm.streams.purge(`KV_${this.bucket}`, {
          filter: `$KV.${this.bucket}.${m.key}`,
          seq: m.revision + 1,
        });
        removed += res.purged;
      }
      return removed;
    });
  }

  private async call<T>(
    op: string,
    key: string,
    fn: () => Promise<T>,
    conflict?: string,
  ): Promise<T> {
    this.bus.assertOpen();
    if (op !== "keys" && op !== "purge deleted" && !KV_KEY.test(key)) {
      const problem = `KV key '${key}' may only contain letters, digits and '-/=._'`;
      throw new ConfigError(problem, [problem]);
    }
    try {
      return await fn();
    } catch (err) {
      if (conflict && isWrongLastSequence(err)) {
        throw new EventBusError("SB_ERR_KV_CONFLICT", `KV bucket '${this.bucket}': ${conflict}`, {
          cause: err,
        });
      }
      throw this.bus.apiError(err, `KV bucket '${this.bucket}' ${op} '${key}'`);
    }
  }
}

/** A name as one NATS subject token (the record keeps the real name). */
function subjectToken(name: string): string {
  const t = name.replace(/[.*>\s]/g, "_");
  return t === "" ? "_" : t;
}

/** Record JSON with every event as a structured CloudEvent (data bytes kept exactly). */
function encodeDeadLetter(r: DeadLetterRecord): string {
  const events = Object.entries(r.events)
    .map(([dep, e]) => `${JSON.stringify(dep)}:${encodeStructured(e)}`)
    .join(",");
  return `{"sensor":${JSON.stringify(r.sensor)},"trigger":${JSON.stringify(r.trigger)},"error":${JSON.stringify(r.error)},"failedAt":${JSON.stringify(r.failedAt)},"attempts":${r.attempts},"events":{${events}}}`;
}

function decodeDeadLetter(text: string): DeadLetterRecord {
  const outer = JSON.parse(text) as Record<string, unknown>;
  const span = scanTopLevelMembers(text).get("events");
  const events: Record<string, CloudEvent> = {};
  if (span) {
    const inner = text.slice(span[0], span[1]);
    for (const [dep, [a, b]] of scanTopLevelMembers(inner))
      events[dep] = decodeStructured(inner.slice(a, b));
  }
  return {
    sensor: String(outer.sensor ?? ""),
    trigger: String(outer.trigger ?? ""),
    error: String(outer.error ?? ""),
    failedAt: String(outer.failedAt ?? ""),
    attempts: Number(outer.attempts ?? 0),
    events,
  };
}

function isWrongLastSequence(err: unknown): boolean {
  if (err instanceof JetStreamApiError && (err.code === 10071 || err.code === 10164)) return true;
  return /wrong last sequence/i.test(errorMessage(err));
}

function isConsumerNotFound(err: unknown): boolean {
  if (err instanceof JetStreamApiError && err.code === 10014) return true;
  return /consumer not found/i.test(errorMessage(err));
}

/** JetStream not ready (no meta leader yet, request timed out, no responders): worth retrying. */
function isTransient(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.status >= 500 || err.code === 10008;
  return !/permission|authorization|jetstream is not enabled|no responders/i.test(
    errorMessage(err),
  );
}

function isStreamNotFound(err: unknown): boolean {
  if (err instanceof JetStreamApiError && err.code === 10059) return true;
  return /stream not found/i.test(errorMessage(err));
}

let lastSecond = Number.NaN;
let lastSecondText = "";
/**
 * RFC 3339 with up to nanosecond precision, trailing zeros trimmed (Go's RFC3339Nano); the date
 * and time of day are formatted once per second.
 */
export function rfc3339Nanos(nanos: bigint, fallback: Date): string {
  if (nanos <= 0n) return fallback.toISOString();
  const seconds = Number(nanos / 1_000_000_000n);
  if (seconds !== lastSecond) {
    lastSecondText = new Date(seconds * 1000).toISOString().slice(0, 19);
    lastSecond = seconds;
  }
  const ns = Number(nanos % 1_000_000_000n);
  if (ns === 0) return `${lastSecondText}Z`;
  let frac = String(ns).padStart(9, "0");
  let end = 9;
  while (frac.charCodeAt(end - 1) === 0x30) end--;
  frac = frac.slice(0, end);
  return `${lastSecondText}.${frac}Z`;
}
