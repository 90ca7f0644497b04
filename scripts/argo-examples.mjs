#!/usr/bin/env node
/**
 * The official Argo Events example manifests, measured against sensorbus.
 *
 *   npm run build && node scripts/argo-examples.mjs /path/to/argo-events [--json]
 *
 * For every YAML/JSON file under examples/event-sources/, examples/sensors/ and
 * examples/tutorials/ of an Argo Events checkout it runs `sensorbus validate FILE` (the real CLI,
 * bin/sensorbus.js over dist/) and classifies the file:
 *
 *   clean    validate exits 0 with no warning about the file's EventSources/Sensors
 *   warned   validate exits 0 with warnings
 *   refused  validate exits 1 (an error names the file and field)
 *   crashed  any other exit, or output that is not validate's (a defect in sensorbus)
 *   other    the file holds no EventSource or Sensor (a Workflow, ConfigMap, Deployment, ...)
 *
 * For each Sensor with a trigger sensorbus executes (every kind with a runtime) it then runs
 * `sensorbus replay` offline with one synthetic CloudEvent per dependency and records which
 * triggers fired, what they rendered, and every rejected/error line. How an event is built is
 * recorded with it (`eventNotes`): the data comes from the manifest's "Event Payload" comment
 * when it has one, else from the shape of the matching EventSource type with every path the
 * dependency's data filters, expr fields and parameters read filled in so that they pass. A secret
 * referenced by the Sensor is supplied through --secrets-dir with a marker value, so the report
 * can say whether a secret value reached replay's output; ConfigMaps defined among the examples
 * are supplied through --configmaps-dir.
 *
 * Output: a Markdown report on stdout (counts per directory and class, then one row per file), or
 * the same data as JSON with --json. No dependency beyond Node and the project's own `yaml`.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, extname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseAllDocuments } from "yaml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_BIN = join(ROOT, "bin", "sensorbus.js");
export const DIRECTORIES = ["examples/event-sources", "examples/sensors", "examples/tutorials"];
export const CLASSES = ["clean", "warned", "refused", "crashed", "other"];
/** The trigger kinds sensorbus executes (and replay renders): those with a runtime, from dist/. */
export const EXECUTED_TRIGGER_KINDS = (
  await import(pathToFileURL(join(ROOT, "dist", "triggers", "registry.js")).href)
).TRIGGER_KINDS.map((k) => k.key);
/** Argo's trigger kind precedence (the first one set is executed). */
const TRIGGER_KINDS = [
  "k8s",
  "argoWorkflow",
  "http",
  "awsLambda",
  "azureEventHubs",
  "azureServiceBus",
  "kafka",
  "pulsar",
  "nats",
  "slack",
  "openWhisk",
  "custom",
  "log",
  "email",
];
/** CloudEvent `type` per EventSource spec key (Argo's EventSourceType constants). */
const CE_TYPES = {
  pubSub: "pubsub",
  storageGrid: "storagegrid",
  sns: "sns",
  sqs: "sqs",
};
/** The fixed replay date; time filters move the time of day. */
const EVENT_DATE = "2024-07-15";
const SECRET_MARKER = "sbx-secret-";
const TIMEOUT_MS = 60_000;

// ----- running the CLI ----------------------------------------------------------------------------

function runCli(bin, args, timeoutMs = TIMEOUT_MS) {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1" } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
        done({ code, stdout, stderr, timedOut: err?.killed === true });
      },
    );
  });
}

// ----- validate -----------------------------------------------------------------------------------

/**
 * Parses `sensorbus validate FILE` output. Lines are `error: FILE[#n]: [/pointer: ]message` or
 * `warning: ...`, then a summary `N EventSource(s), M Sensor(s): E error(s), W warning(s)`.
 */
