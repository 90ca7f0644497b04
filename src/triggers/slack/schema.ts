import type { Static } from "typebox";
import { SecretKeySelector, Struct } from "../../config/schema/common.js";
import { Parameters } from "../../config/schema/sensor.js";
import { Type } from "../../config/schema/typebox.js";
import type { TriggerParameter } from "../../config/types.js";

/** Argo's `SlackThread`. */
export const SlackThread = Struct({
  messageAggregationKey: Type.Optional(Type.String()),
  broadcastMessageToChannel: Type.Optional(Type.Boolean()),
});

/** Argo's `SlackSender`. */
export const SlackSender = Struct({
  username: Type.Optional(Type.String()),
  icon: Type.Optional(Type.String({ description: ":emoji: or an http(s) image URL" })),
});

/** Argo's `SlackTrigger` (pkg/apis/events/v1alpha1/sensor_types.go), field for field. */
export const SlackTriggerSchema = Struct({
  parameters: Parameters,
  slackToken: Type.Optional(SecretKeySelector),
  channel: Type.Optional(Type.String({ description: "name (a leading # is dropped) or ID" })),
  message: Type.Optional(Type.String()),
  attachments: Type.Optional(Type.String({ description: "JSON array of Slack attachments" })),
  blocks: Type.Optional(Type.String({ description: "JSON array of Block Kit blocks" })),
  thread: Type.Optional(SlackThread),
  sender: Type.Optional(SlackSender),
});

export type SlackTrigger = Omit<Static<typeof SlackTriggerSchema>, "parameters"> & {
  parameters?: TriggerParameter[];
};
