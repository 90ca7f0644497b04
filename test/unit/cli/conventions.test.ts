import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../../src/cli.js";

/**
 * CLI conventions (issue 21 item 6): `sensorbus COMMAND --help`/`-h` prints that command's usage
 * and exits 0, `--version`/`version` print package.json's version, and `run` refuses a bad
 * `--drain-timeout` as `controller` does. Tests that spawn bin/sensorbus.js use dist/ (npm run
 * build first).
 */

const run = promisify(execFile);
const ROOT = new URL("../../../", import.meta.url).pathname;
const BIN = join(ROOT, "bin/sensorbus.js");

const COMMANDS = [
  "run",
  "validate",
  "replay",
  "publish",
  "explain",
  "graph",
  "deadletters",
  "controller",
  "version",
];

/** Runs main() in this process and captures what it writes. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: unknown) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("sensorbus COMMAND --help", () => {
  it.each(
    COMMANDS.flatMap((c) => [
      [c, "--help"],
      [c, "-h"],
    ]),
  )("%s %s prints that command's usage and exits 0", async (command, flag) => {
    const { code, stdout, stderr } = await cli([command, flag]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage:/);
    expect(stdout).toContain(`sensorbus ${command}`);
  });

  it("prints the usage even where the rest of the command line is incomplete", async () => {
    // explain needs an EVENT_ID and replay needs --sensor/--events: help comes first.
    expect((await cli(["explain", "--help"])).code).toBe(0);
    expect((await cli(["replay", "--events", "x.jsonl", "-h"])).code).toBe(0);
    expect((await cli(["publish", "--help", "--data", "{}"])).stdout).toContain(
      "--pubsub-topic TOPIC",
    );
  });

  it("shows each command's own options (validate's directories, explain's --token-file)", async () => {
    expect((await cli(["validate", "--help"])).stdout).toContain("--secrets-dir DIR");
    expect((await cli(["explain", "--help"])).stdout).toContain("--token-file PATH");
    expect((await cli(["controller", "--help"])).stdout).toContain("--namespace NS");
    expect((await cli(["run", "--help"])).stdout).toContain("--drain-timeout SECONDS");
  });

  it("an argument after -- is not a request for help", async () => {
    const { code, stderr } = await cli(["explain", "--", "--help", "extra"]);
    expect(code).toBe(2);
    expect(stderr).toContain("explain needs exactly one EVENT_ID");
  });

  it("sensorbus --help still prints the overview of every command", async () => {
    const { code, stdout } = await cli(["--help"]);
    expect(code).toBe(0);
    for (const c of COMMANDS) expect(stdout).toContain(`sensorbus ${c}`);
  });
});

describe("sensorbus --version", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sb-version-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("version and --version print package.json's version", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    expect((await cli(["version"])).stdout).toBe(`${pkg.version}\n`);
    expect((await cli(["--version"])).stdout).toBe(`${pkg.version}\n`);
  });

  it("follows package.json, not a constant: a copy of the build with another version says so", async () => {
    await cp(join(ROOT, "dist"), join(dir, "dist"), { recursive: true });
    await mkdir(join(dir, "bin"));
    await cp(BIN, join(dir, "bin/sensorbus.js"));
    await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
    await writeFile(
      join(dir, "package.json"),
      JSON.stringify({ name: "sensorbus", version: "9.8.7-test.1", type: "module" }),
    );
    for (const flag of ["version", "--version"]) {
      const { stdout } = await run(process.execPath, [join(dir, "bin/sensorbus.js"), flag]);
      expect(stdout).toBe("9.8.7-test.1\n");
    }
    const { stdout } = await run(process.execPath, [join(dir, "bin/sensorbus.js"), "--help"]);
    expect(stdout.split("\n")[0]).toContain("sensorbus 9.8.7-test.1:");
  });
});

describe("--drain-timeout", () => {
  it.each(["run", "controller"])(
    "%s --drain-timeout x is refused (exit 2, naming the flag)",
    async (command) => {
      // A path that does not exist: should the flag be accepted, run stops at the manifests instead.
      const err = await run(process.execPath, [
        BIN,
        command,
        ...(command === "run" ? ["/nonexistent/sensorbus-manifests"] : []),
        "--drain-timeout",
        "x",
        "--metrics-port",
        "0",
        "--console-port",
        "0",
      ]).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(2);
      expect(err?.stderr).toContain(
        `sensorbus ${command}: --drain-timeout: 'x' is not a number of seconds`,
      );
    },
  );
});
