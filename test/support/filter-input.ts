import type { EventContext } from "../../src/cloudevents/event.js";

/** The context of a webhook event `example`, for the filter and expression tests. */
export const context: EventContext = {
  id: "1",
  source: "webhook",
  specversion: "1.0",
  type: "webhook",
  datacontenttype: "application/json",
  subject: "example",
  time: "2024-05-15T12:00:00Z",
};

/** What the filters evaluate: `context`, the event's `data` and its time. */
export const input = (data: string | undefined) => ({
  context,
  data,
  timeMs: Date.parse(context.time),
});
