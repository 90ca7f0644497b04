import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { LogTrigger } from "../../../src/config/types.js";
import { logTrigger } from "../../../src/triggers/log.js";
import type { FiringContext } from "../../../src/triggers/types.js";

/** Argo's LogTrigger.shouldLog: time.Now().After(LastLogTime.Add(interval)), per Sensor trigger. */

function setup() {
  let t = 1_000_000;
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ base: undefined }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const kind = logTrigger(() => t);
  const fire = async (sensorName: string, template: LogTrigger) => {
    const ctx = {
      sensorName,
      namespace: "ns",
      triggerName: "log-trigger",
      events: new Map([
        [
          "dep",
          {
            specversion: "1.0",
            id: "1",
            source: "es",
            subject: "e",
            type: "webhook",
            time: "2024-05-15T12:00:00Z",
            datacontenttype: "application/json",
            data: '{"n":1}',
          },
        ],
      ]),
    } as unknown as FiringContext;
    const rendered = await kind.render(template, ctx);
    return kind.execute(rendered, { log, signal: new AbortController().signal });
  };
  return { fire, lines, advance: (ms: number) => (t += ms) };
}

describe("log trigger intervalSeconds, as Argo's shouldLog", () => {
  it("logs again only after the interval has passed (at exactly the interval it does not)", async () => {
    const h = setup();
    expect((await h.fire("s", { intervalSeconds: 10 })).summary).toBe("logged 1 event(s)");
    h.advance(10_000);
    expect((await h.fire("s", { intervalSeconds: 10 })).summary).toMatch(/suppressed/);
    h.advance(1);
    expect((await h.fire("s", { intervalSeconds: 10 })).summary).toBe("logged 1 event(s)");
    expect(h.lines).toHaveLength(2);
  });

  it("keeps one time per Sensor's trigger: two Sensors with the same trigger name both log", async () => {
    const h = setup();
    await h.fire("sensor-a", { intervalSeconds: 60 });
    await h.fire("sensor-b", { intervalSeconds: 60 });
    expect(h.lines).toHaveLength(2);
  });

  it("without an interval logs every firing", async () => {
    const h = setup();
    await h.fire("s", {});
    await h.fire("s", {});
    expect(h.lines).toHaveLength(2);
  });
});
