import type { TSchema } from "typebox";
import { errorMessage } from "../errors.js";
import { checkSubjectToken } from "../eventbus/subjects.js";
import { calendarSpecProblem } from "../eventsources/calendar.js";
import { parseCron as parseCronSchedule } from "../lib/cron.js";
import { parseDuration } from "../lib/duration.js";
import { compileExpr } from "../lib/exprlang.js";
import { compileTemplate } from "../lib/gotemplate/index.js";
import { compileGovaluate } from "../lib/govaluate.js";
import { goRegexpError } from "../lib/re2.js";
import { loadLocation } from "../lib/tz.js";
import { conditionLimitProblem, MAX_DEPENDENCIES, parseCondition } from "../sensors/conditions.js";
import { checkWorkflowArgs } from "../triggers/argo-workflow-args.js";
import { sourceLocation } from "../triggers/source.js";
import {
  OTHER_EVENTSOURCE_TYPES,
  OTHER_TRIGGER_KINDS,
  SUPPORTED_EVENTSOURCE_TYPES,
  schemaFor,
  validators,
} from "./schema/index.js";
import type { Manifest } from "./types.js";
import { KIND_PRECEDENCE } from "./types.js";
import { checkNamespace, checkObjectKey, checkObjectName, findValueRefs } from "./value-refs.js";

/**
 * One finding about one document, before the loader adds file and document index. `pointer` is a
 * JSON pointer into the document ("" = the document itself).
 *
 * Errors are exactly what Argo Events refuses: Go's JSON decoder (wrong types) plus the
 * controller's and each source's validation (pkg/reconciler/{sensor,eventsource}/validate.go,
 * pkg/eventsources/sources/<type>/validate.go), plus what sensorbus itself refuses when it runs:
 * names it cannot turn into NATS subject tokens, trigger sources it cannot read (s3, git),
 * `argoWorkflow.args` it does not interpret, calendar entries it will not start, and its limits
 * (dependencies, condition size). Those checks call the runtime's own parsers (lib/cron.ts,
 * sensors/conditions.ts, triggers/argo-workflow-args.ts, triggers/source.ts, calendar.ts), so
 * `validate` and `run` cannot disagree. Everything that is accepted but will not work, or that is
 * silently ignored, is a warning.
 */
export interface Finding {
  pointer: string;
  message: string;
  severity: "error" | "warning";
}

export interface CheckResult {
  /** Set when the document is an EventSource or Sensor without errors (nulls removed, see below). */
  manifest?: Manifest;
  findings: Finding[];
  /** The document is not an EventSource or Sensor and was skipped. */
  skipped?: boolean;
}

/** Trigger kinds sensorbus executes. */
export const EXECUTED_TRIGGER_KINDS = ["k8s", "argoWorkflow", "http", "log"] as const;

/** Argo's RecreateStrategyEventSources (pkg/apis/events/v1alpha1/const.go). */
const RECREATE_TYPES = new Set([
  "amqp",
  "calendar",
  "kafka",
  "pubSub",
  "azureEventsHub",
  "azureServiceBus",
  "nats",
  "mqtt",
  "minio",
  "emitter",
  "nsq",
  "pulsar",
  "redis",
  "redisStream",
  "resource",
  "hdfs",
  "file",
  "sftp",
  "generic",
]);

/**
 * Checks one parsed document. The returned manifest is a copy with `null` members of Argo structs
 * removed (Go's decoder treats `field: null` as absent); everything else, including key order and
 * the YAML's scalar types, is kept exactly as written. No defaults are filled in.
 */
export function checkDocument(doc: unknown): CheckResult {
  if (!isObject(doc)) {
    return { findings: [err("", `document must be a mapping, got ${describe(doc)}`)] };
  }
  const kind = doc.kind;
  const schema = typeof kind === "string" ? schemaFor(kind) : undefined;
  if (schema === undefined) {
    const what = typeof kind === "string" ? `kind ${kind}` : "a document without a kind";
    return {
      skipped: true,
      findings: [
        warn("", `skipped ${what}: sensorbus reads only Argo Events EventSource and Sensor`),
      ],
    };
  }
  const clone = stripNulls(doc, schema) as Record<string, unknown>;
  const v = kind === "Sensor" ? validators().sensor : validators().eventSource;
  const findings = schemaFindings(v.Errors(clone) as SchemaError[], clone);
  checkValueRefs(clone, schema, findings);
  const spec = clone.spec;
  if (isObject(spec)) {
    if (kind === "Sensor") checkSensor(spec, findings);
    else checkEventSource(clone, spec, findings);
    checkPodTemplate(spec, findings);
  }
  const unique = dedupe(findings);
  const ok = !unique.some((f) => f.severity === "error");
  return ok ? { manifest: clone as unknown as Manifest, findings: unique } : { findings: unique };
}

// ----- helpers ----------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function err(pointer: string, message: string): Finding {
  return { pointer, message, severity: "error" };
}

function warn(pointer: string, message: string): Finding {
  return { pointer, message, severity: "warning" };
}

