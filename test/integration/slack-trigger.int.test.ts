import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Trigger } from "../../src/config/types.js";
import { TriggerError } from "../../src/errors.js";
import { createTrigger, slackTrigger } from "../../src/triggers/slack/runtime.js";
import type { TriggerKind } from "../../src/triggers/types.js";
import { type FakeChannel, FakeSlackApi } from "../support/fake-slack-api.js";
import { execContext, firingContext, webhookEvent } from "../support/firing.js";
import { freePort } from "../support/ports.js";
import { fireThroughSensor } from "../support/trigger-harness.js";

const TOKEN = "xoxb-test-1234567890-abcdefSECRET";
const secrets = { "slack-secret": { token: TOKEN } };

/** 250 public channels (two pages of conversations.list at 200) plus a few special ones. */
function channels(): FakeChannel[] {
  const list: FakeChannel[] = [{ id: "C0GENERAL", name: "general", isMember: true }];
  for (let i = 0; i < 250; i++)
    list.push({ id: `C${1000 + i}`, name: `team-${i}`, isMember: false });
  list.push({ id: "C0ARCHIVED", name: "old", isMember: false, isArchived: true });
  return list;
}

function slackTemplate(slack: Record<string, unknown>): Trigger["template"] {
  return {
    name: "notify-slack",
    slack: { slackToken: { name: "slack-secret", key: "token" }, ...slack },
  } as Trigger["template"];
}

/** Fires one event through a Sensor whose one trigger is `slack` (tried `steps` times). */
function post(kind: TriggerKind<unknown>, slack: Record<string, unknown>, steps?: number) {
  return fireThroughSensor({
    kinds: kind,
    triggers: [
      {
        template: slackTemplate(slack),
        ...(steps ? { retryStrategy: { steps, duration: "1s" } } : {}),
      },
    ],
    event: webhookEvent({}),
    dependency: "dep",
    secrets,
  });
}

