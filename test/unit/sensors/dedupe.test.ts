import { describe, expect, it } from "vitest";
import type { CloudEvent } from "../../../src/cloudevents/event.js";
import type { SensorManifest } from "../../../src/config/types.js";
import { MemoryBus } from "../../../src/eventbus/memory.js";
import { SensorEngine } from "../../../src/sensors/engine.js";
import { MemoryConditionState } from "../../../src/sensors/state.js";

const SENSOR: SensorManifest = {
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Sensor",
  metadata: { name: "dedupe" },
  spec: {
    dependencies: [{ name: "d", eventSourceName: "es", eventName: "e" }],
    triggers: [{ template: { name: "a", log: {} } }, { template: { name: "b", log: {} } }],
  },
};

describe("Sensor event-id dedupe (Argo's ~60 s in-memory window)", () => {
  it("skips an id seen within the window, per trigger, and takes it again once the window passed", () => {
    const clock = { now: 0 };
    const engine = new SensorEngine(SENSOR, {
      state: new MemoryConditionState(),
      now: () => clock.now,
      dedupeWindowMs: 60_000,
    });
    expect(engine.isDuplicate("a", "e1")).toBe(false);
    expect(engine.isDuplicate("b", "e1")).toBe(false); // another trigger keeps its own window
    clock.now = 30_000;
    expect(engine.isDuplicate("a", "e2")).toBe(false);
    clock.now = 59_999;
    expect(engine.isDuplicate("a", "e1")).toBe(true);
    clock.now = 60_000;
    expect(engine.isDuplicate("a", "e1")).toBe(false); // e1's window ended: new again…
    expect(engine.isDuplicate("a", "e2")).toBe(true); // …while e2's has not
    clock.now = 119_999;
    expect(engine.isDuplicate("a", "e1")).toBe(true); // and e1 was remembered afresh
    clock.now = 120_000;
    expect(engine.isDuplicate("a", "e1")).toBe(false);
  });
});

describe("MemoryBus duplicate window", () => {
  const event = (id: string): CloudEvent => ({
    specversion: "1.0",
    id,
    source: "es",
    subject: "e",
    type: "webhook",
    time: "2026-01-01T00:00:00Z",
    datacontenttype: "application/json",
    data: "{}",
  });

  it("answers a repeated id with the first seq within the window and stores it again after", async () => {
    const clock = { now: 0 };
    const bus = new MemoryBus({ duplicateWindowMs: 1000, now: () => clock.now });
    const first = await bus.publish(event("x"));
    clock.now = 999;
    expect(await bus.publish(event("x"))).toEqual({ seq: first.seq, duplicate: true });
    clock.now = 1000;
    const again = await bus.publish(event("x"));
    expect(again.duplicate).toBe(false);
    expect(again.seq).toBeGreaterThan(first.seq);
    await bus.close();
  });
});
