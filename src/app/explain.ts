import { ConfigError, EventBusError, errorMessage } from "../errors.js";
import type { NatsAuth } from "../eventbus/index.js";
import { createBus, redactUrls } from "../eventbus/index.js";
import type { JournalEntry, JournalEvent } from "../observability/journal.js";
import {
  JOURNAL_LIMITS,
  JOURNAL_STREAM,
  outcomeOf,
  readJournal,
} from "../observability/journal.js";
import type { Logger } from "../observability/logger.js";

export interface ExplainOptions {
  id: string;
  /** nats://... : read the `sensorbus-journal` stream. Otherwise ask the running process. */
  busUrl?: string | undefined;
  /** NATS credentials and TLS settings (app/nats-options.ts). */
  busAuth?: NatsAuth | undefined;
  /**
   * Base URL of the running process's console listener (default http://127.0.0.1:7778);
   * `http://user:password@host:port` sends basic auth.
   */
  url?: string | undefined;
  /** Bearer token of a console started with --console-token-file. */
  token?: string | undefined;
  log: Logger;
}

/**
 * The journal of one recent event: from the JetStream journal stream when `busUrl` is given, else from a running
 * `sensorbus run` (GET /api/events/<id> on its console port). Undefined when it is not (or no
 * longer) journaled. Throws a one-line error when the source cannot be reached.
 */
export async function loadExplanation(options: ExplainOptions): Promise<JournalEvent | undefined> {
  if (options.busUrl) {
    const bus = await openJournalBus(options.busUrl, "journal", options);
    try {
      const records = await bus.recordLog(JOURNAL_STREAM, JOURNAL_LIMITS);
      return await readJournal(records, options.id);
    } finally {
      await bus.close();
    }
  }
  return await getFromConsole<JournalEvent>(
    `/api/events/${encodeURIComponent(options.id)}`,
    "journal",
    options,
  );
}

/**
 * The bus behind `--bus` for a command that reads one of sensorbus's JetStream streams
 * (`explain`: the journal, `trace`: the trace stream).
 */
export async function openJournalBus(
  busUrl: string,
  what: string,
  options: { log: Logger; busAuth?: NatsAuth | undefined },
) {
  if (!/^(nats|tls):\/\//.test(busUrl))
    throw new ConfigError(
      `--bus: '${redactUrls(busUrl)}' is not a nats:// URL (nor tls://; the ${what} lives in JetStream)`,
    );
  return await createBus(busUrl, { log: options.log, auth: options.busAuth });
}

/**
 * GET a path of a running sensorbus's console API (`--url`, with its credentials); `undefined`
 * for a 404. `what` names what a `--bus` read would find instead.
 */
export async function getFromConsole<T>(
  path: string,
  what: string,
  options: { url?: string | undefined; token?: string | undefined },
): Promise<T | undefined> {
  const { base, authorization } = consoleBase(options.url ?? DEFAULT_CONSOLE_URL, options.token);
  const url = `${base}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(10_000),
      ...(authorization ? { headers: { authorization } } : {}),
    });
  } catch (err) {
    throw new EventBusError(
      "SB_ERR_BUS_UNAVAILABLE",
      `cannot reach a running sensorbus at ${base} (${errorMessage(err)}); start it with --console-port, pass --url, or --bus nats://... to read the JetStream ${what}`,
      { retryable: false },
    );
  }
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new ConfigError(
      res.status === 401
        ? `GET ${url}: HTTP 401: the console needs credentials (--token-file or $SENSORBUS_CONSOLE_TOKEN for a bearer token, http://user:password@host for basic auth)`
        : `GET ${url}: HTTP 403: the console refuses this Host name (its --console-allowed-hosts)`,
    );
  }
  if (!res.ok) {
    throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", `GET ${url}: HTTP ${res.status}`, {
      retryable: false,
    });
  }
  return (await res.json()) as T;
}

/** Where `explain` asks by default: the console listener's default address. */
export const DEFAULT_CONSOLE_URL = "http://127.0.0.1:7778";

/**
 * The base URL without credentials and the Authorization header to send: basic auth from the
 * URL's user info, else the bearer token. fetch refuses URLs that carry credentials.
 */
