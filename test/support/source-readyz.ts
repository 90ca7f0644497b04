import { EventSourceRunner } from "../../src/app/eventsource-runner.js";
import type { EventSourceManifest, Loaded } from "../../src/config/types.js";
import type { EventBus } from "../../src/eventbus/types.js";
import { type EventSourceAdapter, systemClock } from "../../src/eventsources/types.js";
import type { Logger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import { startObservabilityServer } from "../../src/observability/server.js";

export interface SourceWithReadyz {
  runner: EventSourceRunner;
  /** `GET /readyz`: its status and body (`problems` names the disconnected entries). */
  readyz(): Promise<{ code: number; body: { problems?: string[] } }>;
  /** Stops the runner, then the server (the bus is the caller's). */
  stop(): Promise<void>;
}

/**
 * EventSource `name` (`spec`, entries of the kinds in `adapters`) started by the real
 * EventSourceRunner on `bus`, with the observability server's `/readyz` over its `disconnected()`:
 * for the broker outage tests.
 */
export async function runSourceWithReadyz(opts: {
  name: string;
  spec: Record<string, unknown>;
  adapters: Record<string, EventSourceAdapter<unknown>>;
  bus: EventBus;
  log: Logger;
}): Promise<SourceWithReadyz> {
  const loaded = {
    manifest: {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventSource",
      metadata: { name: opts.name, namespace: "default" },
      spec: opts.spec,
    } as unknown as EventSourceManifest,
    file: `${opts.name}.yaml`,
    doc: 0,
  } satisfies Loaded<EventSourceManifest>;
  const runner = new EventSourceRunner(loaded, {
    bus: opts.bus,
    adapters: new Map(Object.entries(opts.adapters)),
    values: {} as never,
    clock: systemClock,
    log: opts.log,
  });
  await runner.start();
  const app = await startObservabilityServer({
    metrics: new Metrics(),
    health: {
      busConnected: () => true,
      stuckTriggers: () => [],
      sourcesDisconnected: () => runner.disconnected(),
    },
    port: 0,
    host: "127.0.0.1",
  });
  return {
    runner,
    readyz: async () => {
      const res = await app.inject({ method: "GET", url: "/readyz" });
      return { code: res.statusCode, body: res.json() as { problems?: string[] } };
    },
    stop: async () => {
      await runner.stop();
      await app.close();
    },
  };
}
