import { setTimeout as delay } from "node:timers/promises";
import type { Consumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { CloudEvent } from "../../cloudevents/event.js";
import { decodeStructured } from "../../cloudevents/event.js";
import type { Logger } from "../../observability/logger.js";
import { STREAM_NAME } from "../subjects.js";
import type { BusMessage, MessageHandler, Subscription } from "../types.js";
import type { BusInternals } from "./internals.js";
import { DEFAULTS, UNREF } from "./options.js";
import { REPLAY_SENSOR_HEADER, REPLAY_TRIGGER_HEADER } from "./publisher.js";

/**
 * One durable pull consumer's delivery loop: fetches as many messages as there are free handler
 * slots, keeps them alive with in-progress acks while handlers run, acks or naks each.
 */
export class JetStreamSubscription implements Subscription {
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
    private readonly bus: BusInternals,
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

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
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
