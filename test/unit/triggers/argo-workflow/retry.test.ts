import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { TriggerError } from "../../../../src/errors.js";
import type { KubeObject } from "../../../../src/k8s/client.js";
import {
  formulateResubmit,
  formulateRetry,
  nodeId,
  type WorkflowNode,
} from "../../../../src/triggers/argo-workflow/retry.js";

const NOW = Date.parse("2026-11-24T10:00:00Z");
const AT = "2026-11-24T10:00:00Z";

function node(id: string, over: Partial<WorkflowNode>): WorkflowNode {
  return { id, name: id, type: "Pod", phase: "Succeeded", children: [], ...over };
}

function workflow(nodes: Record<string, WorkflowNode>, phase = "Failed"): KubeObject {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Workflow",
    metadata: {
      name: "wf",
      namespace: "argo",
      resourceVersion: "42",
      labels: {
        "workflows.argoproj.io/completed": "true",
        "workflows.argoproj.io/phase": phase,
        "workflows.argoproj.io/workflow-archiving-status": "Pending",
        "workflows.argoproj.io/actor": "someone",
        "workflows.argoproj.io/action": "Stop",
        team: "data",
      },
    },
    spec: {
      entrypoint: "main",
      shutdown: "Terminate",
      activeDeadlineSeconds: 0,
      arguments: { parameters: [{ name: "run-id", value: "r-1", description: "run" }] },
    },
    status: {
      phase,
      message: "child 'wf.b' failed",
      startedAt: "2026-11-24T08:00:00Z",
      finishedAt: "2026-11-24T09:00:00Z",
      conditions: [
        { type: "PodRunning", status: "False" },
        { type: "Completed", status: "True" },
      ],
      persistentVolumeClaims: [{ name: "work" }],
      nodes,
    },
  };
}

/**
 * A DAG Workflow as the controller records it: DAG `wf` runs a (Succeeded) and d (Succeeded, no
 * dependencies); b depends on a and is retried (Retry node b, attempts b0 and b1 both Failed);
 * c depends on b and was never run (Omitted; a dependant hangs below the last attempt, the Retry
 * node's outbound node). The exit handler ran.
 */
function dagWorkflow(phase = "Failed"): KubeObject {
  return workflow(
    {
      wf: node("wf", {
        name: "wf",
        type: "DAG",
        phase: "Failed",
        children: ["a", "d"],
        outboundNodes: ["c", "d"],
      }),
      a: node("a", { name: "wf.a", templateName: "build", boundaryID: "wf", children: ["b"] }),
      b: node("b", {
        name: "wf.b",
        type: "Retry",
        phase: "Failed",
        boundaryID: "wf",
        children: ["b0", "b1"],
      }),
      b0: node("b0", {
        name: "wf.b(0)",
        phase: "Failed",
        boundaryID: "wf",
        nodeFlag: { retried: true },
        message: "exit 1",
      }),
      b1: node("b1", {
        name: "wf.b(1)",
        phase: "Failed",
        boundaryID: "wf",
        nodeFlag: { retried: true },
        children: ["c"],
        message: "exit 1",
      }),
      c: node("c", { name: "wf.c", type: "Skipped", phase: "Omitted", boundaryID: "wf" }),
      d: node("d", { name: "wf.d", templateRef: { name: "lib", template: "lint" } }),
      exit: node("exit", { name: "wf.onExit", phase: "Succeeded" }),
    },
    phase,
  );
}

type Status = { phase?: string; nodes: Record<string, WorkflowNode> } & Record<string, unknown>;
const statusOf = (wf: KubeObject): Status => wf.status as Status;

