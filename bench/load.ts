import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { Samples } from "./stats.js";

/**
 * Open-loop load: requests leave on a fixed schedule whatever the system under test does (the
 * generator never waits for an answer before sending the next request, so a stalled target cannot
 * slow the offered rate down). Latency runs from the moment a request is written to its socket,
 * the "webhook receipt" as closely as a client can see it; how late each write was against
 * its schedule (the generator's ~1 ms timer ticks, or CPU taken by the target on a shared machine)
 * is measured apart, as `lag`.
 */

/** One request of a load step. `expect` is the id the sink will report when it was delivered. */
export interface Planned {
  path: string;
  body: string;
  expect?: string;
}

/** Tracks one step: what was sent, answered and delivered. */
export class Tracker {
  /** id -> scheduled send time (performance.now() ms). */
  private readonly scheduled = new Map<string, number>();
  private readonly accepted = new Set<string>();
  private readonly delivered = new Set<string>();
  /**
   * Accepted, not delivered, and accounted for by sensorbus's journal as held by a condition:
   * replaced by a newer event of the same dependency before the condition held (Argo keeps the
   * latest event per dependency), or stored and still waiting for the other dependency.
   */
  readonly replaced = new Set<string>();
  readonly waiting = new Set<string>();
  /** Expected id -> the CloudEvent id sensorbus answered with (X-Event-Id). */
  readonly eventIds = new Map<string, string>();
  readonly e2e = new Samples();
  readonly webhook = new Samples();
  /** How late each request left against its schedule. */
  readonly lag = new Samples();
  sent = 0;
  refused = 0;
  duplicates = 0;
  firstSend = Number.NaN;
  lastDelivery = Number.NaN;
  private progress: () => void = () => undefined;

  expectDelivery(id: string, at: number): void {
    this.scheduled.set(id, at);
  }

  answered(id: string | undefined, ok: boolean, ms: number, eventId?: string): void {
    this.webhook.add(ms);
    if (!ok) this.refused++;
    else if (id !== undefined) {
      this.accepted.add(id);
      if (!this.delivered.has(id)) this.outstanding++;
      if (eventId !== undefined) this.eventIds.set(id, eventId);
    }
  }

  /**
   * Accepted and not delivered yet, kept as a count: the drain asks after every delivery, and
   * recounting every accepted id each time (what `lost` does) made a backlog's drain quadratic in
   * the step's size, taking the CPU the system under test needed to drain it.
   */
  private outstanding = 0;

  /** Nothing accepted is still missing (held ids excepted). */
  private settled(): boolean {
    if (this.outstanding > this.replaced.size + this.waiting.size) return false;
    return this.lost === 0;
  }

  /** The sink saw `id` at `at` (performance.now() ms). Unknown ids (an earlier step's) are ignored. */
  deliver(id: string, at: number): void {
    const sentAt = this.scheduled.get(id);
    if (sentAt === undefined) return;
    if (this.delivered.has(id)) {
      this.duplicates++;
      return;
    }
    this.delivered.add(id);
    if (this.accepted.has(id)) this.outstanding--;
    this.e2e.add(at - sentAt);
    this.lastDelivery = at;
    this.progress();
  }

  get expected(): number {
    return this.scheduled.size;
  }

  get deliveredCount(): number {
    return this.delivered.size;
  }

  /** Accepted (answered 2xx) but never delivered, and not known to have been replaced. */
  get lost(): number {
    return this.undelivered().length;
  }

  undelivered(): string[] {
    const out: string[] = [];
    for (const id of this.accepted)
      if (!this.delivered.has(id) && !this.replaced.has(id) && !this.waiting.has(id)) out.push(id);
    return out;
  }

  /**
   * Waits until every accepted event was delivered, or nothing arrived for `idleMs`. With
   * `heldBy`, undelivered ids are looked up about once a second, and those a condition holds
   * (replaced, or stored and waiting) leave the count.
   */
  async drain(
    idleMs: number,
    maxMs: number,
    heldBy?: (eventIds: string[]) => Promise<Map<string, "replaced" | "waiting">>,
  ): Promise<void> {
    const deadline = performance.now() + maxMs;
    let lastProgress = performance.now();
    while (!this.settled() && performance.now() < deadline) {
      const before = this.delivered.size;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, heldBy ? Math.min(1_000, idleMs) : idleMs);
        this.progress = () => {
          if (this.settled()) {
            clearTimeout(t);
            resolve();
          }
        };
      });
      this.progress = () => undefined;
      if (this.delivered.size !== before) lastProgress = performance.now();
      if (heldBy && !this.settled()) {
        const byEventId = new Map<string, string>();
        for (const id of this.undelivered().slice(0, 200)) {
          const eventId = this.eventIds.get(id);
          if (eventId !== undefined) byEventId.set(eventId, id);
        }
        for (const [eventId, how] of await heldBy([...byEventId.keys()])) {
          const id = byEventId.get(eventId);
          if (id !== undefined) (how === "replaced" ? this.replaced : this.waiting).add(id);
        }
      }
      if (performance.now() - lastProgress >= idleMs) break; // idle for idleMs: the rest is lost
    }
  }
}

