import { createServer } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Trigger } from "../../src/config/types.js";
import { TriggerError } from "../../src/errors.js";
import { emailTrigger } from "../../src/triggers/email/runtime.js";
import type { TriggerKind } from "../../src/triggers/types.js";
import { execContext, firingContext, webhookEvent } from "../support/firing.js";
import { SmtpSink, smtpServerCert } from "../support/smtp-sink.js";
import { type FiringOutcome, fireThroughSensor } from "../support/trigger-harness.js";

const PASSWORD = "smtp-pa55word-SECRET-31337";
const secrets = { "smtp-secret": { password: PASSWORD } };

function emailTemplate(email: Record<string, unknown>): Trigger["template"] {
  return { name: "notify-email", email } as Trigger["template"];
}

const asKind = (k: unknown) => k as TriggerKind<unknown>;

const asAlice = { username: "alice", smtpPassword: { name: "smtp-secret", key: "password" } };
const toBob = { from: "sensor@example.com", to: ["bob@example.com"], subject: "s", body: "b" };

/** Fires one event through a Sensor whose one trigger is `email` (retried `steps` times). */
function send(
  kind: unknown,
  email: Record<string, unknown>,
  opts: { steps?: number; secrets?: Record<string, Record<string, string>> } = {},
) {
  return fireThroughSensor({
    kinds: asKind(kind),
    triggers: [
      {
        template: emailTemplate(email),
        ...(opts.steps ? { retryStrategy: { steps: opts.steps, duration: "1s" } } : {}),
      },
    ],
    event: webhookEvent({}),
    dependency: "dep",
    secrets: opts.secrets,
  });
}

/** Everything a firing wrote: logs, dead letters, failed attempts, rendered payloads. */
function outputs(out: FiringOutcome): string {
  return [
    out.logText,
    JSON.stringify(out.deadLetters),
    JSON.stringify(out.failed),
    JSON.stringify(out.fired),
  ].join("\n");
}

