import { Agent, type Dispatcher, request } from "../../clients/http.js";
import { boundText } from "../../lib/bounded-text.js";

/**
 * The HTTP client of the Bitbucket Cloud and Bitbucket Server kinds (hook registration, the
 * open-pull-request lookup). No maintained Node client covers these APIs, so this is undici
 * directly: JSON in and out, one Authorization header, a bound on every call, and errors that say
 * what the provider answered (never the credential).
 */

/** Bound on one API call, connection to last body byte. */
export const API_TIMEOUT_MS = 30_000;

/** A provider answer other than 2xx, or no answer: carries what the provider said. */
export class ProviderApiError extends Error {
  override name = "ProviderApiError";
  constructor(
    message: string,
    /** The HTTP status; undefined when no answer came (refused, timed out, ...). */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface ApiTls {
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify?: boolean;
}

export interface ApiClientOptions {
  /** The whole `Authorization` header value (`Basic ...`, `Bearer ...`). */
  authorization: string;
  /** Headers sent with every call (Bitbucket Server's XSRF opt-out). */
  headers?: Record<string, string>;
  tls?: ApiTls;
}

export interface ApiClient {
  /** Sends one call; resolves with the parsed JSON answer (undefined for an empty body). */
  call(
    method: Dispatcher.HttpMethod,
    url: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<unknown>;
  close(): Promise<void>;
}

export function apiClient(options: ApiClientOptions): ApiClient {
  const tls = options.tls;
  const dispatcher = new Agent({
    connect: {
      ...(tls?.ca ? { ca: tls.ca } : {}),
      ...(tls?.cert ? { cert: tls.cert } : {}),
      ...(tls?.key ? { key: tls.key } : {}),
      ...(tls?.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
    },
  });
  return {
    async call(method, url, body, signal) {
      const timeout = AbortSignal.timeout(API_TIMEOUT_MS);
      const headers: Record<string, string> = {
        accept: "application/json",
        authorization: options.authorization,
        "user-agent": "sensorbus",
        ...options.headers,
      };
      if (body !== undefined) headers["content-type"] = "application/json";
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, {
          method,
          headers,
          dispatcher,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      } catch (err) {
        const why = timeout.aborted
          ? `no answer within ${API_TIMEOUT_MS / 1000} s`
          : (err as Error).message;
        throw new ProviderApiError(`${method} ${displayUrl(url)}: ${why}`);
      }
      const text = await res.body.text();
      if (res.statusCode < 200 || res.statusCode > 299)
        throw new ProviderApiError(
          `${method} ${displayUrl(url)}: ${res.statusCode}${providerMessage(text)}`,
          res.statusCode,
        );
      if (text.trim() === "") return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new ProviderApiError(
          `${method} ${displayUrl(url)}: ${res.statusCode} with a body that is not JSON`,
          res.statusCode,
        );
      }
    },
    close: () => dispatcher.close(),
  };
}

/** A URL for messages: no query string (it may hold paging only, but keep logs short). */
function displayUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/**
 * What the provider said in an error body: Bitbucket Cloud's `{"type":"error","error":{"message",
 * "detail"}}`, Bitbucket Server's `{"errors":[{"message"}]}`, else the text itself (bounded).
 */
export function providerMessage(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const plain = text.trim();
    return plain === "" ? "" : `: ${boundText(plain, 300)}`;
  }
  const o = parsed as {
    error?: { message?: unknown; detail?: unknown };
    errors?: Array<{ message?: unknown }>;
  } | null;
  const parts: string[] = [];
  if (o && typeof o === "object") {
    if (o.error && typeof o.error === "object") {
      if (typeof o.error.message === "string") parts.push(o.error.message);
      if (typeof o.error.detail === "string") parts.push(o.error.detail);
    }
    if (Array.isArray(o.errors))
      for (const e of o.errors) if (typeof e?.message === "string") parts.push(e.message);
  }
  return parts.length > 0 ? `: ${boundText(parts.join("; "), 300)}` : "";
}

/** `encodeURIComponent` for one path segment (Bitbucket Cloud hook uuids carry braces). */
export const segment = (s: string): string => encodeURIComponent(s);

/** A base URL without its trailing slashes, so paths join with one `/`. */
export const trimBase = (s: string): string => s.replace(/\/+$/, "");