export function parseValidateOutput(file, stdout) {
  const errors = [];
  const warnings = [];
  const skipped = [];
  let summary;
  const unparsed = [];
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const s =
      /^(\d+) EventSource\(s\), (\d+) Sensor\(s\): (\d+) error\(s\), (\d+) warning\(s\)$/.exec(
        line,
      );
    if (s) {
      summary = {
        eventSources: Number(s[1]),
        sensors: Number(s[2]),
        errors: Number(s[3]),
        warnings: Number(s[4]),
      };
      continue;
    }
    const m = /^(error|warning): (.*)$/.exec(line);
    if (!m) {
      unparsed.push(line);
      continue;
    }
    let rest = m[2];
    if (rest.startsWith(file)) {
      rest = rest.slice(file.length);
      const doc = /^#(\d+)/.exec(rest);
      rest = rest.replace(/^#\d+/, "").replace(/^: /, "");
      if (doc) rest = `#${doc[1]} ${rest}`;
    }
    if (m[1] === "warning" && /skipped (kind \S+|a document without a kind)/.test(rest)) {
      const k = /skipped (?:kind (\S+?):|a document without a kind)/.exec(rest);
      skipped.push(k?.[1] ?? "(no kind)");
    } else if (m[1] === "error") errors.push(rest);
    else warnings.push(rest);
  }
  return { errors, warnings, skipped, summary, unparsed };
}

/** The class of one file from its validate exit code and parsed output. */
export function classify(code, parsed) {
  if (code !== 0 && code !== 1) return "crashed";
  if (!parsed.summary || parsed.unparsed.length > 0) return "crashed";
  if (code === 1 || parsed.errors.length > 0) return code === 1 ? "refused" : "crashed";
  if (parsed.summary.eventSources + parsed.summary.sensors === 0 && parsed.warnings.length === 0)
    return "other";
  return parsed.warnings.length > 0 ? "warned" : "clean";
}

// ----- documents ----------------------------------------------------------------------------------

function parseDocs(text) {
  try {
    return parseAllDocuments(text, { merge: true })
      .filter((d) => d.errors.length === 0)
      .map((d) => d.toJS({ maxAliasCount: 1000 }))
      .filter((v) => v && typeof v === "object");
  } catch {
    return [];
  }
}

async function walk(dir) {
  const out = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if ([".yaml", ".yml", ".json"].includes(extname(e.name).toLowerCase())) out.push(p);
  }
  return out;
}

/** Every example file with its parsed documents, by directory. */
export async function collectFiles(root) {
  const files = [];
  for (const dir of DIRECTORIES) {
    for (const path of await walk(join(root, dir))) {
      const text = await readFile(path, "utf8");
      files.push({ dir, path, rel: relative(root, path), text, docs: parseDocs(text) });
    }
  }
  return files;
}

/** EventSource name -> event name -> {type, entry}; ConfigMaps by name -> data. */
export function indexExamples(files) {
  const eventSources = new Map();
  const configMaps = new Map();
  for (const f of files) {
    for (const d of f.docs) {
      if (d.kind === "EventSource" && d.metadata?.name && d.spec) {
        const events = eventSources.get(d.metadata.name) ?? new Map();
        for (const [key, entries] of Object.entries(d.spec)) {
          if (!entries || typeof entries !== "object" || Array.isArray(entries)) continue;
          if (["template", "service"].includes(key)) continue;
          for (const [name, entry] of Object.entries(entries)) {
            if (!events.has(name)) events.set(name, { type: key, entry, file: f.rel });
          }
        }
        eventSources.set(d.metadata.name, events);
      }
      if (d.kind === "ConfigMap" && d.metadata?.name && d.data) {
        configMaps.set(d.metadata.name, d.data);
      }
    }
  }
  return { eventSources, configMaps };
}

// ----- synthetic events ---------------------------------------------------------------------------

