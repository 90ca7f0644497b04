/**
 * The baseline pipeline the benchmark compares sensorbus with, in one process as sensorbus is:
 * a bare fastify handler that only awaits a JetStream publish, and a bare JetStream consume loop
 * that POSTs each message to the sink and acks it. No CloudEvent, no filter, no parameters, no
 * dedupe: the ceiling of "HTTP in, JetStream, HTTP out" with the same libraries on this machine.
 *
 * Usage: node baseline.js NATS_URL SINK_PORT; prints `ready PORT` when it accepts requests.
 */
import {
  AckPolicy,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import Fastify from "fastify";
import { Pool } from "undici";

const [natsUrl, sinkPort] = process.argv.slice(2);
const STREAM = "baseline";
const SUBJECT = "baseline.events";

const nc = await connect({ servers: natsUrl! });
const jsm = await jetstreamManager(nc);
await jsm.streams.add({
  name: STREAM,
  subjects: [SUBJECT],
  storage: StorageType.File,
  retention: RetentionPolicy.Limits,
  max_msgs: 50_000,
});
await jsm.consumers.add(STREAM, {
  durable_name: "baseline",
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.New,
  filter_subject: SUBJECT,
});
const js = jetstream(nc);
const sink = new Pool(`http://127.0.0.1:${sinkPort}`, { connections: 32 });

async function forward(m: JsMsg): Promise<void> {
  try {
    const res = await sink.request({
      method: "POST",
      path: "/deliver",
      headers: { "content-type": "application/json" },
      body: m.data,
    });
    await res.body.dump();
    m.ack();
  } catch {
    m.nak();
  }
}

const consumer = await js.consumers.get(STREAM, "baseline");
const messages = await consumer.consume({ max_messages: 256 });
void (async () => {
  for await (const m of messages) void forward(m);
})();

const app = Fastify();
app.post("/events", async (req) => {
  await js.publish(SUBJECT, JSON.stringify(req.body));
  return "success";
});
await app.listen({ port: 0, host: "127.0.0.1" });
const address = app.server.address();
process.stdout.write(`ready ${typeof address === "object" && address ? address.port : 0}\n`);

process.on("SIGTERM", () => {
  void (async () => {
    await app.close();
    await messages.close();
    await nc.drain();
    await sink.close();
    process.exit(0);
  })();
});
