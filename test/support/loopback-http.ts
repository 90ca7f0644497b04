import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A fake provider API's handler: the request, its whole body as text, the response. */
export type FakeHandler = (req: IncomingMessage, body: string, res: ServerResponse) => unknown;

/** A real HTTP server on 127.0.0.1 and an ephemeral port, for the fake provider APIs. */
export class LoopbackHttp {
  private server: Server | undefined;

  constructor(private readonly handler: FakeHandler) {}

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.handler(req, Buffer.concat(chunks).toString("utf8"), res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