describe("email trigger against a real SMTP server (smtp-server)", () => {
  const cert = smtpServerCert();
  const plain = new SmtpSink({
    refuseRcpt: (addr, attempt) =>
      addr === "flaky@example.com" && attempt === 1
        ? { code: 451, message: "try again later" }
        : addr === "nobody@example.com"
          ? { code: 550, message: "no such user" }
          : undefined,
  });
  const tls = new SmtpSink({ tls: cert, users: { alice: PASSWORD }, host: "127.0.0.1" });
  beforeAll(async () => {
    await plain.start();
    await tls.start();
  });
  afterAll(async () => {
    await plain.stop();
    await tls.stop();
  });

  it("sends one plain-text message per address with From, To, Subject and body (no auth, no TLS)", async () => {
    const before = plain.mails.length;
    const out = await send(emailTrigger(), {
      host: "127.0.0.1",
      port: plain.port,
      from: "sensor@example.com",
      to: ["a@example.com", "b@example.org"],
      subject: "Build finished",
      body: "Hi,\n\nthe build is green.\n",
    });
    expect(out.deadLetters).toEqual([]);
    const mails = plain.mails.slice(before);
    expect(mails.map((m) => m.rcptTo)).toEqual([["a@example.com"], ["b@example.org"]]);
    for (const m of mails) {
      expect(m.mailFrom).toBe("sensor@example.com");
      expect(m.headers.from).toBe("sensor@example.com");
      expect(m.headers.to).toBe(m.rcptTo[0]);
      expect(m.headers.subject).toBe("Build finished");
      expect(m.headers["content-type"]).toMatch(/^text\/plain; charset=utf-8/i);
      expect(m.headers["message-id"]).toMatch(/^<[0-9a-f]{32}\.[0-9a-f]{12}@sensorbus>$/);
      expect(m.body).toBe("Hi,\r\n\r\nthe build is green.");
      expect(m.secure).toBe(false);
      expect(m.user).toBeUndefined();
    }
    expect(out.fired[0]?.summary).toBe(
      `mailed a@example.com, b@example.org via smtp 127.0.0.1:${plain.port}`,
    );
  });

  it("applies trigger-level (email.to.-1, email.body) and kind-level (subject) parameters", async () => {
    const before = plain.mails.length;
    const out = await fireThroughSensor({
      kinds: asKind(emailTrigger()),
      triggers: [
        {
          parameters: [
            { src: { dependencyName: "dep", dataKey: "body.to" }, dest: "email.to.-1" },
            {
              src: { dependencyName: "dep", dataTemplate: "Hi {{.Input.body.name}}, hello there." },
              dest: "email.body",
            },
          ],
          template: emailTemplate({
            host: "127.0.0.1",
            port: plain.port,
            from: "sensor@example.com",
            to: ["ops@example.com"],
            subject: "placeholder",
            parameters: [
              { src: { dependencyName: "dep", dataKey: "body.subject" }, dest: "subject" },
            ],
          }),
        },
      ],
      event: webhookEvent({ to: "luke@example.com", name: "Luke", subject: "Hello There" }),
      dependency: "dep",
    });
    expect(out.deadLetters).toEqual([]);
    const mails = plain.mails.slice(before);
    expect(mails.map((m) => m.rcptTo[0])).toEqual(["ops@example.com", "luke@example.com"]);
    expect(mails.map((m) => m.headers.subject)).toEqual(["Hello There", "Hello There"]);
    expect(mails[1]!.body).toBe("Hi Luke, hello there.");
  });

  it("STARTTLS to a server with a certificate it trusts, then AUTH: the session is TLS and authenticated", async () => {
    const before = tls.mails.length;
    const out = await send(
      emailTrigger({ tls: { ca: cert.cert } }),
      {
        host: "localhost",
        port: tls.port,
        ...asAlice,
        ...toBob,
      },
      { secrets },
    );
    expect(out.deadLetters).toEqual([]);
    const m = tls.mails.slice(before)[0]!;
    expect(m.secure).toBe(true);
    expect(m.user).toBe("alice");
    expect(outputs(out)).not.toContain(PASSWORD);
  });

  it("refuses a STARTTLS certificate it does not trust (as Argo's dialer): retried, then a dead letter", async () => {
    const before = tls.mails.length;
    const out = await send(
      emailTrigger(),
      {
        host: "localhost",
        port: tls.port,
        ...asAlice,
        ...toBob,
      },
      { steps: 2, secrets },
    );
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(2);
    expect(out.deadLetters[0]!.error).toMatch(/self[- ]signed certificate/i);
    expect(tls.mails.length).toBe(before);
    expect(outputs(out)).not.toContain(PASSWORD);
  });

  it("a wrong password is refused by the server: retried per retryStrategy, then a dead letter; no password in any output", async () => {
    const failuresBefore = tls.authFailures.length;
    const wrong = "not-the-pa55word-SECRET-4242";
    const out = await send(
      emailTrigger({ tls: { ca: cert.cert } }),
      {
        host: "localhost",
        port: tls.port,
        ...asAlice,
        ...toBob,
      },
      { steps: 3, secrets: { "smtp-secret": { password: wrong } } },
    );
    expect(tls.authFailures.length - failuresBefore).toBe(3);
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(3);
    expect(out.deadLetters[0]!.error).toContain("bob@example.com: authentication refused: 535");
    expect(out.failed.map((f) => f.final)).toEqual([false, false, true]);
    expect(outputs(out)).not.toContain(wrong);
  });

  it("without a username the password is not used and the message goes unauthenticated (as Argo)", async () => {
    const before = plain.mails.length;
    const out = await send(
      emailTrigger(),
      {
        host: "127.0.0.1",
        port: plain.port,
        smtpPassword: { name: "smtp-secret", key: "password" },
        ...toBob,
        to: ["c@example.com"],
      },
      { secrets },
    );
    expect(out.deadLetters).toEqual([]);
    expect(plain.mails.slice(before)[0]!.user).toBeUndefined();
  });

  it("an unreachable host is retried, then a dead letter", async () => {
    const port = await closedPort();
    const out = await send(
      emailTrigger(),
      {
        host: "127.0.0.1",
        port,
        ...toBob,
        to: ["a@example.com"],
      },
      { steps: 3 },
    );
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(3);
    expect(out.deadLetters[0]!.error).toContain(
      `email via smtp 127.0.0.1:${port}: 1 of 1 not sent`,
    );
    expect(out.deadLetters[0]!.error).toMatch(/ECONNREFUSED/);
    // Executed directly: the error the runner classified.
    const k = emailTrigger();
    const rendered = await k.render(
      {
        host: "127.0.0.1",
        port,
        from: "s@example.com",
        to: ["a@example.com"],
        subject: "s",
        body: "b",
      },
      firingContext(webhookEvent({}), { dependency: "dep" }),
    );
    const err = await k.execute(rendered, execContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TriggerError);
    expect((err as TriggerError).code).toBe("SB_ERR_TRIGGER_SEND");
    expect((err as TriggerError).retryable).toBe(true);
  });

  it("a 4xx refusal of one recipient is retried for that recipient only; the others are not sent twice", async () => {
    const before = plain.mails.length;
    const out = await send(
      emailTrigger(),
      {
        host: "127.0.0.1",
        port: plain.port,
        from: "sensor@example.com",
        to: ["first@example.com", "flaky@example.com"],
        subject: "s",
        body: "b",
      },
      { steps: 3 },
    );
    expect(out.deadLetters).toEqual([]);
    expect(out.failed).toHaveLength(1);
    expect(out.failed[0]!.error).toContain("flaky@example.com: ");
    expect(out.failed[0]!.error).toContain("451");
    const got = plain.mails.slice(before).map((m) => m.rcptTo[0]);
    expect(got).toEqual(["first@example.com", "flaky@example.com"]);
    expect(out.fired[0]?.summary).toContain("(1 sent by an earlier attempt)");
  });

  it("a 5xx refusal and an address Argo's check refuses are final; the valid others are sent", async () => {
    const before = plain.mails.length;
    const out = await send(
      emailTrigger(),
      {
        host: "127.0.0.1",
        port: plain.port,
        from: "sensor@example.com",
        to: ["nobody@example.com", "not-an-address", "ok@example.com"],
        subject: "s",
        body: "b",
      },
      { steps: 3 },
    );
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(1);
    expect(out.deadLetters[0]!.error).toContain("2 of 3 not sent");
    expect(out.deadLetters[0]!.error).toContain("not-an-address: to emailId can't be invalid");
    expect(out.deadLetters[0]!.error).toContain("nobody@example.com: ");
    expect(plain.mails.slice(before).map((m) => m.rcptTo[0])).toEqual(["ok@example.com"]);
  });

  it("is the dlqTrigger of a failing trigger: the ops mail carries the event, no dead letter", async () => {
    const before = plain.mails.length;
    const failing: TriggerKind<unknown> = {
      kind: "http",
      render: async () => ({ kind: "http" }),
      execute: async () => {
        throw new TriggerError("SB_ERR_TRIGGER_HTTP_STATUS", "503", { retryable: true });
      },
    };
    const out = await fireThroughSensor({
      kinds: new Map([
        ["http", failing],
        ["email", asKind(emailTrigger())],
      ]),
      triggers: [
        {
          template: { name: "deploy", http: { url: "http://127.0.0.1:1/x" } },
          retryStrategy: { steps: 2, duration: "1s" },
          atLeastOnce: true,
          dlqTrigger: {
            template: {
              name: "tell-ops",
              email: { host: "127.0.0.1", port: plain.port, ...toBob, to: ["ops@example.com"] },
            },
            parameters: [
              {
                src: { dependencyName: "dep", dataTemplate: "deploy {{ .Input.body.id }} failed" },
                dest: "email.subject",
              },
            ],
          },
        } as Trigger,
      ],
      event: webhookEvent({ id: "d-7" }),
      dependency: "dep",
    });
    expect(out.deadLetters).toEqual([]);
    const mails = plain.mails.slice(before);
    expect(mails.map((m) => [m.rcptTo[0], m.headers.subject])).toEqual([
      ["ops@example.com", "deploy d-7 failed"],
    ]);
  });

  it("refuses empty to / subject / body when rendering (final, nothing sent)", async () => {
    const before = plain.mails.length;
    const out = await send(
      emailTrigger(),
      {
        host: "127.0.0.1",
        port: plain.port,
        to: ["a@example.com"],
        body: "b",
      },
      { steps: 3 },
    );
    expect(out.deadLetters[0]!.attempts).toBe(1);
    expect(out.deadLetters[0]!.error).toContain("email trigger: subject can't be empty");
    expect(plain.mails.length).toBe(before);
  });

  it("port 465: implicit TLS from the first byte (gomail's SSL dialer), then AUTH", async (ctx) => {
    const implicit = new SmtpSink({
      tls: cert,
      secure: true,
      users: { alice: PASSWORD },
      port: 465,
    });
    try {
      await implicit.start();
    } catch (err) {
      // Port 465 needs root and must be free; elsewhere this case cannot run.
      if (["EACCES", "EADDRINUSE"].includes((err as { code?: string }).code ?? "")) ctx.skip();
      throw err;
    }
    try {
      const out = await send(
        emailTrigger({ tls: { ca: cert.cert } }),
        {
          host: "localhost",
          port: 465,
          ...asAlice,
          ...toBob,
        },
        { secrets },
      );
      expect(out.deadLetters).toEqual([]);
      expect(implicit.mails[0]).toMatchObject({ secure: true, user: "alice" });
    } finally {
      await implicit.stop();
    }
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

  it.skipIf(!external)(
    "does not send the password over plain text to a non-loopback host (the server offers no STARTTLS)",
    async () => {
      const open = new SmtpSink({ users: { alice: PASSWORD }, host: "0.0.0.0" });
      await open.start();
      try {
        const out = await send(
          emailTrigger(),
          {
            host: external,
            port: open.port,
            username: "alice",
            smtpPassword: { name: "smtp-secret", key: "password" },
            from: "sensor@example.com",
            to: ["bob@example.com"],
            subject: "s",
            body: "b",
          },
          { secrets },
        );
        expect(out.deadLetters).toHaveLength(1);
        expect(open.mails).toEqual([]);
        expect(open.authFailures).toEqual([]);
        expect(out.deadLetters[0]!.error).toMatch(/STARTTLS/i);
      } finally {
        await open.stop();
      }
    },
  );
});

/** A loopback port with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
