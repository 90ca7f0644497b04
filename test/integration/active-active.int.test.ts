import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunnerHost } from "../../src/app/host.js";
import type { SensorObserver } from "../../src/app/sensor-runner.js";
import { SensorRunner } from "../../src/app/sensor-runner.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { SensorManifest } from "../../src/config/types.js";
import { JetStreamBus } from "../../src/eventbus/jetstream/index.js";
import { durableName } from "../../src/eventbus/subjects.js";
import type { EventBus } from "../../src/eventbus/types.js";
import { systemClock } from "../../src/eventsources/types.js";
import { silentLogger } from "../../src/observability/logger.js";
import type { ConditionStateStore } from "../../src/sensors/state.js";
import { KvConditionState } from "../../src/sensors/state.js";
import { triggerRegistry } from "../../src/triggers/registry.js";
import type { NatsServer } from "../support/nats-server.js";
import { startNatsServer, waitUntil } from "../support/nats-server.js";
import { makeEvent } from "./eventbus.contract.js";

/**
 * Two replicas of the same Sensor on one JetStream bus (active-active) must not double-fire:
 * single-dependency triggers share one durable consumer, so each message goes to one replica;
 * multi-dependency conditions keep their state in KV with compare-and-set.
 */

const log = silentLogger();
let nats: NatsServer;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  nats = await startNatsServer();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(async () => {
  await nats?.stop();
});

async function connect(): Promise<JetStreamBus> {
  const bus = await JetStreamBus.connect({ servers: [nats.url], log });
  cleanups.push(() => bus.close());
  return bus;
}

const event = (source: string, subject: string): CloudEvent =>
  makeEvent(source, subject, { data: "{}" });

interface Firing {
  replica: number;
  ids: string[];
}

function recorder(replica: number, into: Firing[]): SensorObserver {
  return {
    fired: ({ events }) =>
      into.push({ replica, ids: [...events.values()].map((e) => e.id).sort() }),
  };
}

function sensor(name: string, es: string, deps: string[], conditions?: string): SensorManifest {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name },
    spec: {
      dependencies: deps.map((d) => ({ name: d, eventSourceName: es, eventName: d })),
      triggers: [{ template: { name: "t", ...(conditions ? { conditions } : {}), log: {} } }],
    },
  };
}