/** The JSON object of an "# Event Payload" comment block at the top of a manifest, if any. */
export function payloadComment(text) {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^#\s*Event Payload/i.test(l));
  if (start < 0) return undefined;
  const body = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith("#")) break;
    body.push(l.replace(/^#/, ""));
  }
  const text2 = body.join("\n");
  const open = text2.indexOf("{");
  const close = text2.lastIndexOf("}");
  if (open < 0 || close < open) return undefined;
  try {
    return JSON.parse(text2.slice(open, close + 1));
  } catch {
    return undefined;
  }
}

/** gjson path -> keys, or undefined for paths this script cannot write (queries, wildcards). */
function pathKeys(path) {
  if (typeof path !== "string" || path === "" || /[#*?|@{}[\]]/.test(path)) return undefined;
  const keys = [];
  let cur = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === "\\" && i + 1 < path.length) {
      cur += path[++i];
    } else if (c === ".") {
      keys.push(cur);
      cur = "";
    } else cur += c;
  }
  keys.push(cur);
  return keys;
}

function getPath(obj, keys) {
  let cur = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== "object" || !(k in cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function setPath(obj, keys, value, overwrite = true) {
  let cur = obj;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i];
    if (cur[k] === null || typeof cur[k] !== "object") cur[k] = /^\d+$/.test(keys[i + 1]) ? [] : {};
    cur = cur[k];
  }
  const last = keys[keys.length - 1];
  if (overwrite || !(last in cur)) cur[last] = value;
}

/** A string the (unanchored RE2) regex matches, for the simple literals examples use. */
function sampleForRegex(re) {
  const plain = re.replace(/^\^/, "").replace(/\$$/, "");
  if (/^[\w\s.\-/:@,]*$/.test(plain)) return plain.replace(/\\(.)/g, "$1");
  const unescaped = plain.replace(/\\(.)/g, "$1");
  try {
    if (new RegExp(re).test(unescaped)) return unescaped;
  } catch {
    // not a JS regex either
  }
  return undefined;
}

function sampleForDataFilter(f) {
  const values = Array.isArray(f.value) ? f.value.map(String) : [];
  const v = values[0];
  if (v === undefined) return { ok: false, why: "no value" };
  const cmp = f.comparator ?? "";
  if (f.type === "number") {
    const n = Number(v);
    if (Number.isNaN(n)) return { ok: false, why: `value ${v} is not a number` };
    const pick = { ">": n + 1, ">=": n, "<": n - 1, "<=": n, "!=": n + 1 }[cmp] ?? n;
    return { ok: true, value: pick };
  }
  if (f.type === "bool") return { ok: true, value: /^(1|t|true)$/i.test(v) };
  if (cmp === "!=") return { ok: true, value: "sensorbus-synthetic" };
  const s = sampleForRegex(v);
  return s === undefined
    ? { ok: false, why: `cannot build a string matching /${v}/` }
    : { ok: true, value: s };
}

/** Literals compared with `==` in a govaluate expression: name -> value. */
function exprEqualities(expr) {
  const out = new Map();
  const re = /([A-Za-z_][\w.]*)\s*==\s*("([^"]*)"|'([^']*)'|-?\d+(?:\.\d+)?|true|false)/g;
  for (const m of expr.matchAll(re)) {
    let v;
    if (m[3] !== undefined) v = m[3];
    else if (m[4] !== undefined) v = m[4];
    else if (m[2] === "true" || m[2] === "false") v = m[2] === "true";
    else v = Number(m[2]);
    if (!out.has(m[1])) out.set(m[1], v);
  }
  return out;
}

/** Every parameter list of a trigger (nested kinds included). */
function parameterLists(trigger) {
  const lists = [trigger.parameters];
  const t = trigger.template ?? {};
  for (const kind of TRIGGER_KINDS) {
    const k = t[kind];
    if (k && typeof k === "object") lists.push(k.parameters, k.payload, k.dynamicHeaders);
  }
  return lists.filter(Array.isArray).flat();
}

