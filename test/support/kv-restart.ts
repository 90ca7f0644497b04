import { Runtime, type RuntimeOptions } from "../../src/app/runtime.js";
import type { LoadResult } from "../../src/config/load.js";
import { dirResolver } from "../../src/config/secrets.js";
import { silentLogger } from "../../src/observability/logger.js";

/**
 * Set-up of the tests that restart a Sensor between the halves of a condition or correlation
 * whose state lives in JetStream KV (real nats-server).
 */

/** Dry-run Runtimes (no kube, no Secrets, silent) on one bus; `stopAll` stops every one started. */
export class Runtimes {
  private readonly started: Runtime[] = [];

  async start(
    loaded: LoadResult,
    busUrl: string,
    extra: Partial<RuntimeOptions> = {},
  ): Promise<Runtime> {
    const rt = await Runtime.start({
      loaded,
      busUrl,
      kube: undefined,
      dryRun: true,
      values: dirResolver({}),
      log: silentLogger(),
      ...extra,
    });
    this.started.push(rt);
    return rt;
  }

  async stopAll(): Promise<void> {
    for (const rt of this.started) await rt.stop(5_000).catch(() => undefined);
  }
}
