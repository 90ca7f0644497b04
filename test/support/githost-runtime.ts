import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime } from "../../src/app/runtime.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { EventSourceManifest } from "../../src/config/types.js";
import { logSink } from "./log-sink.js";

/**
 * `sensorbus run` of one Git host EventSource (in-memory bus, dry run), its Secrets in a
 * directory, every log line kept as written (no value redaction: a token found here leaked).
 */
export interface GithostRun {
  runtime: Runtime;
  /** Every log line so far, as JSON text. */
  logText(): string;
  /** The `msg` of every line so far. */
  messages(): string[];
  stop(): Promise<void>;
}

export async function runGithostSource(
  kind: "github" | "gitlab",
  entries: Record<string, unknown>,
  secrets: Record<string, Record<string, string>>,
): Promise<GithostRun> {
  const secretsDir = mkdtempSync(join(tmpdir(), `sb-${kind}-hooks-`));
  for (const [name, keys] of Object.entries(secrets)) {
    mkdirSync(join(secretsDir, name));
    for (const [key, value] of Object.entries(keys))
      writeFileSync(join(secretsDir, name, key), value);
  }
  const logs = logSink({ redaction: true });
  const manifest = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: `${kind}-hooks`, namespace: "argo" },
    spec: { [kind]: entries },
  } as EventSourceManifest;
  const runtime = await Runtime.start({
    loaded: { eventSources: [{ manifest, file: "test", doc: 0 }], sensors: [], problems: [] },
    busUrl: undefined,
    kube: undefined,
    dryRun: true,
    values: dirResolver({ secretsDir }),
    log: logs.log,
  });
  const logText = logs.text;
  return {
    runtime,
    logText,
    messages: () =>
      logText()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => String((JSON.parse(l) as { msg?: string }).msg ?? "")),
    async stop() {
      await runtime.stop(5_000);
      rmSync(secretsDir, { recursive: true, force: true });
    },
  };
}
