/**
 * The start-up section of `npm run bench`: how long the CLI takes before it does its work, beside
 * `node -e 0` measured in the same run (so a slow or busy machine shows in both).
 *
 *   node -e 0                     the floor: node itself
 *   validate eventsources/ sensors/   the example manifests (CI, pre-commit hooks)
 *   replay                        sensors/cross-workflow.yaml with its 4-event fixture
 *   run (webhook only)            the example webhook EventSource and Sensors, memory bus,
 *                                 --dry-run, until the webhook port answers HTTP
 *
 * Each command runs `runs` times, interleaved (node, validate, replay, run, node, ...), and the
 * median wall and CPU time are reported. CPU is the child's own user + system time: written at
 * exit by startup-probe.js (loaded with --import), or for `run`, read from /proc/PID/stat the
 * moment the port answers (Linux; "-" elsewhere).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import type { StartupResult } from "./report.js";
import { cpuMs, percentile } from "./stats.js";

export interface StartupOptions {
  /** Repository root (bin/, eventsources/, sensors/, test/fixtures/). */
  root: string;
  /** The compiled startup-probe.js. */
  probe: string;
  /** A scratch directory. */
  work: string;
  /** Runs per command (the median is reported). */
  runs: number;
}

/** Targets of issue 21, in seconds of wall time (median). */
export const STARTUP_TARGETS: Record<string, number> = {
  validate: 0.4,
  replay: 0.4,
  "run (webhook only)": 0.8,
};

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

/** Runs `node [probe] args` to completion; wall from spawn to exit, CPU from the probe. */
async function timeToExit(o: StartupOptions, args: string[], cpuFile: string): Promise<Sample> {
  await rm(cpuFile, { force: true });
  const t0 = performance.now();
  const child = spawn(process.execPath, ["--import", o.probe, ...args], {
    cwd: o.root,
    env: { ...process.env, SB_BENCH_CPU_FILE: cpuFile },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const [code] = (await once(child, "exit")) as [number | null];
  const wallMs = performance.now() - t0;
  if (code !== 0) throw new Error(`node ${args.join(" ")} exited ${code}: ${stderr.trim()}`);
  const cpuMs = Number(await readFile(cpuFile, "utf8")) / 1000;
  return { wallMs, cpuMs };
}

/** user + system CPU of a live process, ms (NaN where there is no /proc). */
async function procCpuMs(pid: number): Promise<number> {
  return cpuMs(pid).catch(() => Number.NaN);
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/health", method: "GET" }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("error", () => resolve(false));
    req.end();
  });
}

/** Starts `sensorbus run`, polls the webhook port until it answers HTTP, then stops it. */
async function timeToListen(o: StartupOptions, manifests: string[]): Promise<Sample> {
  const port = await freePort();
  const metricsPort = await freePort();
  const es = (await readFile(join(o.root, "eventsources/webhook.yaml"), "utf8")).replaceAll(
    '"12000"',
    `"${port}"`,
  );
  await writeFile(manifests[0]!, es);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      join(o.root, "bin/sensorbus.js"),
      "run",
      ...manifests,
      "--bus",
      "memory",
      "--dry-run",
      "--metrics-port",
      String(metricsPort),
      "--log-level",
      "warn",
    ],
    {
      cwd: o.root,
      env: { ...process.env, SENSORBUS_WEBHOOK_HOST: "127.0.0.1", NATS_URL: "" },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  try {
    for (;;) {
      if (exited) throw new Error(`sensorbus run exited before listening: ${stderr.trim()}`);
      if (await answers(port)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const wallMs = performance.now() - t0;
    const cpuMs = await procCpuMs(child.pid!);
    return { wallMs, cpuMs };
  } finally {
    if (!exited) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await once(child, "exit");
      clearTimeout(timer);
    }
  }
}

const median = (xs: number[]): number => {
  const finite = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return finite.length === 0 ? Number.NaN : percentile(finite, 0.5);
};

export async function measureStartup(
  o: StartupOptions,
  progress: (msg: string) => void = () => {},
): Promise<StartupResult[]> {
  const bin = join(o.root, "bin/sensorbus.js");
  const cpuFile = join(o.work, "startup-cpu");
  const esFile = join(o.work, "startup-webhook.yaml");
  const commands: Array<{ name: string; sample: () => Promise<Sample> }> = [
    { name: "node -e 0", sample: () => timeToExit(o, ["-e", "0"], cpuFile) },
    {
      name: "validate",
      sample: () => timeToExit(o, [bin, "validate", "eventsources/", "sensors/"], cpuFile),
    },
    {
      name: "replay",
      sample: () =>
        timeToExit(
          o,
          [
            bin,
            "replay",
            "--sensor",
            "sensors/cross-workflow.yaml",
            "--events",
            "test/fixtures/replay/cross-workflow.jsonl",
          ],
          cpuFile,
        ),
    },
    {
      name: "run (webhook only)",
      sample: () => timeToListen(o, [esFile, join(o.root, "sensors")]),
    },
  ];
  const samples = new Map<string, Sample[]>(commands.map((c) => [c.name, []]));
  for (let i = 0; i < o.runs; i++) {
    for (const c of commands) samples.get(c.name)!.push(await c.sample());
    progress(`start-up: round ${i + 1}/${o.runs}`);
  }
  return commands.map((c) => {
    const s = samples.get(c.name)!;
    const target = STARTUP_TARGETS[c.name];
    return {
      command: c.name,
      runs: s.length,
      wallMs: median(s.map((x) => x.wallMs)),
      cpuMs: median(s.map((x) => x.cpuMs)),
      ...(target !== undefined ? { targetMs: target * 1000 } : {}),
    };
  });
}
