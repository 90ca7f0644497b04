import { describe, expect, it } from "vitest";
import type { Trigger } from "../../../../src/config/types.js";
import { silentLogger } from "../../../../src/observability/logger.js";
import {
  checkWorkflowArgs,
  parseNodeOpArgs,
  parseSubmitArgs,
} from "../../../../src/triggers/argo-workflow/args.js";
import { renderFiring } from "../../../../src/triggers/fire.js";
import { triggerRegistry } from "../../../../src/triggers/registry.js";

async function render(argoWorkflow: Record<string, unknown>) {
  const log = silentLogger();
  const { rendered } = await renderFiring({
    sensorName: "s",
    namespace: "ns",
    trigger: { template: { name: "t", argoWorkflow } } as unknown as Trigger,
    events: new Map(),
    kinds: triggerRegistry({ kube: undefined, dryRun: true, log }),
    values: { secret: async () => "", configMap: async () => "" },
    log,
    now: () => 0,
  });
  return rendered.payload as { spec: Record<string, unknown>; metadata: Record<string, unknown> };
}

const WORKFLOW = {
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata: { generateName: "wf-" },
  spec: { entrypoint: "main", priority: 1 },
};

describe("argoWorkflow.args as `argo submit` applies them", () => {
  it("--priority sets spec.priority, as argo submit does", async () => {
    const wf = await render({
      operation: "submit",
      args: ["--priority", "5"],
      source: { resource: WORKFLOW },
    });
    expect(wf.spec.priority).toBe(5);
    const eq = await render({
      operation: "submit",
      args: ["--priority=-3"],
      source: { resource: WORKFLOW },
    });
    expect(eq.spec.priority).toBe(-3);
  });

  it("--node-field-selector (what `argo submit --watch` displays) is accepted and changes nothing", async () => {
    const plain = await render({ operation: "submit", source: { resource: WORKFLOW } });
    const wf = await render({
      operation: "submit",
      args: ["--node-field-selector", "phase=abc"],
      source: { resource: WORKFLOW },
    });
    expect(wf).toEqual(plain);
    expect(parseSubmitArgs(["--node-field-selector", "phase=abc"], "args").ignored).toEqual([
      expect.objectContaining({ index: 0, arg: "--node-field-selector" }),
    ]);
  });

  it("submit-from lists --priority as ignored (argo submit --from does not pass it on)", async () => {
    const wf = await render({
      operation: "submit-from",
      args: ["--priority", "5"],
      source: { resource: { kind: "WorkflowTemplate", metadata: { name: "tpl" } } },
    });
    expect(wf.spec.priority).toBeUndefined();
    expect(parseSubmitArgs(["--priority", "5"], "args", "submit-from").ignored).toHaveLength(1);
  });

  it("refuses a priority that is not a 32-bit integer, naming the field", async () => {
    await expect(
      render({
        operation: "submit",
        args: ["--priority", "2147483648"],
        source: { resource: WORKFLOW },
      }),
    ).rejects.toThrow(
      "argoWorkflow.args.1: '--priority 2147483648': '2147483648' is not a 32-bit integer",
    );
  });
});

describe("argoWorkflow.args of resume and stop, as `argo resume|stop` take them", () => {
  it("parses --node-field-selector (both spellings) and stop's --message", () => {
    expect(parseNodeOpArgs("resume", ["--node-field-selector", "displayName=a"], "args")).toEqual({
      nodeFieldSelector: "displayName=a",
    });
    expect(
      parseNodeOpArgs(
        "stop",
        ["--node-field-selector=inputs.parameters.env.value=prod,phase!=Failed", "--message=no"],
        "args",
      ),
    ).toEqual({
      nodeFieldSelector: "inputs.parameters.env.value=prod,phase!=Failed",
      message: "no",
    });
    expect(parseNodeOpArgs("resume", undefined, "args")).toEqual({});
  });

  it("refuses, naming the field, what argo would not apply", () => {
    expect(() => parseNodeOpArgs("resume", ["--message", "x"], "args")).toThrow(
      "args.0: unsupported argument '--message' for resume (sensorbus interprets --node-field-selector)",
    );
    expect(() => parseNodeOpArgs("stop", ["--message", "x"], "args")).toThrow(
      "--message applies to the nodes --node-field-selector selects; give both",
    );
    expect(() =>
      parseNodeOpArgs("resume", ["--node-field-selector", "colour=red"], "args"),
    ).toThrow("args.0: unknown node field 'colour' in --node-field-selector");
    expect(() => parseNodeOpArgs("stop", ["--node-field-selector", "displayName"], "args")).toThrow(
      "args.0: invalid node field selector 'displayName'",
    );
    expect(() => parseNodeOpArgs("resume", ["--node-field-selector"], "args")).toThrow(
      "args.0: '--node-field-selector' needs a value",
    );
  });

  it("validate uses the same parser: suspend and terminate still take no arguments", () => {
    expect(checkWorkflowArgs("resume", ["--node-field-selector", "id=x"], "args")).toEqual([]);
    expect(() => checkWorkflowArgs("suspend", ["--node-field-selector", "id=x"], "args")).toThrow(
      "arguments are not supported for operation suspend",
    );
  });
});
