/**
 * The inspector of a process started with `--inspect=127.0.0.1:PORT --expose-gc`, for the memory
 * part: a full GC on demand, so that the live heap is compared at the same point of the GC cycle
 * at both ends of a run instead of wherever V8 happened to be.
 */
import { WebSocket } from "undici";

export interface MemoryAfterGc {
  rssMiB: number;
  heapUsedMiB: number;
}

const MIB = 1024 * 1024;

export class Inspector {
  private next = 0;
  private readonly waiting = new Map<number, (msg: InspectorReply) => void>();
  private closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data)) as InspectorReply;
      if (msg.id === undefined) return; // an event, not an answer
      this.waiting.get(msg.id)?.(msg);
      this.waiting.delete(msg.id);
    });
    // The process exited (or the socket broke): no answer is coming, so no call may wait for one.
    ws.addEventListener("close", () => {
      this.closed = true;
      for (const answer of this.waiting.values())
        answer({ error: { message: "inspector connection closed" } });
      this.waiting.clear();
    });
  }

  /** Connects to the first target the inspector on `port` lists. */
  static async connect(port: number): Promise<Inspector> {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
      webSocketDebuggerUrl: string;
    }>;
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) throw new Error(`no inspector target on port ${port}`);
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot open ${url}`)), { once: true });
    });
    return new Inspector(ws);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error(`${method}: inspector connection closed`));
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (msg) =>
        msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result),
      );
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * A full garbage collection (`gc()`, which unlike HeapProfiler.collectGarbage does not also
   * hand memory back to the system, so RSS keeps its course), then the process's RSS and the V8
   * heap in use: after a full GC, the live heap.
   */
  async memoryAfterGc(): Promise<MemoryAfterGc> {
    const res = (await this.call("Runtime.evaluate", {
      expression: "gc(), JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    })) as { result: { value: string } };
    const usage = JSON.parse(res.result.value) as { rss: number; heapUsed: number };
    return { rssMiB: usage.rss / MIB, heapUsedMiB: usage.heapUsed / MIB };
  }

  close(): void {
    this.ws.close();
  }
}

interface InspectorReply {
  id?: number;
  result?: unknown;
  error?: { message: string };
}
