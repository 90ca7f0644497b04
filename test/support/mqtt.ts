import { randomBytes } from "node:crypto";
import { connect, connectAsync, type MqttClient } from "mqtt";

/**
 * Test-side MQTT helpers on the real Mosquitto at 127.0.0.1:1883: a producer, and a probe that
 * reads what a persistent session still holds (then deletes the session).
 */

export const MOSQUITTO = { host: "127.0.0.1", port: 1883 };

/** A name no other test run uses (topics, client ids). */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export async function producer(): Promise<MqttClient> {
  return connectAsync({ ...MOSQUITTO, clientId: unique("sb-test-producer"), clean: true });
}

/** Publishes at QoS 1; resolves when the broker acknowledged it (PUBACK). */
export async function publish(
  client: MqttClient,
  topic: string,
  message: string,
  qos: 0 | 1 = 1,
): Promise<void> {
  await client.publishAsync(topic, message, { qos });
}

/**
 * What the broker still keeps for session `clientId` (messages not acknowledged by its owner):
 * publishes a sentinel on `topic`, connects as `clientId` with `clean: false` and collects what
 * arrives before the sentinel (queued messages arrive in order, in-flight ones first). Then removes
 * the session (a clean connection with the same id). Call only while the owner is disconnected.
 */
export async function leftInSession(clientId: string, topic: string): Promise<string[]> {
  const sentinel = `sentinel-${randomBytes(4).toString("hex")}`;
  const p = await producer();
  await publish(p, topic, sentinel);
  await p.endAsync();
  const before: string[] = [];
  // The handler is in place before the CONNACK: queued messages may come in the same read.
  const probe = connect({ ...MOSQUITTO, clientId, clean: false });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the sentinel never came")), 15_000);
    probe.on("message", (_t, payload: Buffer) => {
      const text = payload.toString("utf8");
      if (text === sentinel) {
        clearTimeout(timer);
        resolve();
      } else before.push(text);
    });
  });
  await probe.endAsync();
  await dropSession(clientId);
  return before;
}

/** Deletes the broker's persistent session of `clientId`. */
export async function dropSession(clientId: string): Promise<void> {
  const c = await connectAsync({ ...MOSQUITTO, clientId, clean: true });
  await c.endAsync();
}