/** `.Input.a.b` references in a Go template. */
function templatePaths(tpl) {
  return [...String(tpl).matchAll(/\.Input((?:\.[A-Za-z_][\w-]*)+)/g)].map((m) => m[1].slice(1));
}

function shapeFor(type, entry) {
  const metadata =
    entry?.metadata && Object.keys(entry.metadata).length > 0 ? entry.metadata : undefined;
  switch (type) {
    case "webhook":
      return {
        header: { "Content-Type": ["application/json"] },
        body: { message: "hello", value: 50 },
        ...(metadata ? { metadata } : {}),
      };
    case "calendar":
      return { eventTime: `${EVENT_DATE} 10:00:00 +0000 UTC`, ...(metadata ? { metadata } : {}) };
    case "resource":
      return {
        type: "ADD",
        body: {
          apiVersion: entry?.group ? `${entry.group}/${entry.version}` : (entry?.version ?? "v1"),
          kind: "Example",
          metadata: { name: "example", namespace: entry?.namespace || "argo-events", labels: {} },
        },
        oldBody: null,
        group: entry?.group ?? "",
        version: entry?.version ?? "v1",
        resource: entry?.resource ?? "",
      };
    case "pubSub":
      return {
        id: "1",
        body: { message: "hello", value: 50 },
        attributes: null,
        publishTime: `${EVENT_DATE} 10:00:00 +0000 UTC`,
      };
    case "minio":
    case "storageGrid":
      return {
        eventVersion: "2.0",
        eventSource: "minio:s3",
        eventName: "s3:ObjectCreated:Put",
        s3: { bucket: { name: "input" }, object: { key: "hello.txt" } },
      };
    default:
      return { body: { message: "hello", value: 50 } };
  }
}

/** UTC ISO time at which the wall clock in `zone` shows `hms` on EVENT_DATE. */
function timeInZone(hms, zone) {
  const guess = Date.parse(`${EVENT_DATE}T${hms}Z`);
  if (!zone) return new Date(guess).toISOString();
  let fmt;
  try {
    fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
  } catch {
    return new Date(guess).toISOString();
  }
  const parts = Object.fromEntries(fmt.formatToParts(guess).map((p) => [p.type, p.value]));
  const shown = Date.parse(
    `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}Z`,
  );
  return new Date(guess - (shown - guess)).toISOString();
}

function addSeconds(hms, s) {
  const [h, m, sec] = hms.split(":").map(Number);
  const t = (h * 3600 + m * 60 + sec + s) % 86400;
  const p = (n) => String(n).padStart(2, "0");
  return `${p(Math.floor(t / 3600))}:${p(Math.floor((t % 3600) / 60))}:${p(t % 60)}`;
}

/**
 * One structured CloudEvent per dependency of `sensor`, built to pass its filters where this
 * script can; `notes` says how each was built and where it could not be.
 */
