import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { SensorManifest } from "../../../src/config/types.js";
import { checkDocument } from "../../../src/config/validate.js";
import { MAX_CONDITION_LENGTH, MAX_DEPENDENCIES } from "../../../src/sensors/conditions.js";
import { SensorEngine } from "../../../src/sensors/engine.js";
import { MemoryConditionState } from "../../../src/sensors/state.js";

/** sensorbus's limits on dependencies and conditions (docs/limits.md): refused, briefly. */

const sensor = (deps: number, conditions?: string) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Sensor",
  metadata: { name: "big" },
  spec: {
    dependencies: Array.from({ length: deps }, (_, i) => ({
      name: `dep-${i}`,
      eventSourceName: "webhook",
      eventName: "example",
    })),
    triggers: [
      { template: { name: "t", ...(conditions === undefined ? {} : { conditions }), log: {} } },
    ],
  },
});

const errors = (doc: unknown) => checkDocument(doc).findings.filter((f) => f.severity === "error");

describe("limits on dependencies and conditions", () => {
  it(`accepts ${MAX_DEPENDENCIES} dependencies (the implicit condition joins them all)`, () => {
    expect(errors(sensor(MAX_DEPENDENCIES))).toEqual([]);
    const engine = new SensorEngine(sensor(MAX_DEPENDENCIES) as unknown as SensorManifest, {
      state: new MemoryConditionState(),
      now: () => 0,
    });
    expect(engine.plans[0]!.conditionError).toBeUndefined();
  });

  it("refuses 10,000 dependencies with one short error", () => {
    expect(errors(sensor(10_000))).toEqual([
      {
        pointer: "/spec/dependencies",
        severity: "error",
        message: "the Sensor has 10000 dependencies; sensorbus allows at most 1000",
      },
    ]);
  });

  it("refuses a 1 MB condition without quoting it", () => {
    const big = Array.from({ length: 120_000 }, () => "dep-1").join(" || ");
    expect(big.length).toBeGreaterThan(MAX_CONDITION_LENGTH * 50);
    const found = errors(sensor(2, big));
    expect(found).toEqual([
      {
        pointer: "/spec/triggers/0/template/conditions",
        severity: "error",
        message: `the condition is ${big.length} characters long; sensorbus allows at most ${MAX_CONDITION_LENGTH}`,
      },
    ]);
  });

  it("the runtime parser refuses the same, and its message (logged by run) stays short", () => {
    const big = Array.from({ length: 120_000 }, () => "dep-1").join(" || ");
    for (const doc of [sensor(2, big), sensor(10_000)]) {
      const engine = new SensorEngine(doc as unknown as SensorManifest, {
        state: new MemoryConditionState(),
        now: () => 0,
      });
      const message = engine.plans[0]!.conditionError ?? "";
      expect(message).toMatch(/sensorbus allows at most/);
      expect(message.length).toBeLessThan(400);
    }
  });

  it("`run` refuses such a Sensor at start with a short error (dist/)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sb-limits-"));
    const file = join(dir, "big.yaml");
    await writeFile(file, stringify(sensor(2, `${"dep-0 || ".repeat(120_000)}dep-1`)));
    const bin = new URL("../../../bin/sensorbus.js", import.meta.url).pathname;
    const result = await promisify(execFile)(
      process.execPath,
      [bin, "run", file, "--bus", "memory", "--dry-run", "--metrics-port", "0"],
      { maxBuffer: 64 * 1024 * 1024 },
    ).then(
      () => ({ code: 0, out: "" }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        out: e.stdout + e.stderr,
      }),
    );
    expect(result.code).toBe(2);
    expect(result.out).toContain("/spec/triggers/0/template/conditions: the condition is");
    expect(result.out.length).toBeLessThan(4096);
  });
});
