import { randomBytes } from "node:crypto";
import { type ChannelModel, type ConfirmChannel, connect, type Options } from "amqplib";

/**
 * The test side of the RabbitMQ on this machine (127.0.0.1:5672, guest/guest): a publisher with
 * confirms, queue state without consuming, and cleanup of the uniquely named exchanges and queues
 * a test declared.
 */

export const RABBIT_HOST = "127.0.0.1";
export const RABBIT_PORT = 5672;
export const RABBIT_URL = `amqp://guest:guest@${RABBIT_HOST}:${RABBIT_PORT}`;

export class RabbitSide {
  private conn!: ChannelModel;
  private pub!: ConfirmChannel;
  private readonly exchanges = new Set<string>();
  private readonly queues = new Set<string>();
  private readonly run = randomBytes(3).toString("hex");

  static async open(): Promise<RabbitSide> {
    const s = new RabbitSide();
    s.conn = await connect(RABBIT_URL);
    s.conn.on("error", () => {});
    s.pub = await s.conn.createConfirmChannel();
    s.pub.on("error", () => {});
    return s;
  }

  /** `sb-test-<what>-<run>-<n>`, remembered for cleanup as an exchange or queue name. */
  exchange(what: string): string {
    const n = `sb-test-${what}-${this.run}-${this.exchanges.size}`;
    this.exchanges.add(n);
    return n;
  }

  queue(what: string): string {
    const n = `sb-test-${what}-${this.run}-${this.queues.size}`;
    this.queues.add(n);
    return n;
  }

  /** Publishes and waits for the broker's confirm (the message is routed and, if persistent, stored). */
  async publish(
    exchange: string,
    routingKey: string,
    body: string | Buffer,
    options: Options.Publish = {},
  ): Promise<void> {
    this.pub.publish(
      exchange,
      routingKey,
      typeof body === "string" ? Buffer.from(body) : body,
      options,
    );
    await this.pub.waitForConfirms();
  }

  /** Runs `f` on a fresh channel (a refused call closes only that channel). */
  async withChannel<T>(f: (ch: ConfirmChannel) => Promise<T>): Promise<T> {
    const ch = await this.conn.createConfirmChannel();
    ch.on("error", () => {});
    try {
      return await f(ch);
    } finally {
      await ch.close().catch(() => {});
    }
  }

  /** Ready messages and consumers of a queue; undefined when it does not exist. */
  async queueState(
    queue: string,
  ): Promise<{ messageCount: number; consumerCount: number } | undefined> {
    return this.withChannel(async (ch) => {
      const { messageCount, consumerCount } = await ch.checkQueue(queue);
      return { messageCount, consumerCount };
    }).catch(() => undefined);
  }

  async close(): Promise<void> {
    for (const q of this.queues) {
      await this.withChannel((ch) => ch.deleteQueue(q)).catch(() => {});
    }
    for (const x of this.exchanges) {
      await this.withChannel((ch) => ch.deleteExchange(x)).catch(() => {});
    }
    await this.conn.close().catch(() => {});
  }
}
