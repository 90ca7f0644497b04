/**
 * The NATS JetStream bus. Only the files of this folder import `@nats-io/*`; one concern each:
 * - connection.ts: connecting, credentials and TLS;
 * - stream-setup.ts: the `default` stream, sensorbus's own streams, durable consumers;
 * - bus.ts: the bus (publish, subscribe, reclaim, close), wiring the parts below;
 * - publisher.ts: acknowledged publishes and their errors;
 * - consumer.ts: a durable subscription's pull loop;
 * - plain.ts: plain core NATS connections for the `nats` EventSource and trigger (nats-plain.ts);
 * - kv.ts: KV buckets; record-log.ts: record logs (the journal); dead-letters.ts: dead letters;
 * - options.ts, internals.ts, api-errors.ts: what they share.
 */
export { JetStreamBus } from "./bus.js";
export { rfc3339Nanos } from "./consumer.js";
export { DEAD_LETTER_STREAM } from "./dead-letters.js";
export type { JetStreamBusOptions } from "./options.js";
