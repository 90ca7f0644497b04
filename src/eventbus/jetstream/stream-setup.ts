import { setTimeout as delay } from "node:timers/promises";
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import { STREAM_NAME, SUBJECT_PREFIX } from "../subjects.js";
import { isConsumerNotFound, isStreamNotFound, isTransient } from "./api-errors.js";
import { DEFAULTS, type JetStreamBusOptions, MS } from "./options.js";

/** A stream's configuration as sensorbus creates it. */
export type StreamSetup = Partial<StreamConfig> & { name: string };

/** Creates the `default` stream or checks the existing one; returns its replica count. */
export async function ensureStream(
  jsm: JetStreamManager,
  opts: JetStreamBusOptions,
  log: Logger | undefined,
): Promise<number> {
  const want: StreamSetup = {
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
  want: StreamSetup,
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

/**
 * sensorbus's own streams (dead letters, record logs), each created on first use, once per name
 * (again after a failure).
 */
export class OwnStreams {
  private readonly ready = new Map<string, Promise<void>>();

  constructor(private readonly jsm: JetStreamManager) {}

  /** With `retune`, an existing stream takes the given age and size limits. */
  ensure(config: StreamSetup, retune = false): Promise<void> {
    const known = this.ready.get(config.name);
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
    this.ready.set(config.name, ready);
    ready.catch(() => {
      if (this.ready.get(config.name) === ready) this.ready.delete(config.name);
    });
    return ready;
  }
}

/**
 * Creates the durable pull consumer on the `default` stream, or checks an existing one still
 * filters `subject` (recreating it when not). `ackWaitMs`: the ack wait of a created consumer
 * (default: the server's).
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  durable: string,
  subject: string,
  ackWaitMs: number | undefined,
  log: Logger | undefined,
): Promise<void> {
  try {
    const ci = await jsm.consumers.info(STREAM_NAME, durable);
    if (ci.config.filter_subject === subject) return;
    log?.warn(
      { durable, had: ci.config.filter_subject, want: subject },
      "durable consumer filters another subject; recreating it (it sees only new events)",
    );
    await jsm.consumers.delete(STREAM_NAME, durable);
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
  if (ackWaitMs !== undefined) config.ack_wait = ackWaitMs * MS;
  await jsm.consumers.add(STREAM_NAME, config);
}
