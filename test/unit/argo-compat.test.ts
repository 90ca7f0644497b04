/**
 * Argo Events compatibility, checked the way it is checked from outside: Argo Events' own Go test
 * tables (pkg/sensors/dependencies/*_test.go, pkg/sensors/triggers/params_test.go), ported to data
 * in test/fixtures/argo-compat/, run through the real CLI `sensorbus replay`.
 *
 * Each fixture file becomes one Sensor (every case contributes its dependencies and one trigger,
 * all names prefixed with the case id) and one events file; the CLI runs once per file and each
 * case asserts on the output lines that carry its event ids or its trigger name. Cases whose
 * Sensor Argo's controller already refuses ("refused") run alone and expect a non-zero exit.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/sensorbus.js");
const FIXTURES = join(ROOT, "test/fixtures/argo-compat");

interface Expectation {
  outcome: "fired" | "rejected" | "refused";
  reasonContains?: string;
  stderrContains?: string;
  /** fired log trigger: the dependency's data as JSON. */
  data?: unknown;
  /** fired http/k8s trigger: the payload. */
  payload?: unknown;
  /** fired http/k8s trigger: fields the payload must contain (k8s resources gain labels). */
  payloadMatches?: Record<string, unknown>;
  /** fired: the dependencies that fired it (names without the case-id prefix). */
  dependencies?: string[];
}

interface Case {
  id: string;
  go: string;
  name: string;
  dependencies: Array<{ name: string } & Record<string, unknown>>;
  triggers: Array<{ template: { name: string } & Record<string, unknown> }>;
  events: Array<{ id: string } & Record<string, unknown>>;
  expect: Expectation;
  /** Runs in a Sensor of its own (a trigger without conditions waits for every dependency). */
  isolated?: boolean;
}

interface Fixture {
  area: string;
  argoSource: string;
  cases: Case[];
}

type Line = Record<string, unknown> & { kind: string };

function sensorOf(cases: Case[]): unknown {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "argo-compat" },
    spec: {
      dependencies: cases.flatMap((c) => c.dependencies),
      triggers: cases.flatMap((c) => c.triggers),
    },
  };
}

function linesOf(c: Case, all: Line[]): Line[] {
  const ids = new Set(c.events.map((e) => e.id));
  const triggers = new Set(c.triggers.map((t) => t.template.name));
  return all.filter(
    (l) =>
      (typeof l.eventId === "string" && ids.has(l.eventId)) ||
      (typeof l.trigger === "string" && triggers.has(l.trigger)),
  );
}

function check(c: Case, lines: Line[]): void {
  const fired = lines.filter((l) => l.kind === "fired");
  // "waiting" lines (an event stored until the other dependencies arrive) are neither.
  const others = lines.filter((l) => l.kind !== "fired" && l.kind !== "waiting");
  if (c.expect.outcome === "fired") {
    expect(others, "no rejected/error lines").toEqual([]);
    expect(fired).toHaveLength(1);
    const line = fired[0] as Line;
    if (c.expect.payload !== undefined) expect(line.payload).toEqual(c.expect.payload);
    if (c.expect.payloadMatches !== undefined)
      expect(line.payload).toMatchObject(c.expect.payloadMatches);
    if (c.expect.dependencies !== undefined) {
      const names = Object.keys(line.dependencies as Record<string, string>);
      expect(names.map((n) => n.slice(c.id.length + 1)).sort()).toEqual(c.expect.dependencies);
    }
    if (c.expect.data !== undefined) {
      const dep = c.dependencies[0]?.name as string;
      const payload = line.payload as Record<string, { data: unknown }>;
      expect(payload[dep]?.data).toEqual(c.expect.data);
    }
    return;
  }
  expect(fired, "nothing fires").toEqual([]);
  const rejected = lines.filter((l) => l.kind === "rejected");
  expect(rejected.length, JSON.stringify(lines)).toBeGreaterThan(0);
  for (const r of rejected) {
    expect(r.dependency).toBe(c.dependencies[0]?.name);
    if (c.expect.reasonContains) expect(r.reason).toContain(c.expect.reasonContains);
  }
}

