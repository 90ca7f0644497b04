import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

const BIN = resolve(import.meta.dirname, "../../bin/sensorbus.js");

/** A `sensorbus run` child process of the built CLI, for kill -9 and restart fault tests. */
export interface SensorbusChild {
  readonly proc: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Every stdout/stderr line so far. */
  readonly lines: readonly string[];
  /** Lines matching `re`. */
  count(re: RegExp): number;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
}

/**
 * Starts `sensorbus run <dir> --bus <busUrl>` with the metrics and console listeners off (unless
 * `args` sets them) and JSON logs at `logLevel` (default info).
 */
export function startSensorbus(options: {
  dir: string;
  busUrl: string;
  args?: string[];
  logLevel?: string;
}): SensorbusChild {
  const proc = spawn(
    process.execPath,
    [
      BIN,
      "run",
      options.dir,
      "--bus",
      options.busUrl,
      "--metrics-port",
      "0",
      "--console-port",
      "0",
      "--log-level",
      options.logLevel ?? "info",
      ...(options.args ?? []),
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NATS_URL: "" } },
  );
  const lines: string[] = [];
  let partial = "";
  const keep = (b: Buffer) => {
    const parts = (partial + b.toString("utf8")).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts.filter(Boolean));
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const exited = new Promise<number | null>((res) => proc.once("exit", (code) => res(code)));
  return {
    proc,
    exited,
    lines,
    count: (re) => lines.filter((l) => re.test(l)).length,
    kill9: async () => {
      proc.kill("SIGKILL");
      await exited;
    },
  };
}
