import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/app/runtime.js";
import type { LoadResult } from "../../src/config/load.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { Journal } from "../../src/observability/journal.js";
import { HttpSink } from "../support/http-sink.js";
import { logSink } from "../support/log-sink.js";
import { waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";
import { postJson } from "../support/post-json.js";

/**
 * Issue 19 item 7, end to end on the in-memory bus: an id sent to an unauthenticated endpoint
 * cannot suppress an event of an authenticated one, the dedupe key is (EventSource, event, id) in
 * the bus and in the Sensor, and every duplicate is logged with its id.
 */

const TOKEN = "ids-token-Hq27";
const logs = logSink({ redaction: true });
const log = logs.log;

function manifests(port: number, sinkUrl: string): LoadResult {
  const auth = { name: "hooks-auth", key: "token" };
  const source: EventSourceManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: "hooks" },
    spec: {
      webhook: {
        open: { port: String(port), endpoint: "/open", method: "POST" },
        secure: { port: String(port), endpoint: "/secure", method: "POST", authSecret: auth },
        other: { port: String(port), endpoint: "/other", method: "POST", authSecret: auth },
        bulk: { port: String(port), endpoint: "/bulk", method: "POST" },
      },
    },
  };
  const sensor: SensorManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "deploys" },
    spec: {
      dependencies: [
        { name: "secure", eventSourceName: "hooks", eventName: "secure" },
        { name: "other", eventSourceName: "hooks", eventName: "other" },
      ],
      triggers: [
        {
          template: {
            name: "deploy",
            conditions: "secure || other",
            http: {
              url: `${sinkUrl}/deploy`,
              method: "POST",
              payload: [
                { src: { dependencyName: "secure", dataKey: "body.n", value: "-" }, dest: "s" },
                { src: { dependencyName: "other", dataKey: "body.n", value: "-" }, dest: "o" },
              ],
            },
          },
        },
      ],
    },
  };
  const bulk: SensorManifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "bulk" },
    spec: {
      dependencies: [
        {
          name: "bulk",
          eventSourceName: "hooks",
          eventName: "bulk",
          filters: { data: [{ path: "body.name", type: "string", value: ["^ok$"] }] },
        },
      ],
      triggers: [{ template: { name: "record", log: {} } }],
    },
  };
  return {
    eventSources: [{ manifest: source, file: "test", doc: 0 }],
    sensors: [
      { manifest: sensor, file: "test", doc: 0 },
      { manifest: bulk, file: "test", doc: 1 },
    ],
    problems: [],
  };
}

describe("event ids across endpoints (memory bus)", () => {
  let sink: HttpSink;
  let runtime: Runtime;
  let port: number;
  const journal = new Journal();

  beforeAll(async () => {
    sink = await new HttpSink().start();
    port = await freePort();
    runtime = await Runtime.start({
      loaded: manifests(port, sink.url),
      busUrl: undefined,
      kube: undefined,
      dryRun: true,
      values: { secret: async () => TOKEN, configMap: async () => "" },
      log,
      observer: journal.observer(),
    });
  });

  afterAll(async () => {
    await runtime?.stop(5_000);
    await sink?.stop();
  });

  /** Bodies the trigger sent: `s` from the secure event, `o` from the other ("-" when absent). */
  const fired = (s: string, o: string) =>
    sink.requests.some((r) => r.body === JSON.stringify({ s, o }));

  const post = async (path: string, id: string, n: number, token = false) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "ce-id": id,
        "ce-specversion": "1.0",
        "ce-source": "probe",
        "ce-type": "probe",
        ...(token ? { authorization: `Bearer ${TOKEN}` } : {}),
      },
      body: JSON.stringify({ n }),
    });
    expect(await res.text()).toBe("success");
    return res.headers.get("x-event-id");
  };

  it("an unauthenticated ce-id does not suppress the authenticated event with that id", async () => {
    const openId = await post("/open", "deploy-1", 1);
    expect(openId).not.toBe("deploy-1");
    expect(await post("/secure", "deploy-1", 2, true)).toBe("deploy-1");
    await waitUntil(() => fired("2", "-"), "the authenticated event to fire");
  });

  it("the same id on two authenticated endpoints fires the trigger twice", async () => {
    await post("/secure", "shared-9", 3, true);
    await post("/other", "shared-9", 4, true);
    await waitUntil(() => fired("3", "-") && fired("-", "4"), "both events to fire");
  });

  it("a repeated id on one endpoint fires once and the duplicate is logged with its id", async () => {
    await post("/secure", "again-5", 5, true);
    await post("/secure", "again-5", 6, true);
    await post("/secure", "marker-6", 7, true);
    await waitUntil(() => fired("7", "-"), "the marker to fire");
    expect(fired("6", "-")).toBe(false);
    const lines = logs
      .text()
      .split("\n")
      .filter((l) => l.includes("again-5") && l.includes("duplicate event id"));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, eventName: "secure" });
  });

  it("a 50 kB value rejected by a filter gives a bounded log line and journal reason (item 8)", async () => {
    const res = await postJson(port, "/bulk", { name: "a".repeat(51_200) });
    expect(res.status).toBe(200);
    const id = res.id!;
    await waitUntil(
      () => journal.get(id)?.entries.some((e) => e.kind === "rejected") === true,
      "the rejection to be journaled",
    );
    const entry = journal.get(id)!.entries.find((e) => e.kind === "rejected")!;
    const reason = entry.kind === "rejected" ? entry.reason : "";
    expect(reason.length).toBeLessThan(1_000);
    expect(reason).toContain("…(51200 bytes)");
    const line = logs
      .text()
      .split("\n")
      .find((l) => l.includes("event rejected by dependency") && l.includes(id))!;
    expect(line).toBeDefined();
    expect(line.length).toBeLessThan(2_000);
  });
});
