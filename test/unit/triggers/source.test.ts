import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dirResolver, type ValueResolver } from "../../../src/config/secrets.js";
import { TriggerError } from "../../../src/errors.js";
import {
  fetchResource,
  loadResource,
  parseResource,
  URL_SOURCE_LIMIT,
} from "../../../src/triggers/source.js";

const WF_YAML =
  "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: hi-\n";
const dir = mkdtempSync(join(tmpdir(), "sb-source-"));
const wfFile = join(dir, "wf.yaml");
writeFileSync(wfFile, WF_YAML);
mkdirSync(join(dir, "cms", "wf-cm"), { recursive: true });
writeFileSync(
  join(dir, "cms", "wf-cm", "workflow"),
  "kind: Workflow\nmetadata:\n  name: from-cm\n",
);
const values: ValueResolver = dirResolver({ configMapsDir: join(dir, "cms") });

// A loopback server: /ok, /missing (404), /big (> limit), /flaky (500 twice, then 200)
let base = "";
let flakyCalls = 0;
const server = http.createServer((req, res) => {
  if (req.url === "/ok") return res.end(WF_YAML);
  if (req.url === "/big") return res.end("a".repeat(URL_SOURCE_LIMIT + 10));
  if (req.url === "/flaky") {
    flakyCalls++;
    res.statusCode = flakyCalls <= 2 ? 500 : 200;
    return res.end(flakyCalls <= 2 ? "boom" : "kind: Workflow\n");
  }
  res.statusCode = 404;
  res.end("nope");
});
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function rejection(p: Promise<unknown>): Promise<TriggerError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TriggerError);
    return err as TriggerError;
  }
  throw new Error("expected a rejection");
}

const noSleep = async () => {};

