import { TriggerError } from "../../errors.js";
import { nodeSelectorProblem } from "./node-selector.js";

/**
 * `argoWorkflow.args`: Argo appends them to the `argo` CLI command it runs
 * (`argo -n <ns> submit <file> <args...>`, `argo retry <name> <args...>`, ...). sensorbus calls the
 * Kubernetes API instead, so it interprets the flags itself. This is the one parser for them:
 * the trigger uses it at firing time and `validate` uses it on the manifest, so they agree.
 *
 * - a flag sensorbus applies is parsed into the result;
 * - a flag that only changes what the CLI prints (`--node-field-selector` and `--status` select
 *   the nodes `argo submit --watch` displays, `-o` its output format) is accepted and listed in
 *   `ignored` (validate warns about each);
 * - any other flag, and a malformed value, throws a TriggerError SB_ERR_TRIGGER_RENDER naming
 *   the field (`argoWorkflow.args.<i>`): the trigger refuses to fire, `validate` reports an error.
 */

/** An argument accepted without effect, and why. */
export interface IgnoredArg {
  index: number;
  arg: string;
  reason: string;
}

/** Parsed `argo submit` / `argo submit --from` flags. */
export interface SubmitArgs {
  parameters: Array<[string, string]>;
  entrypoint?: string;
  serviceAccount?: string;
  labels: Array<[string, string]>;
  generateName?: string;
  name?: string;
  /** `--priority`: the Workflow's `spec.priority` (int32). */
  priority?: number;
  ignored: IgnoredArg[];
}

/** Parsed `argo retry` / `argo resubmit` flags. */
export interface RerunArgs {
  parameters: Array<[string, string]>;
  restartSuccessful: boolean;
  nodeFieldSelector?: string;
  memoized: boolean;
  ignored: IgnoredArg[];
}

export function argsError(field: string, message: string): TriggerError {
  return new TriggerError("SB_ERR_TRIGGER_RENDER", `${field}: ${message}`, { retryable: false });
}

type SubmitFlag =
  | "p"
  | "l"
  | "entrypoint"
  | "serviceAccount"
  | "generateName"
  | "name"
  | "priority"
  | "display";

const SUBMIT_FLAGS: Record<string, SubmitFlag> = {
  "-p": "p",
  "--parameter": "p",
  "-l": "l",
  "--labels": "l",
  "--entrypoint": "entrypoint",
  "--serviceaccount": "serviceAccount",
  "--generate-name": "generateName",
  "--name": "name",
  "--priority": "priority",
  "--node-field-selector": "display",
  "--status": "display",
  "-o": "display",
  "--output": "display",
};

const SUBMIT_ALLOWED =
  "-p/--parameter, --entrypoint, --serviceaccount, -l/--labels, --generate-name, --name, --priority; --node-field-selector, --status and -o/--output are accepted and have no effect";

const DISPLAY_REASON =
  "it only selects what the argo CLI prints (the nodes `--watch` shows, the output format); sensorbus prints nothing, so it has no effect";

/** The flag and, for `--flag=value` / `-p=value`, where the value starts (-1: none). */
function splitFlag(arg: string): { flag: string; eq: number } {
  const eq = arg.startsWith("--") ? arg.indexOf("=") : /^-[plo]=/.test(arg) ? 2 : -1;
  return { flag: eq > 0 ? arg.slice(0, eq) : arg, eq };
}

/** `args` of `submit` (a Workflow) and `submit-from` (a WorkflowTemplate or CronWorkflow). */
export function parseSubmitArgs(
  args: readonly unknown[] | undefined,
  field: string,
  operation: "submit" | "submit-from" = "submit",
): SubmitArgs {
  const out: SubmitArgs = { parameters: [], labels: [], ignored: [] };
  const list = (args ?? []).map(String);
  for (let i = 0; i < list.length; i++) {
    const at = i;
    const arg = list[i]!;
    const { flag, eq } = splitFlag(arg);
    const which = SUBMIT_FLAGS[flag];
    if (!which) {
      throw argsError(
        `${field}.${at}`,
        `unsupported argument '${arg}' (sensorbus interprets ${SUBMIT_ALLOWED})`,
      );
    }
    let value: string;
    if (eq > 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = list[i + 1];
      if (next === undefined) throw argsError(`${field}.${at}`, `'${arg}' needs a value`);
      value = next;
      i++;
    }
    if (which === "p") {
      const k = value.indexOf("=");
      if (k <= 0)
        throw argsError(`${field}.${i}`, `parameter '${value}' must look like name=value`);
      out.parameters.push([value.slice(0, k), value.slice(k + 1)]);
    } else if (which === "l") {
      for (const pair of value.split(",").filter(Boolean)) {
        const k = pair.indexOf("=");
        if (k <= 0) throw argsError(`${field}.${i}`, `label '${pair}' must look like key=value`);
        out.labels.push([pair.slice(0, k), pair.slice(k + 1)]);
      }
    } else if (which === "priority") {
      const n = /^[+-]?\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647) {
        throw argsError(
          `${field}.${i}`,
          `'${arg}${eq > 0 ? "" : ` ${value}`}': '${value}' is not a 32-bit integer`,
        );
      }
      if (operation === "submit") out.priority = n;
      else
        out.ignored.push({
          index: at,
          arg,
          reason: "`argo submit --from` does not pass --priority on to the Workflow",
        });
    } else if (which === "display") {
      out.ignored.push({ index: at, arg, reason: DISPLAY_REASON });
    } else {
      out[which] = value;
    }
  }
  return out;
}

