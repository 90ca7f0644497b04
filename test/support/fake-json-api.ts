import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The HTTP side shared by the fake provider APIs (fake-github-api.ts, fake-gitlab-api.ts): a real
 * server on an ephemeral loopback port, the request body read whole, JSON answers, and scripted
 * failures (`failWhen`) answered before the provider's own handling.
 */
export abstract class FakeJsonApi {
  private readonly failures: Array<{
    match: RegExp;
    status: number;
    body: unknown;
    method: string | undefined;
  }> = [];
  private server: Server | undefined;
  /** The API root (with the prefix), once started. */
  url = "";

  constructor(protected readonly prefix = "") {}

  /**
   * Every request whose path (after the prefix) matches, and whose method is `method` when given,
   * is answered `status` with `body`.
   */
  failWhen(match: RegExp, status: number, body: unknown, method?: string): this {
    this.failures.push({ match, status, body, method });
    return this;
  }

  clearFailures(): void {
    this.failures.length = 0;
  }

  /** The scripted failure for this request, if any. */
  protected failureFor(path: string, method: string | undefined) {
    return this.failures.find(
      (f) => f.match.test(path) && (f.method === undefined || f.method === method),
    );
  }

  /** Handles one request; `text` is its whole body. */
  protected abstract handle(req: IncomingMessage, res: ServerResponse, text: string): Promise<void>;

  protected send(
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, {
      ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
      ...headers,
    });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      (async () => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        await this.handle(req, res, Buffer.concat(chunks).toString("utf8"));
      })().catch((err) => this.send(res, 500, { message: String(err) }));
    });
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}${this.prefix}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
  }
}
