import type { Static } from "typebox";
import {
  Backoff,
  BasicAuth,
  EventSourceFilter,
  SecretKeySelector,
  StringMap,
  Struct,
  TLSConfig,
} from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";

/** Argo's AMQPExchangeDeclareConfig. */
export const AMQPExchangeDeclareSchema = Struct(
  {
    durable: Type.Optional(Type.Boolean({ description: "survives a broker restart" })),
    autoDelete: Type.Optional(Type.Boolean({ description: "deleted when its last binding goes" })),
    internal: Type.Optional(Type.Boolean({ description: "accepts no publishes of its own" })),
    noWait: Type.Optional(Type.Boolean({ description: "accepted; sensorbus always waits" })),
  },
  "exchange.declare options (absent: durable)",
);

/** Argo's AMQPQueueDeclareConfig. */
export const AMQPQueueDeclareSchema = Struct(
  {
    name: Type.Optional(Type.String({ description: "queue name; empty: named by the broker" })),
    durable: Type.Optional(Type.Boolean()),
    autoDelete: Type.Optional(Type.Boolean()),
    exclusive: Type.Optional(Type.Boolean()),
    noWait: Type.Optional(Type.Boolean({ description: "accepted; sensorbus always waits" })),
    arguments: Type.Optional(
      Type.String({ description: 'x-arguments as a YAML/JSON mapping, e.g. {"x-max-length": 10}' }),
    ),
  },
  "queue.declare options (absent: a broker-named exclusive queue)",
);

/** Argo's AMQPQueueBindConfig. */
export const AMQPQueueBindSchema = Struct(
  { noWait: Type.Optional(Type.Boolean({ description: "accepted; sensorbus always waits" })) },
  "queue.bind options",
);

/** Argo's AMQPConsumeConfig. */
export const AMQPConsumeSchema = Struct(
  {
    consumerTag: Type.Optional(Type.String()),
    autoAck: Type.Optional(
      Type.Boolean({ description: "broker forgets a message on delivery (lost on a crash)" }),
    ),
    exclusive: Type.Optional(Type.Boolean()),
    noLocal: Type.Optional(Type.Boolean({ description: "not supported by RabbitMQ" })),
    noWait: Type.Optional(Type.Boolean({ description: "accepted; sensorbus always waits" })),
  },
  "basic.consume options",
);

export const AMQPEventSchema = Struct(
  {
    url: Type.Optional(Type.String({ description: "amqp:// or amqps:// URL of the broker" })),
    exchangeName: Type.Optional(Type.String()),
    exchangeType: Type.Optional(Type.String({ description: "direct, fanout, topic, headers" })),
    routingKey: Type.Optional(Type.String({ description: "binding key of the queue" })),
    connectionBackoff: Type.Optional(Backoff),
    jsonBody: Type.Optional(Type.Boolean({ description: "the body is JSON (kept as JSON)" })),
    tls: Type.Optional(TLSConfig),
    metadata: Type.Optional(StringMap()),
    exchangeDeclare: Type.Optional(AMQPExchangeDeclareSchema),
    queueDeclare: Type.Optional(AMQPQueueDeclareSchema),
    queueBind: Type.Optional(AMQPQueueBindSchema),
    consume: Type.Optional(AMQPConsumeSchema),
    auth: Type.Optional(BasicAuth),
    urlSecret: Type.Optional(SecretKeySelector),
    filter: Type.Optional(EventSourceFilter),
  },
  "AMQP 0-9-1 (RabbitMQ) queue bound to an exchange",
);

export type AMQPEventSpec = Static<typeof AMQPEventSchema>;
