import { setImmediate as tick } from "node:timers/promises";
import { connect, errors, type Msg, headers as natsHeaders } from "@nats-io/transport-node";
import { errorMessage } from "../../errors.js";
import { resolveNatsTarget, scrubSecrets } from "../nats-auth.js";
import {
  type PlainNatsConnection,
  PlainNatsError,
  type PlainNatsEvent,
  type PlainNatsMessage,
  type PlainNatsOptions,
} from "../nats-plain.js";
import { connectionAuth } from "./connection.js";
import { DEFAULTS } from "./options.js";

/** Go's client waits 2 s between reconnect attempts. */
const RECONNECT_WAIT_MS = 2_000;

/** Whether a client error means the server refused the credentials or the TLS settings. */
function isRefusal(message: string): boolean {
  return /authorization violation|authentication|user authentication expired|tls/i.test(message);
}

function headersOf(msg: Msg): Record<string, string[]> | undefined {
  if (!msg.headers) return undefined;
  const out: Record<string, string[]> = {};
  for (const [k, v] of msg.headers) out[k] = [...v];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** See connectPlainNats (eventbus/nats-plain.ts). */
export async function dialPlainNats(opts: PlainNatsOptions): Promise<PlainNatsConnection> {
  const target = resolveNatsTarget(opts.servers, opts.auth);
  const at = target.display.join(",");
  const scrub = (err: unknown) => scrubSecrets(errorMessage(err), target.secrets);
  let nc: Awaited<ReturnType<typeof connect>>;
  try {
    nc = await connect({
      servers: target.servers,
      name: opts.name,
      reconnect: opts.reconnect,
      maxReconnectAttempts: opts.reconnect ? -1 : 0,
      reconnectTimeWait: opts.reconnectWaitMs ?? RECONNECT_WAIT_MS,
      timeout: opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      noAsyncTraces: true,
      ...connectionAuth(target),
    });
  } catch (err) {
    const message = scrub(err);
    throw new PlainNatsError(`cannot connect to NATS at ${at}: ${message}`, {
      refused: isRefusal(message),
      cause: err,
    });
  }
  let connected = true;
  const listeners = new Set<(e: PlainNatsEvent) => void>();
  const tell = (e: PlainNatsEvent) => {
    for (const l of listeners) l(e);
  };
  /** Subjects the server refused a publish to since the last check (core NATS says so async). */
  const refusedPublish = new Map<string, string>();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        if (connected) tell({ type: "disconnected" });
        connected = false;
      } else if (s.type === "reconnect") {
        connected = true;
        tell({ type: "reconnected" });
      } else if (s.type === "error") {
        const e = s.error;
        if (e instanceof errors.PermissionViolationError && e.operation === "publish") {
          refusedPublish.set(e.subject, scrub(e));
        } else if (!(e instanceof errors.PermissionViolationError)) {
          tell({ type: "error", error: scrub(e) });
        }
      }
    }
  })();
  void nc.closed().then((err) => {
    connected = false;
    tell({ type: "closed", ...(err ? { error: scrub(err) } : {}) });
  });

  const flush = async (timeoutMs: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        nc.flush(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer from NATS at ${at} within ${timeoutMs} ms`)),
            timeoutMs,
          );
          timer.unref();
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    at,
    get connected() {
      return connected && !nc.isClosed();
    },
    subscribe(subject, queue, onMessage, onError) {
      const sub = nc.subscribe(subject, {
        ...(queue ? { queue } : {}),
        callback: (err, msg) => {
          if (err) {
            onError(scrub(err));
            return;
          }
          const headers = headersOf(msg);
          const m: PlainNatsMessage = {
            subject: msg.subject,
            // A view into the client's read buffer: copied, the caller keeps it past this call.
            data: Uint8Array.from(msg.data),
            ...(headers ? { headers } : {}),
            ...(msg.reply ? { reply: msg.reply } : {}),
          };
          onMessage(m);
        },
      });
      return { drain: () => sub.drain() };
    },
    async flush(timeoutMs) {
      try {
        await flush(timeoutMs);
      } catch (err) {
        throw new PlainNatsError(scrub(err), { cause: err });
      }
    },
    async publish(subject, data, headers, timeoutMs) {
      if (!connected || nc.isClosed())
        throw new PlainNatsError(`not connected to NATS at ${at}`, {});
      try {
        let h: ReturnType<typeof natsHeaders> | undefined;
        if (headers && Object.keys(headers).length > 0) {
          h = natsHeaders();
          for (const [k, v] of Object.entries(headers)) h.set(k, v);
        }
        refusedPublish.delete(subject);
        nc.publish(subject, data, h ? { headers: h } : undefined);
      } catch (err) {
        // Thrown before anything was sent: a bad subject, a payload over max_payload, closed.
        const final = !(err instanceof errors.ClosedConnectionError);
        throw new PlainNatsError(`publish to '${subject}' at ${at}: ${scrub(err)}`, {
          final,
          cause: err,
        });
      }
      try {
        await flush(timeoutMs);
      } catch (err) {
        throw new PlainNatsError(`publish to '${subject}' at ${at}: ${scrub(err)}`, { cause: err });
      }
      // The server answers a refused publish with -ERR before the PONG; let its status through.
      await tick();
      const refused = refusedPublish.get(subject);
      if (refused !== undefined) {
        refusedPublish.delete(subject);
        throw new PlainNatsError(`publish to '${subject}' at ${at}: ${refused}`, {
          refused: true,
          final: true,
        });
      }
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (!nc.isClosed()) await nc.close();
    },
  };
}