/** Sends `count` planned requests at `rate` per second, open loop. Resolves when all are answered. */
export async function sendOpenLoop(
  client: LoadClient,
  rate: number,
  count: number,
  plan: (i: number) => Planned,
  tracker: Tracker,
): Promise<void> {
  const start = performance.now();
  tracker.firstSend = start;
  const inflight = new Set<Promise<void>>();
  let next = 0;
  while (next < count) {
    const now = performance.now();
    const due = Math.min(count, Math.floor(((now - start) * rate) / 1000) + 1);
    for (; next < due; next++) {
      const p = plan(next);
      const at = performance.now();
      tracker.lag.add(at - (start + (next * 1000) / rate));
      if (p.expect !== undefined) tracker.expectDelivery(p.expect, at);
      tracker.sent++;
      const req = client.post(p.path, p.body).then(
        ({ status, eventId }) =>
          tracker.answered(p.expect, status < 300, performance.now() - at, eventId),
        () => tracker.answered(p.expect, false, performance.now() - at),
      );
      inflight.add(req);
      void req.finally(() => inflight.delete(req));
    }
    // ~1 ms ticks; setTimeout's own lateness is absorbed by sending everything due at each tick.
    await delay(1);
  }
  await Promise.all(inflight);
}

/**
 * A minimal HTTP/1.1 keep-alive client for the load: prebuilt request text, responses matched in
 * order per connection (pipelined when every connection is busy), Content-Length bodies only. It
 * costs a fraction of a general client's CPU, which on two cores is CPU taken from the system
 * under test.
 */
export class LoadClient {
  private readonly conns: Conn[] = [];
  private rr = 0;

  constructor(
    private readonly port: number,
    private readonly size = 32,
  ) {}

  post(path: string, body: string): Promise<Answer> {
    let conn: Conn | undefined;
    for (let k = 0; k < this.conns.length; k++) {
      const c = this.conns[(this.rr + k) % this.conns.length]!;
      if (c.waiting.length === 0 && !c.closed) {
        conn = c;
        this.rr = (this.rr + k + 1) % this.conns.length;
        break;
      }
    }
    if (!conn && this.conns.length < this.size) {
      conn = new Conn(this.port);
      this.conns.push(conn);
    }
    conn ??= this.conns
      .filter((c) => !c.closed)
      .sort((a, b) => a.waiting.length - b.waiting.length)[0];
    if (!conn) return Promise.reject(new Error("no open connection"));
    return conn.send(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  close(): void {
    for (const c of this.conns) c.socket.destroy();
  }
}

/** A webhook's answer: the status, and sensorbus's `X-Event-Id` when it sent one. */
interface Answer {
  status: number;
  eventId: string | undefined;
}

class Conn {
  readonly socket: Socket;
  readonly waiting: Array<{ resolve: (answer: Answer) => void; reject: (e: Error) => void }> = [];
  closed = false;
  private buf = "";

  constructor(port: number) {
    this.socket = connect({ port, host: "127.0.0.1", noDelay: true });
    this.socket.setEncoding("latin1");
    this.socket.on("data", (chunk: string) => this.onData(chunk));
    const fail = (): void => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(new Error("connection closed"));
    };
    this.socket.on("error", fail);
    this.socket.on("close", fail);
  }

  send(request: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(request, "latin1");
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    for (;;) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.buf.slice(0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buf.length < end + 4 + length) return;
      this.buf = this.buf.slice(end + 4 + length);
      this.waiting.shift()?.resolve({
        status: Number(head.slice(9, 12)),
        eventId: /\r\nx-event-id: *([^\r]+)/i.exec(head)?.[1],
      });
    }
  }
}

/**
 * A TCP listener standing for the trigger's target: parses HTTP/1.1 requests with Content-Length
 * bodies, reports the body's `"id"` to the tracker and answers 200 at once.
 */
export class HttpSink {
  tracker: Tracker | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  async start(): Promise<number> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => undefined);
      socket.setNoDelay(true);
      socket.setEncoding("latin1");
      let buf = "";
      socket.on("data", (chunk: string) => {
        buf += chunk;
        let answers = "";
        for (;;) {
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) break;
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
          if (buf.length < end + 4 + length) break;
          const body = buf.slice(end + 4, end + 4 + length);
          buf = buf.slice(end + 4 + length);
          const id = /"id":"([^"]*)"/.exec(body)?.[1];
          if (id !== undefined) this.tracker?.deliver(id, performance.now());
          answers += "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        }
        if (answers) socket.write(answers, "latin1");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
