import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { freePort } from "./ports.js";

/**
 * Starts the real Google Cloud Pub/Sub emulator (`gcloud beta emulators pubsub start`) on a free
 * loopback port with a temporary data directory. gcloud runs the emulator as a java child, so
 * the launcher owns a process group and stop() ends the whole group.
 */

const GCLOUD = process.env.GCLOUD_BIN ?? "gcloud";
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

export interface PubSubEmulator {
  /** `127.0.0.1:<port>`, the value for PUBSUB_EMULATOR_HOST. */
  readonly host: string;
  stop(): Promise<void>;
}

/** True when `gcloud` and its Pub/Sub emulator component can be run here. */
export function pubSubEmulatorAvailable(): boolean {
  const r = spawnSync(GCLOUD, ["--version"], { encoding: "utf8", timeout: 30_000 });
  return r.status === 0 && /pubsub-emulator/.test(r.stdout ?? "");
}

/**
 * {@link pubSubEmulatorAvailable}, saying loudly when it is not that test file `file` is skipped
 * and `what` is NOT being tested against the emulator (a skip must not look like a pass).
 */
export function pubSubEmulatorOrWarn(file: string, what: string): boolean {
  const available = pubSubEmulatorAvailable();
  if (!available) {
    console.warn(
      `\n*** SKIPPING ${file}: \`gcloud\` with the pubsub-emulator component is not installed, ` +
        `so ${what} is NOT being tested against the emulator. ***\n`,
    );
  }
  return available;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

async function answers(host: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200 && (await res.text()).trim() === "Ok";
  } catch {
    return false;
  }
}

export async function startPubSubEmulator(): Promise<PubSubEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const dataDir = await mkdtemp(join(tmpdir(), "sb-pubsub-emulator-"));
  const child: ChildProcess = spawn(
    GCLOUD,
    [
      "beta",
      "emulators",
      "pubsub",
      "start",
      `--host-port=${host}`,
      `--data-dir=${dataDir}`,
      "--quiet",
    ],
    {
      detached: true, // own process group, so stop() reaches the java child too
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "1",
      },
    },
  );
  let outputTail = "";
  const collect = (chunk: Buffer) => {
    outputTail = (outputTail + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  child.once("error", (err) => {
    exited = true;
    outputTail += String(err);
  });
  const pgid = child.pid;

  const stop = async () => {
    if (pgid !== undefined) {
      signalGroup(pgid, "SIGTERM");
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (groupAlive(pgid) && Date.now() < deadline) await delay(50);
      if (groupAlive(pgid)) signalGroup(pgid, "SIGKILL");
      while (groupAlive(pgid)) await delay(20);
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(host))) {
    if (exited || pgid === undefined) {
      await stop();
      throw new Error(`Pub/Sub emulator exited during start: ${outputTail}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Pub/Sub emulator did not answer on ${host} in time: ${outputTail}`);
    }
    await delay(100);
  }
  return { host, stop };
}

/**
 * Points every Pub/Sub client made from now on at `host` (PUBSUB_EMULATOR_HOST, no metadata
 * server lookup); the returned function puts the environment back as it was.
 */
export function useEmulatorEnv(host: string): () => void {
  const saved = {
    host: process.env.PUBSUB_EMULATOR_HOST,
    metadata: process.env.METADATA_SERVER_DETECTION,
  };
  process.env.PUBSUB_EMULATOR_HOST = host;
  process.env.METADATA_SERVER_DETECTION = "none";
  return () => {
    if (saved.host === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
    else process.env.PUBSUB_EMULATOR_HOST = saved.host;
    if (saved.metadata === undefined) delete process.env.METADATA_SERVER_DETECTION;
    else process.env.METADATA_SERVER_DETECTION = saved.metadata;
  };
}