export function consoleBase(
  raw: string,
  token: string | undefined,
): { base: string; authorization?: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`--url: '${raw}' is not a URL`);
  }
  let authorization: string | undefined;
  if (url.username !== "" || url.password !== "") {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    authorization = `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
    url.username = "";
    url.password = "";
  } else if (token) authorization = `Bearer ${token}`;
  const base = url.toString().replace(/\/+$/, "");
  return { base, ...(authorization ? { authorization } : {}) };
}

/** Human text: one block per event, one line per decision, the outcome last. */
export function formatExplanation(ev: JournalEvent): string {
  const lines: string[] = [];
  const where = [ev.source && `source ${ev.source}`, ev.subject && `event ${ev.subject}`]
    .filter(Boolean)
    .join(", ");
  lines.push(`event ${ev.id}${where ? ` (${where})` : ""}`);
  if (ev.time) lines.push(`  time         ${ev.time}`);
  if (ev.correlationId) lines.push(`  correlation  ${ev.correlationId}`);
  if (ev.traceparent) lines.push(`  traceparent  ${ev.traceparent}`);
  for (const e of ev.entries) lines.push(...formatEntry(e));
  lines.push(`outcome: ${outcomeOf(ev)}`);
  return `${lines.join("\n")}\n`;
}

function formatEntry(e: JournalEntry): string[] {
  switch (e.kind) {
    case "published":
      return [
        `  ${e.at}  ${e.outcome === "filtered" ? "dropped by filter.expression of" : e.outcome === "failed" ? "NOT stored (bus error) from" : e.outcome === "duplicate" ? "duplicate id, dropped by the bus, from" : "published by"} EventSource ${e.eventSource}/${e.eventName}`,
      ];
    case "rejected":
      return [
        `  ${e.at}  rejected  sensor ${e.sensor}, trigger ${e.trigger}, dependency ${e.dependency}`,
        `             reason: ${e.reason}`,
      ];
    case "fired": {
      const deps = Object.entries(e.dependencies)
        .map(([d, id]) => `${d}=${id}`)
        .join(", ");
      const out = [
        `  ${e.at}  fired     sensor ${e.sensor}, trigger ${e.trigger} (${e.ms} ms)`,
        `             dependencies matched: ${deps}`,
        `             result: ${e.summary}`,
      ];
      const r = e.rendered;
      if (r?.request) out.push(`             request: ${r.request.method} ${r.request.url}`);
      if (r?.payload !== undefined)
        out.push(`             ${r.kind} payload: ${oneLine(JSON.stringify(r.payload))}`);
      else if (r?.payloadText !== undefined)
        out.push(`             ${r.kind} payload: ${oneLine(r.payloadText)}`);
      return out;
    }
    case "failed":
      return [
        `  ${e.at}  ${e.final ? "failed   " : "retrying "} sensor ${e.sensor}, trigger ${e.trigger} (${e.ms} ms)`,
        `             error: ${e.error}`,
      ];
    case "deadlettered":
      return [
        `  ${e.at}  dead-lettered  sensor ${e.sensor}, trigger ${e.trigger}: events stored as a dead letter`,
        `             error: ${e.error}`,
      ];
    case "stored":
      return [
        `  ${e.at}  stored    sensor ${e.sensor}, trigger ${e.trigger}, dependency ${e.dependency}: waiting for the rest of the condition`,
      ];
    case "replaced":
      return [
        `  ${e.at}  replaced  sensor ${e.sensor}, trigger ${e.trigger}, dependency ${e.dependency}: by newer event ${e.by} before the condition held`,
      ];
    case "expired":
      return [
        `  ${e.at}  expired   sensor ${e.sensor}, trigger ${e.trigger}: correlation key '${e.key}' (${e.reason === "window" ? "window passed" : "too many open keys"})`,
        `             partial match: ${Object.entries(e.dependencies)
          .map(([d, id]) => `${d}=${id}`)
          .join(", ")}`,
      ];
  }
}

function oneLine(s: string | undefined): string {
  const text = (s ?? "").replace(/\s+/g, " ");
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}
