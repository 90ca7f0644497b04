import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBusError } from "../../src/errors.js";
import type { SlackEventSpec } from "../../src/eventsources/slack/index.js";
import { slackAdapter } from "../../src/eventsources/slack/runtime.js";
import type { RunningAdapter } from "../../src/eventsources/types.js";
import { webhookHarness } from "../support/adapter-harness.js";
import { freePort } from "../support/ports.js";

/**
 * Issue 22, Slack: real HTTP requests signed as Slack signs them (v0:{timestamp}:{body}), every
 * refusal path, the url_verification challenge, Events API callbacks, interactions and slash
 * commands.
 */

const SIGNING = "slack-signing-9fQ2";
const TOKEN = "verif-token-Xy7";
const sign = (ts: string, body: string, key = SIGNING) =>
  `v0=${createHmac("sha256", key).update(`v0:${ts}:${body}`).digest("hex")}`;
const nowTs = () => String(Math.floor(Date.now() / 1000));

function send(
  port: number,
  body: string,
  opts: {
    ts?: string;
    signature?: string | null;
    timestamp?: string | null;
    contentType?: string;
    method?: string;
  } = {},
): Promise<Response> {
  const ts = opts.ts ?? nowTs();
  const headers: Record<string, string> = {
    "content-type": opts.contentType ?? "application/json",
    "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
  };
  if (opts.timestamp !== null) headers["x-slack-request-timestamp"] = opts.timestamp ?? ts;
  if (opts.signature !== null) headers["x-slack-signature"] = opts.signature ?? sign(ts, body);
  return fetch(`http://127.0.0.1:${port}/slack`, {
    method: opts.method ?? "POST",
    headers,
    ...(opts.method === "GET" ? {} : { body }),
  });
}

const CALLBACK = {
  token: TOKEN,
  team_id: "T061EG9R6",
  api_app_id: "A0PNCHHK2",
  type: "event_callback",
  event_id: "Ev0PV52K25",
  event_time: 1700000000,
  event: {
    type: "app_mention",
    user: "U061F7AUR",
    text: "<@U0LAN0Z89> deploy main",
    ts: "1515449522.000016",
    channel: "C0LAN2Q65",
    event_ts: "1515449522000016",
  },
};

