import { readFileSync } from "node:fs";

let cached: string | undefined;

/**
 * The version in package.json (two levels above dist/lib/ and src/lib/), read once when first
 * asked for: one small file, so start-up stays fast, and never a constant that drifts from the
 * package. `--version` prints it and the `build_info` metric carries it.
 */
export function packageVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as {
      version?: unknown;
    };
    cached = typeof pkg.version === "string" ? pkg.version : "unknown";
  }
  return cached;
}