describe("fetchResource", () => {
  it("returns inline text as is", async () => {
    expect(await fetchResource({ inline: WF_YAML }, { values })).toBe(WF_YAML);
  });

  it("serialises an inline resource object as JSON", async () => {
    const resource = { kind: "Workflow", metadata: { name: "x" }, spec: { n: 1 } };
    const text = await fetchResource({ resource }, { values });
    expect(JSON.parse(text)).toEqual(resource);
  });

  it("reads file.path", async () => {
    expect(await fetchResource({ file: { path: wfFile } }, { values })).toBe(WF_YAML);
  });

  it("names the file when it cannot be read", async () => {
    const err = await rejection(
      fetchResource({ file: { path: join(dir, "absent.yaml") } }, { values, field: "k8s.source" }),
    );
    expect(err.code).toBe("SB_ERR_TRIGGER_SOURCE");
    expect(err.message).toContain(`k8s.source.file: cannot read ${join(dir, "absent.yaml")}`);
  });

  it("reads a configmap through the ValueResolver", async () => {
    const text = await fetchResource({ configmap: { name: "wf-cm", key: "workflow" } }, { values });
    expect(parseResource(text)).toEqual({ kind: "Workflow", metadata: { name: "from-cm" } });
  });

  it("names the configmap field once when the ConfigMap cannot be read", async () => {
    const missing = { configmap: { name: "wf-cm", key: "absent" } };
    const err = await rejection(fetchResource(missing, { values, field: "k8s.source" }));
    // The resolver's wording may change; the field must lead the message exactly once.
    expect(err.message).toMatch(/^k8s\.source\.configmap: .*'wf-cm'.*'absent'/);
    expect(err.message.split("k8s.source.configmap").length).toBe(2);
    // A resolver whose message does not name the field still gets it.
    const bare: ValueResolver = {
      secret: async () => "",
      configMap: async () => {
        throw new Error("no such ConfigMap");
      },
    };
    const other = await rejection(fetchResource(missing, { values: bare, field: "k8s.source" }));
    expect(other.message).toBe("k8s.source.configmap: no such ConfigMap");
  });

  it("GETs url.path and requires 200", async () => {
    expect(await fetchResource({ url: { path: `${base}/ok` } }, { values })).toBe(WF_YAML);
    const err = await rejection(
      fetchResource({ url: { path: `${base}/missing` } }, { values, attempts: 1 }),
    );
    expect(err.message).toBe(`source.url: GET ${base}/missing returned 404 (want 200)`);
    expect(err.retryable).toBe(false);
  });

  it("retries a url on 5xx, then succeeds", async () => {
    flakyCalls = 0;
    const waits: number[] = [];
    const text = await fetchResource(
      { url: { path: `${base}/flaky` } },
      { values, sleep: async (ms) => void waits.push(ms) },
    );
    expect(text).toBe("kind: Workflow\n");
    expect(flakyCalls).toBe(3);
    expect(waits).toEqual([1000, 1000]);
  });

  it("gives up on a flaky url after the attempts, retryable", async () => {
    flakyCalls = -10;
    const err = await rejection(
      fetchResource({ url: { path: `${base}/flaky` } }, { values, attempts: 2, sleep: noSleep }),
    );
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("returned 500");
  });

  it("rejects a url body over 512 KiB", async () => {
    const err = await rejection(fetchResource({ url: { path: `${base}/big` } }, { values }));
    expect(err.message).toContain(`more than ${URL_SOURCE_LIMIT} bytes`);
  });

  it("refuses url sources when disabled", async () => {
    const err = await rejection(
      fetchResource({ url: { path: `${base}/ok` } }, { values, allowUrl: false }),
    );
    expect(err.message).toContain("url sources are disabled");
  });

  it.each([
    [
      { s3: { bucket: { name: "b" } } },
      "source.s3: S3 resource sources are not supported by sensorbus",
    ],
    [
      { git: { url: "https://example.invalid/r.git" } },
      "source.git: git resource sources are not supported by sensorbus",
    ],
    [{}, "source: no known source location"],
  ])("rejects %j clearly", async (loc, message) => {
    const err = await rejection(fetchResource(loc, { values }));
    expect(err.message).toContain(message);
    expect(err.retryable).toBe(false);
  });

  it("rejects an absent source", async () => {
    const err = await rejection(fetchResource(undefined, { values, field: "argoWorkflow.source" }));
    expect(err.message).toBe("argoWorkflow.source: the trigger source is empty");
  });

  it("takes the first present location in Argo's order", async () => {
    // s3 comes first: even with inline present, the s3 location wins (and is unsupported)
    await expect(fetchResource({ s3: {}, inline: "a: 1" }, { values })).rejects.toThrow(/S3/);
    // inline before file, url, configmap, resource
    expect(
      await fetchResource(
        { inline: "a: 1", file: { path: wfFile }, resource: { b: 2 } },
        { values },
      ),
    ).toBe("a: 1");
    // file before url and resource
    expect(
      await fetchResource(
        { file: { path: wfFile }, url: { path: `${base}/missing` }, resource: { b: 2 } },
        { values },
      ),
    ).toBe(WF_YAML);
    // url before git: a served url never reaches the git check
    expect(await fetchResource({ url: { path: `${base}/ok` }, git: {} }, { values })).toBe(WF_YAML);
    // configmap before resource
    const cm = await fetchResource(
      { configmap: { name: "wf-cm", key: "workflow" }, resource: { b: 2 } },
      { values },
    );
    expect(cm).toContain("from-cm");
  });
});

describe("parseResource", () => {
  it("parses YAML and JSON into an object", () => {
    expect(parseResource(WF_YAML)).toEqual({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Workflow",
      metadata: { generateName: "hi-" },
    });
    expect(parseResource('{"kind":"ConfigMap","data":{"a":"1"}}')).toEqual({
      kind: "ConfigMap",
      data: { a: "1" },
    });
  });

  it.each([
    ["- a\n- b\n", "got a list"],
    ["", "got nothing"],
    ["just text", "got string"],
    ["a: [1,\n", "cannot parse the resource as YAML"],
    ["a: 1\na: 2\n", "cannot parse the resource as YAML"],
  ])("rejects %j", (text, message) => {
    expect(() => parseResource(text, "k8s.source")).toThrow(message);
  });

  it("loadResource combines fetch and parse", async () => {
    expect(await loadResource({ inline: "kind: Secret\n" }, { values })).toEqual({
      kind: "Secret",
    });
  });
});

describe("parseResource cache", () => {
  it("parses a source once and hands out a fresh object each time", () => {
    const text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cached\ndata:\n  a: '1'\n";
    const first = parseResource(text);
    (first.metadata as Record<string, unknown>).name = "changed by a caller";
    const second = parseResource(text);
    expect(second).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cached" },
      data: { a: "1" },
    });
    expect(second).not.toBe(parseResource(text));
  });

  it("still reports bad YAML with the field, every time", () => {
    for (let i = 0; i < 2; i++) {
      expect(() => parseResource("a: [", "argoWorkflow.source.inline")).toThrow(
        /argoWorkflow\.source\.inline: cannot parse the resource as YAML/,
      );
    }
  });
});
