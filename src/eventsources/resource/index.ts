import { arr, err, isObject, join, str, warn } from "../../config/findings.js";
import type { EntryCheck, TriggerOutput } from "../../config/kinds.js";
import { pluralize, splitApiVersion } from "../../k8s/client.js";
import type { EventSourceKind } from "../kind.js";
import { ResourceEventSchema, type ResourceEventSpec } from "./schema.js";

export { ResourceEventSchema, type ResourceEventSpec, Selector } from "./schema.js";

const SELECTION_OPERATORS = new Set(["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"]);

function validate(entry: ResourceEventSpec, { at, report }: EntryCheck): void {
  if (entry.eventTypes === undefined) {
    report(err(at, "event types must be specified"));
  } else {
    const types = arr(entry.eventTypes);
    if (types.length === 0)
      report(warn(join(at, "eventTypes"), "no event types: nothing is emitted"));
    types.forEach((t, i) => {
      if (typeof t === "string" && !["ADD", "UPDATE", "DELETE"].includes(t)) {
        report(warn(join(at, "eventTypes", i), `unknown event type "${t}" (ADD, UPDATE, DELETE)`));
      }
    });
  }
  const filter: unknown = entry.filter;
  if (!isObject(filter)) return;
  for (const list of ["labels", "fields"] as const) {
    arr(filter[list]).forEach((sel, i) => {
      if (!isObject(sel)) return;
      const op = str(sel.operation);
      if (op !== "" && !SELECTION_OPERATORS.has(op)) {
        report(
          warn(
            join(at, "filter", list, i, "operation"),
            `unknown selection operation "${op}": the watch fails at start`,
          ),
        );
      }
    });
  }
  const createdBy = filter.createdBy;
  if (typeof createdBy === "string" && !isRfc3339(createdBy)) {
    report(
      err(
        join(at, "filter", "createdBy"),
        `createdBy must be an RFC 3339 time, got "${createdBy}"`,
      ),
    );
  }
}

function isRfc3339(s: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) &&
    !Number.isNaN(Date.parse(s))
  );
}

const text = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;

/** Whether this watch sees an object a trigger creates (group, version, resource, ns, filter). */
function receives(s: ResourceEventSpec, obj: TriggerOutput): string | undefined {
  if (obj.type !== "object" || !obj.creates) return undefined;
  const { group, version } = splitApiVersion(obj.apiVersion);
  if ((text(s.group) ?? "") !== group) return undefined;
  if (text(s.version) && text(s.version) !== version) return undefined;
  if (text(s.resource) !== pluralize(obj.kind)) return undefined;
  const watchNs = text(s.namespace);
  if (watchNs && watchNs !== obj.namespace) return undefined;
  const filter: Record<string, unknown> = isObject(s.filter) ? s.filter : {};
  const prefix = text(filter.prefix);
  if (prefix && !obj.namePrefix.startsWith(prefix)) return undefined;
  for (const sel of Array.isArray(filter.labels) ? (filter.labels as unknown[]) : []) {
    if (!isObject(sel)) continue;
    const key = text(sel.key) ?? "";
    if (obj.dynamicLabels.has(key)) continue;
    const op = text(sel.operation) ?? "=";
    const have = obj.labels[key];
    const want = text(sel.value) ?? "";
    if (op === "=" || op === "==" || op === "") {
      if (have !== want) return undefined;
    } else if (op === "!=") {
      if (have === want) return undefined;
    } else if (op === "exists") {
      if (have === undefined) return undefined;
    } else if (op === "!") {
      if (have !== undefined) return undefined;
    } else {
      return undefined;
    }
  }
  return `creates ${obj.kind} ${obj.namePrefix}`;
}

export const resource: EventSourceKind<ResourceEventSpec> = {
  key: "resource",
  schema: ResourceEventSchema,
  runs: true,
  recreate: true,
  validate,
  graph: {
    detail: (s) => {
      const gvr = [text(s.group), text(s.version), text(s.resource)].filter(Boolean).join("/");
      return `watch ${gvr}${text(s.namespace) ? ` in ${text(s.namespace)}` : ""}`;
    },
    receives,
  },
  load: () => import("./runtime.js"),
};