export function buildEvents(sensor, text, index) {
  const deps = Array.isArray(sensor.spec?.dependencies) ? sensor.spec.dependencies : [];
  const triggers = Array.isArray(sensor.spec?.triggers) ? sensor.spec.triggers : [];
  const params = triggers.flatMap(parameterLists);
  const comment = payloadComment(text);
  const events = [];
  const notes = [];
  deps.forEach((dep, i) => {
    const name = dep?.name ?? `dep${i}`;
    const es = index.eventSources.get(dep.eventSourceName)?.get(dep.eventName);
    const type = es?.type ?? "webhook";
    if (!es) {
      notes.push(
        `${name}: no example EventSource ${dep.eventSourceName}/${dep.eventName}; webhook-shaped data`,
      );
    }
    let data;
    const paramPaths = params
      .filter((p) => p?.src?.dependencyName === name)
      .flatMap((p) => [p.src.dataKey, ...templatePaths(p.src.dataTemplate ?? "")])
      .filter((p) => typeof p === "string" && p !== "");
    if (comment !== undefined) {
      // The comment shows the request body; the filters say whether they read it under `body`.
      const read = [
        ...(dep.filters?.data ?? []).map((f) => f?.path),
        ...(dep.filters?.exprs ?? []).flatMap((x) => (x?.fields ?? []).map((f) => f?.path)),
        ...paramPaths,
      ];
      const underBody =
        read.some((p) => typeof p === "string" && p.startsWith("body.")) ||
        /\bevent\.body\b/.test(String(dep.filters?.script ?? ""));
      if (underBody) {
        data = shapeFor(type, es?.entry);
        data.body = structuredClone(comment);
        notes.push(`${name}: body from the manifest's Event Payload comment`);
      } else {
        data = structuredClone(comment);
        notes.push(`${name}: data from the manifest's Event Payload comment`);
      }
      for (const path of paramPaths) {
        const keys = pathKeys(path);
        if (keys && getPath(data, keys) === undefined) {
          setPath(data, keys, "example");
          notes.push(
            `${name}: added ${path} (a parameter reads it; the comment's payload lacks it)`,
          );
        }
      }
    } else {
      data = shapeFor(type, es?.entry);
      // Every path a parameter reads exists (a placeholder unless a filter below sets it).
      for (const path of paramPaths) {
        const keys = pathKeys(path);
        if (keys && getPath(data, keys) === undefined) setPath(data, keys, "example");
      }
      const filters = dep.filters ?? {};
      for (const f of Array.isArray(filters.data) ? filters.data : []) {
        const keys = pathKeys(f.path);
        const sample = sampleForDataFilter(f);
        if (!keys) notes.push(`${name}: data filter path ${f.path} not written by this script`);
        else if (!sample.ok) notes.push(`${name}: data filter ${f.path}: ${sample.why}`);
        else setPath(data, keys, sample.value);
      }
      for (const x of Array.isArray(filters.exprs) ? filters.exprs : []) {
        const eq = exprEqualities(String(x.expr ?? ""));
        for (const field of Array.isArray(x.fields) ? x.fields : []) {
          const keys = pathKeys(field.path);
          if (!keys) continue;
          if (eq.has(field.name)) setPath(data, keys, eq.get(field.name));
          else if (getPath(data, keys) === undefined) setPath(data, keys, "example");
        }
      }
      if (filters.script) notes.push(`${name}: script filter not solved by this script`);
    }
    let time = `${EVENT_DATE}T10:00:${String(i).padStart(2, "0")}Z`;
    const tf = dep.filters?.time;
    if (tf?.start && /^\d{1,2}:\d{2}:\d{2}$/.test(tf.start)) {
      time = timeInZone(addSeconds(tf.start.padStart(8, "0"), 60 + i), tf.timezone);
    }
    const ctx = dep.filters?.context ?? {};
    const event = {
      specversion: "1.0",
      id: `argo-example-${i + 1}`,
      source: dep.eventSourceName,
      type: CE_TYPES[type] ?? type,
      subject: dep.eventName,
      datacontenttype: "application/json",
      time,
      data,
    };
    for (const k of ["type", "datacontenttype"]) {
      if (typeof ctx[k] === "string" && ctx[k] !== "" && ctx[k] !== event[k]) {
        notes.push(
          `${name}: context filter ${k}=${ctx[k]} differs from what Argo's source sends (${event[k]})`,
        );
      }
    }
    for (const k of ["source", "subject"]) {
      const want = k === "source" ? dep.eventSourceName : dep.eventName;
      if (typeof ctx[k] === "string" && ctx[k] !== "" && ctx[k] !== want) {
        notes.push(
          `${name}: context filter ${k}=${ctx[k]} can never match ${k} ${want} (in Argo too)`,
        );
      }
    }
    events.push(event);
  });
  return { events, notes };
}

// ----- replay -------------------------------------------------------------------------------------

