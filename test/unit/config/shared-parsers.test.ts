import { describe, expect, it } from "vitest";
import type { CalendarEventSpec, Trigger } from "../../../src/config/types.js";
import { checkDocument, type Finding } from "../../../src/config/validate.js";
import { compileCalendarSpec } from "../../../src/eventsources/calendar.js";
import { backoffDurationMs } from "../../../src/lib/backoff.js";
import { parseCron } from "../../../src/lib/cron.js";
import { compileTemplate } from "../../../src/lib/gotemplate/index.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { parseCondition } from "../../../src/sensors/conditions.js";
import { renderFiring } from "../../../src/triggers/fire.js";
import { triggerRegistry } from "../../../src/triggers/registry.js";
import { fetchResource } from "../../../src/triggers/source.js";

/**
 * `validate` and the runtime share one parser for each thing, so they cannot disagree: the same
 * inputs, fed to both, get the same verdict (and, where validate quotes it, the same message).
 */

function runtimeVerdict(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

async function runtimeVerdictAsync(f: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await f();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function findingsAt(doc: unknown, pointer: string): Finding[] {
  return checkDocument(doc).findings.filter(
    (f) => f.pointer === pointer || f.pointer.startsWith(`${pointer}/`),
  );
}

const calendarDoc = (entry: CalendarEventSpec) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "EventSource",
  metadata: { name: "cal" },
  spec: { calendar: { tick: entry } },
});

const sensorDoc = (triggerTemplate: Record<string, unknown>, deps = ["dep-a", "dep_b", "c"]) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Sensor",
  metadata: { name: "s" },
  spec: {
    dependencies: deps.map((name) => ({ name, eventSourceName: "es", eventName: "e" })),
    triggers: [{ template: { name: "t", ...triggerTemplate } }],
  },
});

const CRON_INPUTS = [
  "*/5 * * * *",
  "0 9 * JAN-MAR mon-fri",
  "CRON_TZ=Europe/Paris 0 0 1 * ?",
  "* * * * *,",
  "0,,30 * * * *",
  "60 * * * *",
  "* * 32 * *",
  "0 0 * 13 *",
  "* * * * 7",
  "*/0 * * * *",
  "1-2-3 * * * *",
  "99999999999999999999 * * * *",
  "mon * * * *",
  "TZ=Nowhere/X 0 0 * * *",
  "TZ=Europe/Paris",
  "@daily",
  "0 0 * * * *",
  "",
];

describe("cron: validate and the calendar EventSource / conditionsReset agree", () => {
  it.each(CRON_INPUTS)("%j", (spec) => {
    const runtime = runtimeVerdict(() => parseCron(spec));
    const calendar = findingsAt(calendarDoc({ schedule: spec }), "/spec/calendar/tick").filter(
      (f) => f.severity === "error",
    );
    if (spec === "") {
      // An empty schedule is "no schedule": Argo's "must have either schedule or interval".
      expect(calendar.map((f) => f.message)).toEqual(["must have either schedule or interval"]);
    } else if (runtime === undefined) {
      expect(calendar).toEqual([]);
    } else {
      expect(calendar.map((f) => f.message)).toEqual([
        `failed to parse schedule ${spec} from calendar event. Cause: ${runtime}`,
      ]);
    }
    const reset = findingsAt(
      sensorDoc({ conditionsReset: [{ byTime: { cron: spec } }], log: {} }),
      "/spec/triggers/0/template/conditionsReset/0/byTime/cron",
    );
    expect(reset.length > 0).toBe(runtime !== undefined);
  });
});

describe("calendar entries: validate refuses what the EventSource refuses to start", () => {
  it.each<CalendarEventSpec>([
    { interval: "10s" },
    { interval: "1s" },
    { interval: "1ns" },
    { interval: "-5s" },
    { interval: "500ms" },
    { interval: "10" },
    { interval: "1d" },
    { schedule: "* * * * *", timezone: "Mars/Olympus" },
    { schedule: "* * * * *", exclusionDates: ["EXDATE:20240230T000000Z"] },
    { schedule: "* * * * *", persistence: { catchup: { enabled: true, maxDuration: "soon" } } },
  ])("%j", (entry) => {
    const runtime = runtimeVerdict(() => compileCalendarSpec(entry, "spec.calendar.tick"));
    const errors = findingsAt(calendarDoc(entry), "/spec/calendar/tick").filter(
      (f) => f.severity === "error",
    );
    if (runtime === undefined) expect(errors).toEqual([]);
    else {
      expect(errors).toHaveLength(1);
      // Same message: the runtime's names the field with dots, validate with a JSON pointer.
      expect(runtime).toContain(errors[0]!.message);
    }
  });
});

const DEPS = ["dep-a", "dep_b", "c"];

/** Over the limits (named, so test titles stay short). */
const LONG_CONDITIONS: Record<string, string> = {
  NESTED_150: `${"(".repeat(150)}c${")".repeat(150)}`,
  TOKENS_4199: Array.from({ length: 2100 }, () => "c").join(" || "),
  LENGTH_20005: `c || ${"x".repeat(20_000)}`,
};

describe("conditions: validate reports what the runtime parser refuses", () => {
  it.each([
    "dep-a && (dep_b || c)",
    "dep_a||dep-b",
    "dep-a && nope",
    "dep-a &&",
    "(dep-a",
    "dep-a ! c",
    "!dep-a",
    "dep-a & c",
    "dep-a c",
    "NESTED_150",
    "TOKENS_4199",
    "LENGTH_20005",
  ])("%j", (label) => {
    const conditions = LONG_CONDITIONS[label] ?? label;
    const runtime = runtimeVerdict(() => parseCondition(conditions, DEPS));
    const findings = findingsAt(
      sensorDoc({ conditions, log: {} }),
      "/spec/triggers/0/template/conditions",
    );
    expect(findings.length > 0).toBe(runtime !== undefined);
    if (runtime !== undefined) {
      expect(findings).toHaveLength(1);
      // The reason (after the quoted condition) is the runtime's.
      const reason = runtime.slice(runtime.lastIndexOf(": ") + 2);
      expect(findings[0]!.message).toContain(reason);
      expect(findings[0]!.message.length).toBeLessThan(400);
    }
  });
});

