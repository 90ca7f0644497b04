import { describe, expect, it } from "vitest";
import { TriggerError } from "../../../src/errors.js";
import type { TriggerKind } from "../../../src/triggers/types.js";
import { webhookEvent } from "../../support/firing.js";
import { fireThroughSensor } from "../../support/trigger-harness.js";

/** A log-kind trigger whose every attempt is refused with `retryAfterMs`. */
function refusing(retryAfterMs: number | undefined): TriggerKind<unknown> {
  return {
    kind: "log",
    render: async () => ({ kind: "log" }),
    execute: async () => {
      throw new TriggerError("SB_ERR_TRIGGER_SEND", "429", {
        retryable: true,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    },
  };
}

const trigger = {
  template: { name: "t", log: {} },
  // No jitter: retryStrategy's own delay is exactly 1 s.
  retryStrategy: { steps: 2, duration: "1s", jitter: 0 },
};
const fire = (kind: TriggerKind<unknown>) =>
  fireThroughSensor({ kinds: kind, triggers: [trigger], event: webhookEvent({}) });

describe("a target's Retry-After (TriggerError.retryAfterMs) between attempts", () => {
  it("waits at least Retry-After when it is longer than retryStrategy's delay", async () => {
    const out = await fire(refusing(5000));
    expect(out.sleeps).toEqual([5000]);
    expect(out.deadLetters[0]?.attempts).toBe(2);
  });

  it("keeps retryStrategy's delay when Retry-After is shorter or absent", async () => {
    expect((await fire(refusing(10))).sleeps).toEqual([1000]);
    expect((await fire(refusing(undefined))).sleeps).toEqual([1000]);
  });

  it("bounds the wait at 60 s (the message stays unacknowledged meanwhile)", async () => {
    expect((await fire(refusing(3_600_000))).sleeps).toEqual([60_000]);
  });
});
