import type {
  LogLevel,
  Logger as SlackLogger,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from "@slack/web-api";
import { errorMessage, TriggerError } from "../../errors.js";
import { BoundedMap } from "../../lib/fifo.js";
import type { Logger } from "../../observability/logger.js";
import type { TriggerRegistryOptions } from "../kind.js";
import { withOwnParameters } from "../payload.js";
import type { ExecContext, FiringContext, Rendered, TriggerKind, TriggerResult } from "../types.js";
import { jsonArrayProblem } from "./json.js";
import type { SlackTrigger } from "./schema.js";

/** Slack's Web API, unless the operator points sensorbus elsewhere (SENSORBUS_SLACK_API_URL). */
export const SLACK_API_URL = "https://slack.com/api/";

/** Thread timestamps remembered per (channel, messageAggregationKey), oldest dropped first. */
const THREADS_CAPACITY = 10_000;

/**
 * Platform errors (`{ok:false,error}`) that may pass on a later attempt; every other one (bad
 * token, unknown channel, invalid blocks...) fails the same way again and ends the firing.
 */
const TRANSIENT = new Set([
  "ratelimited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "team_added_to_org",
]);

/** An emoji reference as Argo's notifications-engine accepts it. */
const ICON_EMOJI = /^:.+:$/;

interface SlackDetail {
  /** As written, without a leading `#` (Argo's recipient). */
  channel: string;
  text: string;
  attachments?: unknown[];
  blocks?: unknown[];
  aggregationKey: string;
  broadcast: boolean;
  username?: string;
  icon?: { icon_emoji: string } | { icon_url: string };
}

export interface SlackTriggerOptions {
  /** Base URL of the Web API, ending in `/` (default {@link SLACK_API_URL}). */
  apiUrl?: string;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  log?: Logger;
}

/**
 * Argo's `slack` trigger (notifications-engine's Slack service): `chat.postMessage` to `channel`
 * with `message` as text, `attachments` and `blocks` (JSON arrays) and the `sender`'s username and
 * icon. With `thread.messageAggregationKey`, the first message of a key starts a thread and later
 * ones reply in it (`thread_ts`), also shown in the channel with `broadcastMessageToChannel`; the
 * thread timestamps are kept in memory, per process, as Argo keeps them. When the app is not in
 * the channel (`not_in_channel`), the channel is looked up with `conversations.list` (all pages),
 * joined with `conversations.join` and the message posted again, as Argo's earlier Slack trigger
 * did. Rate limits (429), 5xx, transport failures and Slack's transient errors are retried per
 * `retryStrategy`; every other refusal ends the firing.
 */
export function slackTrigger(options: SlackTriggerOptions = {}): TriggerKind<SlackTrigger> {
  const apiUrl = withSlash(options.apiUrl ?? SLACK_API_URL);
  const clients = new Map<string, WebClient>();
  // The token of each rendered firing, kept out of the Rendered object (which replay, the journal
  // and observers see).
  const tokens = new WeakMap<SlackDetail, string>();
  const threads = new BoundedMap<string, string>(THREADS_CAPACITY);
  /** The first post of a thread key while it is in flight. */
  const starters = new Map<string, Promise<TriggerResult>>();
  const logger = slackLogger(options.log);
  // The SDK is loaded with the first post, not with the process (`replay` renders, never posts).
  let sdk: Promise<typeof import("@slack/web-api")> | undefined;
  const clientFor = async (token: string): Promise<WebClient> => {
    let client = clients.get(token);
    if (!client) {
      sdk ??= import("@slack/web-api");
      const { WebClient } = await sdk;
      client = new WebClient(token, {
        slackApiUrl: apiUrl,
        // The runner retries (retryStrategy) and dead-letters: the client must not wait on its own.
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: options.timeoutMs ?? 30_000,
        allowAbsoluteUrls: false,
        logger,
      });
      clients.set(token, client);
    }
    return client;
  };

  /** Posts one message (in the thread `threadTs` if given); remembers a new thread's ts. */
  const send = async (
    client: WebClient,
    d: SlackDetail,
    ctx: ExecContext,
    threadKey: string,
    threadTs: string | undefined,
  ): Promise<TriggerResult> => {
    const post = (channel: string) =>
      client.chat.postMessage({
        channel,
        text: d.text,
        ...(d.attachments ? { attachments: d.attachments } : {}),
        ...(d.blocks ? { blocks: d.blocks } : {}),
        ...(d.username ? { username: d.username } : {}),
        ...(d.icon ?? {}),
        ...(threadTs ? { thread_ts: threadTs, reply_broadcast: d.broadcast } : {}),
      } as Parameters<WebClient["chat"]["postMessage"]>[0]);
    let joined = "";
    let res: Awaited<ReturnType<typeof post>>;
    try {
      try {
        res = await post(d.channel);
      } catch (err) {
        if (!isPlatformError(err) || err.data.error !== "not_in_channel") throw err;
        const id = await findChannel(client, d.channel);
        await client.conversations.join({ channel: id });
        joined = ` (joined ${id})`;
        ctx.log.info({ channel: d.channel, channelId: id }, "slack trigger joined the channel");
        res = await post(id);
      }
    } catch (err) {
      throw slackError(err, d.channel);
    }
    if (threadKey && !threadTs && typeof res.ts === "string") threads.set(threadKey, res.ts);
    const where = threadTs ? `thread ${threadTs} in #${d.channel}` : `#${d.channel}`;
    return {
      summary: `posted to ${where}${joined} (ts ${String(res.ts)})`,
      detail: { channel: res.channel, ts: res.ts, ...(threadTs ? { threadTs } : {}) },
    };
  };

  return {
    kind: "slack",
    async render(template, ctx: FiringContext): Promise<Rendered> {
      const slack = withOwnParameters(template, ctx);
      const refuse = (message: string) =>
        new TriggerError("SB_ERR_TRIGGER_RENDER", `slack trigger: ${message}`);
      if (!slack.slackToken) throw refuse("slack token can't be empty");
      const channel = (slack.channel ?? "").replace(/^#/, "");
      if (channel === "") throw refuse("no slack channel provided");
      const text = slack.message ?? "";
      if (text === "" && !slack.attachments && !slack.blocks) {
        throw refuse(
          "no text to post: At least one of message/attachments/blocks should be provided",
        );
      }
      const detail: SlackDetail = {
        channel,
        text,
        aggregationKey: slack.thread?.messageAggregationKey ?? "",
        broadcast: slack.thread?.broadcastMessageToChannel === true,
      };
      for (const field of ["attachments", "blocks"] as const) {
        const raw = slack[field];
        if (!raw) continue;
        const problem = jsonArrayProblem(raw);
        if (problem) throw refuse(`${field} is ${problem}`);
        detail[field] = JSON.parse(raw) as unknown[];
      }
      if (slack.sender?.username) detail.username = slack.sender.username;
      const icon = slack.sender?.icon ?? "";
      if (ICON_EMOJI.test(icon)) detail.icon = { icon_emoji: icon };
      else if (isHttpUrl(icon)) detail.icon = { icon_url: icon };
      else if (icon !== "")
        ctx.log.warn(
          { icon },
          "slack trigger: sender.icon is not an :emoji: or http(s) URL; left out",
        );
      tokens.set(detail, await ctx.values.secret(slack.slackToken, "slack.slackToken"));
      return { kind: "slack", payload: detail, detail };
    },

    async execute(rendered: Rendered, ctx: ExecContext): Promise<TriggerResult> {
      const d = rendered.detail as SlackDetail;
      const token = tokens.get(d);
      if (token === undefined) {
        throw new TriggerError("SB_ERR_TRIGGER_RENDER", "slack trigger: executed without render");
      }
      const client = await clientFor(token);
      const threadKey = d.aggregationKey ? `${d.channel}\n${d.aggregationKey}` : "";
      if (!threadKey) return send(client, d, ctx, "", undefined);
      // The first message of a key starts the thread; later ones of the key wait for it, so that
      // concurrent firings do not start two threads (if it fails, the next one starts it).
      for (;;) {
        const ts = threads.get(threadKey);
        if (ts) return send(client, d, ctx, threadKey, ts);
        const starting = starters.get(threadKey);
        if (!starting) break;
        await starting.catch(() => undefined);
      }
      const started = send(client, d, ctx, threadKey, undefined);
      starters.set(threadKey, started);
      try {
        return await started;
      } finally {
        starters.delete(threadKey);
      }
    },
  };
}

/** The registry's entry point: the API URL from SENSORBUS_SLACK_API_URL (tests, proxies). */
export function createTrigger(options: TriggerRegistryOptions): TriggerKind<SlackTrigger> {
  const apiUrl = process.env.SENSORBUS_SLACK_API_URL;
  return slackTrigger({ ...(apiUrl ? { apiUrl } : {}), log: options.log });
}

/**
 * The ID of the channel named `name` (or with ID `name`), reading every page of
 * `conversations.list` (public and private, not archived). Not found: `channel_not_found`.
 */
async function findChannel(client: WebClient, name: string): Promise<string> {
  let cursor: string | undefined;
  do {
    const page = await client.conversations.list({
      types: "public_channel,private_channel",
      exclude_archived: true,
      limit: 200,
      ...(cursor ? { cursor } : {}),
    });
    const found = page.channels?.find((c) => c.name === name || c.id === name);
    if (found?.id) return found.id;
    cursor = page.response_metadata?.next_cursor || undefined;
  } while (cursor);
  throw new TriggerError(
    "SB_ERR_TRIGGER_SEND",
    `slack #${name}: Slack refused: channel_not_found`,
    {
      retryable: false,
    },
  );
}

/** A Slack client failure as a TriggerError, retryable when a later attempt may pass. */
function slackError(err: unknown, channel: string): TriggerError {
  if (err instanceof TriggerError) return err;
  const at = `slack #${channel}`;
  const fail = (message: string, retryable: boolean, retryAfterMs?: number) =>
    new TriggerError("SB_ERR_TRIGGER_SEND", `${at}: ${message}`, {
      retryable,
      cause: err,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  // The SDK's error classes by their documented `code` (the SDK itself is loaded lazily).
  const code = (err as { code?: unknown })?.code;
  if (code === "slack_webapi_rate_limited_error") {
    const e = err as WebAPIRateLimitedError;
    return fail(`rate limited (429, Retry-After ${e.retryAfter} s)`, true, e.retryAfter * 1000);
  }
  if (isPlatformError(err)) {
    const slackCode = err.data.error;
    return fail(`Slack refused: ${slackCode}`, TRANSIENT.has(slackCode));
  }
  if (code === "slack_webapi_http_error") {
    const status = (err as WebAPIHTTPError).statusCode;
    return fail(`HTTP ${status}`, status >= 500 || status === 408);
  }
  if (code === "slack_webapi_request_error") {
    return fail(errorMessage((err as WebAPIRequestError).original), true);
  }
  return fail(errorMessage(err), true);
}

function isPlatformError(err: unknown): err is WebAPIPlatformError {
  return (err as { code?: unknown })?.code === "slack_webapi_platform_error";
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === "http:" || u.protocol === "https:") && u.host !== "";
  } catch {
    return false;
  }
}

const withSlash = (url: string) => (url.endsWith("/") ? url : `${url}/`);

/**
 * The client's own log lines: its warnings (a missing `text` fallback, deprecations) would repeat
 * at every firing, so they are debug lines; its errors are warnings. Request bodies (debug) are
 * dropped.
 */
function slackLogger(log: Logger | undefined): SlackLogger {
  let level = "warn" as LogLevel;
  const line = (msg: unknown[]) => msg.map(String).join(" ");
  return {
    debug: () => {},
    info: () => {},
    warn: (...msg: unknown[]) => log?.debug({ component: "slack-web-api" }, line(msg)),
    error: (...msg: unknown[]) => log?.warn({ component: "slack-web-api" }, line(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
