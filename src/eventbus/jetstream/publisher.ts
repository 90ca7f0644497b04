import {
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription as NatsSubscription,
} from "@nats-io/transport-node";
import { EventBusError, errorMessage } from "../../errors.js";
import { STREAM_NAME } from "../subjects.js";
import type { PublishResult, ReplayTarget } from "../types.js";
import { apiError } from "./api-errors.js";

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
export class UnansweredPublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnansweredPublishError";
  }
}

/** Headers of a replayed dead letter: the Sensor and trigger it is for (see PublishOptions). */
export const REPLAY_SENSOR_HEADER = "Sensorbus-Replay-Sensor";
export const REPLAY_TRIGGER_HEADER = "Sensorbus-Replay-Trigger";

/**
 * JetStream publishes as plain NATS publishes whose reply subjects share one wildcard inbox
 * subscription, answered from a map: what `js.publish` does through nats-core's request(), without
 * a timer, two promises and an Error object (`RequestError("cancelled")`, with its stack capture)
 * per publish. Deadlines are checked every ACK_SWEEP_MS by one timer.
 */
export class PublishAcks {
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

/** Maps a failed publish of `what` to an EventBusError: full, unanswered (maybe stored), or else. */
export function publishError(err: unknown, what: string, closed: boolean): EventBusError {
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
      closed ? "SB_ERR_BUS_CLOSED" : "SB_ERR_BUS_UNAVAILABLE",
      `publishing ${what} failed: ${text}`,
      { cause: err, maybeStored: true },
    );
  }
  return apiError(err, `publishing ${what}`, closed);
}
