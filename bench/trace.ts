/**
 * The `trace` section of `npm run bench` (issue 24): how fast `sensorbus trace` finds one
 * correlation ID among 100,000 recorded ones, on JetStream (the `sensorbus-trace` stream every
 * replica writes) and in memory. The recording-cost half runs in bench/run.ts (`tracePart`),
 * where sensorbus runs as its own process under load.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { CloudEvent } from "../src/cloudevents/event.js";
import { createBus } from "../src/eventbus/index.js";
import { JOURNAL_LIMITS, JOURNAL_STREAM, Journal } from "../src/observability/journal.js";
import { silentLogger } from "../src/observability/logger.js";
import { buildTrace, readTrace } from "../src/observability/timeline.js";
import { TRACE_LIMITS, TRACE_STREAM } from "../src/observability/trace.js";

export interface TraceQueryResult {
  ids: number;
  /** Recording 100,000 IDs through the journal into JetStream: IDs per second. */
  recordIdsPerSec: number;
  /** Trace stream size after recording, bytes per ID. */
  bytesPerId: number;
  /** readTrace + buildTrace of one random ID over an open connection (what /api/traces does). */
  jetstream: { queries: number; p50Ms: number; p99Ms: number; maxMs: number; found: number };
  /** The in-memory correlation index with 100,000 IDs (what `run` on the memory bus answers). */
  memory: { queries: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** `sensorbus trace ID --bus nats://...` as a new process (Node start-up and connect included). */
  cliMedianMs: number;
  /**
   * The journal's recording of one event of the single-dependency path (published + fired,
   * written to JetStream in 100-event batches), in-process CPU µs: without a correlation ID (the
   * journal stream only) and with one (index + trace stream too). Median of alternated rounds.
   */
  recordingCpuUs: { plain: number; traced: number };
}

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const r2 = (n: number) => Math.round(n * 100) / 100;

function event(i: number, withId = true): CloudEvent {
  return {
    specversion: "1.0",
    id: `ev-${i}`,
    source: "upstream",
    subject: "completed",
    type: "webhook",
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: "{}",
    ...(withId ? { extensions: { correlationid: `q-${i}` } } : {}),
  };
}

/** Records `ids` correlation IDs (a publish and a firing each) through a Journal. */
function record(j: Journal, from: number, to: number): void {
  const obs = j.observer();
  for (let i = from; i < to; i++) {
    const ev = event(i);
    j.recordPublished(ev);
    obs.fired?.({
      sensor: "stage1",
      trigger: "start-consumer",
      events: new Map([["done", ev]]),
      ms: 1.5,
      summary: `created Workflow default/consumer-${i}`,
    });
  }
}

/** CPU µs per event the journal spends recording `n` single-dependency events (see recordingCpuUs). */
async function recordingCpu(j: Journal, n: number, withId: boolean, base: number): Promise<number> {
  const obs = j.observer();
  const c0 = process.cpuUsage();
  for (let i = base; i < base + n; i++) {
    const ev = event(i, withId);
    j.onEmit({
      eventSource: "upstream",
      eventName: "completed",
      id: ev.id,
      correlationId: ev.extensions?.correlationid,
      outcome: "published",
      ms: 0.2,
    });
    obs.fired?.({
      sensor: "stage1",
      trigger: "notify",
      events: new Map([["done", ev]]),
      ms: 1.5,
      summary: "POST http://sink/deliver -> 200",
      rendered: {
        kind: "http",
        request: { method: "POST", url: "http://sink/deliver", headers: {} },
        payload: { id: ev.id },
      },
      detail: { status: 200 },
    });
    // As `run` at 1,000 events/s: the journal writes every 100 ms, i.e. every 100 events.
    if ((i + 1) % 100 === 0) await j.flush();
  }
  await j.flush();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

export async function traceQueryBench(
  natsUrl: string,
  root: string,
  opts: { ids?: number; queries?: number } = {},
): Promise<TraceQueryResult> {
  const ids = opts.ids ?? 100_000;
  const queries = opts.queries ?? 300;
  const bus = await createBus(natsUrl, { log: silentLogger() });
  try {
    const records = await bus.recordLog(JOURNAL_STREAM, JOURNAL_LIMITS);
    const traceRecords = await bus.recordLog(TRACE_STREAM, TRACE_LIMITS);
    const plainJ = new Journal({ records, capacity: 10_000 });
    const tracedJ = new Journal({ records, traceRecords, capacity: 10_000 });
    const plainUs: number[] = [];
    const tracedUs: number[] = [];
    for (let round = 0; round < 5; round++) {
      plainUs.push(await recordingCpu(plainJ, 10_000, false, 1_000_000 + round * 10_000));
      tracedUs.push(await recordingCpu(tracedJ, 10_000, true, 2_000_000 + round * 10_000));
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const journal = new Journal({ records, traceRecords, capacity: 10_000 });
    const t0 = performance.now();
    for (let from = 0; from < ids; from += 5_000) {
      record(journal, from, Math.min(ids, from + 5_000));
      await journal.flush();
    }
    const recordIdsPerSec = Math.round(ids / ((performance.now() - t0) / 1000));

    const nc = await connect({ servers: natsUrl });
    const info = await (await jetstreamManager(nc)).streams.info(TRACE_STREAM);
    await nc.close();
    const bytesPerId = Math.round(info.state.bytes / ids);

    const times: number[] = [];
    let found = 0;
    for (let q = 0; q < queries; q++) {
      const id = `q-${Math.floor(Math.random() * ids)}`;
      const s = performance.now();
      const trace = buildTrace(id, await readTrace(traceRecords, id));
      times.push(performance.now() - s);
      if (trace && trace.steps.length === 2) found++;
    }
    times.sort((a, b) => a - b);

    const mem = new Journal({ traceCapacity: ids, traceMaxEvents: ids, capacity: 10_000 });
    record(mem, 0, ids);
    const memTimes: number[] = [];
    for (let q = 0; q < queries; q++) {
      const id = `q-${Math.floor(Math.random() * ids)}`;
      const s = performance.now();
      buildTrace(id, mem.correlated(id));
      memTimes.push(performance.now() - s);
    }
    memTimes.sort((a, b) => a - b);

    const cli: number[] = [];
    for (let k = 0; k < 5; k++) {
      const s = performance.now();
      const r = spawnSync(
        process.execPath,
        [join(root, "bin/sensorbus.js"), "trace", `q-${k * 7919}`, "--bus", natsUrl],
        { encoding: "utf8" },
      );
      cli.push(performance.now() - s);
      if (r.status !== 0) throw new Error(`sensorbus trace exited ${r.status}: ${r.stderr}`);
    }
    cli.sort((a, b) => a - b);

    return {
      ids,
      recordIdsPerSec,
      bytesPerId,
      jetstream: {
        queries,
        p50Ms: r2(pct(times, 50)),
        p99Ms: r2(pct(times, 99)),
        maxMs: r2(times.at(-1) ?? Number.NaN),
        found,
      },
      memory: {
        queries,
        p50Ms: r2(pct(memTimes, 50)),
        p99Ms: r2(pct(memTimes, 99)),
        maxMs: r2(memTimes.at(-1) ?? Number.NaN),
      },
      cliMedianMs: Math.round(pct(cli, 50)),
      recordingCpuUs: { plain: r2(med(plainUs)), traced: r2(med(tracedUs)) },
    };
  } finally {
    await bus.close();
  }
}