describe("slack trigger against a fake Slack Web API (real HTTP)", () => {
  let api: FakeSlackApi;
  let kind: TriggerKind<unknown>;
  beforeAll(async () => {
    api = new FakeSlackApi({ tokens: [TOKEN], channels: channels() });
    await api.start();
    kind = slackTrigger({ apiUrl: api.url }) as TriggerKind<unknown>;
  });
  afterAll(async () => {
    await kind.close?.();
    await api.stop();
  });
  afterEach(() => {
    api.calls.length = 0;
  });

  it("posts the message, attachments, blocks and sender with the token as a Bearer header", async () => {
    const attachments = [
      { title: "build", color: "#18be52", fields: [{ title: "a", value: "1" }] },
    ];
    const blocks = [{ type: "section", text: { type: "mrkdwn", text: "*done*" } }];
    const out = await fireThroughSensor({
      kinds: kind,
      triggers: [
        {
          template: slackTemplate({
            channel: "#general",
            message: "hello from sensorbus",
            attachments: JSON.stringify(attachments),
            blocks: JSON.stringify(blocks),
            sender: { username: "ci-bot", icon: ":robot_face:" },
          }),
        },
      ],
      event: webhookEvent({}),
      dependency: "dep",
      secrets,
    });
    expect(out.deadLetters).toEqual([]);
    const call = api.callsOf("chat.postMessage").at(-1)!;
    expect(call.authorization).toBe(`Bearer ${TOKEN}`);
    expect(call.contentType).toContain("application/x-www-form-urlencoded");
    const msg = api.messages.at(-1)!;
    expect(msg).toMatchObject({
      channel: "C0GENERAL",
      text: "hello from sensorbus",
      attachments,
      blocks,
      username: "ci-bot",
      iconEmoji: ":robot_face:",
      replyBroadcast: false,
    });
    expect(msg.threadTs).toBeUndefined();
    expect(out.fired[0]?.summary).toBe(`posted to #general (ts ${msg.ts})`);
    // The rendered payload shown by the journal / explain has no token.
    expect(JSON.stringify(out.fired[0]?.rendered)).not.toContain(TOKEN);
    expect(out.logText).not.toContain(TOKEN);
  });

  it("applies kind-level and trigger-level parameters (channel, message, icon URL)", async () => {
    const out = await fireThroughSensor({
      kinds: kind,
      triggers: [
        {
          parameters: [
            { src: { dependencyName: "dep", dataKey: "body.channel" }, dest: "slack.channel" },
          ],
          template: slackTemplate({
            channel: "placeholder",
            message: "x",
            sender: { icon: "https://example.com/bot.png" },
            parameters: [
              {
                src: { dependencyName: "dep", dataTemplate: "build {{ .Input.body.id }} failed" },
                dest: "message",
              },
            ],
          }),
        },
      ],
      event: webhookEvent({ channel: "general", id: 42 }),
      dependency: "dep",
      secrets,
    });
    expect(out.deadLetters).toEqual([]);
    expect(api.messages.at(-1)).toMatchObject({
      channel: "C0GENERAL",
      text: "build 42 failed",
      iconUrl: "https://example.com/bot.png",
    });
  });

  it("not in the channel: finds it through every page of conversations.list, joins, posts", async () => {
    const out = await fireThroughSensor({
      kinds: kind,
      triggers: [{ template: slackTemplate({ channel: "team-230", message: "joined?" }) }],
      event: webhookEvent({}),
      dependency: "dep",
      secrets,
    });
    expect(out.deadLetters).toEqual([]);
    const lists = api.callsOf("conversations.list");
    expect(lists).toHaveLength(2);
    expect(lists[0]!.args.cursor).toBeUndefined();
    expect(lists[1]!.args.cursor).toBeTruthy();
    expect(lists[0]!.args.exclude_archived).toBe("true");
    expect(api.callsOf("conversations.join").map((c) => c.args.channel)).toEqual(["C1230"]);
    expect(api.messages.at(-1)).toMatchObject({ channel: "C1230", text: "joined?" });
    expect(out.fired[0]?.summary).toContain("(joined C1230)");
    // Member now: the next firing posts at once.
    api.calls.length = 0;
    await fireThroughSensor({
      kinds: kind,
      triggers: [{ template: slackTemplate({ channel: "team-230", message: "again" }) }],
      event: webhookEvent({}),
      dependency: "dep",
      secrets,
    });
    expect(api.calls.map((c) => c.method)).toEqual(["chat.postMessage"]);
  });

  it("threads by messageAggregationKey: first message starts it, later ones reply (and broadcast)", async () => {
    const out = await fireThroughSensor({
      kinds: kind,
      triggers: [
        {
          template: slackTemplate({
            channel: "general",
            message: "",
            thread: { messageAggregationKey: "set-by-parameter", broadcastMessageToChannel: true },
          }),
          parameters: [
            { src: { dependencyName: "dep", dataKey: "body.msg" }, dest: "slack.message" },
            {
              src: { dependencyName: "dep", dataKey: "body.build" },
              dest: "slack.thread.messageAggregationKey",
            },
          ],
        },
      ],
      events: [
        webhookEvent({ build: "b-1", msg: "b-1 started" }),
        webhookEvent({ build: "b-1", msg: "b-1 tested" }),
        webhookEvent({ build: "b-2", msg: "b-2 started" }),
        webhookEvent({ build: "b-1", msg: "b-1 done" }),
      ],
      dependency: "dep",
      secrets,
    });
    expect(out.deadLetters).toEqual([]);
    const posted = api.messages.slice(-4);
    const [first, second, other, last] = posted;
    expect(first).toMatchObject({ text: "b-1 started", replyBroadcast: false });
    expect(first!.threadTs).toBeUndefined();
    expect(second).toMatchObject({ text: "b-1 tested", threadTs: first!.ts, replyBroadcast: true });
    expect(other!.threadTs).toBeUndefined();
    expect(last).toMatchObject({ text: "b-1 done", threadTs: first!.ts });
  });

  it("concurrent firings of one new thread key start one thread, the others reply in it", async () => {
    const own = slackTrigger({ apiUrl: api.url });
    const spec = {
      slackToken: { name: "slack-secret", key: "token" },
      channel: "general",
      message: "parallel",
      thread: { messageAggregationKey: "burst-1" },
    };
    const before = api.messages.length;
    const rendered = await Promise.all(
      [1, 2, 3, 4].map(() =>
        own.render(spec, firingContext(webhookEvent({}), { dependency: "dep", secret: TOKEN })),
      ),
    );
    await Promise.all(rendered.map((r) => own.execute(r, execContext())));
    const posted = api.messages.slice(before);
    const roots = posted.filter((m) => m.threadTs === undefined);
    expect(roots).toHaveLength(1);
    expect(posted.filter((m) => m.threadTs === roots[0]!.ts)).toHaveLength(3);
  });

  it("channel_not_found ends the firing at once (no retry) in a dead letter", async () => {
    const out = await post(kind, { channel: "nope", message: "m" }, 3);
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(1);
    expect(out.deadLetters[0]!.error).toContain("slack #nope: Slack refused: channel_not_found");
    expect(api.callsOf("conversations.join")).toEqual([]);
  });

  it("invalid_auth (a wrong token) is final and the token appears in no output", async () => {
    const wrong = "xoxb-wrong-token-SECRET-987654";
    const out = await fireThroughSensor({
      kinds: kind,
      triggers: [
        {
          template: slackTemplate({ channel: "general", message: "m" }),
          retryStrategy: { steps: 3, duration: "1s" },
        },
      ],
      event: webhookEvent({}),
      dependency: "dep",
      secrets: { "slack-secret": { token: wrong } },
    });
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(1);
    expect(out.deadLetters[0]!.error).toContain("Slack refused: invalid_auth");
    expect(api.calls.at(-1)!.authorization).toBe(`Bearer ${wrong}`);
    const everything = [
      out.logText,
      JSON.stringify(out.deadLetters),
      JSON.stringify(out.failed),
    ].join();
    expect(everything).not.toContain(wrong);
  });

  it("429 with Retry-After is retried per retryStrategy and then posted once", async () => {
    const before = api.messages.length;
    api.rateLimitNext(2, 7);
    const out = await post(kind, { channel: "general", message: "after the limit" }, 4);
    expect(out.deadLetters).toEqual([]);
    expect(out.failed.map((f) => f.final)).toEqual([false, false]);
    expect(out.failed[0]!.error).toContain("rate limited (429, Retry-After 7 s)");
    // The runner waits out Retry-After (7 s) rather than retryStrategy's 1 s.
    expect(out.sleeps.length).toBe(2);
    for (const ms of out.sleeps) expect(ms).toBeGreaterThanOrEqual(7000);
    expect(api.callsOf("chat.postMessage")).toHaveLength(3);
    expect(api.messages.length - before).toBe(1);
  });

  it("a rate limit that outlasts retryStrategy ends in a dead letter after every attempt", async () => {
    api.rateLimitNext(3, 30);
    const out = await post(kind, { channel: "general", message: "m" }, 3);
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(3);
    expect(out.failed.map((f) => f.final)).toEqual([false, false, true]);
  });

  it("classifies failures as SB_ERR_TRIGGER_SEND: 429 retryable, channel_not_found final", async () => {
    const ctx = firingContext(webhookEvent({}), { dependency: "dep", secret: TOKEN });
    const execCtx = execContext();
    const rendered = await kind.render(
      { slackToken: { name: "slack-secret", key: "token" }, channel: "nope", message: "m" },
      ctx,
    );
    const notFound = await kind.execute(rendered, execCtx).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(TriggerError);
    expect((notFound as TriggerError).code).toBe("SB_ERR_TRIGGER_SEND");
    expect((notFound as TriggerError).retryable).toBe(false);
    api.rateLimitNext(1, 7);
    const limited = await kind.execute(rendered, execCtx).catch((e: unknown) => e);
    expect((limited as TriggerError).code).toBe("SB_ERR_TRIGGER_SEND");
    expect((limited as TriggerError).retryable).toBe(true);
    expect((limited as Error).message).toBe("slack #nope: rate limited (429, Retry-After 7 s)");
  });

  it("an unreachable API is a retryable transport failure", async () => {
    const closed = await freePort();
    const offline = slackTrigger({ apiUrl: `http://127.0.0.1:${closed}/api` });
    const out = await fireThroughSensor({
      kinds: offline as TriggerKind<unknown>,
      triggers: [
        {
          template: slackTemplate({ channel: "general", message: "m" }),
          retryStrategy: { steps: 2, duration: "1s" },
        },
      ],
      event: webhookEvent({}),
      dependency: "dep",
      secrets,
    });
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(2);
    expect(out.deadLetters[0]!.error).toMatch(/^slack #general: /);
  });

  it("refuses attachments that are not a JSON array before calling Slack (final)", async () => {
    const out = await post(kind, { channel: "general", attachments: "{not json" }, 3);
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.attempts).toBe(1);
    expect(out.deadLetters[0]!.error).toContain("slack trigger: attachments is not JSON");
    expect(api.calls).toEqual([]);
  });

  it("the registry's trigger reads the API URL from SENSORBUS_SLACK_API_URL", async () => {
    const saved = process.env.SENSORBUS_SLACK_API_URL;
    process.env.SENSORBUS_SLACK_API_URL = api.url.replace(/\/$/, "");
    try {
      const fromEnv = createTrigger({ kube: undefined, dryRun: false, log: undefined as never });
      const out = await fireThroughSensor({
        kinds: fromEnv as TriggerKind<unknown>,
        triggers: [{ template: slackTemplate({ channel: "general", message: "via env" }) }],
        event: webhookEvent({}),
        dependency: "dep",
        secrets,
      });
      expect(out.deadLetters).toEqual([]);
      expect(api.messages.at(-1)?.text).toBe("via env");
    } finally {
      if (saved === undefined) delete process.env.SENSORBUS_SLACK_API_URL;
      else process.env.SENSORBUS_SLACK_API_URL = saved;
    }
  });
});