describe("slack adapter over real HTTP", () => {
  let port: number;
  let running: RunningAdapter;
  const rec = webhookHarness({ "slack/signing": SIGNING, "slack/token": TOKEN }, "sl");

  beforeAll(async () => {
    port = await freePort();
    const spec: SlackEventSpec = {
      signingSecret: { name: "slack", key: "signing" },
      token: { name: "slack", key: "token" },
      webhook: { port: String(port), endpoint: "/slack", method: "POST", maxPayloadSize: 4096 },
      metadata: { team: "ops" },
    };
    running = await slackAdapter.start([{ eventName: "chat", spec }], rec.ctx);
  });

  afterAll(async () => {
    await running?.stop();
  });

  it("answers the url_verification challenge as Slack documents, storing nothing", async () => {
    const body = JSON.stringify({
      token: TOKEN,
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
      type: "url_verification",
    });
    const res = await send(port, body);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await res.text()).toBe("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    expect(rec.emitted).toHaveLength(0);
  });

  it("stores an event_callback as Argo's {type, Data}, event_id as the id, once per replay", async () => {
    const body = JSON.stringify(CALLBACK);
    const ts = nowTs();
    const res = await send(port, body, { ts });
    expect(await res.text()).toBe("success");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-event-id")).toBe("Ev0PV52K25");
    const input = rec.emitted.at(-1)!;
    const eventName = rec.eventNames.at(-1);
    expect(eventName).toBe("chat");
    expect(input.id).toBe("Ev0PV52K25");
    const data = JSON.parse(input.data);
    expect(data.type).toBe("app_mention");
    expect(data.Data.text).toBe("<@U0LAN0Z89> deploy main");
    expect(data.Data.channel).toBe("C0LAN2Q65");
    // Argo adds neither headers nor metadata to a Slack event, and the token never enters it.
    expect(Object.keys(data)).toEqual(["type", "Data"]);
    expect(input.data).not.toContain(TOKEN);
    // The same signed request replayed within the window carries the same id (stored once).
    const again = await send(port, body, { ts });
    expect(again.status).toBe(200);
    expect(rec.emitted.at(-1)!.id).toBe("Ev0PV52K25");
  });

  it("stores a slash command and an interaction, the echoed token masked", async () => {
    const form = new URLSearchParams({
      token: TOKEN,
      team_id: "T1",
      team_domain: "acme",
      channel_id: "C1",
      channel_name: "deploys",
      user_id: "U1",
      user_name: "ada",
      command: "/deploy",
      text: "main --force",
      response_url: "https://hooks.slack.com/commands/T1/1/x",
      trigger_id: "13345224609.738474920.8088930838d88f008e0",
      api_app_id: "A1",
    }).toString();
    const ts = nowTs();
    const cmd = await send(port, form, { ts, contentType: "application/x-www-form-urlencoded" });
    expect(cmd.status).toBe(200);
    const command = JSON.parse(rec.emitted.at(-1)!.data);
    expect(command).toMatchObject({ command: "/deploy", text: "main --force", user_name: "ada" });
    expect(command.token).toBe("*** Masked Auth Secret ***");
    // No id of Slack's own: the signature is the id, so a replay in the window is the same event.
    expect(rec.emitted.at(-1)!.id).toMatch(/^[0-9a-f]{32}$/);

    const payload = {
      type: "block_actions",
      token: TOKEN,
      user: { id: "U1", username: "ada" },
      actions: [{ action_id: "approve", value: "release-42" }],
    };
    const interaction = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const res = await send(port, interaction, { contentType: "application/x-www-form-urlencoded" });
    expect(res.status).toBe(200);
    const stored = JSON.parse(rec.emitted.at(-1)!.data);
    expect(stored.actions[0].value).toBe("release-42");
    expect(stored.token).toBe("*** Masked Auth Secret ***");
  });

  it("refuses missing, malformed, wrong and stale signatures and a wrong token: counted, nothing stored", async () => {
    const before = rec.emitted.length;
    rec.refused.length = 0;
    const body = JSON.stringify(CALLBACK);
    const old = String(Math.floor(Date.now() / 1000) - 301);
    const answers = [
      await send(port, body, { signature: null }),
      await send(port, body, { timestamp: null }),
      await send(port, body, { signature: "v0=xyz" }),
      await send(port, body, { timestamp: "soon" }),
      await send(port, body, { signature: sign(nowTs(), body, "not-the-secret") }),
      await send(port, body.replace("deploy main", "deploy prod"), {
        signature: sign(nowTs(), body),
      }),
      // A captured request replayed after Slack's five minutes: signed right, refused.
      await send(port, body, { ts: old }),
      await send(port, JSON.stringify({ ...CALLBACK, token: "stolen?" })),
    ];
    expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 401, 403, 403, 401, 403]);
    expect(await answers[6]!.text()).toContain("more than 5 minutes");
    expect(rec.refused.map((r) => r.reason)).toEqual([
      "missing_signature",
      "missing_signature",
      "malformed_signature",
      "malformed_timestamp",
      "signature_mismatch",
      "signature_mismatch",
      "stale_timestamp",
      "token_mismatch",
    ]);
    expect(rec.emitted.length).toBe(before);
    const logged = rec.logs.text();
    expect(logged).toContain("Slack delivery refused: signature mismatch");
    expect(logged).not.toContain(SIGNING);
    expect(logged).not.toContain(TOKEN);
  });

  it("answers 405 for another method, 413 over maxPayloadSize, 400 for an unknown form", async () => {
    const before = rec.emitted.length;
    const get = await send(port, "", { method: "GET" });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const big = JSON.stringify({ ...CALLBACK, pad: "x".repeat(5000) });
    expect((await send(port, big)).status).toBe(413);
    const neither = await send(port, "text=hi", {
      contentType: "application/x-www-form-urlencoded",
    });
    expect(neither.status).toBe(400);
    expect(await neither.text()).toBe("could not determine slack type from form parameters");
    expect(rec.emitted.length).toBe(before);
  });

  it("answers 503 with Retry-After when the bus did not store the event", async () => {
    rec.failNext = new EventBusError("SB_ERR_BUS_UNAVAILABLE", "nats: disconnected");
    const res = await send(port, JSON.stringify({ ...CALLBACK, event_id: "Ev-503" }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
  });
});

describe("slack adapter start", () => {
  it("refuses an empty signingSecret value instead of running unverified", async () => {
    const rec = webhookHarness({ "slack/signing": "", "slack/token": TOKEN }, "sl");
    const port = await freePort();
    await expect(
      slackAdapter.start(
        [
          {
            eventName: "chat",
            spec: {
              signingSecret: { name: "slack", key: "signing" },
              token: { name: "slack", key: "token" },
              webhook: { port: String(port), endpoint: "/slack", method: "POST" },
            },
          },
        ],
        rec.ctx,
      ),
    ).rejects.toThrow("EventSource sl: /spec/slack/chat/signingSecret: the Secret value is empty");
  });
});
