import type { LoadResult } from "../config/load.js";
import { formatProblem, hasErrors } from "../config/load.js";
import { ConfigError } from "../errors.js";
import type { NatsAuth } from "../eventbus/index.js";
import { createBus } from "../eventbus/index.js";
import type { EventBus } from "../eventbus/types.js";
import type { SourceConnection } from "../observability/metrics.js";
import type { EventSourceRunner } from "./eventsource-runner.js";
import type { ApplyOutcome, RunnerHostOptions } from "./host.js";
import { ManifestReconciler, RunnerHost } from "./host.js";
import type { SensorRunner } from "./sensor-runner.js";

export interface RuntimeOptions extends Omit<RunnerHostOptions, "bus" | "ownsBus"> {
  loaded: LoadResult;
  /** nats://... URL list, or undefined for the in-memory bus. */
  busUrl: string | undefined;
  /** NATS credentials and TLS settings (app/nats-options.ts). */
  busAuth?: NatsAuth;
  /** A bus to use instead of connecting one (tests); the caller closes it. */
  bus?: EventBus;
}

/**
 * Everything `sensorbus run` runs in one process: the bus and every EventSource and Sensor found,
 * kept by a {@link RunnerHost} (the same host controller mode uses).
 * Start order: bus -> Sensors (subscribed before anything publishes) -> EventSources.
 * Stop order: EventSources (stop accepting, finish in-flight publishes) -> Sensors (finish in-flight
 * firings) -> trigger connection pools -> bus.
 */
export class Runtime {
  private constructor(
    readonly bus: EventBus,
    private readonly host: RunnerHost,
    private readonly reconciler: ManifestReconciler,
  ) {}

  static async start(options: RuntimeOptions): Promise<Runtime> {
    const { loaded, log } = options;
    if (hasErrors(loaded.problems)) {
      const errors = loaded.problems.filter((p) => p.severity === "error").map(formatProblem);
      throw new ConfigError(`${errors.length} manifest error(s):\n${errors.join("\n")}`, errors);
    }
    const bus =
      options.bus ??
      (await createBus(options.busUrl, {
        log: log.child({ component: "eventbus" }),
        auth: options.busAuth,
      }));
    const {
      loaded: _loaded,
      busUrl: _busUrl,
      busAuth: _busAuth,
      bus: _bus,
      ...hostOptions
    } = options;
    const host = new RunnerHost({ ...hostOptions, bus, ownsBus: options.bus === undefined });
    const runtime = new Runtime(bus, host, new ManifestReconciler(host, log));
    const failed = (await runtime.apply(loaded)).filter((o) => o.result === "failed");
    if (failed.length > 0) {
      await host.close(5_000);
      const messages = failed.map((o) => (o.result === "failed" ? o.error : ""));
      throw new ConfigError(messages.join("\n"), messages);
    }
    log.info(
      {
        bus: bus.kind,
        eventSources: [...host.eventSources.keys()],
        sensors: [...host.sensors.keys()],
      },
      "sensorbus running",
    );
    return runtime;
  }

  /**
   * Makes the running set exactly `loaded` (file-mode reload): changed manifests restart, removed
   * ones stop, unchanged ones keep running. Sensors first, so their subscriptions exist before
   * EventSources publish.
   */
  async apply(loaded: LoadResult): Promise<ApplyOutcome[]> {
    return [
      ...(await this.reconciler.sync("Sensor", loaded.sensors)),
      ...(await this.reconciler.sync("EventSource", loaded.eventSources)),
    ];
  }

  get sensors(): SensorRunner[] {
    return [...this.host.sensors.values()];
  }

  get eventSources(): EventSourceRunner[] {
    return [...this.host.eventSources.values()];
  }

  /** Triggers with a firing in flight for longer than `thresholdMs` (for /readyz). */
  stuckTriggers(thresholdMs = 600_000): string[] {
    return this.host.stuckTriggers(thresholdMs);
  }

  disconnectedSources(): string[] {
    return this.host.disconnectedSources();
  }

  sourceConnections(): SourceConnection[] {
    return this.host.sourceConnections();
  }

  /** Drains within `timeoutMs`; what is still in flight then stays unacknowledged and is redelivered. */
  async stop(timeoutMs = 30_000): Promise<void> {
    await this.host.close(timeoutMs);
  }
}
