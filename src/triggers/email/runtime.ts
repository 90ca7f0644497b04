import { createHash } from "node:crypto";
import { errorMessage, TriggerError } from "../../errors.js";
import { BoundedMap } from "../../lib/fifo.js";
import { withOwnParameters } from "../payload.js";
import type { ExecContext, FiringContext, Rendered, TriggerKind, TriggerResult } from "../types.js";
import type { EmailTrigger } from "./schema.js";

/** Argo's address check (pkg/sensors/triggers/email): an address it refuses is not sent to. */
const VALID_EMAIL = /^[\w.-]+@([\w-]+\.)+[\w-]{2,4}$/;

/** Port when the manifest leaves it out or sets 0 (Argo dials port 0 and fails). */
const DEFAULT_PORT = 587;

/** Recipients already sent a firing's message, remembered so a retry does not send it again. */
const DELIVERED_CAPACITY = 10_000;

interface EmailDetail {
  host: string;
  port: number;
  username: string;
  from: string;
  to: string[];
  subject: string;
  body: string;
  /** Message-ID stem, the same for every attempt and redelivery of this firing. */
  firing: string;
  correlationId?: string;
}

export interface EmailTriggerOptions {
  /** Extra TLS options for the SMTP connection (tests: the CA of a self-signed server). */
  tls?: { ca?: string | Buffer };
  /** Connect / greeting timeout, ms (gomail's dial timeout: 10 s). */
  connectTimeoutMs?: number;
}

/**
 * Argo's `email` trigger: one plain-text message per `to` address through the SMTP server at
 * `host:port`, as Argo's gomail dialer sends it: implicit TLS on port 465, otherwise STARTTLS when
 * the server offers it (certificate verified), authentication only when both `username` and
 * `smtpPassword` are set (and, as Go's smtp auth, only over TLS or to a loopback host). Addresses
 * Argo's check refuses are skipped and fail the firing; the others are still sent. Every failure
 * to reach or be accepted by the server is retried (per `retryStrategy`) except a permanent (5xx)
 * refusal of a recipient or message; a retry sends only to recipients not yet sent.
 */