/** Trigger kinds used by a Sensor (the kind Argo would execute for each trigger). */
export function triggerKinds(sensor) {
  const triggers = Array.isArray(sensor.spec?.triggers) ? sensor.spec.triggers : [];
  return triggers.map((t) => {
    const tpl = t?.template ?? {};
    return { name: tpl.name, kind: TRIGGER_KINDS.find((k) => tpl[k] != null) ?? "(none)" };
  });
}

function secretRefs(value, out = []) {
  if (Array.isArray(value)) for (const v of value) secretRefs(v, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (
        v &&
        typeof v === "object" &&
        typeof v.name === "string" &&
        typeof v.key === "string" &&
        /secret|password|username|token|accesskey/i.test(k)
      ) {
        out.push(v);
      } else secretRefs(v, out);
    }
  }
  return out;
}

function summarizeRendered(line) {
  const p = line.payload;
  if (line.request) {
    const body = line.payloadText ?? (p === undefined ? "" : JSON.stringify(p));
    return `${line.request.method} ${line.request.url} ${truncate(body, 160)}`;
  }
  if (p && typeof p === "object" && typeof p.kind === "string") {
    const md = p.metadata ?? {};
    const name = md.name ? md.name : md.generateName ? `${md.generateName}*` : "(no name)";
    const params = p.spec?.arguments?.parameters;
    const args = Array.isArray(params)
      ? ` args ${truncate(JSON.stringify(params.map((x) => x?.value)), 120)}`
      : "";
    return `${p.kind} ${name}${md.namespace ? ` in ${md.namespace}` : ""}${args}`;
  }
  return truncate(JSON.stringify(p ?? null), 160);
}

