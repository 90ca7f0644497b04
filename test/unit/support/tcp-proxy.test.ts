import { once } from "node:events";
import { createConnection, createServer, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { startTcpProxy } from "../../support/tcp-proxy.js";

const echo = createServer((s) => {
  s.on("error", () => {});
  s.pipe(s);
});
await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
const echoPort = (echo.address() as { port: number }).port;
afterAll(() => new Promise<void>((r) => echo.close(() => r())));

async function connect(port: number): Promise<Socket> {
  const s = createConnection({ host: "127.0.0.1", port });
  await once(s, "connect");
  return s;
}

/** Resolves when the socket closed, whatever error came first (events.once would reject on it). */
function closed(s: Socket): Promise<void> {
  s.on("error", () => {});
  return new Promise((resolve) => s.on("close", () => resolve()));
}

async function roundTrip(s: Socket, text: string): Promise<string> {
  s.write(text);
  const [chunk] = await once(s, "data");
  return String(chunk);
}

describe("tcp proxy (fault-test support)", () => {
  it("forwards, holds until released, cuts and refuses", async () => {
    const proxy = await startTcpProxy({ port: echoPort });
    try {
      const a = await connect(proxy.port);
      expect(await roundTrip(a, "one")).toBe("one");

      proxy.hold();
      let answered = false;
      const late = roundTrip(a, "two").then((t) => {
        answered = true;
        return t;
      });
      // A round trip through the echo server on a second, direct connection: the held one did not answer.
      const direct = await connect(echoPort);
      expect(await roundTrip(direct, "x")).toBe("x");
      direct.destroy();
      expect(answered).toBe(false);
      proxy.release();
      expect(await late).toBe("two");

      const aClosed = closed(a);
      proxy.cut();
      await aClosed;
      expect(proxy.connections).toBe(0);

      proxy.refuse();
      const b = createConnection({ host: "127.0.0.1", port: proxy.port });
      await closed(b);
      proxy.accept();
      const c = await connect(proxy.port);
      expect(await roundTrip(c, "three")).toBe("three");
      c.destroy();
    } finally {
      await proxy.close();
    }
  });
});
