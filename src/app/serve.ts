import { readFile } from "node:fs/promises";
import type { FastifyInstance } from "fastify";
import { DEFAULTS } from "../config/defaults.js";
import { ConfigError, errorMessage } from "../errors.js";
import type { ConsoleAuth } from "../observability/console-server.js";
import { isLoopbackListen, startConsoleServer } from "../observability/console-server.js";
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
  const port = Number(value ?? DEFAULTS.metricsPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`--metrics-port: '${value}' is not a port number`);
  }
  return port;
}

export interface ServeConsoleOptions {
  /** 0 turns the console off. */
  port: number;
  host: string;
  routes: (app: FastifyInstance) => void | Promise<void>;
  /** File holding the bearer token (a mounted Secret key); never the token itself. */
  tokenFile?: string | undefined;
  /** File holding `user:password` for basic auth (a mounted Secret key). */
  basicAuthFile?: string | undefined;
  /** Comma-separated extra Host names (`--console-allowed-hosts`). */
  allowedHosts?: string | undefined;
  requestTimeoutMs?: number;
  /**
   * Called instead of failing when the port (the default one, not given on the command line) is
   * in use; the console is then off.
   */
  onDefaultPortBusy?: (message: string) => void;
}

/** Parses `--console-port` (default 7778; 0 turns the console off). */
export function parseConsolePort(value: string | undefined): number {
  const port = Number(value ?? String(DEFAULT_CONSOLE_PORT));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`--console-port: '${value}' is not a port number`);
  }
  return port;
}

/** The console's default port; `sensorbus explain` asks http://127.0.0.1:7778 by default. */
export const DEFAULT_CONSOLE_PORT = 7778;

/**
 * Reads the console's credentials from files (mounted Secrets): one trailing newline is dropped
 * (as Argo does for Secret values); an empty file or a basic-auth value without `:` is refused.
 */
export async function readConsoleAuth(files: {
  tokenFile?: string | undefined;
  basicAuthFile?: string | undefined;
}): Promise<ConsoleAuth | undefined> {
  const read = async (flag: string, path: string): Promise<string> => {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      throw new ConfigError(`${flag} ${path}: ${errorMessage(err)}`);
    }
    const value = text.replace(/\r?\n$/, "");
    if (value === "") throw new ConfigError(`${flag} ${path}: the file is empty`);
    return value;
  };
  const auth: ConsoleAuth = {};
  if (files.tokenFile) auth.bearerToken = await read("--console-token-file", files.tokenFile);
  if (files.basicAuthFile) {
    const basic = await read("--console-basic-auth-file", files.basicAuthFile);
    if (basic.indexOf(":") <= 0)
      throw new ConfigError(
        `--console-basic-auth-file ${files.basicAuthFile}: expected one line user:password`,
      );
    auth.basic = basic;
  }
  return auth.bearerToken || auth.basic ? auth : undefined;
}

/**
 * Reads the console's credential files and refuses a non-loopback listener without them
 * (ConfigError); `run` calls it before starting anything.
 */
export async function checkConsoleOptions(
  options: Pick<ServeConsoleOptions, "port" | "host" | "tokenFile" | "basicAuthFile">,
): Promise<ConsoleAuth | undefined> {
  const auth = await readConsoleAuth(options);
  if (options.port !== 0 && !auth && !isLoopbackListen(options.host)) {
    throw new ConfigError(
      `--console-listen ${options.host}: the console would be reachable from the network without credentials; give --console-token-file or --console-basic-auth-file (files from a Secret), or listen on 127.0.0.1`,
    );
  }
  return auth;
}

/**
 * `--console-port`/`--console-listen` of `run` and `controller`: the web console and `/api/*` on
 * a listener of their own. Without credentials it may only listen on a loopback address: a
 * console reachable from the network must have `--console-token-file` or
 * `--console-basic-auth-file`.
 */
export async function serveConsole(options: ServeConsoleOptions): Promise<ServedObservability> {
  if (options.port === 0) return { url: undefined, close: async () => undefined };
  const auth = await checkConsoleOptions(options);
  const allowedHosts = (options.allowedHosts ?? "")
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "");
  let server: FastifyInstance;
  try {
    server = await startConsoleServer({
      port: options.port,
      host: options.host,
      routes: options.routes,
      allowedHosts,
      ...(auth ? { auth } : {}),
      ...(options.requestTimeoutMs !== undefined
        ? { requestTimeoutMs: options.requestTimeoutMs }
        : {}),
    });
  } catch (err) {
    // The default port taken (a second sensorbus on this host): the console is a diagnostic,
    // so it stays off with a warning; a port given on purpose must work.
    if (options.onDefaultPortBusy && (err as { code?: string }).code === "EADDRINUSE") {
      options.onDefaultPortBusy(errorMessage(err));
      return { url: undefined, close: async () => undefined };
    }
    throw new ConfigError(`--console-port ${options.port}: ${errorMessage(err)}`);
  }
  const address = server.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () => server.close(),
  };
}
