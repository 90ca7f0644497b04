import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSink } from "../support/http-sink.js";
import { type NatsServer, startNatsServer, waitUntil } from "../support/nats-server.js";
import { freePort } from "../support/ports.js";

/**
 * Issue 19 item 1 against a real sensorbus process: the ReDoS patterns (data filters, a
 * govaluate `=~` filter, sprig `regexMatch` in a dataTemplate) and an unauthenticated hostile
 * event. After the process has evaluated (and rejected) the hostile event for every dependency,
 * `/livez` answers and the next event is processed — on the memory bus and on JetStream.
 * (Before the fix, V8 backtracked for minutes and the process answered nothing.)
 */

const BIN = resolve(import.meta.dirname, "../../bin/sensorbus.js");

const HOSTILE_DEPENDENCIES = [
  ["d-pl", "body.name", "^(\\p{L}|[a-z])*$"],
  ["d-x61", "body.name", "^(\\x{61}|a)*$"],
  ["d-counted", "body.big", "^(a|aa){1,1000}$"],
  ["d-dots", "body.big", "^\\pL*.*.*.*.*=.*$"],
] as const;

function manifests(tag: string, port: number, sinkUrl: string) {
  const eventSource = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: `es-${tag}` },
    spec: { webhook: { ev: { port: String(port), endpoint: "/ev", method: "POST" } } },
  };
  const dep = (name: string) => ({ name, eventSourceName: `es-${tag}`, eventName: "ev" });
  const sensor = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: `s-${tag}` },
    spec: {
      dependencies: [
        ...HOSTILE_DEPENDENCIES.map(([name, path, value]) => ({
          ...dep(name),
          filters: { data: [{ path, type: "string", value: [value] }] },
        })),
        {
          ...dep("d-expr"),
          filters: {
            exprs: [
              {
                expr: "name =~ '^(\\\\p{L}|[a-z])*$'",
                fields: [{ name: "name", path: "body.name" }],
              },
            ],
          },
        },
        {
          ...dep("d-ok"),
          filters: { data: [{ path: "body.kind", type: "string", value: ["^ok$"] }] },
        },
      ],
      triggers: [
        {
          template: {
            name: "hostile",
            conditions: "d-pl || d-x61 || d-counted || d-dots || d-expr",
            http: { url: `${sinkUrl}/hostile`, method: "POST" },
          },
        },
        {
          template: {
            name: "ok",
            conditions: "d-ok",
            http: {
              url: `${sinkUrl}/ok`,
              method: "POST",
              payload: [
                {
                  src: {
                    dependencyName: "d-ok",
                    dataTemplate: '{{ regexMatch "^(\\\\p{L}|[a-z])*$" .Input.body.name }}',
                  },
                  dest: "letters",
                },
                { src: { dependencyName: "d-ok", dataKey: "body.seq" }, dest: "seq" },
              ],
            },
          },
        },
      ],
    },
  };
  return { eventSource, sensor };
}

interface Child {
  proc: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

function startChild(dir: string, bus: string, metricsPort: number): Child {
  const proc = spawn(
    process.execPath,
    [BIN, "run", dir, "--bus", bus, "--metrics-port", String(metricsPort), "--log-level", "warn"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NATS_URL: "" } },
  );
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString("utf8")).slice(-8000);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return { proc, exited, output: () => out };
}

async function get(url: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

/** The value of a metric series whose labels include every one of `labels`, or 0. */
function metric(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return 0;
}

let workdir: string;
let sink: HttpSink;
let nats: NatsServer;

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), "sb-redos-"));
  sink = await new HttpSink().start();
  nats = await startNatsServer();
});

afterAll(async () => {
  await sink?.stop();
  await nats?.stop();
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

describe.each([
  ["memory", () => "memory"],
  ["JetStream", () => nats.url],
])("a hostile event does not freeze sensorbus (%s bus)", (busName, busUrl) => {
  it("rejects it for every hostile dependency, then answers /livez and processes the next event", async () => {
    const tag = busName === "memory" ? "mem" : "js";
    const port = await freePort();
    const metricsPort = await freePort();
    const { eventSource, sensor } = manifests(tag, port, sink.url);
    const dir = join(workdir, tag);
    await rm(dir, { recursive: true, force: true });
    await import("node:fs/promises").then((fs) => fs.mkdir(dir, { recursive: true }));
    await writeFile(join(dir, "eventsource.json"), JSON.stringify(eventSource));
    await writeFile(join(dir, "sensor.json"), JSON.stringify(sensor));
    const child = startChild(dir, busUrl(), metricsPort);
    let exited = false;
    void child.exited.then(() => {
      exited = true;
    });
    try {
      await waitUntil(
        async () => {
          if (exited) throw new Error(`sensorbus exited early:\n${child.output()}`);
          return (await get(`http://127.0.0.1:${port}/health`))?.status === 200;
        },
        "sensorbus to serve its webhook",
        30_000,
      );

      // The 41-byte unauthenticated body, plus 50 kB for the counted/dotted patterns.
      const hostile = JSON.stringify({
        kind: "hostile",
        name: `${"a".repeat(40)}!`,
        big: "a".repeat(50_000),
      });
      const res = await fetch(`http://127.0.0.1:${port}/ev`, { method: "POST", body: hostile });
      expect(res.status).toBe(200);

      // Every hostile dependency evaluated the event and rejected it (or its budget stopped it).
      const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      const rejected = (dep: string, text: string) =>
        metric(text, "sensorbus_events_rejected_total", {
          sensor_name: `s-${tag}`,
          trigger_name: "hostile",
          dependency_name: dep,
        });
      let lastMetrics = "";
      await waitUntil(
        async () => {
          if (exited) throw new Error(`sensorbus exited:\n${child.output()}`);
          lastMetrics = (await get(metricsUrl))?.text ?? lastMetrics;
          return [...HOSTILE_DEPENDENCIES.map(([d]) => d), "d-expr"].every(
            (d) => rejected(d, lastMetrics) >= 1,
          );
        },
        "every hostile dependency to reject the event",
        60_000,
      );
      expect(sink.requests.filter((r) => r.url === "/hostile")).toEqual([]);

      // Liveness answers once the hostile event has been processed.
      const livez = await get(`http://127.0.0.1:${metricsPort}/livez`);
      expect(livez?.status).toBe(200);
      expect(metric(lastMetrics, "sensorbus_evaluation_budget_milliseconds", {})).toBe(100);

      // The next event is processed: the "ok" trigger fires, its template regex answered.
      const next = JSON.stringify({ kind: "ok", name: `${"a".repeat(40)}!`, seq: 2 });
      expect(
        (await fetch(`http://127.0.0.1:${port}/ev`, { method: "POST", body: next })).status,
      ).toBe(200);
      await waitUntil(
        () => sink.requests.some((r) => r.url === "/ok" && r.body.includes(`"seq":"2"`)),
        "the next event to fire the ok trigger",
        30_000,
      ).catch((err: Error) => {
        throw new Error(
          `${err.message}\n${JSON.stringify(sink.requests)}\n${child.output().slice(-1500)}`,
        );
      });
      const fired = sink.requests.find((r) => r.url === "/ok" && r.body.includes(`"seq":"2"`))!;
      expect(JSON.parse(fired.body)).toEqual({ letters: "false", seq: "2" });
    } finally {
      child.proc.kill("SIGKILL");
      await child.exited;
    }
  });
});