export function emailTrigger(options: EmailTriggerOptions = {}): TriggerKind<EmailTrigger> {
  const delivered = new BoundedMap<string, true>(DELIVERED_CAPACITY);
  // nodemailer is loaded with the first message, not with the process (`replay` never sends).
  let nodemailer: Promise<typeof import("nodemailer")> | undefined;
  // The password of each rendered firing, kept out of the Rendered object (which replay, the
  // journal and observers see).
  const passwords = new WeakMap<EmailDetail, string>();
  return {
    kind: "email",
    async render(template, ctx: FiringContext): Promise<Rendered> {
      const email = withOwnParameters(template, ctx);
      const refuse = (message: string) =>
        new TriggerError("SB_ERR_TRIGGER_RENDER", `email trigger: ${message}`);
      const to = (email.to ?? []).map((a) => String(a).trim());
      if (!email.host) throw refuse("host can't be empty");
      if (to.length === 0) throw refuse("to can't be empty");
      if (!email.body) throw refuse("body can't be empty");
      if (!email.subject) throw refuse("subject can't be empty");
      const username = email.username ?? "";
      const password = email.smtpPassword
        ? await ctx.values.secret(email.smtpPassword, "email.smtpPassword")
        : "";
      const detail: EmailDetail = {
        host: email.host,
        port: email.port || DEFAULT_PORT,
        username,
        from: email.from ?? "",
        to,
        subject: email.subject,
        body: email.body,
        firing: firingId(ctx),
        ...(ctx.correlationId ? { correlationId: ctx.correlationId } : {}),
      };
      passwords.set(detail, password);
      const { firing: _firing, ...shown } = detail;
      return { kind: "email", payload: shown, detail };
    },

    async execute(rendered: Rendered, ctx: ExecContext): Promise<TriggerResult> {
      const d = rendered.detail as EmailDetail;
      const password = passwords.get(d) ?? "";
      const secure = d.port === 465;
      const auth = d.username !== "" && password !== "";
      nodemailer ??= import("nodemailer");
      const { createTransport } = await nodemailer;
      const transport = createTransport({
        host: d.host,
        port: d.port,
        secure,
        // Go's smtp auth sends credentials only over TLS or to localhost: so does this.
        requireTLS: auth && !secure && !isLoopback(d.host),
        ...(auth ? { auth: { user: d.username, pass: password } } : {}),
        tls: { servername: d.host, ...(options.tls ?? {}) },
        connectionTimeout: options.connectTimeoutMs ?? 10_000,
        greetingTimeout: options.connectTimeoutMs ?? 10_000,
        socketTimeout: 60_000,
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      const failures: Array<{ addr: string; message: string; retryable: boolean }> = [];
      let sent = 0;
      let skipped = 0;
      try {
        for (const addr of d.to) {
          if (ctx.signal.aborted) {
            throw new TriggerError("SB_ERR_TRIGGER_SEND", "email: the sensor is stopping", {
              retryable: true,
            });
          }
          if (!VALID_EMAIL.test(addr)) {
            failures.push({ addr, message: "to emailId can't be invalid", retryable: false });
            continue;
          }
          const messageId = `<${d.firing}.${hash(addr).slice(0, 12)}@sensorbus>`;
          if (delivered.has(messageId)) {
            skipped++;
            continue;
          }
          try {
            await transport.sendMail({
              from: d.from,
              to: addr,
              subject: d.subject,
              text: d.body,
              messageId,
              ...(d.correlationId ? { headers: { "X-Correlation-Id": d.correlationId } } : {}),
            });
            delivered.set(messageId, true);
            sent++;
          } catch (err) {
            failures.push({ addr, message: smtpMessage(err), retryable: retryableSmtp(err) });
          }
        }
      } finally {
        transport.close();
      }
      const where = `smtp ${d.host}:${d.port}`;
      if (failures.length > 0) {
        const list = failures.map((f) => `${f.addr}: ${f.message}`).join("; ");
        throw new TriggerError(
          "SB_ERR_TRIGGER_SEND",
          `email via ${where}: ${failures.length} of ${d.to.length} not sent (${list})`,
          { retryable: failures.some((f) => f.retryable) },
        );
      }
      const again = skipped > 0 ? ` (${skipped} sent by an earlier attempt)` : "";
      return {
        summary: `mailed ${d.to.join(", ")} via ${where}${again}`,
        detail: { sent, skipped },
      };
    },
  };
}

/** The registry's entry point. */
export function createTrigger(): TriggerKind<EmailTrigger> {
  return emailTrigger();
}

/** A firing's identity (Sensor, trigger, events): the same on every retry and redelivery. */
function firingId(ctx: FiringContext): string {
  const ids = [...new Set([...ctx.events.values()].map((e) => e.id))].sort();
  return hash(JSON.stringify([ctx.namespace, ctx.sensorName, ctx.triggerName, ids])).slice(0, 32);
}

const hash = (text: string) => createHash("sha256").update(text).digest("hex");

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || host.startsWith("127.");
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** The server's answer when there is one (never the credentials: nodemailer does not echo them). */
function smtpMessage(err: unknown): string {
  const e = err as SmtpError;
  if (e?.code === "EAUTH") return `authentication refused: ${e.response ?? errorMessage(err)}`;
  return errorMessage(err);
}

/**
 * Connection, TLS, timeout and authentication failures and 4xx answers may pass on a later attempt
 * (auth too: the Secret may be corrected); a 5xx refusal of a recipient or of the message does not.
 */
function retryableSmtp(err: unknown): boolean {
  const e = err as SmtpError;
  if (e?.code === "EAUTH") return true;
  const status = e?.responseCode;
  return !(typeof status === "number" && status >= 500 && status < 600);
}