describe("formulateRetry (Argo's FormulateRetryWorkflow)", () => {
  it("DAG: removes the failed attempts and what runs after them, resets the Retry node and the DAG", () => {
    const r = formulateRetry(dagWorkflow(), { now: NOW });
    expect(r.deleted).toEqual(["b0", "b1", "c"]);
    expect(r.reset).toEqual(["b", "wf"]);
    // The failed attempts' pods, and the exit handler's (it runs again).
    expect(r.podNodeIds).toEqual(["b0", "b1", "exit"]);
    const nodes = statusOf(r.workflow).nodes;
    expect(Object.keys(nodes).sort()).toEqual(["a", "b", "d", "wf"]);
    expect(nodes.a).toMatchObject({ phase: "Succeeded", children: ["b"] });
    expect(nodes.d).toMatchObject({ phase: "Succeeded" });
    expect(nodes.b).toMatchObject({ type: "Retry", phase: "Running", startedAt: AT });
    expect(nodes.b?.children).toBeUndefined(); // its attempts are gone
    expect(nodes.wf).toMatchObject({
      phase: "Running",
      children: ["a", "d"],
      outboundNodes: ["d"],
      startedAt: AT,
    });
    expect(nodes.wf?.finishedAt).toBeUndefined();
  });

  it("reopens the Workflow as argo retry does", () => {
    const wf = formulateRetry(dagWorkflow(), { now: NOW }).workflow as KubeObject & {
      spec: Record<string, unknown>;
    };
    const st = statusOf(wf);
    expect(st).toMatchObject({ phase: "Running", message: "", startedAt: AT });
    expect(st.finishedAt).toBeUndefined();
    expect(st.persistentVolumeClaims).toEqual([]);
    // Completed is upserted in place; other conditions stay.
    expect(st.conditions).toEqual([
      { type: "PodRunning", status: "False" },
      { type: "Completed", status: "False" },
    ]);
    // completed and archiving labels go, phase says Running; the last actor's labels go (no caller
    // identity); the rest stays.
    expect(wf.metadata.labels).toEqual({ "workflows.argoproj.io/phase": "Running", team: "data" });
    expect(wf.spec.shutdown).toBeUndefined();
    expect(wf.spec.activeDeadlineSeconds).toBeUndefined();
    expect(wf.metadata.resourceVersion).toBe("42"); // written back with compare-and-swap
  });

  it("does not restart a failed attempt when a later attempt of the Retry node succeeded", () => {
    const wf = dagWorkflow();
    const nodes = statusOf(wf).nodes;
    nodes.b!.phase = "Succeeded";
    nodes.b1!.phase = "Succeeded";
    nodes.c = node("c", { name: "wf.c", phase: "Failed", boundaryID: "wf" });
    const r = formulateRetry(wf, { now: NOW });
    // Only c, the failed task after b, runs again; b's failed first attempt stays history.
    expect(r.deleted).toEqual(["c"]);
    expect(r.reset).toEqual(["wf"]);
    expect(statusOf(r.workflow).nodes.b0?.phase).toBe("Failed");
    expect(statusOf(r.workflow).nodes.b1?.children).toBeUndefined();
  });

  it("Steps: resets the failed step's StepGroup and the Steps node, keeps earlier groups and siblings", () => {
    // wf: [0] one step (ok), then [1] two parallel steps: s1 succeeded, s2 failed.
    const wf = workflow({
      wf: node("wf", { type: "Steps", phase: "Failed", children: ["g0"], outboundNodes: ["s2"] }),
      g0: node("g0", { name: "wf[0]", type: "StepGroup", boundaryID: "wf", children: ["s0"] }),
      s0: node("s0", { name: "wf[0].prepare", boundaryID: "wf", children: ["g1"] }),
      g1: node("g1", {
        name: "wf[1]",
        type: "StepGroup",
        phase: "Failed",
        boundaryID: "wf",
        children: ["s1", "s2"],
      }),
      s1: node("s1", { name: "wf[1].ok", boundaryID: "wf" }),
      s2: node("s2", { name: "wf[1].bad", phase: "Error", boundaryID: "wf" }),
    });
    const r = formulateRetry(wf, { now: NOW });
    expect(r.deleted).toEqual(["s2"]);
    expect(r.reset).toEqual(["g1", "wf"]);
    expect(r.podNodeIds).toEqual(["s2"]);
    const nodes = statusOf(r.workflow).nodes;
    expect(nodes.g1).toMatchObject({ phase: "Running", children: ["s1"] });
    expect(nodes.wf?.phase).toBe("Running");
    expect(nodes.wf?.outboundNodes).toBeUndefined();
    expect(nodes.g0?.phase).toBe("Succeeded");
    expect(nodes.s0?.phase).toBe("Succeeded");
    expect(nodes.s1?.phase).toBe("Succeeded");
  });

  it("leaves a failed step alone when the steps after it succeeded (continueOn: failed)", () => {
    const wf = workflow({
      wf: node("wf", { type: "Steps", phase: "Failed", children: ["g0"] }),
      g0: node("g0", { name: "wf[0]", type: "StepGroup", boundaryID: "wf", children: ["s0"] }),
      s0: node("s0", { name: "wf[0].flaky", phase: "Failed", boundaryID: "wf", children: ["g1"] }),
      g1: node("g1", { name: "wf[1]", type: "StepGroup", boundaryID: "wf", children: ["s1"] }),
      s1: node("s1", { name: "wf[1].after", boundaryID: "wf", children: ["g2"] }),
      g2: node("g2", {
        name: "wf[2]",
        type: "StepGroup",
        phase: "Failed",
        boundaryID: "wf",
        children: ["s2"],
      }),
      s2: node("s2", { name: "wf[2].last", phase: "Failed", boundaryID: "wf" }),
    });
    const r = formulateRetry(wf, { now: NOW });
    expect(r.deleted).toEqual(["s2"]);
    expect(r.reset).toEqual(["g2", "wf"]);
    expect(statusOf(r.workflow).nodes.s0?.phase).toBe("Failed");
  });

  it("a failed container of a container set takes its whole Pod with it", () => {
    const wf = workflow({
      wf: node("wf", { type: "DAG", phase: "Failed", children: ["p"] }),
      p: node("p", { name: "wf.set", phase: "Failed", boundaryID: "wf", children: ["k1", "k2"] }),
      k1: node("k1", { name: "wf.set.a", type: "Container", boundaryID: "p" }),
      k2: node("k2", { name: "wf.set.b", type: "Container", phase: "Failed", boundaryID: "p" }),
    });
    const r = formulateRetry(wf, { now: NOW });
    expect(r.deleted).toEqual(["k1", "k2", "p"]);
    expect(r.reset).toEqual(["wf"]);
    expect(r.podNodeIds).toEqual(["p"]);
  });

  it("-p puts the given parameters first and re-expands reset fan-outs (TaskGroup children go)", () => {
    const wf = workflow({
      wf: node("wf", { type: "DAG", phase: "Failed", children: ["tg"] }),
      tg: node("tg", {
        name: "wf.fan",
        type: "TaskGroup",
        phase: "Failed",
        boundaryID: "wf",
        children: ["f0", "f1"],
      }),
      f0: node("f0", { name: "wf.fan(0:a)", boundaryID: "wf" }),
      f1: node("f1", { name: "wf.fan(1:b)", phase: "Failed", boundaryID: "wf" }),
    });
    const plain = formulateRetry(wf, { now: NOW });
    expect(plain.deleted).toEqual(["f1"]);
    const r = formulateRetry(wf, {
      parameters: [
        ["items", '["c"]'],
        ["run-id", "r-2"],
      ],
      now: NOW,
    });
    expect(r.deleted).toEqual(["f0", "f1"]);
    expect(r.reset).toEqual(["tg", "wf"]);
    expect(r.podNodeIds).toEqual(["f0", "f1"]);
    expect(statusOf(r.workflow).nodes.tg?.phase).toBe("Running");
    expect(statusOf(r.workflow).nodes.tg?.children).toBeUndefined();
    expect((r.workflow.spec as { arguments: unknown }).arguments).toEqual({
      parameters: [
        { name: "items", value: '["c"]' },
        { name: "run-id", value: "r-2" },
      ],
    });
  });

  it("refuses a running Workflow, and a succeeded one without --restart-successful and a selector", () => {
    expect(() => formulateRetry(dagWorkflow("Running"))).toThrow(
      /cannot retry Workflow wf in phase Running: it must be Failed or Error/,
    );
    let err: unknown;
    try {
      formulateRetry(dagWorkflow("Succeeded"), { nodeFieldSelector: "displayName=a" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TriggerError);
    expect((err as TriggerError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/--restart-successful and --node-field-selector/);
  });

  it("--restart-successful with a node field selector also re-runs the selected succeeded nodes", () => {
    const wf = dagWorkflow("Succeeded");
    for (const n of Object.values(statusOf(wf).nodes)) n.phase = "Succeeded";
    const r = formulateRetry(wf, {
      restartSuccessful: true,
      nodeFieldSelector: "templateName=build",
      now: NOW,
    });
    // a and everything after it run again; the DAG is reset, d stays.
    expect(r.deleted).toEqual(["a", "b", "b0", "b1", "c"]);
    expect(r.reset).toEqual(["wf"]);
    // templateName is the templateRef's template when there is one, as Argo's GetTemplateFromNode.
    const byRef = formulateRetry(wf, {
      restartSuccessful: true,
      nodeFieldSelector: "templateName=lint,phase!=Failed",
      now: NOW,
    });
    expect(byRef.deleted).toEqual(["d"]);
    expect(() =>
      formulateRetry(wf, { restartSuccessful: true, nodeFieldSelector: "colour=red" }),
    ).toThrow(/unknown node field 'colour'/);
  });

  it("reads compressed node status, and refuses node status offloaded to Argo's database", () => {
    const wf = dagWorkflow();
    const st = statusOf(wf);
    st.compressedNodes = gzipSync(JSON.stringify(st.nodes)).toString("base64");
    st.nodes = {};
    const r = formulateRetry(wf, { now: NOW });
    expect(r.deleted).toEqual(["b0", "b1", "c"]);
    expect(Object.keys(statusOf(r.workflow).nodes).sort()).toEqual(["a", "b", "d", "wf"]);
    expect(statusOf(r.workflow).compressedNodes).toBeUndefined();

    const off = dagWorkflow();
    statusOf(off).nodes = {};
    statusOf(off).offloadNodeStatusVersion = "fnv:123";
    expect(() => formulateRetry(off)).toThrow(/offloadNodeStatusVersion/);
  });
});

describe("formulateResubmit (Argo's FormulateResubmitWorkflow)", () => {
  it("copies spec, user labels, annotations and owners; drops completion and creator labels", () => {
    const wf = dagWorkflow();
    wf.metadata.labels!["workflows.argoproj.io/creator"] = "someone";
    wf.metadata.labels!["workflows.argoproj.io/workflow-template"] = "etl";
    wf.metadata.annotations = { note: "keep" };
    wf.metadata.ownerReferences = [
      { apiVersion: "argoproj.io/v1alpha1", kind: "CronWorkflow", name: "cw", uid: "u1" },
    ];
    const next = formulateResubmit(wf, { parameters: [["run-id", "r-9"]] });
    expect(next.metadata).toEqual({
      generateName: "wf-",
      namespace: "argo",
      labels: {
        team: "data",
        "workflows.argoproj.io/actor": "someone",
        "workflows.argoproj.io/action": "Stop",
        "workflows.argoproj.io/workflow-template": "etl",
        "workflows.argoproj.io/resubmitted-from-workflow": "wf",
      },
      annotations: { note: "keep" },
      ownerReferences: [
        { apiVersion: "argoproj.io/v1alpha1", kind: "CronWorkflow", name: "cw", uid: "u1" },
      ],
    });
    expect(next.spec).toEqual({
      entrypoint: "main",
      arguments: { parameters: [{ name: "run-id", value: "r-9" }] },
    });
    expect(next.status).toBeUndefined();
    // The original is untouched.
    expect(
      (wf.spec as { arguments: { parameters: Array<{ value: string }> } }).arguments.parameters[0]
        ?.value,
    ).toBe("r-1");
  });

  it("keeps the original generateName when it had one, or takes the name it is given", () => {
    const wf = dagWorkflow();
    wf.metadata.generateName = "nightly-";
    wf.metadata.name = "nightly-x7k2p";
    expect(formulateResubmit(wf).metadata.generateName).toBe("nightly-");
    expect(formulateResubmit(wf, { name: "nightly-abc" }).metadata).toMatchObject({
      name: "nightly-abc",
    });
    expect(formulateResubmit(wf, { name: "nightly-abc" }).metadata.generateName).toBeUndefined();
  });

  it("memoized: the old nodes under the new name, succeeded pods Skipped, failed ones Pending", () => {
    const next = formulateResubmit(dagWorkflow(), { memoized: true, name: "wf-2", now: NOW });
    const nodes = statusOf(next).nodes;
    const id = (name: string) => nodeId("wf-2", name);
    expect(Object.keys(nodes).sort()).toEqual(
      ["wf-2", id("wf-2.a"), id("wf-2.b"), id("wf-2.b(0)"), id("wf-2.b(1)"), id("wf-2.d")].sort(),
    );
    // Omitted c has no succeeded descendant: dropped. The exit handler is not carried over.
    expect(nodes["wf-2"]).toMatchObject({
      name: "wf-2",
      type: "DAG",
      phase: "Pending",
      children: [id("wf-2.a"), id("wf-2.d")],
      outboundNodes: [id("wf-2.c"), id("wf-2.d")],
      startedAt: AT,
      finishedAt: AT,
    });
    expect(nodes[id("wf-2.a")]).toMatchObject({
      type: "Skipped",
      phase: "Skipped",
      message: "original pod: a",
      boundaryID: "wf-2",
      children: [id("wf-2.b")],
    });
    const failed = nodes[id("wf-2.b(1)")]!;
    expect(failed).toMatchObject({ type: "Pod", phase: "Pending" });
    expect(failed.message).toBeUndefined();
    expect(failed.startedAt).toBeUndefined();
    expect(nodes[id("wf-2.b")]).toMatchObject({ type: "Retry", phase: "Pending" });
    expect(statusOf(next).conditions).toEqual([{ type: "Completed", status: "False" }]);
    expect(statusOf(next).phase).toBeUndefined();
    expect(() => formulateResubmit(dagWorkflow("Running"), { memoized: true, name: "x" })).toThrow(
      /must be Failed or Error to resubmit memoized/,
    );
  });

  it("node ids are Argo's: <workflow>-<fnv-1a 32 of the node name>", () => {
    // Ids from a Workflow run by Argo Workflows (steps-4k5vn).
    expect(nodeId("steps-4k5vn", "steps-4k5vn")).toBe("steps-4k5vn");
    expect(nodeId("steps-4k5vn", "steps-4k5vn[1].hello2a")).toBe("steps-4k5vn-2627784879");
    expect(nodeId("steps-4k5vn", "steps-4k5vn[1]")).toBe("steps-4k5vn-4053927188");
  });
});
