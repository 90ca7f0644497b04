import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fake Slack Web API on a real loopback HTTP server, speaking what Slack documents for the
 * methods the slack trigger calls: `POST /api/<method>`, the token as `Authorization: Bearer`,
 * bodies form-encoded (`application/x-www-form-urlencoded`, complex values as JSON strings) or
 * JSON, answers `200 {ok:true,...}` or `200 {ok:false,error:"..."}`, cursor pagination
 * (`limit`, `cursor`, `response_metadata.next_cursor`) and `429` with `Retry-After`.
 *
 * Methods: `conversations.list`, `conversations.join`, `chat.postMessage`.
 */

export interface FakeChannel {
  id: string;
  name: string;
  isMember: boolean;
  isPrivate?: boolean;
  isArchived?: boolean;
}

export interface FakeCall {
  method: string;
  authorization: string | undefined;
  contentType: string | undefined;
  /** The decoded arguments (form values as sent: complex ones are JSON strings). */
  args: Record<string, string>;
}

export interface PostedMessage {
  channel: string;
  ts: string;
  text: string;
  threadTs?: string;
  replyBroadcast: boolean;
  attachments?: unknown;
  blocks?: unknown;
  username?: string;
  iconEmoji?: string;
  iconUrl?: string;
}

export class FakeSlackApi {
  readonly calls: FakeCall[] = [];
  readonly messages: PostedMessage[] = [];
  readonly channels: FakeChannel[] = [];
  /** Tokens accepted; any other gets `invalid_auth` (none at all: `not_authed`). */
  readonly tokens = new Set<string>();
  /** Pending 429 answers: the next requests get them, with this `Retry-After` (seconds). */
  private rateLimits: number[] = [];
  private server: Server | undefined;
  private seq = 0;
  url = "";

  constructor(options: { tokens: string[]; channels?: FakeChannel[] }) {
    for (const t of options.tokens) this.tokens.add(t);
    this.channels.push(...(options.channels ?? []));
  }

  /** The next `times` requests are answered 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitNext(times: number, retryAfterSeconds: number): void {
    for (let i = 0; i < times; i++) this.rateLimits.push(retryAfterSeconds);
  }

  callsOf(method: string): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(String(err));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "POST" || !path.startsWith("/api/")) {
      reply(404, { ok: false, error: "unknown_method" });
      return;
    }
    const method = path.slice("/api/".length);
    const contentType = req.headers["content-type"];
    const args = decode(raw, contentType);
    this.calls.push({ method, authorization: req.headers.authorization, contentType, args });

    const limited = this.rateLimits.shift();
    if (limited !== undefined) {
      reply(429, { ok: false, error: "ratelimited" }, { "retry-after": String(limited) });
      return;
    }
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ")) {
      reply(200, { ok: false, error: "not_authed" });
      return;
    }
    if (!this.tokens.has(auth.slice("Bearer ".length))) {
      reply(200, { ok: false, error: "invalid_auth" });
      return;
    }
    switch (method) {
      case "conversations.list":
        reply(200, this.list(args));
        return;
      case "conversations.join":
        reply(200, this.join(args));
        return;
      case "chat.postMessage":
        reply(200, this.post(args));
        return;
      default:
        reply(404, { ok: false, error: "unknown_method" });
    }
  }

  private find(ref: string | undefined): FakeChannel | undefined {
    return this.channels.find((c) => c.id === ref || c.name === ref);
  }

  private list(args: Record<string, string>): unknown {
    const types = (args.types ?? "public_channel").split(",");
    const excludeArchived = args.exclude_archived === "true";
    const visible = this.channels.filter(
      (c) =>
        types.includes(c.isPrivate ? "private_channel" : "public_channel") &&
        !(excludeArchived && c.isArchived) &&
        (!c.isPrivate || c.isMember),
    );
    const limit = Math.max(1, Math.min(1000, Number(args.limit ?? 100) || 100));
    const offset = args.cursor ? Number(Buffer.from(args.cursor, "base64").toString("utf8")) : 0;
    if (!Number.isInteger(offset) || offset < 0) return { ok: false, error: "invalid_cursor" };
    const page = visible.slice(offset, offset + limit);
    const next = offset + limit < visible.length ? offset + limit : undefined;
    return {
      ok: true,
      channels: page.map((c) => ({
        id: c.id,
        name: c.name,
        is_channel: !c.isPrivate,
        is_private: c.isPrivate === true,
        is_archived: c.isArchived === true,
        is_member: c.isMember,
      })),
      response_metadata: {
        next_cursor: next === undefined ? "" : Buffer.from(String(next)).toString("base64"),
      },
    };
  }

  private join(args: Record<string, string>): unknown {
    const c = this.find(args.channel);
    if (!c || c.id !== args.channel) return { ok: false, error: "channel_not_found" };
    if (c.isArchived) return { ok: false, error: "is_archived" };
    if (c.isPrivate) return { ok: false, error: "method_not_supported_for_channel_type" };
    const already = c.isMember;
    c.isMember = true;
    return {
      ok: true,
      channel: { id: c.id, name: c.name, is_member: true },
      ...(already ? { warning: "already_in_channel" } : {}),
    };
  }

  private post(args: Record<string, string>): unknown {
    const c = this.find(args.channel);
    if (!c || (c.isPrivate && !c.isMember)) return { ok: false, error: "channel_not_found" };
    if (c.isArchived) return { ok: false, error: "is_archived" };
    if (!c.isMember) return { ok: false, error: "not_in_channel" };
    const attachments = parseJson(args.attachments);
    const blocks = parseJson(args.blocks);
    if (attachments === null) return { ok: false, error: "invalid_attachments" };
    if (blocks === null) return { ok: false, error: "invalid_blocks" };
    const text = args.text ?? "";
    const hasAttachments = Array.isArray(attachments) && attachments.length > 0;
    const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
    if (text === "" && !hasAttachments && !hasBlocks) return { ok: false, error: "no_text" };
    if (args.thread_ts && !this.messages.some((m) => m.ts === args.thread_ts && m.channel === c.id))
      return { ok: false, error: "thread_not_found" };
    this.seq++;
    const ts = `1700000000.${String(this.seq).padStart(6, "0")}`;
    const m: PostedMessage = {
      channel: c.id,
      ts,
      text,
      replyBroadcast: args.reply_broadcast === "true",
      ...(args.thread_ts ? { threadTs: args.thread_ts } : {}),
      ...(attachments !== undefined ? { attachments } : {}),
      ...(blocks !== undefined ? { blocks } : {}),
      ...(args.username ? { username: args.username } : {}),
      ...(args.icon_emoji ? { iconEmoji: args.icon_emoji } : {}),
      ...(args.icon_url ? { iconUrl: args.icon_url } : {}),
    };
    this.messages.push(m);
    return { ok: true, channel: c.id, ts, message: { type: "message", text, ts } };
  }
}

/** Form or JSON body -> string arguments (JSON values other than strings re-encoded as JSON). */
function decode(raw: string, contentType: string | undefined): Record<string, string> {
  if (raw === "") return {};
  if (contentType?.startsWith("application/json")) {
    const obj = JSON.parse(raw) as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(obj).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

/** undefined: absent; null: not JSON. */
function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