/** RFC 6901 escaping of one reference token. */
export function escapePointer(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

function join(pointer: string, ...tokens: (string | number)[]): string {
  return pointer + tokens.map((t) => `/${escapePointer(String(t))}`).join("");
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const k = `${f.severity}\0${f.pointer}\0${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === "") return root;
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const token = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(cur)) cur = cur[Number(token)];
    else if (isObject(cur)) cur = cur[token];
    else return undefined;
  }
  return cur;
}

const RENAMED_FIELDS: Record<string, string> = {
  dependencyGroups:
    "dependencyGroups is not part of Argo Events v1alpha1 and is ignored; name dependencies directly in template.conditions",
  circuit: "circuit is not part of Argo Events v1alpha1 and is ignored; use template.conditions",
};

/** TypeBox errors -> findings with Argo-style wording. */
function schemaFindings(errors: SchemaError[], root: unknown): Finding[] {
  const out: Finding[] = [];
  const anyOfPaths = errors
    .filter((e) => e.keyword === "anyOf")
    .map((e) => `${e.schemaPath}/anyOf/`);
  for (const e of errors) {
    const at = e.instancePath;
    if (e.keyword === "boolean" && e.schemaPath.endsWith("/additionalProperties")) continue;
    if (anyOfPaths.some((p) => e.schemaPath.startsWith(p))) continue;
    switch (e.keyword) {
      case "additionalProperties":
        for (const name of (e.params.additionalProperties as string[] | undefined) ?? []) {
          const special = at === "/spec" ? RENAMED_FIELDS[name] : undefined;
          out.push(warn(join(at, name), special ?? `unknown field "${name}" (Argo ignores it)`));
        }
        break;
      case "required":
        for (const name of (e.params.requiredProperties as string[] | undefined) ?? []) {
          out.push(err(at, `${name} is required`));
        }
        break;
      case "minLength":
      case "minItems":
        out.push(err(at, "must not be empty"));
        break;
      case "type":
        out.push(err(at, `must be ${String(e.params.type)}, got ${describe(valueAt(root, at))}`));
        break;
      case "const":
        out.push(
          err(
            at,
            `must be ${JSON.stringify(e.params.allowedValue)}, got ${describe(valueAt(root, at))}`,
          ),
        );
        break;
      case "anyOf": {
        const branches = errors
          .filter((b) => b.schemaPath.startsWith(`${e.schemaPath}/anyOf/`) && b.keyword === "type")
          .map((b) => String(b.params.type));
        out.push(err(at, `must be ${branches.join(" or ")}, got ${describe(valueAt(root, at))}`));
        break;
      }
      case "minimum":
      case "maximum":
        out.push(err(at, `${String(valueAt(root, at))} is out of range (${e.message})`));
        break;
      default:
        out.push(err(at, e.message));
    }
  }
  return out;
}

/**
 * Copies `value`, dropping `null` members of schema-described structs (Go leaves such fields at
 * their zero value). Maps, lists and opaque subtrees keep their nulls.
 */
function stripNulls(value: unknown, schema: TSchema | undefined): unknown {
  const s = schema as Obj | undefined;
  if (Array.isArray(value)) {
    const items = s?.items as TSchema | undefined;
    return items === undefined ? value : value.map((v) => stripNulls(v, items));
  }
  if (!isObject(value) || s === undefined) return value;
  const props = s.properties as Record<string, TSchema> | undefined;
  const pattern = s.patternProperties as Record<string, TSchema> | undefined;
  if (props === undefined && pattern === undefined) return value;
  const mapValue = pattern ? Object.values(pattern)[0] : undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    if (props !== undefined) {
      const p = props[k];
      if (p !== undefined) {
        if (v !== null) out[k] = stripNulls(v, p);
        continue;
      }
    }
    out[k] = v === null ? v : stripNulls(v, mapValue);
  }
  return out;
}

// ----- spec.template (the pod Argo would run) --------------------------------------------------

/**
 * sensorbus runs every EventSource and Sensor in its own process, so of Argo's pod template only
 * `serviceAccountName` has a meaning (the identity Kubernetes calls are made as, with
 * `--impersonate` and in controller mode); each other field is warned about by name.
 */
function checkPodTemplate(spec: Obj, out: Finding[]): void {
  const template = spec.template;
  if (!isObject(template)) return;
  for (const field of Object.keys(template)) {
    if (field === "serviceAccountName") continue;
    out.push(
      warn(
        join("/spec/template", field),
        `template.${field} is ignored: sensorbus runs this in its own process, not in a pod of its own (only serviceAccountName is used, as the identity of its Kubernetes calls)`,
      ),
    );
  }
}

/**
 * Secret/ConfigMap selectors: Kubernetes names and keys only (a name like `../x` would read a file
 * outside `--secrets-dir`); the same check the resolver applies (config/value-refs.ts).
 */
function checkValueRefs(doc: Obj, schema: TSchema, out: Finding[]): void {
  const refs = findValueRefs(doc, schema);
  for (const ref of refs) {
    const name = typeof ref.name === "string" ? checkObjectName(ref.name) : undefined;
    if (name) out.push(err(join(ref.pointer, "name"), `${ref.kind} name: ${name}`));
    const key = typeof ref.key === "string" ? checkObjectKey(ref.key) : undefined;
    if (key) out.push(err(join(ref.pointer, "key"), `${ref.kind} key: ${key}`));
  }
  const ns = isObject(doc.metadata) ? doc.metadata.namespace : undefined;
  if (refs.length > 0 && typeof ns === "string") {
    const bad = checkNamespace(ns);
    if (bad)
      out.push(
        err("/metadata/namespace", `${bad}: the Secrets/ConfigMaps it names cannot be read`),
      );
  }
}

// ----- EventSource ------------------------------------------------------------------------------

function checkEventSource(doc: Obj, spec: Obj, out: Finding[]): void {
  const meta = doc.metadata;
  if (isObject(meta) && typeof meta.name === "string" && meta.name !== "") {
    const p = checkSubjectToken("EventSource name", meta.name);
    if (p) out.push(err("/metadata/name", p));
  }
  const seen = new Map<string, string>();
  let rolling = 0;
  let recreate = 0;
  const types = [...SUPPORTED_EVENTSOURCE_TYPES, ...OTHER_EVENTSOURCE_TYPES] as const;
  for (const type of types) {
    const entries = spec[type];
    if (!isObject(entries)) continue;
    const names = Object.keys(entries);
    if (names.length === 0) continue;
    if (RECREATE_TYPES.has(type)) recreate++;
    else rolling++;
    const supported = (SUPPORTED_EVENTSOURCE_TYPES as readonly string[]).includes(type);
    if (!supported) {
      out.push(
        warn(
          join("/spec", type),
          `${type} event sources are not run by sensorbus (accepted, but they produce no events; Argo's ${type}-specific validation is not applied)`,
        ),
      );
    }
    for (const name of names) {
      const at = join("/spec", type, name);
      const token = checkSubjectToken("event name", name);
      if (token) out.push(err(at, token));
      const first = seen.get(name);
      if (first !== undefined) {
        out.push(err(at, `more than one "${name}" found in the spec (also under ${first})`));
      } else seen.set(name, at);
      const entry = entries[name];
      if (!isObject(entry)) continue;
      if (type === "webhook") checkWebhook(entry, at, out);
      else if (type === "pubSub") checkPubSub(entry, at, out);
      else if (type === "calendar") checkCalendar(entry, at, out);
      else if (type === "resource") checkResource(entry, at, out);
      if (supported) checkEntryFilter(entry, at, out);
    }
  }
  if (rolling > 0 && recreate > 0) {
    out.push(
      err(
        "/spec",
        "event sources with rolling update and recreate update strategy can not be put together (webhook-style sources cannot share an EventSource with calendar, pubSub or resource)",
      ),
    );
  }
  if (seen.size === 0) out.push(warn("/spec", "no event sources defined: nothing will be emitted"));
}