describe("active-active: two replicas of one Sensor", () => {
  it("single dependency: both replicas share the durable, each event fires exactly once", async () => {
    const tag = randomBytes(3).toString("hex");
    const manifest = sensor(`aa-${tag}`, `es-${tag}`, ["d"]);
    const fired: Firing[] = [];
    for (const replica of [1, 2]) {
      const host = new RunnerHost({
        bus: await connect(),
        kube: undefined,
        dryRun: true,
        values: dirResolver({}),
        log,
        observer: recorder(replica, fired),
        concurrency: 4,
      });
      cleanups.push(() => host.close(5_000));
      await host.apply({ manifest, file: "test", doc: 0 });
    }
    const producer = await connect();
    const sent: string[] = [];
    for (let i = 0; i < 60; i++) {
      const e = event(`es-${tag}`, "d");
      sent.push(e.id);
      await producer.publish(e);
    }
    await waitUntil(() => fired.length >= sent.length, "60 firings", 15_000);
    // Let anything in flight finish, then nothing more may have fired.
    await waitUntil(
      async () => (await producer.consumerPending(durableName(`aa-${tag}`, "t", "d"))) === 0,
      "the shared durable to be fully acknowledged",
    );
    const ids = fired.flatMap((f) => f.ids);
    expect(ids.sort()).toEqual([...sent].sort());
    const perReplica = [1, 2].map((r) => fired.filter((f) => f.replica === r).length);
    console.info(
      `active-active single dependency: sent=${sent.length} fired=${fired.length} per replica=${perReplica.join("/")}`,
    );
  });

  /**
   * Replica 1 consumes only the durables of `r1Deps`, replica 2 the rest: which replica gets which
   * dependency's events is fixed. A barrier holds every KV write until both replicas have read the
   * condition state, so the two steps race for real.
   */
  async function racingReplicas(
    deps: string[],
    conditions: string,
    r1Deps: string[],
  ): Promise<{ fired: Firing[]; producer: JetStreamBus; es: string; barrier: Barrier }> {
    const tag = randomBytes(3).toString("hex");
    const es = `es-${tag}`;
    const manifest = sensor(`aa-${tag}`, es, deps, conditions);
    const fired: Firing[] = [];
    const barrier = new Barrier(2);
    for (const replica of [1, 2]) {
      const bus = await connect();
      const mine = deps.filter((d) => r1Deps.includes(d) === (replica === 1));
      const state = barrier.wrap(new KvConditionState(await bus.kv(`aa-${tag}`)));
      const runner = new SensorRunner(
        { manifest, file: "test", doc: 0 },
        {
          bus: routed(bus, new Set(mine.map((d) => durableName(`aa-${tag}`, "t", d)))),
          kinds: triggerRegistry({ kube: undefined, dryRun: true, log }),
          values: dirResolver({}),
          clock: systemClock,
          log,
          observer: recorder(replica, fired),
        },
        state,
      );
      await runner.start();
      cleanups.push(() => runner.stop());
    }
    return { fired, producer: await connect(), es, barrier };
  }

  it("a && b with a and b arriving at different replicas at once: exactly one firing each time", async () => {
    const { fired, producer, es, barrier } = await racingReplicas(["a", "b"], "a && b", ["a"]);
    const rounds = 5;
    for (let i = 0; i < rounds; i++) {
      const a = event(es, "a");
      const b = event(es, "b");
      barrier.arm();
      await Promise.all([producer.publish(a), producer.publish(b)]);
      await waitUntil(() => fired.length >= i + 1, `firing ${i + 1}`);
      expect(fired[i]!.ids).toEqual([a.id, b.id].sort());
    }
    // Every round both replicas stored on the same state: one of them had to evaluate again.
    expect(barrier.conflictsSeen).toBeGreaterThanOrEqual(rounds);
    expect(fired).toHaveLength(rounds);
    console.info(
      `active-active a && b: rounds=${rounds} fired=${fired.length} kv conflicts=${barrier.conflictsSeen}`,
    );
  });

  it("a stored, then b and c completing the condition at two replicas at once: one firing, the other event kept", async () => {
    const { fired, producer, es, barrier } = await racingReplicas(
      ["a", "b", "c"],
      "(a && b) || (a && c)",
      ["a", "b"],
    );
    const a = event(es, "a");
    await producer.publish(a);
    // `a` is stored (no firing) before the race starts.
    await waitUntil(async () => barrier.writes >= 1 && barrier.idle(), "a to be stored");
    expect(fired).toHaveLength(0);
    const b = event(es, "b");
    const c = event(es, "c");
    barrier.arm();
    await Promise.all([producer.publish(b), producer.publish(c)]);
    await waitUntil(() => fired.length >= 1, "the firing");
    // The loser stored its event: one more `a` fires with it.
    await waitUntil(() => barrier.idle(), "both replicas to settle");
    expect(fired).toHaveLength(1);
    const winner = fired[0]!.ids;
    expect([[a.id, b.id].sort(), [a.id, c.id].sort()]).toContainEqual(winner);
    const a2 = event(es, "a");
    await producer.publish(a2);
    await waitUntil(() => fired.length >= 2, "the second firing");
    const loser = winner.includes(b.id) ? c.id : b.id;
    expect(fired[1]!.ids).toEqual([a2.id, loser].sort());
    expect(fired).toHaveLength(2);
  });
});

/** Only the listed durables are really subscribed on this replica. */
function routed(bus: EventBus, durables: Set<string>): EventBus {
  return new Proxy(bus, {
    get(target, prop, receiver) {
      if (prop === "subscribe") {
        const subscribe: EventBus["subscribe"] = async (options, handler) =>
          durables.has(options.durable)
            ? target.subscribe(options, handler)
            : { stop: async () => undefined, pending: async () => 0 };
        return subscribe;
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * Wraps each replica's condition state: once armed, writes wait until `parties` replicas have
 * loaded the state, so both evaluate the condition on the same state before either writes.
 */
class Barrier {
  private armed = false;
  private readonly readers = new Set<number>();
  private release: (() => void) | undefined;
  private released: Promise<void> = Promise.resolve();
  private active = 0;
  private next = 0;
  writes = 0;
  conflictsSeen = 0;

  constructor(private readonly parties: number) {}

  arm(): void {
    this.armed = true;
    this.readers.clear();
    this.released = new Promise((r) => {
      this.release = r;
    });
  }

  idle(): boolean {
    return this.active === 0 && !this.armed;
  }

  wrap(state: ConditionStateStore): ConditionStateStore {
    const me = this.next++;
    const write = async (fn: () => Promise<void>): Promise<void> => {
      this.active++;
      try {
        if (this.armed) await this.released;
        this.writes++;
        await fn();
      } catch (err) {
        if ((err as { code?: string }).code === "SB_ERR_KV_CONFLICT") this.conflictsSeen++;
        throw err;
      } finally {
        this.active--;
      }
    };
    return {
      load: async (trigger) => {
        const out = await state.load(trigger);
        if (this.armed) {
          this.readers.add(me);
          if (this.readers.size >= this.parties) {
            this.armed = false;
            this.release?.();
          }
        }
        return out;
      },
      save: (trigger, dep, entry) => write(() => state.save(trigger, dep, entry)),
      clear: (trigger) => write(() => state.clear(trigger)),
      ...(state.spent ? { spent: state.spent.bind(state) } : {}),
    };
  }
}
