import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP proxy for fault tests: it forwards to a real server (a broker, nats-server) and
 * can `cut` every connection (the client sees a reset, as when a broker dies or a network drops),
 * `refuse` new ones while "down", and `hold` bytes in both directions (a peer that stopped
 * answering: what the client wrote is received by nobody until `release`).
 */
export interface TcpProxy {
  readonly port: number;
  /** Connections open now. */
  readonly connections: number;
  /** Connections refused so far (each a client's connection attempt while refusing). */
  readonly refused: number;
  /** Destroys every open connection (RST to both sides). New connections are still accepted. */
  cut(): void;
  /** Stops accepting: new connections are closed at once until `accept()`; open ones are cut. */
  refuse(): void;
  accept(): void;
  /** Buffers bytes in both directions instead of forwarding them, until `release()`. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const host = target.host ?? "127.0.0.1";
  const open = new Set<Socket>();
  let refusing = false;
  let holding = false;
  let refused = 0;
  const held: Array<() => void> = [];

  const pipe = (from: Socket, to: Socket): void => {
    from.on("data", (chunk: Buffer) => {
      if (holding) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
    from.on("close", () => to.destroy());
    from.on("error", () => to.destroy());
  };

  const server: Server = createServer((client) => {
    if (refusing) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host, port: target.port });
    open.add(client);
    open.add(upstream);
    client.on("close", () => open.delete(client));
    upstream.on("close", () => open.delete(upstream));
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;

  const cut = (): void => {
    for (const s of open) s.resetAndDestroy();
    open.clear();
    held.length = 0;
  };
  return {
    port,
    get connections() {
      return [...open].filter((s) => !s.destroyed).length / 2;
    },
    get refused() {
      return refused;
    },
    cut,
    refuse: () => {
      refusing = true;
      cut();
    },
    accept: () => {
      refusing = false;
    },
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const f of held.splice(0)) f();
    },
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
