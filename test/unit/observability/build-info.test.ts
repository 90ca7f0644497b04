import { describe, expect, it, vi } from "vitest";
import { Metrics } from "../../../src/observability/metrics.js";

// Another version than the package's, so the label cannot pass by matching a constant.
vi.mock("../../../src/lib/package-version.js", () => ({ packageVersion: () => "9.8.7-test" }));

describe("build_info", () => {
  it("carries the package's version (lib/package-version), not a constant", async () => {
    const text = await new Metrics("ns").registry.metrics();
    const line = text.split("\n").find((l) => l.startsWith("build_info{"));
    expect(line).toContain('version="9.8.7-test"');
  });
});
