import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { waitUntil } from "./nats-server.js";

/** The built CLI (`npm run build` first): what `kill -9` fault tests run as a child process. */
export const SENSORBUS_BIN = resolve(import.meta.dirname, "../../bin/sensorbus.js");

export interface SensorbusProcess {
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** The last characters of its stdout and stderr (20,000 unless `keep`). */
  output: () => string;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
}

/**
 * `node bin/sensorbus.js <args>` with `NATS_URL` cleared (the bus comes from `--bus` only) and
 * `env` added; metrics and console ports are off unless `args` sets them. `output` keeps the last
 * `keep` characters (default 20,000).
 */
export function spawnSensorbus(
  args: string[],
  opts: { env?: Record<string, string>; keep?: number } = {},
): SensorbusProcess {
  const extra = [
    ...(args.includes("--metrics-port") ? [] : ["--metrics-port", "0"]),
    ...(args.includes("--console-port") ? [] : ["--console-port", "0"]),
  ];
  const proc = spawn(process.execPath, [SENSORBUS_BIN, ...args, ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NATS_URL: "", ...opts.env },
  });
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString("utf8")).slice(-(opts.keep ?? 20_000));
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return {
    proc,
    exited,
    output: () => out,
    kill9: async () => {
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** `sensorbus run <dir> --bus <busUrl> ...args`. */
export function startSensorbus(dir: string, busUrl: string, args: string[] = []): SensorbusProcess {
  return spawnSensorbus(["run", dir, "--bus", busUrl, ...args]);
}

/** Waits for `cond` like waitUntil, failing at once (with its output) when the process exits. */
export async function waitWhileRunning(
  child: SensorbusProcess,
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  let dead = false;
  void child.exited.then(() => {
    dead = true;
  });
  await waitUntil(
    async () => {
      if (dead) throw new Error(`sensorbus exited early:\n${child.output()}`);
      return cond();
    },
    what,
    timeoutMs,
  );
}

/** Waits until `url` answers 200; fails at once with the output if the process exits. */
export function waitForStatus200(
  url: string,
  child: SensorbusProcess,
  timeoutMs = 30_000,
): Promise<void> {
  return waitWhileRunning(
    child,
    async () => {
      try {
        const res = await fetch(url);
        await res.text();
        return res.status === 200;
      } catch {
        return false;
      }
    },
    `${url} to answer 200`,
    timeoutMs,
  );
}
