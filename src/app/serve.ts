import type { FastifyInstance } from "fastify";
import { ConfigError, errorMessage } from "../errors.js";
import type { Metrics } from "../observability/metrics.js";
import type { HealthSource } from "../observability/server.js";
import { startObservabilityServer } from "../observability/server.js";

export interface ServeObservabilityOptions {
  metrics: Metrics;
  /** 0 turns the listener off (the consumer-lag gauge is still updated). */
  port: number;
  host: string;
  health: HealthSource;
  /** The running Sensors, for the consumer-lag gauge. */
  sensors: () => Iterable<{
    name: string;
    pending(): Promise<number>;
    correlationOpenKeys?(): number;
  }>;
  plugins?: Array<(app: FastifyInstance) => void | Promise<void>>;
  /** How often the consumer lag is sampled, ms (default 5 s). */
  lagIntervalMs?: number;
}

export interface ServedObservability {
  /** `http://host:port` when listening. */
  url: string | undefined;
  close(): Promise<void>;
}

/** `--metrics-port`/`--listen` of `run` and `controller`: the listener plus the lag sampler. */
export async function serveObservability(
  options: ServeObservabilityOptions,
): Promise<ServedObservability> {
  const { metrics } = options;
  const lagTimer = setInterval(() => {
    for (const s of options.sensors()) {
      if (s.correlationOpenKeys) {
        metrics.correlationOpenKeys.set(
          { namespace: metrics.namespace, sensor_name: s.name },
          s.correlationOpenKeys(),
        );
      }
      s.pending().then(
        (n) => metrics.consumerLag.set({ namespace: metrics.namespace, sensor_name: s.name }, n),
        () => undefined,
      );
    }
  }, options.lagIntervalMs ?? 5_000);
  lagTimer.unref();
  if (options.port === 0) {
    return { url: undefined, close: async () => clearInterval(lagTimer) };
  }
  let server: FastifyInstance;
  try {
    server = await startObservabilityServer({
      metrics,
      port: options.port,
      host: options.host,
      health: options.health,
      ...(options.plugins ? { plugins: options.plugins } : {}),
    });
  } catch (err) {
    clearInterval(lagTimer);
    throw new ConfigError(`--metrics-port ${options.port}: ${errorMessage(err)}`);
  }
  return {
    url: `http://${options.host}:${options.port}`,
    close: async () => {
      clearInterval(lagTimer);
      await server.close();
    },
  };
}

/** Parses `--metrics-port` (default 7777). */
export function parseMetricsPort(value: string | undefined): number {
  const port = Number(value ?? "7777");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`--metrics-port: '${value}' is not a port number`);
  }
  return port;
}
