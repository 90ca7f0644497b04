/**
 * Every error sensorbus raises on purpose is an EventsError with a stable code (documented in
 * docs/errors.md; a unit test keeps the two in step) and a `retryable` flag that tells the runner
 * whether trying again can help.
 */
export const ERROR_CODES = [
  "SB_ERR_CONFIG_INVALID",
  "SB_ERR_CONFIG_READ",
  "SB_ERR_CONFIG_SECRET",
  "SB_ERR_CLOUDEVENT_INVALID",
  "SB_ERR_BUS_UNAVAILABLE",
  "SB_ERR_BUS_FULL",
  "SB_ERR_BUS_CLOSED",
  "SB_ERR_KV_CONFLICT",
  "SB_ERR_FILTER_PATH_MISSING",
  "SB_ERR_TRANSFORM",
  "SB_ERR_TEMPLATE_PARSE",
  "SB_ERR_TEMPLATE_EXEC",
  "SB_ERR_EVAL_BUDGET",
  "SB_ERR_EXPR_PARSE",
  "SB_ERR_EXPR_EVAL",
  "SB_ERR_PARAM_UNRESOLVED",
  "SB_ERR_PARAM_DEST",
  "SB_ERR_CONDITION_SYNTAX",
  "SB_ERR_TRIGGER_RENDER",
  "SB_ERR_TRIGGER_HTTP_STATUS",
  "SB_ERR_TRIGGER_HTTP_TRANSPORT",
  "SB_ERR_TRIGGER_GRPC",
  "SB_ERR_TRIGGER_K8S",
  "SB_ERR_TRIGGER_K8S_SCOPE",
  "SB_ERR_TRIGGER_SOURCE",
  "SB_ERR_TRIGGER_SEND",
  "SB_ERR_TRIGGER_PUBLISH",
  "SB_ERR_EVENTSOURCE_START",
  "SB_ERR_EVENTSOURCE_PAYLOAD",
  "SB_ERR_PUBSUB_PUBLISH",
  "SB_ERR_CLI_USAGE",
  "SB_ERR_STOPPING",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface EventsErrorOptions extends ErrorOptions {
  retryable?: boolean;
}

export class EventsError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: EventsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "EventsError";
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** The codes a ConfigError may carry. */
export type ConfigErrorCode =
  | "SB_ERR_CONFIG_INVALID"
  | "SB_ERR_CONFIG_READ"
  | "SB_ERR_CONFIG_SECRET"
  | "SB_ERR_CLI_USAGE";

/**
 * A manifest or command-line problem. `problems` lists every finding, each naming file and field.
 * The code is SB_ERR_CONFIG_READ when a cause is given, else SB_ERR_CONFIG_INVALID, unless
 * `options.code` says otherwise.
 */
export class ConfigError extends EventsError {
  readonly problems: readonly string[];
  constructor(
    message: string,
    problems: readonly string[] = [],
    options: EventsErrorOptions & { code?: ConfigErrorCode } = {},
  ) {
    super(
      options.code ??
        (options.cause === undefined ? "SB_ERR_CONFIG_INVALID" : "SB_ERR_CONFIG_READ"),
      message,
      options,
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export class EventBusError extends EventsError {
  /**
   * A publish whose outcome is unknown: it was sent and not acknowledged in time, so the bus may
   * have stored it all the same. A retry with the same event id is stored at most once.
   */
  readonly maybeStored: boolean;

  constructor(
    code: Extract<ErrorCode, `SB_ERR_BUS_${string}` | "SB_ERR_KV_CONFLICT">,
    message: string,
    options: EventsErrorOptions & { maybeStored?: boolean } = {},
  ) {
    super(code, message, { retryable: true, ...options });
    this.name = "EventBusError";
    this.maybeStored = options.maybeStored ?? false;
  }
}

/**
 * A filter-like check refused an event by throwing (the keyed-correlation key path). Filters proper
 * report `{pass, error}` outcomes and never throw on event data.
 */
export class FilterError extends EventsError {
  constructor(
    code: "SB_ERR_FILTER_PATH_MISSING",
    message: string,
    options: EventsErrorOptions = {},
  ) {
    super(code, message, options);
    this.name = "FilterError";
  }
}

export class TemplateError extends EventsError {
  constructor(
    code: "SB_ERR_TEMPLATE_PARSE" | "SB_ERR_TEMPLATE_EXEC",
    message: string,
    options: EventsErrorOptions = {},
  ) {
    super(code, message, options);
    this.name = "TemplateError";
  }
}

/** Raised by triggers. `retryable: false` ends the firing at once (dlqTrigger / dead letter). */
export class TriggerError extends EventsError {
  /**
   * The target asked not to be called again before this many ms (a 429's `Retry-After`): the
   * runner waits at least this long (bounded) before the next attempt of `retryStrategy`.
   */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: EventsErrorOptions & { retryAfterMs?: number } = {},
  ) {
    super(code, message, options);
    this.name = "TriggerError";
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The runner is stopping: the message is left unacknowledged so the bus redelivers it (to this
 * process after a restart or to another runner). Retryable by nature.
 */
export class StoppingError extends EventsError {
  constructor(message: string, options: EventsErrorOptions = {}) {
    super("SB_ERR_STOPPING", message, { retryable: true, ...options });
    this.name = "StoppingError";
  }
}

/** A dependency transform (jq or Lua) failed: the same event fails the same way (not retried). */
export class TransformError extends EventsError {
  constructor(message: string, options: EventsErrorOptions = {}) {
    super("SB_ERR_TRANSFORM", message, { retryable: false, ...options });
    this.name = "TransformError";
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
