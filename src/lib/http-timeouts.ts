import { ConfigError } from "../errors.js";

/** Default bound on receiving one whole request (headers and body): 30 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const REQUEST_TIMEOUT_ENV = "SENSORBUS_WEBHOOK_REQUEST_TIMEOUT_MS";

/** SENSORBUS_WEBHOOK_REQUEST_TIMEOUT_MS (milliseconds, positive integer) or 30 s. */
export function requestTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[REQUEST_TIMEOUT_ENV];
  if (raw === undefined || raw.trim() === "") return DEFAULT_REQUEST_TIMEOUT_MS;
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new ConfigError(
      `${REQUEST_TIMEOUT_ENV}: '${raw}' is not a positive number of milliseconds`,
    );
  }
  return ms;
}

/**
 * The time bounds every sensorbus HTTP listener shares (webhook, metrics, console), as fastify
 * options: the whole request (headers and body) within `timeoutMs` (Node's `requestTimeout` and
 * `headersTimeout`, answered 408), socket inactivity bounded by `timeoutMs` (fastify's
 * `connectionTimeout`, which also closes a keep-alive connection idle that long). Pass `tls` for
 * HTTPS.
 */
export function httpTimeoutOptions(
  timeoutMs: number,
  tls?: { cert: string; key: string },
): Record<string, unknown> {
  // Node checks request deadlines every connectionsCheckingInterval (30 s by default): a short
  // timeout needs a finer check, or a stalled body would live up to 30 s longer than allowed.
  const nodeServer = {
    requestTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeoutMs / 4))),
  };
  return {
    requestTimeout: timeoutMs,
    // Idle socket bound: a client that stops sending mid-request is cut off too.
    connectionTimeout: timeoutMs,
    ...(tls ? { https: { cert: tls.cert, key: tls.key, ...nodeServer } } : { http: nodeServer }),
  };
}
