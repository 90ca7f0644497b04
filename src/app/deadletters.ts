import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import type { CloudEvent } from "../cloudevents/event.js";
import { ConfigError, errorMessage } from "../errors.js";
import type { NatsAuth } from "../eventbus/index.js";
import { createBus, resolveBusUrl } from "../eventbus/index.js";
import type { EventBus, StoredDeadLetter } from "../eventbus/types.js";
import type { Logger } from "../observability/logger.js";
import { silentLogger } from "../observability/logger.js";
import { NATS_OPTIONS, NATS_USAGE, natsAuthFromOptions } from "./nats-options.js";

/**
 * `sensorbus deadletters`: list and replay firings that failed for good (after retryStrategy, with
 * no or a failing dlqTrigger), stored on the bus's dead-letter stream `sensorbus-deadletter`.
 *
 * Replay re-runs a stored firing: every event of the record is published again on its original
 * EventSource/event subject with a new id derived from (original id, dead-letter seq), so the
 * Sensors' dedupe does not drop it and a second replay of the same record (say after a crash
 * between publish and remove) is dropped by the bus's dedupe window instead of firing twice. The
 * record is removed once all its events are on the bus. The events carry the record's Sensor and
 * trigger (PublishOptions.replayFor): only that trigger acts on them; every other trigger and Sensor
 * subscribed to the same events acknowledges and skips them, so a replay does not fire them twice.
 */

export interface DeadLetterFilter {
  sensor?: string;
  trigger?: string;
  seq?: number;
}

export interface ReplayedDeadLetter {
  seq: number;
  sensor: string;
  trigger: string;
  events: Array<{ dependency: string; originalId: string; id: string; duplicate: boolean }>;
}

type BusRef = string | undefined | EventBus;

/** The id a replayed event gets: stable for (original id, dead-letter seq), 32 hex chars. */
export function replayEventId(originalId: string, deadLetterSeq: number): string {
  return createHash("sha256")
    .update(`sensorbus-replay\n${originalId}\n${deadLetterSeq}`)
    .digest("hex")
    .slice(0, 32);
}

/** Stored dead letters, oldest first, optionally filtered. */
export async function listDeadLetters(
  bus: BusRef,
  filter: DeadLetterFilter = {},
  log: Logger = silentLogger(),
  auth?: NatsAuth,
): Promise<StoredDeadLetter[]> {
  return withBus(bus, log, auth, async (b) => (await b.listDeadLetters()).filter(matches(filter)));
}

/**
 * Republishes the events of every matching dead letter (new ids, same source/subject/data), then
 * removes the record. Stops at the first failure (EventBusError); records not yet replayed stay.
 */
export async function replayDeadLetters(
  bus: BusRef,
  filter: DeadLetterFilter = {},
  log: Logger = silentLogger(),
  auth?: NatsAuth,
): Promise<ReplayedDeadLetter[]> {
  return withBus(bus, log, auth, async (b) => {
    const out: ReplayedDeadLetter[] = [];
    for (const record of (await b.listDeadLetters()).filter(matches(filter))) {
      const events: ReplayedDeadLetter["events"] = [];
      for (const [dependency, event] of Object.entries(record.events)) {
        const again: CloudEvent = { ...event, id: replayEventId(event.id, record.seq) };
        const res = await b.publish(again, {
          replayFor: { sensor: record.sensor, trigger: record.trigger },
        });
        events.push({ dependency, originalId: event.id, id: again.id, duplicate: res.duplicate });
      }
      await b.removeDeadLetter(record.seq);
      log.info(
        { seq: record.seq, sensorName: record.sensor, triggerName: record.trigger },
        "dead letter replayed",
      );
      out.push({ seq: record.seq, sensor: record.sensor, trigger: record.trigger, events });
    }
    return out;
  });
}

function matches(filter: DeadLetterFilter): (d: StoredDeadLetter) => boolean {
  return (d) =>
    (filter.sensor === undefined || d.sensor === filter.sensor) &&
    (filter.trigger === undefined || d.trigger === filter.trigger) &&
    (filter.seq === undefined || d.seq === filter.seq);
}

async function withBus<T>(
  bus: BusRef,
  log: Logger,
  auth: NatsAuth | undefined,
  fn: (b: EventBus) => Promise<T>,
): Promise<T> {
  if (bus !== undefined && typeof bus !== "string") return fn(bus);
  const url = bus?.trim();
  if (!url || url.toLowerCase() === "memory") {
    const problem =
      "bus: dead letters live on the NATS JetStream bus (--bus nats://host:port or NATS_URL); " +
      "the in-memory bus keeps them only inside a running `sensorbus run`";
    throw new ConfigError(problem, [problem]);
  }
  const b = await createBus(url, { log, auth });
  try {
    return await fn(b);
  } finally {
    await b.close();
  }
}

export const DEADLETTERS_USAGE = `Usage:
  sensorbus deadletters list [--sensor NAME] [--trigger NAME] [--bus URL]
  sensorbus deadletters replay [--sensor NAME] [--trigger NAME] [--seq N] [--bus URL]

${NATS_USAGE}`;

/**
 * The `deadletters` command: `list` prints one JSON line per dead letter (events shortened to
 * id/source/subject/type/time), `replay` one JSON line per replayed record. Returns the exit code.
 */
export async function deadLettersCommand(
  args: string[],
  io: { out: (text: string) => void; env: NodeJS.ProcessEnv; log?: Logger },
): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(args);
  } catch (err) {
    throw new ConfigError(`deadletters: ${errorMessage(err)}\n${DEADLETTERS_USAGE}`);
  }
  const { values, positionals } = parsed;
  const [action, ...extra] = positionals;
  if (values.help) {
    io.out(DEADLETTERS_USAGE);
    return 0;
  }
  if ((action !== "list" && action !== "replay") || extra.length > 0) {
    throw new ConfigError(
      `deadletters: expected 'list' or 'replay', got '${positionals.join(" ")}'\n${DEADLETTERS_USAGE}`,
    );
  }
  const filter: DeadLetterFilter = {};
  if (values.sensor !== undefined) filter.sensor = values.sensor;
  if (values.trigger !== undefined) filter.trigger = values.trigger;
  if (values.seq !== undefined) {
    const seq = Number(values.seq);
    if (!Number.isInteger(seq) || seq < 1)
      throw new ConfigError(`deadletters: --seq '${values.seq}' is not a positive integer`);
    filter.seq = seq;
  }
  const url = resolveBusUrl(values.bus, io.env);
  const log = io.log ?? silentLogger();
  const auth = await natsAuthFromOptions(values, io.env);
  if (action === "list") {
    for (const d of await listDeadLetters(url, filter, log, auth)) {
      const events = Object.fromEntries(
        Object.entries(d.events).map(([dep, e]) => [
          dep,
          { id: e.id, source: e.source, subject: e.subject, type: e.type, time: e.time },
        ]),
      );
      io.out(`${JSON.stringify({ ...d, events })}\n`);
    }
    return 0;
  }
  for (const r of await replayDeadLetters(url, filter, log, auth)) io.out(`${JSON.stringify(r)}\n`);
  return 0;
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      bus: { type: "string" },
      sensor: { type: "string" },
      trigger: { type: "string" },
      seq: { type: "string" },
      help: { type: "boolean", short: "h" },
      ...NATS_OPTIONS,
    },
  });
}
