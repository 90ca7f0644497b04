import type { ValueResolver } from "../config/secrets.js";
import { dirResolver, parseValuesLayout } from "../config/secrets.js";
import { ConfigError } from "../errors.js";
import type { EventBus } from "../eventbus/index.js";
import { resolveBusUrl } from "../eventbus/index.js";
import type { NatsAuth } from "../eventbus/nats-auth.js";
import type { KubeAccess, KubeAccessFlags } from "../k8s/scope.js";
import { kubeAccessFromFlags } from "../k8s/scope.js";
import type { Logger } from "../observability/logger.js";
import { createLogger } from "../observability/logger.js";
import { Metrics, type SourceConnection } from "../observability/metrics.js";
import { Diagnostics } from "./diagnostics.js";
import { applyEvaluationSettings } from "./evaluation-settings.js";
import type { NatsOptionValues } from "./nats-options.js";
import { natsAuthFromOptions } from "./nats-options.js";
import type { ServeConsoleOptions } from "./serve.js";
import {
  checkConsoleOptions,
  parseConsolePort,
  parseMetricsPort,
  serveConsole,
  serveObservability,
} from "./serve.js";
import { parseTraceLimits } from "./trace.js";

/**
 * The process wiring `sensorbus run` and `sensorbus controller` share, written once: the flags
 * both take (logger, drain timeout, Kubernetes access, Secret/ConfigMap directories, bus, metrics
 * and console listeners, evaluation settings), the metrics and diagnostics, the two listeners,
 * and SIGTERM/SIGINT draining. Each command supplies only what differs: where its manifests come
 * from (files or the API server) and what runs them (a Runtime or the controller's host).
 */

/** The flag values of `run` (and `controller`, which takes the same plus `--namespace`). */
export interface ServeFlags extends NatsOptionValues, KubeAccessFlags {
  bus?: string | undefined;
  "dry-run"?: boolean | undefined;
  kubeconfig?: string | undefined;
  "secrets-dir"?: string | undefined;
  "configmaps-dir"?: string | undefined;
  "secrets-layout"?: string | undefined;
  "log-format"?: string | undefined;
  "log-level"?: string | undefined;
  "drain-timeout"?: string | undefined;
  "metrics-port"?: string | undefined;
  listen?: string | undefined;
  "evaluation-budget"?: string | undefined;
  "template-env"?: string | undefined;
  "console-port"?: string | undefined;
  "console-listen"?: string | undefined;
  "console-token-file"?: string | undefined;
  "console-basic-auth-file"?: string | undefined;
  "console-allowed-hosts"?: string | undefined;
  "trace-retention"?: string | undefined;
  "trace-max-bytes"?: string | undefined;
}

/** What runs the manifests once the process is wired: a file-mode Runtime or the controller. */
export interface ServeTarget {
  bus: EventBus;
  stuckTriggers(): string[];
  /** Broker-backed EventSource entries and whether each is connected (/readyz and the metric). */
  sourceConnections(): readonly SourceConnection[];
  sensors(): Iterable<{ name: string; pending(): Promise<number>; correlationOpenKeys?(): number }>;
  /** The manifests running now, for the console. */
  running: Parameters<Diagnostics["console"]>[0];
  /** Runs until `signal` aborts, then drains within `drainMs`. */
  runUntil(signal: AbortSignal, drainMs: number): Promise<void>;
  /** Stops at once (a listener could not start). */
  abandon(): Promise<void>;
  /** Releases what is left after the drain (e.g. the Kubernetes client). */
  close?(): void;
}

/** `--drain-timeout SECONDS` (default 30) in milliseconds; ConfigError when it is not a number. */
export function parseDrainTimeout(value: string | undefined): number {
  const drainMs = Number(value ?? "30") * 1000;
  if (!Number.isFinite(drainMs) || drainMs < 0)
    throw new ConfigError(`--drain-timeout: '${value}' is not a number of seconds`);
  return drainMs;
}

/** `--log-format json|pretty` (default json). */
function parseLogFormat(value: string | undefined): "json" | "pretty" {
  const format = value ?? "json";
  if (format !== "json" && format !== "pretty")
    throw new ConfigError(`--log-format: '${format}' is not json or pretty`);
  return format;
}

/** The metrics and diagnostics of one process, and the hooks a runner host takes from them. */
export interface Instruments {
  metrics: Metrics;
  diagnostics: Diagnostics;
  hostHooks: {
    log: Logger;
    metrics: Metrics;
    observer: Diagnostics["observer"];
    onEmit: Diagnostics["onEmit"];
    startReceive: Diagnostics["startReceive"];
    onDrained: () => Promise<void>;
  };
}

export class ServeProcess {
  readonly dryRun: boolean;
  readonly kubeAccess: KubeAccess | undefined;
  readonly values: ValueResolver;
  readonly busUrl: string | undefined;
  /** Retention of the `sensorbus-trace` stream (`--trace-retention`, `--trace-max-bytes`). */
  readonly traceLimits: { maxAgeMs: number; maxBytes: number };

