import { setTimeout as delay } from "node:timers/promises";
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { CloudEvent } from "../../cloudevents/event.js";
import { encodeStructured } from "../../cloudevents/event.js";
import { EventBusError } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import { checkRecordLogToken, dedupeKey, STREAM_NAME, subjectFor } from "../subjects.js";
import type {
  BusCapabilities,
  DeadLetterRecord,
  EventBus,
  KeyValueStore,
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
} from "../types.js";
import { apiError, isConsumerNotFound } from "./api-errors.js";
import { authMethod, openConnection } from "./connection.js";
import { JetStreamSubscription } from "./consumer.js";
import { JetStreamDeadLetters } from "./dead-letters.js";
import type { BusInternals } from "./internals.js";
import { KvBuckets } from "./kv.js";
import { DEFAULTS, type JetStreamBusOptions, UNREF } from "./options.js";
import { PublishAcks, publishError } from "./publisher.js";
import { JetStreamRecordLog, recordLogStream } from "./record-log.js";
import { ensureConsumer, ensureStream, OwnStreams } from "./stream-setup.js";

/**
 * The production bus: one file-backed JetStream stream `default` holding `default.*.*`, one durable
 * pull consumer per subscription, JetStream KV for sensor state. Only the files of this folder import @nats-io.
 */
export class JetStreamBus implements EventBus, BusInternals {
  readonly kind = "jetstream" as const;
  readonly capabilities: BusCapabilities = {
    durableKv: true,
    journalStream: true,
    durableDeadLetters: true,
    durableConsumers: true,
  };
  private closed = false;
  private linkUp = true;
  private readonly subscriptions = new Set<JetStreamSubscription>();
  private readonly buckets: KvBuckets;
  private turn: Promise<void> | undefined;
  private readonly ownStreams: OwnStreams;
  private readonly deadLetters: JetStreamDeadLetters;
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
    this.buckets = new KvBuckets(this);
    this.ownStreams = new OwnStreams(jsm);
    this.deadLetters = new JetStreamDeadLetters(this, this.ownStreams);
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
    const { nc, target, at, scrub } = await openConnection(opts);
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

  kv(bucket: string, options: KvOptions = {}): Promise<KeyValueStore> {
    return this.buckets.open(bucket, options);
  }

  async recordLog(name: string, options: RecordLogOptions): Promise<RecordLog> {
    this.assertOpen();
    checkRecordLogToken("record log name", name);
    try {
      await this.ownStreams.ensure(
        recordLogStream(name, options.maxAgeMs, options.maxBytes, this.replicas),
        options.keepLimits !== true,
      );
    } catch (err) {
      throw this.apiError(err, `open record stream '${name}'`);
    }
    return new JetStreamRecordLog(name, this);
  }

  deadLetter(record: DeadLetterRecord): Promise<number> {
    return this.deadLetters.store(record);
  }

  listDeadLetters(): Promise<StoredDeadLetter[]> {
    return this.deadLetters.list();
  }

  removeDeadLetter(seq: number): Promise<boolean> {
    return this.deadLetters.remove(seq);
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
  ensureConsumer(durable: string, subject: string): Promise<void> {
    return ensureConsumer(this.jsm, durable, subject, this.opts.ackWaitMs, this.log);
  }

  assertOpen(): void {
    if (this.closed) throw new EventBusError("SB_ERR_BUS_CLOSED", "event bus is closed");
  }

  /** Maps a failed JetStream request to an EventBusError naming `what`. */
  apiError(err: unknown, what: string): EventBusError {
    return apiError(err, what, this.closed);
  }

  publishError(err: unknown, what: string): EventBusError {
    return publishError(err, what, this.closed);
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