function checkEntryFilter(entry: Obj, at: string, out: Finding[]): void {
  const filter = entry.filter;
  if (!isObject(filter) || typeof filter.expression !== "string" || filter.expression === "")
    return;
  try {
    compileExpr(filter.expression);
  } catch (e) {
    out.push(
      warn(
        join(at, "filter", "expression"),
        `expression does not compile (${(e as Error).message}): every event will be dropped`,
      ),
    );
  }
}

function checkWebhook(entry: Obj, at: string, out: Finding[]): void {
  const port = entry.port;
  if (typeof port === "string" && port !== "") {
    if (!/^[+-]?\d+$/.test(port) || !Number.isSafeInteger(Number(port))) {
      out.push(
        err(
          join(at, "port"),
          `failed to parse server port ${port}. err: strconv.Atoi: parsing ${JSON.stringify(port)}: invalid syntax`,
        ),
      );
    } else if (Number(port) < 0 || Number(port) > 65535) {
      out.push(warn(join(at, "port"), `port ${port} is outside 0-65535: the server cannot listen`));
    }
  }
  if (str(entry.method) === "") {
    out.push(warn(join(at, "method"), "method is empty: Argo answers every request with 400"));
  }
  if ((entry.serverCertSecret === undefined) !== (entry.serverKeySecret === undefined)) {
    out.push(
      warn(
        at,
        "only one of serverCertSecret and serverKeySecret is set: the endpoint serves plain HTTP",
      ),
    );
  }
  if (typeof entry.maxPayloadSize === "number" && entry.maxPayloadSize <= 0) {
    out.push(warn(join(at, "maxPayloadSize"), "maxPayloadSize <= 0 refuses every POST body"));
  }
  checkHmacTimestamp(entry, at, out);
}

/** `hmac.timestamp` (sensorbus extension): what the webhook refuses at start, said up front. */
function checkHmacTimestamp(entry: Obj, at: string, out: Finding[]): void {
  const hmac = entry.hmac as Obj | undefined;
  const ts = hmac && typeof hmac === "object" ? (hmac.timestamp as Obj | undefined) : undefined;
  if (!ts || typeof ts !== "object") return;
  const where = join(at, "hmac", "timestamp");
  if (typeof ts.maxAge === "string") {
    const nanos = parseDuration(ts.maxAge);
    if (nanos === undefined || nanos < 1_000_000_000n)
      out.push(err(join(where, "maxAge"), `'${ts.maxAge}' is not a Go duration of at least 1s`));
  }
  if (typeof ts.signed === "string") {
    const t = ts.signed.indexOf("{timestamp}");
    const b = ts.signed.indexOf("{body}");
    if (
      t < 0 ||
      b < t ||
      ts.signed.indexOf("{timestamp}", t + 1) >= 0 ||
      ts.signed.indexOf("{body}", b + 1) >= 0
    )
      out.push(
        err(join(where, "signed"), `'${ts.signed}' must hold {timestamp} once, then {body} once`),
      );
  }
}