  private constructor(
    readonly command: "run" | "controller",
    readonly log: Logger,
    readonly drainMs: number,
    private readonly opts: ServeFlags,
    private readonly metricsPort: number,
    private readonly consoleOptions: ReturnType<typeof consoleListenOptions>,
    readonly busAuth: NatsAuth | undefined,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.dryRun = opts["dry-run"] === true;
    this.kubeAccess = kubeAccessFromFlags(command, opts);
    this.values = dirResolver({
      secretsDir: opts["secrets-dir"],
      configMapsDir: opts["configmaps-dir"],
      layout: parseValuesLayout(opts["secrets-layout"]),
    });
    this.busUrl = resolveBusUrl(opts.bus, env);
    this.traceLimits = parseTraceLimits(opts["trace-retention"], opts["trace-max-bytes"]);
  }

  /**
   * Checks the shared flags (a ConfigError names the flag at fault) and creates the logger. Nothing
   * is started yet.
   */
  static async open(
    command: "run" | "controller",
    opts: ServeFlags,
    env: NodeJS.ProcessEnv,
  ): Promise<ServeProcess> {
    const format = parseLogFormat(opts["log-format"]);
    const drainMs = parseDrainTimeout(opts["drain-timeout"]);
    const log = createLogger({
      format,
      ...(opts["log-level"] ? { level: opts["log-level"] } : {}),
    });
    const metricsPort = parseMetricsPort(opts["metrics-port"]);
    const consoleOptions = consoleListenOptions(opts, log);
    await checkConsoleOptions(consoleOptions);
    const busAuth = await natsAuthFromOptions(opts, env);
    return new ServeProcess(command, log, drainMs, opts, metricsPort, consoleOptions, busAuth, env);
  }

  /** Creates the metrics (labelled with `namespace`), the evaluation settings and diagnostics. */
  instrument(namespace: string): Instruments {
    const metrics = new Metrics(namespace);
    const evaluation = applyEvaluationSettings(
      { budget: this.opts["evaluation-budget"], templateEnv: this.opts["template-env"] },
      this.env,
      metrics,
    );
    this.log.info(evaluation, "evaluation budget and template environment");
    // Decisions per event id for `sensorbus explain` and the console; spans when an OTel SDK is loaded.
    const diagnostics = new Diagnostics(this.log, { traceLimits: this.traceLimits });
    return {
      metrics,
      diagnostics,
      hostHooks: {
        log: this.log,
        metrics,
        observer: diagnostics.observer,
        onEmit: diagnostics.onEmit,
        startReceive: diagnostics.startReceive,
        onDrained: () => diagnostics.flush(),
      },
    };
  }

  /**
   * Serves the metrics/health listener and the console for `target`, runs it until SIGTERM or
   * SIGINT (a second signal calls `exit(130)` without draining), drains it within
   * `--drain-timeout`, then closes the listeners. Returns the exit code.
   */
  async serve(
    target: ServeTarget,
    { metrics, diagnostics }: Instruments,
    exit: (code: number) => void,
    options: { announce: boolean },
  ): Promise<number> {
    const { log } = this;
    metrics.watchSourceConnections(() => target.sourceConnections());
    const served = await serveObservability({
      metrics,
      port: this.metricsPort,
      host: this.opts.listen ?? "127.0.0.1",
      health: {
        busConnected: () => target.bus.connected,
        stuckTriggers: () => target.stuckTriggers(),
        sourcesDisconnected: () =>
          target
            .sourceConnections()
            .filter((c) => !c.connected)
            .map((c) => `${c.eventSource}/${c.eventName}`),
      },
      sensors: () => target.sensors(),
    }).catch(async (err) => {
      await target.abandon();
      throw err;
    });
    if (options.announce && served.url)
      log.info({ metrics: `${served.url}/metrics` }, "metrics and health endpoints listening");
    const consoleServed = await serveConsole({
      ...this.consoleOptions,
      routes: diagnostics.console(target.running, () => target.stuckTriggers()),
    }).catch(async (err) => {
      await served.close();
      await target.abandon();
      throw err;
    });
    if (options.announce && consoleServed.url)
      log.info({ console: `${consoleServed.url}/ui` }, "web console listening");
    const abort = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (abort.signal.aborted) {
        log.warn({ signal }, "second signal: exiting without draining");
        exit(130);
        return;
      }
      log.info({ signal, drainTimeoutMs: this.drainMs }, "draining");
      abort.abort();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    try {
      await target.runUntil(abort.signal, this.drainMs);
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      await served.close();
      await consoleServed.close();
      target.close?.();
    }
    log.info("stopped");
    log.flush?.();
    return 0;
  }
}

/** The console listener's flags of `run` and `controller`. */
function consoleListenOptions(opts: ServeFlags, log: Logger): Omit<ServeConsoleOptions, "routes"> {
  return {
    port: parseConsolePort(opts["console-port"]),
    host: opts["console-listen"] ?? "127.0.0.1",
    tokenFile: opts["console-token-file"],
    basicAuthFile: opts["console-basic-auth-file"],
    allowedHosts: opts["console-allowed-hosts"],
    ...(opts["console-port"] === undefined
      ? {
          onDefaultPortBusy: (message: string) =>
            log.warn(
              { err: message },
              "web console off: its default port 7778 is in use (give --console-port)",
            ),
        }
      : {}),
  };
}
