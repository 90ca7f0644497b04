import { describe, expect, it } from "vitest";
import { TriggerError } from "../../../../src/errors.js";
import { emailTrigger } from "../../../../src/triggers/email/runtime.js";
import { firingContext, webhookEvent } from "../../../support/firing.js";
import { findingsOf, graphDetail, sensorWith } from "../../../support/notify-sensor.js";

const T = "/spec/triggers/0/template/email";
const full = {
  host: "smtp.example.com",
  port: 587,
  username: "u",
  smtpPassword: { name: "smtp", key: "password" },
  from: "a@example.com",
  to: ["b@example.com"],
  subject: "s",
  body: "b",
};

describe("email: validate (Argo's validateEmailTrigger, then what fails every firing)", () => {
  it("a complete trigger has no findings", () => {
    expect(findingsOf(sensorWith({ email: full }))).toEqual([]);
  });

  it("refuses a missing host and a port out of range, naming the field", () => {
    const { host: _h, ...noHost } = full;
    expect(findingsOf(sensorWith({ email: { ...noHost, port: 70000 } }))).toEqual([
      `error ${T}/host: host can't be empty`,
      `error ${T}/port: port: 70000, port should be between 0-65535`,
    ]);
  });

  it("applies Argo's parameter checks to email.parameters", () => {
    const f = findingsOf(
      sensorWith({ email: { ...full, parameters: [{ src: { dependencyName: "dep" } }] } }),
    );
    expect(f.some((l) => l.startsWith(`error ${T}/parameters/0`))).toBe(true);
  });

  it("warns about an empty to / subject / body unless a parameter (either level) sets it", () => {
    const bare = { host: "h", port: 25 };
    expect(findingsOf(sensorWith({ email: bare }))).toEqual([
      `warning ${T}/to: to can't be empty: every firing fails unless a parameter sets it`,
      `warning ${T}/subject: subject can't be empty: every firing fails unless a parameter sets it`,
      `warning ${T}/body: body can't be empty: every firing fails unless a parameter sets it`,
    ]);
    const src = { dependencyName: "dep", dataKey: "body.x" };
    const withParams = sensorWith(
      { email: { ...bare, parameters: [{ src, dest: "subject" }] } },
      {
        parameters: [
          { src, dest: "email.to.-1" },
          { src, dest: "email.body" },
        ],
      },
    );
    expect(findingsOf(withParams)).toEqual([]);
  });

  it("warns that smtpPassword without username is never sent (Argo authenticates only with both)", () => {
    const { username: _u, ...noUser } = full;
    expect(findingsOf(sensorWith({ email: noUser }))).toEqual([
      `warning ${T}/username: smtpPassword is set but username is empty: the message is sent without authentication (as in Argo)`,
    ]);
  });
});

describe("email: graph", () => {
  it("shows the recipients and the SMTP server", () => {
    expect(graphDetail(sensorWith({ email: full }))).toBe(
      "mail b@example.com via smtp smtp.example.com:587",
    );
    expect(graphDetail(sensorWith({ email: { host: "h" } }))).toBe(
      "mail (to from parameters) via smtp h:587",
    );
  });
});

describe("email: render", () => {
  const ctx = firingContext(webhookEvent({ who: "luke@example.com" }), {
    dependency: "dep",
    secret: "pw-SECRET",
  });

  it("shows what is sent, never the password", async () => {
    const r = await emailTrigger().render(
      {
        ...full,
        parameters: [{ src: { dependencyName: "dep", dataKey: "body.who" }, dest: "to.-1" }],
      },
      ctx,
    );
    expect(r.payload).toEqual({
      host: "smtp.example.com",
      port: 587,
      username: "u",
      from: "a@example.com",
      to: ["b@example.com", "luke@example.com"],
      subject: "s",
      body: "b",
    });
    expect(JSON.stringify(r)).not.toContain("pw-SECRET");
  });

  it("port 0 or absent is 587 (Argo would dial port 0)", async () => {
    const { port: _p, ...noPort } = full;
    const r = await emailTrigger().render(noPort, ctx);
    expect((r.payload as { port: number }).port).toBe(587);
  });

  it.each([
    ["to", { to: [] }, "to can't be empty"],
    ["subject", { subject: "" }, "subject can't be empty"],
    ["body", { body: "" }, "body can't be empty"],
    ["host", { host: "" }, "host can't be empty"],
  ])("an empty %s is a final render error", async (_f, patch, message) => {
    const err = await emailTrigger()
      .render({ ...full, ...patch }, ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TriggerError);
    expect((err as TriggerError).code).toBe("SB_ERR_TRIGGER_RENDER");
    expect((err as TriggerError).retryable).toBe(false);
    expect((err as Error).message).toBe(`email trigger: ${message}`);
  });
});