function truncate(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

async function replaySensor(bin, file, sensorDoc, docCount, text, index, work, n) {
  const kinds = triggerKinds(sensorDoc);
  const { events, notes } = buildEvents(sensorDoc, text, index);
  const dir = join(work, `r${n}`);
  await mkdir(dir, { recursive: true });
  // A file with several documents: give replay this Sensor alone (it refuses to choose).
  let sensorFile = file;
  if (docCount > 1) {
    sensorFile = join(dir, "sensor.json");
    await writeFile(sensorFile, JSON.stringify(sensorDoc));
  }
  const eventsFile = join(dir, "events.jsonl");
  await writeFile(eventsFile, `${events.map((e) => JSON.stringify(e)).join("\n")}\n`);
  const secretsDir = join(dir, "secrets");
  const secretValues = [];
  for (const ref of secretRefs(sensorDoc.spec)) {
    const value = `${SECRET_MARKER}${ref.name}-${ref.key}`;
    await mkdir(join(secretsDir, ref.name), { recursive: true });
    await writeFile(join(secretsDir, ref.name, ref.key), value);
    secretValues.push(value);
  }
  const cmDir = join(dir, "configmaps");
  for (const [name, data] of index.configMaps) {
    await mkdir(join(cmDir, name), { recursive: true });
    for (const [k, v] of Object.entries(data)) await writeFile(join(cmDir, name, k), String(v));
  }
  const args = ["replay", "--sensor", sensorFile, "--events", eventsFile];
  args.push("--secrets-dir", secretsDir, "--configmaps-dir", cmDir);
  const r = await runCli(bin, args);
  const lines = [];
  const garbage = [];
  for (const l of r.stdout.split("\n")) {
    if (l.trim() === "") continue;
    try {
      lines.push(JSON.parse(l));
    } catch {
      garbage.push(l);
    }
  }
  const fired = lines
    .filter((l) => l.kind === "fired")
    .map((l) => ({ trigger: l.trigger, rendered: summarizeRendered(l), line: l }));
  const problems = lines
    .filter((l) => l.kind === "rejected" || l.kind === "error")
    .map((l) =>
      l.kind === "rejected"
        ? `rejected ${l.dependency}: ${l.reason}`
        : `error${l.trigger ? ` ${l.trigger}` : ""}: ${l.message}`,
    );
  const out = `${r.stdout}\n${r.stderr}`;
  const leaked = secretValues.filter((v) => out.includes(v));
  const executed = kinds.filter((k) => EXECUTED_TRIGGER_KINDS.includes(k.kind));
  const notFired = executed
    .filter((k) => !fired.some((f) => f.trigger === k.name))
    .map((k) => k.name);
  let outcome;
  if (r.code !== 0 || r.timedOut) outcome = "failed";
  else if (notFired.length === 0 && problems.length === 0) outcome = "fired";
  else if (fired.length > 0) outcome = "partly";
  else outcome = "not fired";
  return {
    outcome,
    exitCode: r.code,
    timedOut: r.timedOut,
    stderr: r.stderr.trim(),
    triggers: kinds,
    fired: fired.map(({ trigger, rendered, line }) => ({
      trigger,
      rendered,
      ...(line.request ? { request: line.request } : {}),
      ...(line.payloadText !== undefined ? { payloadText: line.payloadText } : {}),
      ...(line.payload !== undefined ? { payload: line.payload } : {}),
    })),
    notFired,
    problems,
    otherLines: lines
      .filter((l) => !["fired", "rejected", "error"].includes(l.kind))
      .map((l) => l.kind),
    garbage,
    secretsInOutput: leaked.length,
    events,
    eventNotes: notes,
  };
}

// ----- the whole run ------------------------------------------------------------------------------

async function pool(items, size, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}

/** Validates (and replays) every example under `root`; returns the report object. */
export async function runExamples(root, options = {}) {
  const bin = options.bin ?? DEFAULT_BIN;
  const files = await collectFiles(root);
  const index = indexExamples(files);
  const work = await mkdtemp(join(tmpdir(), "argo-examples-"));
  try {
    const rows = await pool(files, options.concurrency ?? 2, async (f, n) => {
      const v = await runCli(bin, ["validate", f.path]);
      const parsed = parseValidateOutput(f.path, v.stdout);
      const cls = classify(v.code, parsed);
      const kinds = [...new Set(f.docs.map((d) => String(d.kind ?? "(no kind)")))];
      const row = {
        file: f.rel,
        dir: f.dir,
        kinds,
        class: cls,
        errors: parsed.errors,
        warnings: parsed.warnings,
        ...(parsed.skipped.length > 0 ? { skipped: parsed.skipped } : {}),
        ...(cls === "crashed"
          ? { exitCode: v.code, stderr: v.stderr.trim(), unparsed: parsed.unparsed }
          : {}),
        replays: [],
      };
      if (cls === "refused" || cls === "crashed") return row;
      const sensors = f.docs.filter((d) => d.kind === "Sensor");
      for (const [i, s] of sensors.entries()) {
        const kinds2 = triggerKinds(s);
        const name = s.metadata?.name ?? "(no name)";
        if (!kinds2.some((k) => EXECUTED_TRIGGER_KINDS.includes(k.kind))) {
          row.replays.push({
            sensor: name,
            outcome: "not replayed",
            why: `no trigger of a kind sensorbus executes (${kinds2.map((k) => k.kind).join(", ")})`,
            triggers: kinds2,
          });
          continue;
        }
        const rep = await replaySensor(
          bin,
          f.path,
          s,
          f.docs.length,
          f.text,
          index,
          work,
          `${n}-${i}`,
        );
        row.replays.push({ sensor: name, ...rep });
      }
      return row;
    });
    return { root, generatedAt: new Date().toISOString(), rows, counts: countRows(rows) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export function countRows(rows) {
  const byDir = {};
  const total = Object.fromEntries([...CLASSES, "files"].map((c) => [c, 0]));
  const replay = {};
  for (const r of rows) {
    byDir[r.dir] ??= Object.fromEntries([...CLASSES, "files"].map((c) => [c, 0]));
    byDir[r.dir][r.class]++;
    byDir[r.dir].files++;
    total[r.class]++;
    total.files++;
    for (const rep of r.replays) replay[rep.outcome] = (replay[rep.outcome] ?? 0) + 1;
  }
  return { byDir, total, replay };
}

// ----- Markdown -----------------------------------------------------------------------------------

function cell(s) {
  return String(s).replaceAll("|", "\\|").replaceAll("\n", " ");
}

export function toMarkdown(report) {
  const { counts } = report;
  const out = [];
  out.push("# Argo Events official examples under sensorbus", "");
  out.push(
    `Checkout: \`${report.root}\`. Each file: \`sensorbus validate FILE\`; each Sensor with an executed trigger kind: \`sensorbus replay\` with one synthetic event per dependency (offline).`,
    "",
  );
  out.push("## Validate: files per directory and class", "");
  out.push(`| directory | files | ${CLASSES.join(" | ")} |`);
  out.push(`| --- | ---: | ${CLASSES.map(() => "---:").join(" | ")} |`);
  for (const [dir, c] of Object.entries(counts.byDir)) {
    out.push(`| ${dir} | ${c.files} | ${CLASSES.map((k) => c[k]).join(" | ")} |`);
  }
  out.push(
    `| **total** | **${counts.total.files}** | ${CLASSES.map((k) => `**${counts.total[k]}**`).join(" | ")} |`,
    "",
  );
  out.push("## Replay: Sensors per outcome", "");
  out.push("| outcome | Sensors |", "| --- | ---: |");
  for (const [k, v] of Object.entries(counts.replay)) out.push(`| ${k} | ${v} |`);
  out.push("");
  out.push("## Files", "");
  out.push("| file | kinds | validate | messages | replay |", "| --- | --- | --- | --- | --- |");
  for (const r of report.rows) {
    const msgs = [
      ...r.errors.map((e) => `error: ${e}`),
      ...r.warnings.map((w) => `warning: ${w}`),
      ...(r.class === "crashed" ? [`exit ${r.exitCode}: ${r.stderr}`] : []),
    ];
    const reps = r.replays.map((rep) => {
      if (rep.outcome === "not replayed") return `${rep.sensor}: not replayed (${rep.why})`;
      const parts = [`**${rep.outcome}**`];
      for (const f of rep.fired) parts.push(`fired ${f.trigger}: \`${f.rendered}\``);
      if (rep.notFired.length > 0) parts.push(`not fired: ${rep.notFired.join(", ")}`);
      for (const p of rep.problems) parts.push(p);
      if (rep.secretsInOutput > 0) parts.push(`secret values in output: ${rep.secretsInOutput}`);
      if (rep.exitCode !== 0)
        parts.push(`exit ${rep.exitCode}${rep.timedOut ? " (timed out)" : ""}: ${rep.stderr}`);
      const notes = rep.eventNotes.filter((n) => !/(data|body) from the manifest/.test(n));
      if (notes.length > 0) parts.push(`events: ${notes.join("; ")}`);
      return parts.join("<br>");
    });
    out.push(
      `| ${cell(r.file)} | ${cell(r.kinds.join(", "))} | ${r.class} | ${cell(truncate(msgs.join("<br>"), 1500)) || ""} | ${cell(reps.join("<br>"))} |`,
    );
  }
  return `${out.join("\n")}\n`;
}

// ----- CLI ----------------------------------------------------------------------------------------

async function main(argv) {
  const json = argv.includes("--json");
  const rest = argv.filter((a) => a !== "--json");
  const root = rest[0];
  if (!root || rest.length > 1) {
    process.stderr.write("usage: node scripts/argo-examples.mjs ARGO_EVENTS_CHECKOUT [--json]\n");
    return 2;
  }
  const report = await runExamples(resolve(root));
  if (report.rows.length === 0) {
    process.stderr.write(`no example manifests under ${root}/{${DIRECTORIES.join(",")}}\n`);
    return 1;
  }
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : toMarkdown(report));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`argo-examples: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