const files = (await readdir(FIXTURES)).filter((f) => f.endsWith(".json")).sort();
const fixtures: Fixture[] = await Promise.all(
  files.map(async (f) => JSON.parse(await readFile(join(FIXTURES, f), "utf8")) as Fixture),
);

interface Run {
  code: number;
  lines: Line[];
  output: string;
}

async function cli(args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: ROOT });
    const lines = stdout
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Line);
    return { code: 0, lines, output: stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, lines: [], output: `${e.stdout ?? ""}${e.stderr ?? String(err)}` };
  }
}

async function write(dir: string, tag: string, cases: Case[]): Promise<[string, string]> {
  const sensor = join(dir, `${tag}.sensor.json`);
  const events = join(dir, `${tag}.events.jsonl`);
  await writeFile(sensor, JSON.stringify(sensorOf(cases)));
  await writeFile(events, cases.flatMap((c) => c.events.map((e) => JSON.stringify(e))).join("\n"));
  return [sensor, events];
}

const replay = async (dir: string, tag: string, cases: Case[]): Promise<Run> => {
  const [sensor, events] = await write(dir, tag, cases);
  return cli(["replay", "--sensor", sensor, "--events", events]);
};

const cases = fixtures.flatMap((f) => f.cases);
const batched = cases.filter((c) => c.expect.outcome !== "refused" && !c.isolated);
const isolated = cases.filter((c) => c.expect.outcome !== "refused" && c.isolated);
const refused = cases.filter((c) => c.expect.outcome === "refused");

// All CLI runs start together (the CLI's start-up dominates): one replay of every batched case,
// one replay per isolated case, one `validate` over every refused Sensor plus one refused replay.
let dir = "";
let batch: Run;
const own = new Map<string, Run>();
let validated: Run;
let refusedReplay: Run;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sb-argo-compat-"));
  const refusedFiles = await Promise.all(refused.map((c) => write(dir, c.id, [c])));
  const first = refusedFiles[0];
  [batch, validated, refusedReplay] = await Promise.all([
    replay(dir, "all", batched),
    cli(["validate", ...refusedFiles.map(([s]) => s)]),
    first
      ? cli(["replay", "--sensor", first[0], "--events", first[1]])
      : Promise.resolve({ code: 1, lines: [], output: "" }),
    ...isolated.map(async (c) => own.set(c.id, await replay(dir, c.id, [c]))),
  ]);
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(fixtures)("Argo compat: $area ($argoSource)", (fixture) => {
  const mine = (list: Case[]) => list.filter((c) => fixture.cases.includes(c));

  if (mine(batched).length > 0) {
    it.each(mine(batched))("$go / $name", (c) => {
      expect(batch.code, batch.output).toBe(0);
      check(c, linesOf(c, batch.lines));
    });
  }

  if (mine(isolated).length > 0) {
    it.each(mine(isolated))("$go / $name (own Sensor)", (c) => {
      const r = own.get(c.id) as Run;
      expect(r.code, r.output).toBe(0);
      check(c, linesOf(c, r.lines));
    });
  }

  if (mine(refused).length > 0) {
    it.each(mine(refused))("$go / $name (Sensor refused, as Argo's controller refuses it)", (c) => {
      expect(validated.code).not.toBe(0);
      const file = join(dir, `${c.id}.sensor.json`);
      const errors = validated.output.split("\n").filter((l) => l.includes(`${file}:`));
      expect(errors.length, validated.output).toBeGreaterThan(0);
      if (c.expect.stderrContains) expect(errors.join("\n")).toContain(c.expect.stderrContains);
    });
  }
});

describe("Argo compat: replay refuses what Argo's controller refuses", () => {
  it.runIf(refused.length > 0)("exits non-zero with the reason on stderr", () => {
    expect(refusedReplay.code).not.toBe(0);
    expect(refusedReplay.output).toContain(refused[0]?.expect.stderrContains ?? "");
  });
});
