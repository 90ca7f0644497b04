import { JSONPath } from "jsonpath-plus";
import YAML from "yaml";
import type { CloudEvent } from "../cloudevents/event.js";
import { eventContext, isKnownJsonData, markJsonData } from "../cloudevents/event.js";
import type { TriggerParameter, TriggerParameterSource } from "../config/types.js";
import { EventsError, errorMessage } from "../errors.js";
import { evaluationBudgetMs, isBudgetExceeded, withBudget } from "../lib/budget.js";
import type { GType } from "../lib/gjson.js";
import { gjsonGet } from "../lib/gjson.js";
import { goQuote } from "../lib/gojson.js";
import { compileTemplate } from "../lib/gotemplate/index.js";
import { sjsonSet } from "../lib/sjson.js";

/** A resolved parameter value: its text and gjson type (Argo §5.1). */
export interface ResolvedValue {
  text: string;
  type: GType;
}

export type EventMap = ReadonlyMap<string, CloudEvent>;

/**
 * Argo §5.1. Returns undefined when the dependency is not in this firing and there is no `value`
 * (the parameter is skipped). Throws EventsError SB_ERR_PARAM_UNRESOLVED when nothing resolves.
 */
export function resolveParamValue(
  src: TriggerParameterSource,
  events: EventMap,
): ResolvedValue | undefined {
  const event = events.get(src.dependencyName);
  const hasDefault = src.value !== undefined && src.value !== null;
  const fallback = (): ResolvedValue => ({ text: String(src.value), type: "String" });
  if (!event) return hasDefault ? fallback() : undefined;

  const useData = !!(src.dataKey || src.dataTemplate);
  const useContext = !!(src.contextKey || src.contextTemplate);
  if (!useData && !useContext) {
    return hasDefault ? fallback() : { text: wholeEventJson(event), type: "String" };
  }
  let doc: string;
  let key: string | undefined;
  let template: string | undefined;
  let lastError: string | undefined;
  if (useData) {
    key = src.dataKey;
    template = src.dataTemplate;
    try {
      doc = eventDataAsJson(event);
    } catch (err) {
      if (hasDefault) return fallback();
      throw new EventsError(
        "SB_ERR_PARAM_UNRESOLVED",
        `unable to resolve '${src.dependencyName}' parameter value: ${errorMessage(err)}`,
      );
    }
  } else {
    key = src.contextKey;
    template = src.contextTemplate;
    doc = contextJson(event);
  }
  if (template) {
    try {
      const input = { Input: JSON.parse(doc) };
      const out = withBudget("template", evaluationBudgetMs(), () =>
        compileTemplate(template).execute(input),
      );
      if (out !== "" && out !== "<no value>") return { text: out, type: "String" };
      lastError = `template evaluated to empty string or no value: ${template}`;
    } catch (err) {
      // Stopped by the budget: the firing fails for good (the same events render the same way).
      if (isBudgetExceeded(err)) {
        throw new EventsError(
          "SB_ERR_EVAL_BUDGET",
          `'${src.dependencyName}' parameter ${useData ? "dataTemplate" : "contextTemplate"}: ${err.message}`,
        );
      }
      lastError = errorMessage(err);
    }
  }
  if (key) {
    const got = getByKey(doc, key);
    if (got) return got;
    lastError = `key ${key} does not exist to in the event payload`;
  }
  if (hasDefault) return fallback();
  throw new EventsError(
    "SB_ERR_PARAM_UNRESOLVED",
    `unable to resolve '${src.dependencyName}' parameter value. err: ${lastError ?? "no key or template"}`,
  );
}

/** gjson path, or JSONPath (`$.a.b`, `$['a']`: a sensorbus extension, evaluated in safe mode). */
function getByKey(doc: string, key: string): ResolvedValue | undefined {
  if (key.startsWith("$.") || key.startsWith("$[") || key === "$") {
    let results: unknown[];
    try {
      results = JSONPath({
        path: key,
        json: JSON.parse(doc) as object,
        eval: "safe",
        wrap: true,
      }) as unknown[];
    } catch {
      return undefined;
    }
    if (!Array.isArray(results) || results.length === 0) return undefined;
    const v = results[0];
    if (v === null) return { text: "null", type: "Null" };
    if (typeof v === "string") return { text: v, type: "String" };
    if (typeof v === "number") return { text: String(v), type: "Number" };
    if (typeof v === "boolean") return { text: String(v), type: v ? "True" : "False" };
    return { text: JSON.stringify(v), type: "JSON" };
  }
  const res = gjsonGet(doc, key);
  if (!res.exists) return undefined;
  if (res.type === "JSON" || res.type === "Null") return { text: res.raw, type: res.type };
  return { text: res.text, type: res.type };
}

