import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { selfSignedCert } from "./tls-cert.js";

/** A message the sink accepted: envelope, raw text, parsed headers and body, session facts. */
export interface ReceivedMail {
  mailFrom: string;
  rcptTo: string[];
  raw: string;
  /** Header names lower-cased, folded lines joined. */
  headers: Record<string, string>;
  /** The body, quoted-printable decoded when so encoded. */
  body: string;
  /** The session was TLS (implicit or after STARTTLS) when the message was sent. */
  secure: boolean;
  /** The authenticated user, if any. */
  user: string | undefined;
}

export interface SmtpSinkOptions {
  /** Credentials accepted (PLAIN/LOGIN); none: authentication is not offered. */
  users?: Record<string, string>;
  /** Certificate and key: STARTTLS offered (or implicit TLS with `secure`). */
  tls?: { key: string; cert: string };
  secure?: boolean;
  /** A reply to RCPT TO for this address, e.g. `{ code: 451, message: "try later" }`. */
  refuseRcpt?: (address: string, attempt: number) => { code: number; message: string } | undefined;
  port?: number;
  host?: string;
}

/**
 * A real SMTP server (the `smtp-server` package) on a loopback port, keeping what it receives.
 */
export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  readonly authFailures: string[] = [];
  /** RCPT TO attempts per address. */
  readonly rcptAttempts = new Map<string, number>();
  private server: SMTPServer | undefined;
  port = 0;

  constructor(private readonly options: SmtpSinkOptions = {}) {}

  async start(): Promise<void> {
    const o = this.options;
    const users = o.users;
    const config: SMTPServerOptions = {
      secure: o.secure === true,
      ...(o.tls ? { key: o.tls.key, cert: o.tls.cert } : {}),
      disabledCommands: [...(o.tls ? [] : ["STARTTLS"]), ...(users ? [] : ["AUTH"])],
      authMethods: ["PLAIN", "LOGIN"],
      authOptional: !users,
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, cb) => {
        if (users && users[auth.username ?? ""] === auth.password) {
          cb(null, { user: auth.username });
          return;
        }
        this.authFailures.push(auth.username ?? "");
        const e = new Error("Invalid username or password") as Error & { responseCode: number };
        e.responseCode = 535;
        cb(e);
      },
      onRcptTo: (address, _session, cb) => {
        const n = (this.rcptAttempts.get(address.address) ?? 0) + 1;
        this.rcptAttempts.set(address.address, n);
        const refusal = o.refuseRcpt?.(address.address, n);
        if (refusal) {
          const e = new Error(refusal.message) as Error & { responseCode: number };
          e.responseCode = refusal.code;
          cb(e);
          return;
        }
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const raw = Buffer.concat(chunks).toString("utf8");
          this.mails.push({
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            raw,
            ...parseMessage(raw),
            secure: session.secure,
            user: typeof session.user === "string" ? session.user : undefined,
          });
          cb();
        });
      },
    };
    this.server = new SMTPServer(config);
    this.server.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(o.port ?? 0, o.host ?? "127.0.0.1", () => resolve());
    });
    this.port = (
      this.server as unknown as { server: { address(): AddressInfo } }
    ).server.address().port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function parseMessage(raw: string): { headers: Record<string, string>; body: string } {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  const headers: Record<string, string> = {};
  for (const line of head.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(split + 4);
  if (headers["content-transfer-encoding"]?.toLowerCase() === "quoted-printable") {
    body = Buffer.from(
      body
        .replace(/=\r\n/g, "")
        .replace(/=([0-9A-F]{2})/gi, (_m, h: string) =>
          String.fromCharCode(Number.parseInt(h, 16)),
        ),
      "latin1",
    ).toString("utf8");
  }
  return { headers, body: body.replace(/\r\n$/, "") };
}

/** A self-signed certificate for `localhost` and 127.0.0.1 (openssl), key and cert as PEM text. */
export function smtpServerCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "sb-smtp-cert-"));
  try {
    return selfSignedCert(dir, { altNames: "DNS:localhost,IP:127.0.0.1", key: "rsa:2048" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