/**
 * `args` of retry (-p, --restart-successful, --node-field-selector) and resubmit (-p,
 * --memoized). The argo CLI's output, wait and selector flags have no meaning here and are refused.
 */
export function parseRerunArgs(
  operation: "retry" | "resubmit",
  args: readonly unknown[] | undefined,
  field: string,
): RerunArgs {
  const out: RerunArgs = { parameters: [], restartSuccessful: false, memoized: false, ignored: [] };
  const list = (args ?? []).map(String);
  const allowed =
    operation === "retry"
      ? "-p/--parameter, --restart-successful, --node-field-selector"
      : "-p/--parameter, --memoized";
  for (let i = 0; i < list.length; i++) {
    const arg = list[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : arg.startsWith("-p=") ? 2 : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = list[i + 1];
      if (next === undefined) throw argsError(`${field}.${i}`, `'${arg}' needs a value`);
      i++;
      return next;
    };
    if (flag === "-p" || flag === "--parameter") {
      const v = value();
      const k = v.indexOf("=");
      if (k <= 0) throw argsError(`${field}.${i}`, `parameter '${v}' must look like name=value`);
      out.parameters.push([v.slice(0, k), v.slice(k + 1)]);
    } else if (operation === "retry" && flag === "--restart-successful") {
      out.restartSuccessful = boolFlag(arg, eq, `${field}.${i}`);
    } else if (operation === "retry" && flag === "--node-field-selector") {
      out.nodeFieldSelector = value();
    } else if (operation === "resubmit" && flag === "--memoized") {
      out.memoized = boolFlag(arg, eq, `${field}.${i}`);
    } else {
      throw argsError(
        `${field}.${i}`,
        `unsupported argument '${arg}' for ${operation} (sensorbus interprets ${allowed})`,
      );
    }
  }
  return out;
}

/** What `args` of resume and stop carry: the nodes to act on and, for stop, their message. */
export interface NodeOpArgs {
  /** `--node-field-selector`: act on the running Suspend nodes it matches, not the whole Workflow. */
  nodeFieldSelector?: string;
  /** `--message` (stop only): the stopped nodes' message. */
  message?: string;
}

/**
 * `args` of resume (`--node-field-selector`) and stop (`--node-field-selector`, `--message`), as
 * `argo resume` / `argo stop` take them. The selector's syntax and field names are checked here, so
 * `validate` reports a bad one.
 */
export function parseNodeOpArgs(
  operation: "resume" | "stop",
  args: readonly unknown[] | undefined,
  field: string,
): NodeOpArgs {
  const out: NodeOpArgs = {};
  const list = (args ?? []).map(String);
  const allowed =
    operation === "resume" ? "--node-field-selector" : "--node-field-selector, --message";
  for (let i = 0; i < list.length; i++) {
    const arg = list[i]!;
    const at = `${field}.${i}`;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = list[i + 1];
      if (next === undefined) throw argsError(at, `'${arg}' needs a value`);
      i++;
      return next;
    };
    if (flag === "--node-field-selector") {
      const selector = value();
      const problem = nodeSelectorProblem(selector);
      if (problem) throw argsError(at, problem);
      out.nodeFieldSelector = selector;
    } else if (operation === "stop" && flag === "--message") {
      out.message = value();
    } else {
      throw argsError(
        at,
        `unsupported argument '${arg}' for ${operation} (sensorbus interprets ${allowed})`,
      );
    }
  }
  if (out.message !== undefined && out.nodeFieldSelector === undefined)
    throw argsError(
      field,
      "--message applies to the nodes --node-field-selector selects; give both",
    );
  return out;
}

/** A boolean flag: `--flag` or `--flag=<bool>` (Go's strconv.ParseBool spellings). */
function boolFlag(arg: string, eq: number, field: string): boolean {
  if (eq < 0) return true;
  const v = arg.slice(eq + 1);
  if (["1", "t", "T", "true", "TRUE", "True"].includes(v)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(v)) return false;
  throw argsError(field, `'${arg}': '${v}' is not true or false`);
}

/**
 * Checks `args` for any operation as the trigger will at firing time: throws what it would throw,
 * returns the arguments it would ignore. `validate` calls this.
 */
export function checkWorkflowArgs(
  operation: string,
  args: readonly unknown[] | undefined,
  field: string,
): IgnoredArg[] {
  if (operation === "submit" || operation === "submit-from")
    return parseSubmitArgs(args, field, operation).ignored;
  if (operation === "retry" || operation === "resubmit")
    return parseRerunArgs(operation, args, field).ignored;
  if (operation === "resume" || operation === "stop") {
    parseNodeOpArgs(operation, args, field);
    return [];
  }
  if (args && args.length > 0) {
    throw argsError(field, `arguments are not supported for operation ${operation}`);
  }
  return [];
}
