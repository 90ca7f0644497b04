import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunnerHost } from "../../src/app/host.js";
import { parse } from "../../src/cli.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { dirResolver } from "../../src/config/secrets.js";
import type { SensorManifest } from "../../src/config/types.js";
import {
  ConfigError,
  EventsError,
  FilterError,
  StoppingError,
  TransformError,
  TriggerError,
} from "../../src/errors.js";
import { MemoryBus } from "../../src/eventbus/memory.js";
import { silentLogger } from "../../src/observability/logger.js";
import { SensorEngine } from "../../src/sensors/engine.js";
import { MemoryConditionState } from "../../src/sensors/state.js";
import { applyTransform } from "../../src/sensors/transform.js";
import { httpTrigger } from "../../src/triggers/http.js";
import { applyParameters, resolveParamValue } from "../../src/triggers/params.js";
import type { FiringContext } from "../../src/triggers/types.js";

// The codes no other test raised before: each is raised here by the code that owns it.

function event(data: string, subject = "ev"): CloudEvent {
  return {
    specversion: "1.0",
    id: "e1",
    source: "src",
    subject,
    type: "webhook",
    time: "2026-01-01T00:00:00Z",
    datacontenttype: "application/json",
    data,
  };
}

async function raised(fn: () => unknown): Promise<EventsError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EventsError);
    return err as EventsError;
  }
  throw new Error("expected an error");
}

describe("Secrets and ConfigMaps (config/secrets.ts)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sb-error-codes-"));
    // A "key" that is a directory: the file exists but cannot be read as a value.
    await mkdir(join(dir, "creds", "token"), { recursive: true });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("SB_ERR_CONFIG_SECRET: a referenced key with no file", async () => {
    const err = await raised(() =>
      dirResolver({ secretsDir: dir }).secret({ name: "creds", key: "missing" }, "http.basicAuth"),
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe("SB_ERR_CONFIG_SECRET");
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("http.basicAuth: Secret 'creds' key 'missing'");
  });

  it("SB_ERR_CONFIG_READ: a referenced key that exists but cannot be read", async () => {
    const err = await raised(() =>
      dirResolver({ secretsDir: dir }).secret({ name: "creds", key: "token" }, "f"),
    );
    expect(err.code).toBe("SB_ERR_CONFIG_READ");
    expect(err.cause).toBeInstanceOf(Error);
  });
});

describe("command line (cli.ts)", () => {
  it("SB_ERR_CLI_USAGE: an unknown option", async () => {
    const err = await raised(() => parse(["--no-such-flag"], { help: { type: "boolean" } }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe("SB_ERR_CLI_USAGE");
    expect(err.message).toContain("--no-such-flag");
    expect(err.message).toContain("(see 'sensorbus --help')");
  });
});

describe("dependency transforms (sensors/transform.ts)", () => {
  it("SB_ERR_TRANSFORM: event data that is not JSON, not retryable", async () => {
    const err = await raised(() => applyTransform({ jq: "." }, event("not json")));
    expect(err).toBeInstanceOf(TransformError);
    expect(err.code).toBe("SB_ERR_TRANSFORM");
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("transform: event data is not valid JSON");
    expect(err.cause).toBeInstanceOf(SyntaxError);
  });

  it("SB_ERR_TRANSFORM: a Lua script that does not return a table", async () => {
    const err = await raised(() => applyTransform({ script: "return 1" }, event('{"a":1}')));
    expect(err.code).toBe("SB_ERR_TRANSFORM");
    expect(err.message).toBe("transformation script output type is not of lua table");
  });
});

describe("keyed correlation (sensors/engine.ts)", () => {
  it("SB_ERR_FILTER_PATH_MISSING: the condition step refuses an event without its key", async () => {
    const manifest: SensorManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "keyed" },
      spec: {
        dependencies: [{ name: "a", eventSourceName: "src", eventName: "ev" }],
        triggers: [
          {
            template: {
              name: "t",
              conditions: "a",
              correlation: { window: "1m", key: "body.id" },
              log: {},
            },
          },
        ],
      },
    };
    const engine = new SensorEngine(manifest, {
      state: new MemoryConditionState(),
      now: () => 0,
    });
    const plan = engine.plans[0]!;
    const err = await raised(() =>
      engine.advance(plan, "a", event('{"body":{}}'), { timestamp: "t", seq: 1 }),
    );
    expect(err).toBeInstanceOf(FilterError);
    expect(err.code).toBe("SB_ERR_FILTER_PATH_MISSING");
    expect(err.message).toContain("body.id");
  });
});

describe("trigger parameters (triggers/params.ts)", () => {
  it("SB_ERR_PARAM_UNRESOLVED: a key that resolves to nothing, with no default", async () => {
    const err = await raised(() =>
      resolveParamValue(
        { dependencyName: "d", dataKey: "body.nope" },
        new Map([["d", event('{"body":{}}')]]),
      ),
    );
    expect(err.code).toBe("SB_ERR_PARAM_UNRESOLVED");
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("key body.nope does not exist");
  });
});

describe("http trigger status (triggers/http.ts)", () => {
  const server = createServer((_req, res) => {
    res.statusCode = 500;
    res.end("no");
  });
  let url = "";
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("SB_ERR_TRIGGER_HTTP_STATUS: a 500 answer outside policy.status.allow, retryable", async () => {
    const events = new Map([["d", event('{"a":1}')]]);
    const ctx: FiringContext = {
      sensorName: "s",
      namespace: "default",
      triggerName: "t",
      events,
      applyParameters: (doc, params) => applyParameters(doc, params, events),
      values: dirResolver({}),
      log: silentLogger(),
      now: () => 0,
    };
    const kind = httpTrigger();
    try {
      const rendered = await kind.render({ url, method: "POST" }, ctx);
      const err = await raised(() =>
        kind.execute(rendered, {
          log: silentLogger(),
          signal: new AbortController().signal,
          policy: { status: { allow: [200] } },
        }),
      );
      expect(err).toBeInstanceOf(TriggerError);
      expect(err.code).toBe("SB_ERR_TRIGGER_HTTP_STATUS");
      expect(err.retryable).toBe(true);
      expect(err.message).toContain(`POST ${url} answered 500`);
    } finally {
      await kind.close?.();
    }
  });
});

describe("stopping (app/host.ts)", () => {
  it("SB_ERR_STOPPING: a manifest applied to a closed host, retryable", async () => {
    const bus = new MemoryBus();
    const host = new RunnerHost({
      bus,
      kube: undefined,
      dryRun: true,
      values: dirResolver({}),
      log: silentLogger(),
    });
    await host.close(1_000);
    const manifest: SensorManifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Sensor",
      metadata: { name: "late" },
      spec: {
        dependencies: [{ name: "a", eventSourceName: "src", eventName: "ev" }],
        triggers: [{ template: { name: "t", log: {} } }],
      },
    };
    const err = await raised(() => host.apply({ manifest, file: "test", doc: 0 }));
    expect(err).toBeInstanceOf(StoppingError);
    expect(err.code).toBe("SB_ERR_STOPPING");
    expect(err.retryable).toBe(true);
    await bus.close();
  });
});
