import { describe, expect, it } from "vitest";
import { TriggerError } from "../../../../src/errors.js";
import { slackTrigger } from "../../../../src/triggers/slack/runtime.js";
import type { SlackTrigger } from "../../../../src/triggers/slack/schema.js";
import { firingContext, webhookEvent } from "../../../support/firing.js";
import { findingsOf, graphDetail, sensorWith } from "../../../support/notify-sensor.js";

const T = "/spec/triggers/0/template/slack";
const token = { name: "slack", key: "token" };

describe("slack: validate (Argo's validateSlackTrigger, then what fails every firing)", () => {
  it("a complete trigger has no findings", () => {
    expect(
      findingsOf(sensorWith({ slack: { slackToken: token, channel: "c", message: "m" } })),
    ).toEqual([]);
  });

  it("refuses a missing slackToken, naming the field", () => {
    expect(findingsOf(sensorWith({ slack: { channel: "c", message: "m" } }))).toEqual([
      `error ${T}/slackToken: slack token can't be empty`,
    ]);
  });

  it("warns about no channel and nothing to post unless parameters set them", () => {
    expect(findingsOf(sensorWith({ slack: { slackToken: token, channel: "#" } }))).toEqual([
      `warning ${T}/channel: no slack channel provided: every firing fails unless a parameter sets it`,
      `warning ${T}: no text to post: at least one of message/attachments/blocks should be provided (every firing fails)`,
    ]);
    const src = { dependencyName: "dep", dataKey: "body.x" };
    const withParams = sensorWith(
      { slack: { slackToken: token, parameters: [{ src, dest: "channel" }] } },
      { parameters: [{ src, dest: "slack.blocks" }] },
    );
    expect(findingsOf(withParams)).toEqual([]);
  });

  it("warns about attachments or blocks that are not a JSON array", () => {
    const f = findingsOf(
      sensorWith({
        slack: { slackToken: token, channel: "c", attachments: "{x", blocks: '{"a":1}' },
      }),
    );
    expect(f).toEqual([
      expect.stringMatching(
        new RegExp(`^warning ${T}/attachments: not JSON \\(.*\\): every firing fails$`),
      ),
      `warning ${T}/blocks: not a JSON array: every firing fails`,
    ]);
  });
});

describe("slack: graph", () => {
  it("shows the channel and the thread key", () => {
    expect(
      graphDetail(
        sensorWith({
          slack: { slackToken: token, channel: "#builds", thread: { messageAggregationKey: "b" } },
        }),
      ),
    ).toBe("post to slack #builds (thread b)");
  });
});

describe("slack: render", () => {
  const ctx = firingContext(webhookEvent({ ch: "ops" }), {
    dependency: "dep",
    secret: "xoxb-SECRET",
  });
  const base: SlackTrigger = { slackToken: token, channel: "#general", message: "hi" };

  it("shows what is posted (channel without #, sender icon kind), never the token", async () => {
    const r = await slackTrigger().render(
      {
        ...base,
        blocks: '[{"type":"divider"}]',
        sender: { username: "bot", icon: "https://x.example/i.png" },
        thread: { messageAggregationKey: "k", broadcastMessageToChannel: true },
        parameters: [{ src: { dependencyName: "dep", dataKey: "body.ch" }, dest: "channel" }],
      },
      ctx,
    );
    expect(r.payload).toEqual({
      channel: "ops",
      text: "hi",
      blocks: [{ type: "divider" }],
      aggregationKey: "k",
      broadcast: true,
      username: "bot",
      icon: { icon_url: "https://x.example/i.png" },
    });
    expect(JSON.stringify(r)).not.toContain("xoxb-SECRET");
  });

  it("leaves out an icon that is neither :emoji: nor an http(s) URL (as Argo, with a warning)", async () => {
    const r = await slackTrigger().render({ ...base, sender: { icon: "robot" } }, ctx);
    expect((r.payload as { icon?: unknown }).icon).toBeUndefined();
  });

  it.each([
    ["no channel", { channel: "#" }, "no slack channel provided"],
    ["nothing to post", { message: "" }, "no text to post"],
    ["blocks not an array", { blocks: "{}" }, "blocks is not a JSON array"],
  ])("%s is a final render error", async (_n, patch, message) => {
    const err = await slackTrigger()
      .render({ ...base, ...patch }, ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TriggerError);
    expect((err as TriggerError).code).toBe("SB_ERR_TRIGGER_RENDER");
    expect((err as TriggerError).retryable).toBe(false);
    expect((err as Error).message).toContain(message);
  });
});