function checkPubSub(entry: Obj, at: string, out: Finding[]): void {
  if (str(entry.topicProjectID) !== "" && str(entry.topic) === "") {
    out.push(err(at, "you can't specify topicProjectID if you don't specify topic"));
  }
  if (str(entry.topic) === "" && str(entry.subscriptionID) === "") {
    out.push(err(at, "must specify topic or subscriptionID"));
  }
}

function checkCalendar(entry: Obj, at: string, out: Finding[]): void {
  const schedule = str(entry.schedule);
  const interval = str(entry.interval);
  if (schedule === "" && interval === "") {
    out.push(err(at, "must have either schedule or interval"));
    return;
  }
  if (schedule !== "" && interval !== "")
    out.push(warn(join(at, "interval"), "interval is ignored when schedule is set"));
  arr(entry.exclusionDates).forEach((d, i) => {
    if (typeof d === "string" && !d.startsWith("EXDATE:")) {
      out.push(
        warn(join(at, "exclusionDates", i), `"${d}" does not start with EXDATE: and is ignored`),
      );
    }
  });
  // What the calendar EventSource refuses at start (the entry does not run): its own check.
  const problem = calendarSpecProblem(entry as Parameters<typeof calendarSpecProblem>[0]);
  if (problem) {
    out.push(err(join(at, ...(problem.field.match(/[^.[\]]+/g) ?? [])), problem.message));
  }
}

const SELECTION_OPERATORS = new Set(["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"]);

