import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const LOGGER = pathToFileURL(resolve(import.meta.dirname, "../../dist/observability/logger.js"));

describe("logger: nothing lost at exit", () => {
  it("writes every line logged before process.exit, in order, through a pipe", async () => {
    // 3,000 lines (~300 KiB) logged in one turn, then exit at once: part is in sonic-boom's
    // buffer (or on its way), part still in the batch.
    const script = `
      import { createLogger } from ${JSON.stringify(LOGGER.href)};
      const log = createLogger({ level: "info" }).child({ component: "t" });
      for (let i = 0; i < 3000; i++) log.info({ i }, "line");
      process.exit(0);
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--input-type=module", "-e", script],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const lines = stdout.split("\n").filter((l) => l.length > 0);
    expect(lines).toHaveLength(3000);
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(
      Array.from({ length: 3000 }, (_, i) => i),
    );
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, component: "t", msg: "line" });
    expect(JSON.parse(lines[0]!).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