/** Event data as JSON text: JSON as is (must be valid), YAML converted; else an error. */
export function eventDataAsJson(event: CloudEvent): string {
  const ct = (event.datacontenttype || "application/json").split(";")[0]!.trim();
  const data = event.data ?? "";
  if (ct === "application/json") {
    // Checked once per event: by the bus's decode, or here (a firing resolves several parameters).
    if (isKnownJsonData(event)) return data;
    JSON.parse(data);
    markJsonData(event);
    return data;
  }
  if (ct === "application/yaml" || ct === "application/x-yaml" || ct === "text/yaml") {
    return JSON.stringify(YAML.parse(data));
  }
  throw new Error(`unsupported event content type: ${event.datacontenttype}`);
}

/** Argo's json.Marshal(event.Context): struct field order, time at seconds precision in UTC. */
export function contextJson(event: CloudEvent): string {
  const c = eventContext(event);
  return `{"id":${goQuote(c.id)},"source":${goQuote(c.source)},"specversion":${goQuote(c.specversion)},"type":${goQuote(c.type)},"datacontenttype":${goQuote(c.datacontenttype)},"subject":${goQuote(c.subject)},"time":${metaTime(c.time)}}`;
}

/** json.Marshal(&event): `{"context":{...},"data":"<base64 of the data bytes>"}`. */
export function wholeEventJson(event: CloudEvent): string {
  const data =
    event.data === undefined ? "null" : `"${Buffer.from(event.data, "utf8").toString("base64")}"`;
  return `{"context":${contextJson(event)},"data":${data}}`;
}

/** metav1.Time marshals as RFC 3339 in UTC with whole seconds; the zero time as null. */
function metaTime(time: string): string {
  const ms = Date.parse(time);
  if (!time || Number.isNaN(ms)) return "null";
  return `"${new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z")}"`;
}

/** Argo ApplyParams (§5.3): set each resolved parameter at its sjson `dest` in the document. */
export function applyParameters(
  doc: string,
  params: readonly TriggerParameter[] | undefined,
  events: EventMap,
): string {
  if (!params || params.length === 0) return doc;
  for (const p of params) {
    const resolved = resolveParamValue(p.src, events);
    if (!resolved) continue;
    let { text, type } = resolved;
    const op = p.operation ?? "";
    if (op === "append" || op === "prepend") {
      const current = gjsonGet(doc, p.dest);
      if (current.exists) {
        type = "String";
        text = op === "append" ? current.text + text : text + current.text;
      }
    } else if (op !== "overwrite" && op !== "") {
      throw new EventsError("SB_ERR_PARAM_DEST", `unsupported trigger parameter operation: ${op}`);
    }
    doc = setValue(doc, p.dest, text, type !== "String" && p.src.useRawData === true);
  }
  return doc;
}

/**
 * Argo ConstructPayload (§5.4) for http `payload`: start from an empty document; an entry with an
 * empty `dest` makes its value the entire body. Returns undefined when nothing was set.
 */
export function constructPayload(
  params: readonly TriggerParameter[] | undefined,
  events: EventMap,
): string | undefined {
  let doc: string | undefined;
  for (const p of params ?? []) {
    const resolved = resolveParamValue(p.src, events);
    if (!p.dest) {
      if (resolved) return resolved.text;
      continue;
    }
    if (!resolved) continue;
    doc = setValue(
      doc ?? "",
      p.dest,
      resolved.text,
      resolved.type !== "String" && p.src.useRawData === true,
    );
  }
  return doc;
}

function setValue(doc: string, dest: string, text: string, raw: boolean): string {
  try {
    return sjsonSet(doc, dest, raw ? text : text, raw);
  } catch (err) {
    if (err instanceof EventsError) throw err;
    throw new EventsError(
      "SB_ERR_PARAM_DEST",
      `cannot set parameter at '${dest}': ${errorMessage(err)}`,
    );
  }
}
