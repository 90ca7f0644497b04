import { JetStreamApiError } from "@nats-io/jetstream";
import { EventBusError, errorMessage } from "../../errors.js";

/** Maps a failed JetStream request to an EventBusError naming `what` (`closed`: the bus is closed). */
export function apiError(err: unknown, what: string, closed: boolean): EventBusError {
  if (err instanceof EventBusError) return err;
  if (closed) {
    return new EventBusError("SB_ERR_BUS_CLOSED", `event bus is closed: ${what} failed`, {
      cause: err,
    });
  }
  return new EventBusError("SB_ERR_BUS_UNAVAILABLE", `${what} failed: ${errorMessage(err)}`, {
    cause: err,
  });
}

export function isWrongLastSequence(err: unknown): boolean {
  if (err instanceof JetStreamApiError && (err.code === 10071 || err.code === 10164)) return true;
  return /wrong last sequence/i.test(errorMessage(err));
}

export function isConsumerNotFound(err: unknown): boolean {
  if (err instanceof JetStreamApiError && err.code === 10014) return true;
  return /consumer not found/i.test(errorMessage(err));
}

/** JetStream not ready (no meta leader yet, request timed out, no responders): worth retrying. */
export function isTransient(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.status >= 500 || err.code === 10008;
  return !/permission|authorization|jetstream is not enabled|no responders/i.test(
    errorMessage(err),
  );
}

export function isStreamNotFound(err: unknown): boolean {
  if (err instanceof JetStreamApiError && err.code === 10059) return true;
  return /stream not found/i.test(errorMessage(err));
}
