import type { LoadResult } from "../config/load.js";
import type { EventBus } from "../eventbus/types.js";
import { consoleRoutes } from "../observability/console.js";
import type { JournalOptions } from "../observability/journal.js";
import { Journal } from "../observability/journal.js";
import type { Logger } from "../observability/logger.js";
import { startReceive, tracingObserver } from "../observability/tracing.js";
import type { EventSourceRunnerOptions } from "./eventsource-runner.js";
import { buildGraph } from "./graph.js";
import { combineObservers } from "./observe.js";
import type { SensorObserver } from "./sensor-runner.js";

/**
 * What `run` and `controller` record besides metrics: the event journal (`sensorbus explain`, the
 * console) and spans when an OpenTelemetry SDK is loaded. Give `observer`, `onEmit` and
 * `startReceive` to the runner host, call `useBus` once the bus exists, serve `console(...)` on
 * the metrics listener and flush in the host's `onDrained`.
 */
export class Diagnostics {
  readonly journal: Journal;
  readonly observer: SensorObserver;
  readonly onEmit: NonNullable<EventSourceRunnerOptions["onEmit"]>;
  readonly startReceive = startReceive;

  constructor(
    private readonly log: Logger,
    journal: Omit<JournalOptions, "log" | "records"> = {},
  ) {
    this.journal = new Journal({ ...journal, log });
    this.observer = combineObservers(this.journal.observer(), tracingObserver());
    this.onEmit = this.journal.onEmit;
  }

  /** Mirrors the journal into the bus's `sensorbus-journal` stream (JetStream); warns if it cannot. */
  async useBus(bus: EventBus): Promise<void> {
    await this.journal
      .useBus(bus)
      .catch((err) =>
        this.log.warn(
          { err },
          "event journal kept in memory only: its JetStream stream is unavailable",
        ),
      );
  }

  /** The console and its JSON API, over what runs now. */
  console(
    running: () => Pick<LoadResult, "eventSources" | "sensors">,
    stuckTriggers: () => string[],
  ): ReturnType<typeof consoleRoutes> {
    return consoleRoutes({
      journal: this.journal,
      graph: () => buildGraph(running()),
      stuckTriggers,
    });
  }

  /** Writes the journal entries not yet on the bus. */
  flush(): Promise<void> {
    return this.journal.flush();
  }
}
