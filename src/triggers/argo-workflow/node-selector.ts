import { errorMessage, TriggerError } from "../../errors.js";

/** A node of a Workflow's `status.nodes`, as far as sensorbus reads it. */
export interface WorkflowNode {
  id: string;
  name: string;
  displayName?: string;
  type: string;
  phase?: string;
  boundaryID?: string;
  children?: string[];
  outboundNodes?: string[];
  templateName?: string;
  templateRef?: { name?: string; template?: string };
  message?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
  nodeFlag?: { retried?: boolean; hooked?: boolean };
  inputs?: { parameters?: Array<{ name: string; value?: unknown }> };
  outputs?: { parameters?: Array<Record<string, unknown>> };
  [k: string]: unknown;
}

function selectorError(message: string): TriggerError {
  return new TriggerError("SB_ERR_TRIGGER_K8S", message, { retryable: false });
}

/**
 * Node field selector as Argo's (Kubernetes field selector syntax: `key=value`, `key==value`,
 * `key!=value`, comma = and). A field a node does not have is empty, as in Argo; a field name Argo
 * does not know is an error here (Argo would silently compare it with "").
 */
export function selectorMatches(selector: string, n: WorkflowNode): boolean {
  return selector
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean)
    .every((req) => {
      const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(req);
      if (!m) throw selectorError(`argoWorkflow.args: invalid node field selector '${req}'`);
      const [, field, op, want] = m as unknown as [string, string, string, string];
      const have = nodeField(n, field.trim());
      return op === "!=" ? have !== want.trim() : have === want.trim();
    });
}

/** Argo's SelectorMatchesNode fields. */
function nodeField(n: WorkflowNode, field: string): string {
  switch (field) {
    case "id":
      return n.id;
    case "name":
      return n.name;
    case "displayName":
      return n.displayName ?? "";
    case "phase":
      return n.phase ?? "";
    case "templateName": // GetTemplateFromNode
      return (n.templateRef ? n.templateRef.template : n.templateName) ?? "";
    case "templateRef.name":
      return n.templateRef?.name ?? "";
    case "templateRef.template":
      return n.templateRef?.template ?? "";
  }
  const p = /^inputs\.parameters\.(.+)\.value$/.exec(field);
  if (p) {
    const v = n.inputs?.parameters?.find((x) => x.name === p[1])?.value;
    return v === undefined || v === null ? "" : String(v);
  }
  throw selectorError(
    `argoWorkflow.args: unknown node field '${field}' in --node-field-selector (known: id, name, displayName, phase, templateName, templateRef.name, templateRef.template, inputs.parameters.<name>.value)`,
  );
}

/** Why `selector` is not a node field selector sensorbus can apply (undefined: it is). */
export function nodeSelectorProblem(selector: string): string | undefined {
  if (selector.trim() === "") return "--node-field-selector is empty";
  try {
    selectorMatches(selector, { id: "", name: "", type: "" });
    return undefined;
  } catch (err) {
    return errorMessage(err).replace(/^argoWorkflow\.args: /, "");
  }
}
