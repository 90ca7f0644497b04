import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CalendarEventSpec } from "../../src/config/types.js";
import { createCalendarAdapter } from "../../src/eventsources/calendar.js";
import { ConfigMapTickStore } from "../../src/eventsources/configmap-tick-store.js";
import type { AdapterContext, EmitInput } from "../../src/eventsources/types.js";
import type { KubeClient } from "../../src/k8s/client.js";
import { loadKubeClient } from "../../src/k8s/client.js";
import { silentLogger } from "../../src/observability/logger.js";
import { FakeClock } from "../support/fake-clock.js";
import { FakeKubeApi } from "../support/fake-kube-api.js";
import { waitUntil } from "../support/nats-server.js";

// Argo's calendar persistence in Kubernetes: the last event per entry lives in the ConfigMap named
// by persistence.configMap, under `<eventSource>.<event>`; a restart catches up from it.
describe("calendar persistence in a ConfigMap (fake Kubernetes API)", () => {
  let api: FakeKubeApi;
  let kube: KubeClient;

  beforeAll(async () => {
    api = await new FakeKubeApi().start();
    kube = (await loadKubeClient({ kubeconfigYaml: api.kubeconfigYaml("jobs") }))!;
  });
  afterAll(async () => {
    kube?.close();
    await api?.stop();
  });

  const spec: CalendarEventSpec = {
    schedule: "0 * * * *",
    persistence: {
      catchup: { enabled: true, maxDuration: "5h" },
      configMap: { name: "calendar-state", createIfNotExist: true },
    },
  };

  const run = async (clock: FakeClock, emitted: string[]) => {
    const abort = new AbortController();
    const adapter = createCalendarAdapter({
      configMapStore: (ref) => new ConfigMapTickStore(kube, ref),
      monotonicMs: () => 0,
    });
    const ctx: AdapterContext = {
      eventSourceName: "hourly",
      namespace: "jobs",
      log: silentLogger(),
      clock,
      signal: abort.signal,
      values: { secret: async () => "", configMap: async () => "" },
      emit: async (_eventName: string, input: EmitInput) => {
        emitted.push(JSON.parse(input.data).eventTime as string);
        return { id: input.id ?? "x", status: "published" };
      },
    };
    const running = await adapter.start([{ eventName: "tick", spec }], ctx);
    return { stop: () => running.stop() };
  };

  it("stores each tick in the ConfigMap and catches up missed ticks after a restart", async () => {
    const clock = new FakeClock(Date.parse("2024-05-15T10:30:00Z"));
    const first: string[] = [];
    const a = await run(clock, first);
    await clock.idle();
    clock.advanceTo(Date.parse("2024-05-15T11:00:00Z"));
    await waitUntil(() => first.length === 1, "the 11:00 tick");
    const cm = () =>
      api.objects("v1", "ConfigMap").find((o) => o.metadata?.name === "calendar-state") as
        | { data?: Record<string, string> }
        | undefined;
    await waitUntil(() => cm()?.data?.["hourly.tick"] !== undefined, "the ConfigMap entry");
    expect(JSON.parse(cm()!.data!["hourly.tick"]!).eventTime).toMatch(/^2024-05-15 11:00:00/);
    await a.stop();

    // Down from 11:00 to 13:30: 12:00 and 13:00 are caught up, 11:00 is not fired again.
    const clock2 = new FakeClock(Date.parse("2024-05-15T13:30:00Z"));
    const second: string[] = [];
    const b = await run(clock2, second);
    await waitUntil(() => second.length === 2, "the two missed ticks");
    expect(second.map((t) => t.slice(0, 19))).toEqual([
      "2024-05-15 12:00:00",
      "2024-05-15 13:00:00",
    ]);
    await waitUntil(
      () => JSON.parse(cm()!.data!["hourly.tick"]!).eventTime.startsWith("2024-05-15 13:00:00"),
      "the stored 13:00 tick",
    );
    await b.stop();
  });
});
