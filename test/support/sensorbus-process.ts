import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { waitUntil } from "./nats-server.js";

/** The built CLI (`npm run build` first): `sensorbus run` as a child process, for kill -9 tests. */

export const BIN = resolve(import.meta.dirname, "../../bin/sensorbus.js");

export interface SensorbusChild {
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** The last 20,000 characters of stdout and stderr. */
  output: () => string;
}

/** `sensorbus run <dir> --bus <busUrl> ...args` with NATS_URL cleared. */
export function startSensorbus(dir: string, busUrl: string, args: string[] = []): SensorbusChild {
  const proc = spawn(process.execPath, [BIN, "run", dir, "--bus", busUrl, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NATS_URL: "" },
  });
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString("utf8")).slice(-20_000);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return { proc, exited, output: () => out };
}

/** Waits until `url` answers 200; fails at once with the output if the process exits. */
export async function waitForStatus200(
  url: string,
  child: SensorbusChild,
  timeoutMs = 30_000,
): Promise<void> {
  let dead = false;
  void child.exited.then(() => {
    dead = true;
  });
  await waitUntil(
    async () => {
      if (dead) throw new Error(`sensorbus exited early:\n${child.output()}`);
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