const WORKFLOW = {
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata: { generateName: "wf-" },
  spec: { entrypoint: "main" },
};

async function renderArgs(operation: string, args: string[]): Promise<string | undefined> {
  const log = silentLogger();
  const source =
    operation === "submit"
      ? { resource: WORKFLOW }
      : { resource: { ...WORKFLOW, metadata: { name: "wf-1" } } };
  const trigger = {
    template: { name: "t", argoWorkflow: { operation, args, source } },
  } as unknown as Trigger;
  return runtimeVerdictAsync(() =>
    renderFiring({
      sensorName: "s",
      namespace: "ns",
      trigger,
      events: new Map(),
      kinds: triggerRegistry({ kube: undefined, dryRun: true, log }),
      values: { secret: async () => "", configMap: async () => "" },
      log,
      now: () => 0,
    }),
  );
}

describe("argoWorkflow.args: validate refuses what the trigger refuses at firing time", () => {
  it.each<[string, string[]]>([
    ["submit", ["--priority", "5"]],
    ["submit", ["--priority=5", "--node-field-selector", "phase=abc"]],
    ["submit", ["--node-field-selector", "phase=abc"]],
    ["submit", ["-p", "message=hi", "-l", "a=b,c=d", "--entrypoint", "main"]],
    ["submit", ["--priority", "high"]],
    ["submit", ["--priority", "9999999999"]],
    ["submit", ["--wait"]],
    ["submit", ["--dry-run"]],
    ["submit", ["-p", "novalue"]],
    ["submit", ["--name"]],
    ["retry", ["--node-field-selector", "phase=Failed", "--restart-successful"]],
    ["retry", ["--memoized"]],
    ["resubmit", ["--memoized=true"]],
    ["resubmit", ["--memoized=maybe"]],
    ["suspend", []],
    ["suspend", ["--dry-run"]],
    ["terminate", ["-o", "json"]],
  ])("%s %j", async (operation, args) => {
    const runtime = await renderArgs(operation, args);
    const errors = findingsAt(
      sensorDoc({ argoWorkflow: { operation, args, source: { resource: WORKFLOW } } }),
      "/spec/triggers/0/template/argoWorkflow/args",
    ).filter((f) => f.severity === "error");
    expect(errors.length > 0).toBe(runtime !== undefined);
    if (runtime !== undefined) {
      const reason = runtime.replace(/^argoWorkflow\.args(\.\d+)?: /, "");
      expect(errors[0]!.message).toContain(reason);
    }
  });
});

describe("trigger sources: validate refuses what every firing would fail to read", () => {
  it.each<[string, Record<string, unknown>]>([
    ["inline", { inline: "kind: ConfigMap" }],
    ["resource", { resource: { kind: "ConfigMap" } }],
    ["s3", { s3: { bucket: { name: "b", key: "k" }, endpoint: "minio:9000" } }],
    ["git", { git: { url: "https://git.example/r.git", filePath: "x.yaml" } }],
    ["none", {}],
  ])("%s", async (_name, source) => {
    const runtime = await runtimeVerdictAsync(() =>
      fetchResource(source, {
        values: { secret: async () => "", configMap: async () => "" },
        field: "k8s.source",
      }),
    );
    const errors = findingsAt(
      sensorDoc({ k8s: { operation: "create", source } }),
      "/spec/triggers/0/template/k8s/source",
    ).filter((f) => f.severity === "error");
    expect(errors.length > 0).toBe(runtime !== undefined);
    if (runtime !== undefined) {
      expect(runtime).toContain(errors[0]!.message);
    }
  });
});

describe("parameter templates: validate warns about what the firing cannot parse", () => {
  it.each([
    "{{ .Input.body.name }}",
    "{{ .Input.body.name | upper }}",
    "{{ .Input.body.name ",
    "{{ nosuchfunction .Input }}",
    "{{ end }}",
    "{{ if .Input }}x",
  ])("%j", (dataTemplate) => {
    const runtime = runtimeVerdict(() => compileTemplate(dataTemplate));
    const findings = findingsAt(
      sensorDoc({
        http: {
          url: "http://127.0.0.1:1/",
          payload: [{ src: { dependencyName: "c", dataTemplate }, dest: "x" }],
        },
      }),
      "/spec/triggers/0/template/http/payload/0/src/dataTemplate",
    );
    expect(findings.length > 0).toBe(runtime !== undefined);
    if (runtime !== undefined) expect(findings[0]!.message).toContain(runtime);
  });
});

describe("durations: validate warns about a retryStrategy.duration the backoff cannot parse", () => {
  it.each(["10s", "1.5h", "300ms", "-1s", "10", "1d", "abc", "1h 30m"])("%j", (duration) => {
    const runtime = runtimeVerdict(() => backoffDurationMs(duration));
    const findings = findingsAt(
      {
        ...sensorDoc({ log: {} }),
        spec: {
          ...sensorDoc({ log: {} }).spec,
          triggers: [{ template: { name: "t", log: {} }, retryStrategy: { duration } }],
        },
      },
      "/spec/triggers/0/retryStrategy/duration",
    );
    expect(findings.length > 0).toBe(runtime !== undefined);
  });
});
