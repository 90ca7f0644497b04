import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** `replay --sensor FILE` with a file of several Sensors: refuse to guess, or take --sensor-name. */

const run = promisify(execFile);
const BIN = new URL("../../../bin/sensorbus.js", import.meta.url).pathname;
let dir: string;
let sensors: string;
let events: string;

const sensor = (name: string, trigger: string) => `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: ${name}}
spec:
  dependencies:
    - {name: dep, eventSourceName: es, eventName: e}
  triggers:
    - template: {name: ${trigger}, log: {}}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sb-replay-choice-"));
  sensors = join(dir, "sensors.yaml");
  await writeFile(sensors, `${sensor("first", "t-first")}---\n${sensor("second", "t-second")}`);
  events = join(dir, "e.jsonl");
  await writeFile(
    events,
    '{"specversion":"1.0","id":"1","source":"es","subject":"e","type":"webhook","time":"2024-05-15T12:00:00Z","datacontenttype":"application/json","data":{}}\n',
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function replay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, "replay", ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("replay --sensor with several Sensors in the file", () => {
  it("refuses to pick one silently, naming the Sensors and the option", async () => {
    const r = await replay(["--sensor", sensors, "--events", events]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("holds 2 Sensors (first, second)");
    expect(r.stderr).toContain("--sensor-name");
    expect(r.stdout).toBe("");
  });

  it("replays the Sensor named by --sensor-name", async () => {
    const r = await replay(["--sensor", sensors, "--sensor-name", "second", "--events", events]);
    expect(r.code).toBe(0);
    const fired = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((l) => l.kind === "fired");
    expect(fired.map((l) => l.trigger)).toEqual(["t-second"]);
  });

  it("names the file and the Sensors when --sensor-name matches none", async () => {
    const r = await replay(["--sensor", sensors, "--sensor-name", "third", "--events", events]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no Sensor named 'third' (found: first, second)");
  });
});
