import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseMetricsPort } from "../../../src/app/serve.js";
import { DEFAULTS } from "../../../src/config/defaults.js";
import { DEFAULT_MAX_PAYLOAD } from "../../../src/eventsources/webhook.js";
import { URL_SOURCE_LIMIT } from "../../../src/triggers/source.js";

const src = fileURLToPath(new URL("../../../src", import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function leaves(obj: object, prefix: string): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    v !== null && typeof v === "object" ? leaves(v, `${prefix}.${k}`) : [`${prefix}.${k}`],
  );
}

describe("config/defaults.ts", () => {
  const code = walk(src)
    .filter((p) => !p.endsWith(join("config", "defaults.ts")))
    .map((p) => readFileSync(p, "utf8"))
    .join("\n");

  it.each(leaves(DEFAULTS, "DEFAULTS"))("%s is read by runtime code", (path) => {
    expect(code.includes(path), `${path} is declared but nothing reads it`).toBe(true);
  });

  it("is what the runtime uses", () => {
    expect(parseMetricsPort(undefined)).toBe(DEFAULTS.metricsPort);
    expect(DEFAULT_MAX_PAYLOAD).toBe(DEFAULTS.webhook.maxPayloadSize);
    expect(URL_SOURCE_LIMIT).toBe(DEFAULTS.trigger.urlSourceMaxBytes);
  });
});
