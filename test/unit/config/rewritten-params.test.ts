import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatProblem, loadManifests } from "../../../src/config/load.js";
import { checkDocument } from "../../../src/config/validate.js";

const FIXTURE = join(
  import.meta.dirname,
  "../../fixtures/manifests/valid/trigger-params-rewrite-template.yaml",
);

const sensor = (dest: string) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Sensor",
  metadata: { name: "s" },
  spec: {
    dependencies: [{ name: "dep", eventSourceName: "webhook", eventName: "example" }],
    triggers: [
      {
        template: {
          name: "t",
          http: {
            url: "http://127.0.0.1:1/",
            payload: [{ src: { dependencyName: "PLACEHOLDER", dataKey: "body" }, dest: "x" }],
          },
        },
        parameters: [{ src: { dependencyName: "dep", dataKey: "body.name" }, dest }],
      },
    ],
  },
});

const placeholderWarnings = (doc: unknown) =>
  checkDocument(doc).findings.filter((f) =>
    f.message.includes('"PLACEHOLDER" is not a dependency'),
  );

describe("template parameters rewritten by trigger-level parameters (tutorial 02, sensor-05)", () => {
  it("draw no 'not a dependency' warning for a placeholder the firing replaces", async () => {
    const result = await loadManifests([FIXTURE]);
    expect(result.problems.map(formatProblem)).toEqual([]);
    expect(result.sensors).toHaveLength(1);
  });

  it.each([
    "http.payload.0.src.dependencyName",
    "http.payload.0.src",
    "http.payload.0",
    "http.payload",
    "http",
  ])("a trigger parameter with dest %s rewrites it: no warning", (dest) => {
    expect(placeholderWarnings(sensor(dest))).toEqual([]);
  });

  it.each(["http.payload.0.src.dataKey", "http.payload.1.src.dependencyName", "http.url"])(
    "a trigger parameter with dest %s leaves it: still warned",
    (dest) => {
      expect(placeholderWarnings(sensor(dest))).toHaveLength(1);
    },
  );
});

describe("argoWorkflow args and sources rewritten by trigger-level parameters", () => {
  const doc = (dest: string) => ({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Sensor",
    metadata: { name: "s" },
    spec: {
      dependencies: [{ name: "dep", eventSourceName: "webhook", eventName: "example" }],
      triggers: [
        {
          template: {
            name: "t",
            argoWorkflow: {
              operation: "submit",
              args: ["PLACEHOLDER"],
              source: { s3: { bucket: { name: "b", key: "k" } } },
            },
          },
          parameters: [{ src: { dependencyName: "dep", dataKey: "body.x" }, dest }],
        },
      ],
    },
  });
  const errorsAt = (d: string, under: string) =>
    checkDocument(doc(d)).findings.filter(
      (f) => f.severity === "error" && f.pointer.startsWith(under),
    );

  it("checks what is written when nothing rewrites it", () => {
    expect(
      errorsAt("argoWorkflow.parameters", "/spec/triggers/0/template/argoWorkflow/args"),
    ).toHaveLength(1);
    expect(
      errorsAt("argoWorkflow.parameters", "/spec/triggers/0/template/argoWorkflow/source"),
    ).toHaveLength(1);
  });

  it("an s3 source whose bucket fields are rewritten is still s3 (complete-trigger-parameterization)", () => {
    expect(
      errorsAt(
        "argoWorkflow.source.s3.bucket.name",
        "/spec/triggers/0/template/argoWorkflow/source",
      ),
    ).toHaveLength(1);
  });

  it("does not judge a value the firing replaces", () => {
    expect(errorsAt("argoWorkflow.args.0", "/spec/triggers/0/template/argoWorkflow/args")).toEqual(
      [],
    );
    expect(
      errorsAt("argoWorkflow.source", "/spec/triggers/0/template/argoWorkflow/source"),
    ).toEqual([]);
  });
});