function checkResource(entry: Obj, at: string, out: Finding[]): void {
  if (entry.eventTypes === undefined) {
    out.push(err(at, "event types must be specified"));
  } else {
    const types = arr(entry.eventTypes);
    if (types.length === 0)
      out.push(warn(join(at, "eventTypes"), "no event types: nothing is emitted"));
    types.forEach((t, i) => {
      if (typeof t === "string" && !["ADD", "UPDATE", "DELETE"].includes(t)) {
        out.push(
          warn(join(at, "eventTypes", i), `unknown event type "${t}" (ADD, UPDATE, DELETE)`),
        );
      }
    });
  }
  const filter = entry.filter;
  if (!isObject(filter)) return;
  for (const list of ["labels", "fields"] as const) {
    arr(filter[list]).forEach((sel, i) => {
      if (!isObject(sel)) return;
      const op = str(sel.operation);
      if (op !== "" && !SELECTION_OPERATORS.has(op)) {
        out.push(
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
    out.push(
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

// ----- Sensor -----------------------------------------------------------------------------------

interface SensorContext {
  deps: Set<string>;
  /** dependency names in spec order (the implicit condition joins them) */
  order: string[];
  /**
   * `dest` of the trigger-level `parameters`: template fields rewritten at firing time
   * (`argoWorkflow.parameters.0.src.dependencyName`), so their written value need not be valid.
   */
  rewritten: readonly string[];
}

function checkSensor(spec: Obj, out: Finding[]): void {
  const count = arr(spec.dependencies).length;
  if (count > MAX_DEPENDENCIES) {
    out.push(err("/spec/dependencies", conditionLimitProblem(undefined, count) ?? ""));
  }
  const deps = new Set<string>();
  const order: string[] = [];
  arr(spec.dependencies).forEach((dep, i) => {
    if (!isObject(dep)) return;
    const at = join("/spec/dependencies", i);
    const name = str(dep.name);
    if (name !== "") {
      if (deps.has(name)) {
        out.push(
          warn(
            join(at, "name"),
            `duplicate dependency name "${name}": conditions and parameters cannot tell them apart`,
          ),
        );
      }
      deps.add(name);
      order.push(name);
    }
    for (const field of ["eventSourceName", "eventName"] as const) {
      const value = str(dep[field]);
      if (value === "") continue;
      const p = checkSubjectToken(field, value);
      if (p) out.push(err(join(at, field), p));
    }
    checkLogicalOperator(dep.filtersLogicalOperator, join(at, "filtersLogicalOperator"), out);
    if (isObject(dep.filters)) checkFilters(dep.filters, join(at, "filters"), out);
    const transform = dep.transform;
    if (isObject(transform) && str(transform.jq) !== "" && str(transform.script) !== "") {
      out.push(warn(join(at, "transform"), "both jq and script are set: only jq is used"));
    }
  });
  const ctx: SensorContext = { deps, order, rewritten: [] };
  const names = new Set<string>();
  arr(spec.triggers).forEach((t, i) => {
    if (!isObject(t)) return;
    const at = join("/spec/triggers", i);
    checkTrigger(t, at, ctx, out);
    const template = t.template;
    if (!isObject(template)) return;
    const name = str(template.name);
    if (name === "") return;
    if (names.has(name))
      out.push(err(join(at, "template", "name"), `duplicate trigger name: ${name}`));
    names.add(name);
  });
}

function checkLogicalOperator(op: unknown, at: string, out: Finding[]): void {
  if (typeof op === "string" && op !== "" && op !== "and" && op !== "or") {
    out.push(err(at, `logical operator ${op} not supported`));
  }
}

const COMPARATORS = new Set([">=", ">", "=", "!=", "<", "<="]);

function checkFilters(filters: Obj, at: string, out: Finding[]): void {
  checkLogicalOperator(filters.exprLogicalOperator, join(at, "exprLogicalOperator"), out);
  checkLogicalOperator(filters.dataLogicalOperator, join(at, "dataLogicalOperator"), out);
  arr(filters.exprs).forEach((f, i) => {
    if (!isObject(f) || typeof f.expr !== "string" || f.expr === "") return;
    try {
      compileGovaluate(f.expr);
    } catch (e) {
      out.push(
        warn(
          join(at, "exprs", i, "expr"),
          `expression does not parse (${(e as Error).message}): the filter always errors, so events are rejected`,
        ),
      );
    }
  });
  arr(filters.data).forEach((f, i) => {
    if (!isObject(f)) return;
    const fat = join(at, "data", i);
    const comparator = f.comparator;
    if (typeof comparator === "string" && comparator !== "" && !COMPARATORS.has(comparator)) {
      out.push(err(join(fat, "comparator"), `comparator ${comparator} not supported`));
    }
    arr(f.value).forEach((v, j) => {
      if (v === "") {
        out.push(
          err(join(fat, "value", j), "one of data filters is not valid (value must be not empty)"),
        );
      } else if (f.type === "string" && typeof v === "string") {
        // A string filter's values are Go (RE2) regexps. Argo's controller admits one that does
        // not compile, and every event then fails the filter with this error; sensorbus refuses
        // the Sensor instead (docs/security/regex.md).
        const problem = goRegexpError(v);
        if (problem !== undefined) out.push(err(join(fat, "value", j), problem));
      }
    });
    const type = f.type;
    if (typeof type === "string" && type !== "" && !["string", "number", "bool"].includes(type)) {
      out.push(
        warn(
          join(fat, "type"),
          `unsupported JSON type '${type}' (string, number, bool): Argo rejects it only at run time, so every event fails this filter`,
        ),
      );
    }
  });
  const context = filters.context;
  if (isObject(context)) {
    const keys = ["type", "subject", "source", "datacontenttype"] as const;
    if (keys.every((k) => str(context[k]) === "")) {
      out.push(
        err(
          join(at, "context"),
          "no fields specified in ctx filter (aka all events will be discarded)",
        ),
      );
    }
  }
  const time = filters.time;
  if (isObject(time)) checkTimeFilter(time, join(at, "time"), out);
}

/** Go's time.Parse("15:04:05") as Argo's validation uses it: seconds of the day, or an error. */
function parseClock(value: string): number | string {
  const m = /^(\d{1,2}):(\d{2}):(\d{2})([.,]\d+)?$/.exec(value);
  if (!m) return `parsing time "${value}" as "15:04:05": cannot parse`;
  const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (h > 23) return `parsing time "${value}": hour out of range`;
  if (mi > 59) return `parsing time "${value}": minute out of range`;
  if (s > 59) return `parsing time "${value}": second out of range`;
  return h * 3600 + mi * 60 + s + (m[4] ? Number(`0.${m[4].slice(1)}`) : 0);
}

function checkTimeFilter(time: Obj, at: string, out: Finding[]): void {
  const tz = time.timezone;
  if (typeof tz === "string" && tz !== "" && loadLocation(tz) === undefined) {
    out.push(err(join(at, "timezone"), `invalid timezone '${tz}': unknown time zone ${tz}`));
    return;
  }
  if (typeof time.start !== "string" || typeof time.stop !== "string") return;
  const start = parseClock(time.start);
  if (typeof start === "string") {
    out.push(err(join(at, "start"), start));
    return;
  }
  const stop = parseClock(time.stop);
  if (typeof stop === "string") {
    out.push(err(join(at, "stop"), stop));
    return;
  }
  if (start === stop) {
    out.push(
      err(at, `invalid event time filter: stop '${time.stop}' is equal to start '${time.start}'`),
    );
  }
}

// ----- triggers ---------------------------------------------------------------------------------

function checkTrigger(t: Obj, at: string, ctx: SensorContext, out: Finding[]): void {
  const template = t.template;
  const rewritten = arr(t.parameters)
    .map((p) => (isObject(p) ? str(p.dest) : ""))
    .filter((d) => d !== "");
  if (isObject(template)) checkTemplate(template, join(at, "template"), { ...ctx, rewritten }, out);
  checkPolicy(t, at, out);
  checkParameters(t.parameters, join(at, "parameters"), "template parameter", ctx, out);
  if (isObject(t.retryStrategy)) checkBackoff(t.retryStrategy, join(at, "retryStrategy"), out);
  const rateLimit = t.rateLimit;
  if (isObject(rateLimit)) {
    const unit = rateLimit.unit;
    if (typeof unit === "string" && unit !== "" && !["Second", "Minute", "Hour"].includes(unit)) {
      out.push(
        warn(
          join(at, "rateLimit", "unit"),
          `unknown unit "${unit}" (Second, Minute, Hour): treated as Second`,
        ),
      );
    }
  }
  const dlq = t.dlqTrigger;
  if (dlq === undefined || dlq === null) return;
  if (t.atLeastOnce !== true) {
    out.push(
      err(join(at, "atLeastOnce"), "to use dlqTrigger, trigger.atLeastOnce must be set to true"),
    );
  }
  if (!isObject(dlq)) return;
  const dat = join(at, "dlqTrigger");
  if (dlq.atLeastOnce !== true) {
    out.push(
      err(join(dat, "atLeastOnce"), "atLeastOnce must be set to true within the dlqTrigger"),
    );
  }
  if (dlq.template === undefined) out.push(err(dat, "template is required"));
  checkTrigger(dlq, dat, ctx, out);
}

const K8S_OPERATIONS = new Set(["", "create", "update", "patch", "delete"]);
const WORKFLOW_OPERATIONS = new Set([
  "submit",
  "submit-from",
  "suspend",
  "retry",
  "resume",
  "resubmit",
  "terminate",
  "stop",
]);
const HTTP_METHODS = new Set(["GET", "DELETE", "PATCH", "POST", "PUT"]);

function checkTemplate(template: Obj, at: string, ctx: SensorContext, out: Finding[]): void {
  arr(template.conditionsReset).forEach((c, i) => {
    const cat = join(at, "conditionsReset", i);
    if (!isObject(c) || !isObject(c.byTime)) {
      out.push(err(cat, "invalid conditionsReset"));
      return;
    }
    const cron = str(c.byTime.cron);
    if (parseCron(cron) !== undefined) {
      out.push(err(join(cat, "byTime", "cron"), `invalid cron expression ${JSON.stringify(cron)}`));
    }
    const tz = str(c.byTime.timezone);
    if (loadLocation(tz) === undefined) {
      out.push(err(join(cat, "byTime", "timezone"), `invalid timezone ${JSON.stringify(tz)}`));
    }
  });
  checkConditions(
    typeof template.conditions === "string" ? template.conditions : undefined,
    join(at, "conditions"),
    ctx,
    out,
  );

  const kinds = KIND_PRECEDENCE.filter((k) => template[k] !== undefined);
  if (kinds.length === 0) {
    out.push(
      warn(
        at,
        "no trigger kind (http, k8s, argoWorkflow, log, ...) is set: the trigger fails at run time",
      ),
    );
  } else if (kinds.length > 1) {
    out.push(
      warn(at, `several trigger kinds are set (${kinds.join(", ")}): only ${kinds[0]} is executed`),
    );
  }
  const first = kinds[0];
  if (first !== undefined && !(EXECUTED_TRIGGER_KINDS as readonly string[]).includes(first)) {
    out.push(
      warn(
        join(at, first),
        `${first} triggers are not executed by sensorbus (accepted; every firing fails at run time)`,
      ),
    );
  }

  const k8s = template.k8s;
  if (isObject(k8s)) {
    const kat = join(at, "k8s");
    if (typeof k8s.operation === "string" && !K8S_OPERATIONS.has(k8s.operation)) {
      out.push(err(join(kat, "operation"), `unknown operation type ${k8s.operation}`));
    }
    checkParameters(k8s.parameters, join(kat, "parameters"), "resource parameter", ctx, out, {
      path: "k8s.parameters",
    });
    checkSource(k8s.source, join(kat, "source"), ctx, "k8s.source", out);
  }
  const wf = template.argoWorkflow;
  if (isObject(wf)) {
    const wat = join(at, "argoWorkflow");
    const op = str(wf.operation);
    if (!WORKFLOW_OPERATIONS.has(op))
      out.push(err(join(wat, "operation"), `unknown operation type ${op}`));
    else if (!touches(ctx, "argoWorkflow.args"))
      checkWorkflowArgList(op, wf.args, join(wat, "args"), out);
    checkParameters(wf.parameters, join(wat, "parameters"), "resource parameter", ctx, out, {
      path: "argoWorkflow.parameters",
    });
    checkSource(wf.source, join(wat, "source"), ctx, "argoWorkflow.source", out);
  }
  const http = template.http;
  if (isObject(http)) {
    const hat = join(at, "http");
    const method = str(http.method);
    if (method !== "" && !HTTP_METHODS.has(method)) {
      out.push(
        err(join(hat, "method"), "only GET, DELETE, PATCH, POST and PUT methods are supported"),
      );
    }
    checkParameters(http.parameters, join(hat, "parameters"), "resource parameter", ctx, out, {
      path: "http.parameters",
    });
    checkParameters(http.payload, join(hat, "payload"), "payload", ctx, out, {
      emptyDest: true,
      path: "http.payload",
    });
    checkParameters(http.dynamicHeaders, join(hat, "dynamicHeaders"), "", ctx, out, {
      argoChecks: false,
      path: "http.dynamicHeaders",
    });
  }
  checkOtherKinds(template, at, ctx, out);
}

function checkOtherKinds(template: Obj, at: string, ctx: SensorContext, out: Finding[]): void {
  const need = (o: Obj, field: string, kat: string, message: string) => {
    if (str(o[field]) === "") out.push(err(kat, message));
  };
  const params = (o: Obj, kat: string, field: "parameters" | "payload", label: string) =>
    checkParameters(o[field], join(kat, field), label, ctx, out, {
      path: `${kat.slice(kat.lastIndexOf("/") + 1)}.${field}`,
    });
  const needPayload = (o: Obj, kat: string, message: string) => {
    if (o.payload === undefined) out.push(err(kat, message));
  };
  for (const kind of Object.keys(OTHER_TRIGGER_KINDS)) {
    const o = template[kind];
    if (!isObject(o)) continue;
    const kat = join(at, kind);
    switch (kind) {
      case "awsLambda":
        need(o, "functionName", kat, "function name is not specified");
        need(o, "region", kat, "region in not specified");
        needPayload(o, kat, "payload parameters are not specified");
        params(o, kat, "parameters", "resource parameter");
        params(o, kat, "payload", "payload");
        break;
      case "kafka":
        need(o, "url", kat, "broker url must not be empty");
        needPayload(o, kat, "payload must not be empty");
        need(o, "topic", kat, "topic must not be empty");
        params(o, kat, "payload", "payload");
        break;
      case "nats":
        need(o, "url", kat, "nats server url can't be empty");
        need(o, "subject", kat, "nats subject can't be empty");
        needPayload(o, kat, "payload can't be nil");
        params(o, kat, "payload", "payload");
        break;
      case "slack":
        if (o.slackToken === undefined) out.push(err(kat, "slack token can't be empty"));
        params(o, kat, "parameters", "resource parameter");
        break;
      case "openWhisk":
        need(o, "actionName", kat, "action name is not specified");
        need(o, "host", kat, "host URL is not specified");
        if (
          isObject(o.authToken) &&
          (str(o.authToken.name) === "" || str(o.authToken.key) === "")
        ) {
          out.push(err(join(kat, "authToken"), "auth token key and name must be specified"));
        }
        params(o, kat, "parameters", "resource parameter");
        needPayload(o, kat, "payload parameters are not specified");
        params(o, kat, "payload", "resource parameter");
        break;
      case "custom":
        need(o, "serverURL", kat, "custom trigger gRPC server url is not defined");
        if (o.spec === undefined) out.push(err(kat, "trigger body can't be empty"));
        if (o.secure === true && o.certSecret === undefined) {
          out.push(
            err(kat, "certSecret can't be nil when the trigger server connection is secure"),
          );
        }
        params(o, kat, "parameters", "resource parameter");
        break;
      case "email":
        need(o, "host", kat, "host can't be empty");
        if (typeof o.port === "number" && (o.port < 0 || o.port > 65535)) {
          out.push(err(join(kat, "port"), `port: ${o.port}, port should be between 0-65535`));
        }
        params(o, kat, "parameters", "resource parameter");
        break;
      default:
        break;
    }
  }
}

/**
 * The trigger source as `fetchResource` will read it: s3, git and no location fail every firing.
 * A source that trigger-level parameters replace is not judged; one whose fields they rewrite
 * keeps its location (an s3 source with a rewritten bucket is still s3), unless it had none.
 */
function checkSource(
  source: unknown,
  at: string,
  ctx: SensorContext,
  path: string,
  out: Finding[],
): void {
  if (!isObject(source) || replaces(ctx, path)) return;
  try {
    sourceLocation(source, "source");
  } catch (e) {
    const m = /^source(?:\.(s3|git))?: (.*)$/s.exec(errorMessage(e));
    if (!m?.[1] && touches(ctx, path)) return; // a location may be written at firing time
    out.push(err(m?.[1] ? join(at, m[1]) : at, m?.[2] ?? errorMessage(e)));
  }
}

/** `argoWorkflow.args` as the trigger parses them at firing time. */
function checkWorkflowArgList(operation: string, args: unknown, at: string, out: Finding[]): void {
  if (!Array.isArray(args)) return;
  try {
    for (const a of checkWorkflowArgs(operation, args, "args")) {
      out.push(warn(join(at, a.index), `'${a.arg}' is accepted but ignored: ${a.reason}`));
    }
  } catch (e) {
    const m = /^args(?:\.(\d+))?: (.*)$/s.exec(errorMessage(e));
    out.push(
      err(
        m?.[1] ? join(at, Number(m[1])) : at,
        `${m?.[2] ?? errorMessage(e)}: every firing would fail`,
      ),
    );
  }
}

/** Argo checks the k8s policy for k8s/argoWorkflow triggers and the status policy for http/awsLambda. */
function checkPolicy(t: Obj, at: string, out: Finding[]): void {
  const policy = t.policy;
  const template = t.template;
  if (!isObject(policy) || !isObject(template)) return;
  const pat = join(at, "policy");
  if (template.k8s !== undefined || template.argoWorkflow !== undefined) {
    if (isObject(policy.k8s)) {
      if (policy.k8s.labels === undefined) {
        out.push(err(join(pat, "k8s"), "resource labels are not specified"));
      }
      if (isObject(policy.k8s.backoff))
        checkBackoff(policy.k8s.backoff, join(pat, "k8s", "backoff"), out);
    }
    return;
  }
  if (template.http !== undefined || template.awsLambda !== undefined) {
    if (isObject(policy.status) && policy.status.allow === undefined) {
      out.push(err(join(pat, "status"), "list of allowed response status is not specified"));
    }
  }
}

function checkBackoff(b: Obj, at: string, out: Finding[]): void {
  const d = b.duration;
  if (typeof d === "string" && parseDuration(d) === undefined) {
    out.push(
      warn(
        join(at, "duration"),
        `"${d}" is not a Go duration (a string needs a unit, e.g. "10s"; a YAML integer means nanoseconds): Argo accepts it but the trigger never runs`,
      ),
    );
  }
  for (const k of ["factor", "jitter"] as const) {
    const v = b[k];
    if (v !== undefined && typeof v !== "number") {
      out.push(
        warn(
          join(at, k),
          `${k} must be a YAML number, got ${describe(v)}: Argo accepts it but the trigger never runs`,
        ),
      );
    }
  }
}

const PARAM_OPERATIONS = new Set(["", "append", "overwrite", "prepend"]);

/**
 * Argo's validateTriggerParameter (`emptyDest` = its HTTP-payload variant). `argoChecks: false`
 * for lists Argo does not validate (only warnings then).
 */
function checkParameters(
  list: unknown,
  at: string,
  label: string,
  ctx: SensorContext,
  out: Finding[],
  opts: { emptyDest?: boolean; argoChecks?: boolean; path?: string } = {},
): void {
  const argo = opts.argoChecks ?? true;
  arr(list).forEach((p, i) => {
    const pat = join(at, i);
    if (!isObject(p)) return;
    const fail = (where: string, message: string) =>
      out.push(argo ? err(where, `${label} index: ${i}. err: ${message}`) : warn(where, message));
    const src = p.src;
    if (!isObject(src)) {
      fail(pat, "parameter source can't be empty");
      return;
    }
    const dep = str(src.dependencyName);
    if (dep === "") fail(join(pat, "src"), "parameter dependency name can't be empty");
    else if (!ctx.deps.has(dep) && !isRewritten(ctx, opts.path, i, "src.dependencyName")) {
      out.push(
        warn(
          join(pat, "src", "dependencyName"),
          `"${dep}" is not a dependency of this Sensor: the parameter is always skipped (names must match exactly)`,
        ),
      );
    }
    for (const field of ["dataTemplate", "contextTemplate"] as const) {
      const text = src[field];
      if (typeof text !== "string" || text === "") continue;
      try {
        compileTemplate(text); // the parser the firing uses
      } catch (e) {
        out.push(
          warn(
            join(pat, "src", field),
            `${field} does not parse (${errorMessage(e)}): the parameter falls back to the ${field === "dataTemplate" ? "dataKey" : "contextKey"} or value, else the firing fails`,
          ),
        );
      }
    }
    if (!opts.emptyDest && str(p.dest) === "") fail(pat, "parameter destination can't be empty");
    const op = p.operation;
    if (typeof op === "string" && !PARAM_OPERATIONS.has(op)) {
      fail(join(pat, "operation"), `parameter operation ${op} is invalid`);
    }
  });
}

/**
 * True when a trigger-level parameter rewrites `path` or part of it: the firing sees another value,
 * so the one written is not checked as the runtime will see it.
 */
function touches(ctx: SensorContext, path: string): boolean {
  return replaces(ctx, path) || ctx.rewritten.some((d) => d.startsWith(`${path}.`));
}

/** True when a trigger-level parameter replaces `path` as a whole (its dest is it or a parent). */
function replaces(ctx: SensorContext, path: string): boolean {
  return ctx.rewritten.some((d) => d === path || path.startsWith(`${d}.`));
}

/** True when a trigger-level parameter rewrites `<path>.<index>.<field>` (or a parent of it). */
function isRewritten(
  ctx: SensorContext,
  path: string | undefined,
  index: number,
  field: string,
): boolean {
  return path !== undefined && replaces(ctx, `${path}.${index}.${field}`);
}

/**
 * `conditions` (or, when empty, the implicit one over every dependency), parsed by the runtime's
 * parser. Over sensorbus's limits it is an error (run refuses the Sensor too); any other problem
 * is a warning, as Argo only finds it at run time (the trigger never runs).
 */
function checkConditions(
  text: string | undefined,
  at: string,
  ctx: SensorContext,
  out: Finding[],
): void {
  if (ctx.order.length > MAX_DEPENDENCIES) return; // reported once, at /spec/dependencies
  const over = conditionLimitProblem(text, ctx.order.length);
  if (over !== undefined) {
    out.push(err(at, over));
    return;
  }
  if (text === undefined || text.trim() === "") return;
  try {
    parseCondition(text, ctx.order);
  } catch (e) {
    out.push(warn(at, `${errorMessage(e)}: the trigger never runs`));
  }
}

/** The runtime parser's (lib/cron.ts, robfig/cron's) message for a bad spec, or undefined. */
export function parseCron(spec: string): string | undefined {
  try {
    parseCronSchedule(spec);
    return undefined;
  } catch (e) {
    return errorMessage(e);
  }
}
