import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { TRIGGER_DESCRIPTOR, TRIGGER_PROTO } from "../../../../src/triggers/custom/proto.js";
import { specYaml } from "../../../../src/triggers/custom/runtime.js";
import { templateFindings } from "../sensor-doc.js";

const AT = "/spec/triggers/0/template/custom";

describe("custom trigger validate (Argo's validateCustomTrigger)", () => {
  it("accepts a complete trigger", () => {
    expect(
      templateFindings({ custom: { serverURL: "trigger:9000", spec: { a: "b" }, payload: [] } }),
    ).toEqual([]);
  });

  it("refuses a missing serverURL, a missing spec and secure without certSecret", () => {
    expect(templateFindings({ custom: { secure: true } })).toEqual([
      `error ${AT}: custom trigger gRPC server url is not defined`,
      `error ${AT}: trigger body can't be empty`,
      `error ${AT}: certSecret can't be nil when the trigger server connection is secure`,
    ]);
  });

  it("checks the resource parameters as Argo does", () => {
    const findings = templateFindings({
      custom: {
        serverURL: "trigger:9000",
        spec: {},
        parameters: [{ src: { dependencyName: "d" }, dest: "" }],
      },
    });
    expect(findings.some((f) => f.startsWith(`error ${AT}/parameters/0`))).toBe(true);
  });

  it("does not ask for a serverURL that a trigger-level parameter writes", () => {
    expect(
      templateFindings({ custom: { spec: {} } }, [
        { src: { dependencyName: "d", dataKey: "url" }, dest: "custom.serverURL" },
      ]),
    ).toEqual([]);
  });
});

describe("the spec sent to FetchResource", () => {
  it("is YAML with sorted keys, strings that read as other types quoted (ghodss/yaml)", () => {
    const text = specYaml({ zeta: "1", alpha: "yes", mid: "plain text", empty: "" });
    expect(text).toBe('alpha: "yes"\nempty: ""\nmid: plain text\nzeta: "1"\n');
    expect(parseYaml(text, { version: "1.1" })).toEqual({
      zeta: "1",
      alpha: "yes",
      mid: "plain text",
      empty: "",
    });
  });

  it("is {} for an empty spec", () => {
    expect(specYaml({})).toBe("{}\n");
  });
});

describe("the trigger service contract", () => {
  it("the .proto text and the descriptor the runtime loads define the same service and messages", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sb-proto-"));
    try {
      await writeFile(join(dir, "trigger.proto"), TRIGGER_PROTO);
      const fromText = protoLoader.loadSync(join(dir, "trigger.proto"), { keepCase: true });
      const fromJson = protoLoader.fromJSON(structuredClone(TRIGGER_DESCRIPTOR) as never, {
        keepCase: true,
      });
      const service = (def: protoLoader.PackageDefinition) =>
        def["triggers.Trigger"] as protoLoader.ServiceDefinition;
      const a = service(fromText);
      const b = service(fromJson);
      expect(Object.keys(a).sort()).toEqual(["ApplyPolicy", "Execute", "FetchResource"]);
      expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
      for (const m of Object.keys(a)) {
        expect(b[m]!.path).toBe(`/triggers.Trigger/${m}`);
        expect(a[m]!.path).toBe(b[m]!.path);
      }
      // Bytes written by one decode identically with the other, both directions.
      const samples: Record<string, [object, object]> = {
        FetchResource: [{ resource: Buffer.from("a: b") }, { resource: Buffer.from("{}") }],
        Execute: [
          { resource: Buffer.from("{}"), payload: Buffer.from('{"x":1}') },
          { response: Buffer.from("ok") },
        ],
        ApplyPolicy: [{ request: Buffer.from("ok") }, { success: true, message: "fine" }],
      };
      for (const [m, [req, res]] of Object.entries(samples)) {
        expect(a[m]!.requestDeserialize(b[m]!.requestSerialize(req))).toEqual(req);
        expect(b[m]!.requestDeserialize(a[m]!.requestSerialize(req))).toEqual(req);
        expect(a[m]!.responseDeserialize(b[m]!.responseSerialize(res))).toEqual(res);
        expect(b[m]!.responseDeserialize(a[m]!.responseSerialize(res))).toEqual(res);
      }
      // Field numbers: ExecuteRequest.payload is field 2 (tag 0x12), ApplyPolicyResponse.message 2.
      const wire = b.Execute!.requestSerialize({ payload: Buffer.from("p") });
      expect([...wire]).toEqual([0x12, 1, "p".charCodeAt(0)]);
      const policy = b.ApplyPolicy!.responseSerialize({ success: true, message: "m" });
      expect([...policy]).toEqual([0x08, 1, 0x12, 1, "m".charCodeAt(0)]);
      expect(typeof grpc.loadPackageDefinition(fromJson)).toBe("object");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("the docs page prints the .proto the runtime speaks", async () => {
    const page = await readFile(
      new URL("../../../../docs/kinds/triggers/custom.md", import.meta.url),
      "utf8",
    );
    expect(page).toContain(TRIGGER_PROTO.trim());
  });
});
