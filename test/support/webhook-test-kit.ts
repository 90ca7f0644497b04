import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime } from "../../src/app/runtime.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";
import { silentLogger } from "../../src/observability/logger.js";
import { HttpSink } from "./http-sink.js";
import { loaded } from "./loaded.js";

/**
 * One EventSource entry (`spec.<kind>.push`, named `<kind>`) and a Sensor whose dependency `push`
 * has the given data filters and whose http trigger POSTs the given payload parameters to a sink,
 * run on the in-memory bus with the given Secret values (`{ name: { key: value } }`).
 */
export async function startWebhookPipeline(opts: {
  kind: string;
  entry: Record<string, unknown>;
  filters: Array<{ path: string; type: string; value: string[] }>;
  payload: Record<string, string>;
  secrets: Record<string, Record<string, string>>;
}): Promise<{ sink: HttpSink; stop(): Promise<void> }> {
  const sink = await new HttpSink().start();
  const secretsDir = mkdtempSync(join(tmpdir(), "sb-pipeline-"));
  for (const [name, keys] of Object.entries(opts.secrets)) {
    mkdirSync(join(secretsDir, name));
    for (const [key, value] of Object.entries(keys))
      writeFileSync(join(secretsDir, name, key), `${value}\n`);
  }
  const source = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventSource",
    metadata: { name: opts.kind, namespace: "argo" },
    spec: { [opts.kind]: { push: opts.entry } },
  } as unknown as EventSourceManifest;
  const sensor = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "pipeline", namespace: "argo" },
    spec: {
      dependencies: [
        {
          name: "push",
          eventSourceName: opts.kind,
          eventName: "push",
          filters: { data: opts.filters },
        },
      ],
      triggers: [
        {
          template: {
            name: "notify",
            http: {
              url: `${sink.url}/notify`,
              method: "POST",
              payload: Object.entries(opts.payload).map(([dest, dataKey]) => ({
                src: { dependencyName: "push", dataKey },
                dest,
              })),
            },
          },
        },
      ],
    },
  } as unknown as SensorManifest;
  const runtime = await Runtime.start({
    loaded: loaded(source, sensor),
    busUrl: undefined,
    kube: undefined,
    dryRun: false,
    values: dirResolver({ secretsDir }),
    log: silentLogger(),
  });
  return {
    sink,
    async stop() {
      await runtime.stop(5_000);
      await sink.stop();
      rmSync(secretsDir, { recursive: true, force: true });
    },
  };
}
