import { describe, expect, it, vi } from "vitest";
import { SensorRunner } from "../../../src/app/sensor-runner.js";
import { dirResolver } from "../../../src/config/secrets.js";
import type { SensorManifest } from "../../../src/config/types.js";
import { MemoryBus } from "../../../src/eventbus/memory.js";
import type { BusCapabilities } from "../../../src/eventbus/types.js";
import { JOURNAL_STREAM, Journal } from "../../../src/observability/journal.js";
import { silentLogger } from "../../../src/observability/logger.js";
import type { TriggerKind } from "../../../src/triggers/types.js";

/**
 * Callers choose their stores by what the bus says it can do (EventBus.capabilities), never by its
 * kind: an in-memory bus that declared a capability gets used for it like JetStream would be.
 */
function busWith(capabilities: Partial<BusCapabilities>): MemoryBus {
  const bus = new MemoryBus();
  Object.defineProperty(bus, "capabilities", {
    value: { ...bus.capabilities, ...capabilities },
  });
  return bus;
}

const keyed: SensorManifest = {
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Sensor",
  metadata: { name: "caps" },
  spec: {
    dependencies: [
      { name: "a", eventSourceName: "s", eventName: "a" },
      { name: "b", eventSourceName: "s", eventName: "b" },
    ],
    triggers: [
      {
        template: {
          name: "t",
          conditions: "a && b",
          correlation: { window: "1m", key: "body.id" },
          log: {},
        },
      },
    ],
  },
};

const logKind: TriggerKind<unknown> = {
  kind: "log",
  render: async () => ({ kind: "log" }),
  execute: async () => ({ summary: "logged" }),
};

async function runnerOn(bus: MemoryBus): Promise<SensorRunner> {
  return SensorRunner.create(
    { manifest: keyed, file: "test", doc: 0 },
    {
      bus,
      kinds: new Map([["log", logKind]]),
      values: dirResolver({}),
      clock: { now: Date.now, sleep: async () => true },
      log: silentLogger(),
    },
  );
}

describe("bus capabilities", () => {
  it("the memory bus declares nothing durable", () => {
    expect(new MemoryBus().capabilities).toEqual({
      durableKv: false,
      journalStream: false,
      durableDeadLetters: false,
      durableConsumers: false,
    });
  });

  it("a Sensor keeps correlation state in the bus's KV only when the bus has durable KV", async () => {
    const durable = busWith({ durableKv: true });
    const opened = vi.spyOn(durable, "kv");
    await runnerOn(durable);
    expect(opened).toHaveBeenCalledWith("caps");

    const plain = busWith({});
    const notOpened = vi.spyOn(plain, "kv");
    await runnerOn(plain);
    expect(notOpened).not.toHaveBeenCalled();
    await Promise.all([durable.close(), plain.close()]);
  });

  it("the journal mirrors into the bus's record log only when the bus keeps a journal stream", async () => {
    const durable = busWith({ journalStream: true });
    const opened = vi.spyOn(durable, "recordLog");
    await Journal.open(durable);
    expect(opened).toHaveBeenCalledWith(JOURNAL_STREAM, expect.anything());

    const plain = busWith({});
    const notOpened = vi.spyOn(plain, "recordLog");
    await Journal.open(plain);
    expect(notOpened).not.toHaveBeenCalled();
    await Promise.all([durable.close(), plain.close()]);
  });
});
