import type { FastifyInstance } from "fastify";
import Fastify from "fastify";
import { httpTimeoutOptions, requestTimeoutFromEnv } from "../lib/http-timeouts.js";
import { redactJson } from "../lib/redact.js";
import type { Metrics } from "./metrics.js";

export interface HealthSource {
  /** Bus connected (publishes possible). */
  busConnected(): boolean;
  /** Triggers with a firing in flight longer than the stuck threshold. */
  stuckTriggers(): string[];
  /** EventSource entries (`<eventSource>/<eventName>`) whose broker connection is down now. */
  sourcesDisconnected?(): string[];
}

export interface ObservabilityServerOptions {
  metrics: Metrics;
  health: HealthSource;
  port: number;
  host: string;
  /** Extra routes registered on the same server (the console has a listener of its own). */
  plugins?: Array<(app: FastifyInstance) => void | Promise<void>>;
  /**
   * Bound on receiving a whole request and on socket inactivity, ms: the webhook servers' bound
   * (SENSORBUS_WEBHOOK_REQUEST_TIMEOUT_MS, default 30 s) unless given.
   */
  requestTimeoutMs?: number;
}

/**
 * `/metrics` (Prometheus), `/livez` (the process answers), `/readyz` (bus connected and no trigger
 * stuck) and `/healthz` (same as readyz, for probes written for Argo) on `--metrics-port`.
 */
export async function startObservabilityServer(
  options: ObservabilityServerOptions,
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    ...httpTimeoutOptions(options.requestTimeoutMs ?? requestTimeoutFromEnv()),
  });
  const { metrics, health } = options;
  app.get("/metrics", async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return redactJson(await metrics.registry.metrics());
  });
  app.get("/livez", async () => ({ status: "ok" }));
  const ready = async (_req: unknown, reply: import("fastify").FastifyReply) => {
    const problems: string[] = [];
    if (!health.busConnected()) problems.push("event bus disconnected");
    const stuck = health.stuckTriggers();
    if (stuck.length > 0) problems.push(`triggers stuck: ${stuck.join(", ")}`);
    const down = health.sourcesDisconnected?.() ?? [];
    if (down.length > 0) problems.push(`event sources disconnected: ${down.join(", ")}`);
    if (problems.length > 0) return reply.code(503).send({ status: "unavailable", problems });
    return { status: "ok" };
  };
  app.get("/readyz", ready);
  app.get("/healthz", ready);
  for (const plugin of options.plugins ?? []) await plugin(app);
  await app.listen({ port: options.port, host: options.host });
  return app;
}
