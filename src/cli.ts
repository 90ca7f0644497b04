import type { ParseArgsConfig } from "node:util";
import { parseArgs } from "node:util";
import "./app/kinds.js";
import {
  NATS_OPTIONS,
  NATS_USAGE,
  type NatsOptionValues,
  natsAuthFromOptions,
} from "./app/nats-options.js";
import { ConfigError, errorMessage } from "./errors.js";
import { packageVersion } from "./lib/package-version.js";

// Each command loads its own modules (dynamic import) so that `validate` and `replay` never load
// what only `run` needs (vendor SDKs, the HTTP servers, the bus clients): start-up stays fast.

const COMMANDS = `Usage:
  sensorbus run [FILE|DIR...] [options]     run every EventSource and Sensor found
  sensorbus validate FILE|DIR...            check manifests; non-zero exit on errors
                                            (--secrets-dir/--configmaps-dir: and that every
                                            referenced Secret/ConfigMap key exists)
  sensorbus replay --sensor FILE --events FILE.jsonl [--source URL=FILE ...]
                                            feed CloudEvents through a Sensor, print decisions
                                            (offline: a url trigger source is read from the
                                            FILE mapped to it, never fetched)
  sensorbus publish --event-source NAME --event NAME --data JSON [--id ID] [--bus URL]
                                            put a test event on the JetStream bus
  sensorbus publish --pubsub-topic TOPIC --project ID --data TEXT [--attribute k=v ...]
                                            publish a message to a Pub/Sub topic ($PUBSUB_EMULATOR_HOST)
  sensorbus explain EVENT_ID [--json] [--url URL [--token-file PATH] | --bus nats://...]
                                            why a recent event did (not) fire: the journal of a
                                            running sensorbus's console (--url, default
                                            http://127.0.0.1:7778; a bearer token from --token-file
                                            or $SENSORBUS_CONSOLE_TOKEN, basic auth as
                                            http://user:password@host) or of JetStream (--bus)
  sensorbus trace CORRELATION_ID [--format text|json|mermaid] [--url URL [--token-file PATH] | --bus nats://...]
                                            everything that happened to one correlation ID, in
                                            time order, across Sensors, Workflows and replicas
  sensorbus graph [FILE|DIR...] [--format mermaid|dot|json]
                                            EventSources -> dependencies -> triggers, with the
                                            cross-workflow links (default: eventsources/ sensors/)
  sensorbus deadletters list|replay [--sensor NAME] [--trigger NAME] [--seq N] [--bus URL]
                                            list or re-run firings that failed for good
  sensorbus controller [--namespace NS] [run options]
                                            run the EventSource/Sensor custom resources of a namespace
  sensorbus version

`;

/** The options of `run`, which `controller` takes too. */
const RUN_OPTIONS_USAGE = `  --bus memory|nats://host:port[,nats://...]  event bus (default: $NATS_URL, else memory)
  --dry-run                 render Kubernetes triggers to the log, never call a cluster
  --kubeconfig PATH         kubeconfig for argoWorkflow/k8s triggers (default: $KUBECONFIG,
                            ~/.kube/config, in-cluster)
  --secrets-dir DIR         Secrets as DIR/<name>/<key> (a mounted Secret volume layout)
  --configmaps-dir DIR      ConfigMaps as DIR/<name>/<key>
  --secrets-layout flat|namespaced
                            namespaced: both directories as DIR/<namespace>/<name>/<key>, each
                            manifest reading its own namespace's (default flat: one namespace)
  --log-format json|pretty  (default json)
  --log-level LEVEL         trace, debug, info, warn, error (default info)
  --drain-timeout SECONDS   bound on SIGTERM draining (default 30)
  --metrics-port N          /metrics, /livez, /readyz, /healthz (default 7777; 0 turns it off)
  --listen ADDRESS          address of the metrics listener (default 127.0.0.1)
  --evaluation-budget DURATION
                            time one filter, transform or template evaluation may take
                            before the event is rejected (default 100ms; 0 turns it off)
  --template-env NAME,...   environment variables sprig's env/expandenv may read (default:
                            $SENSORBUS_TEMPLATE_ENV, else none)
  --impersonate             call Kubernetes for each Sensor/EventSource as its
                            spec.template.serviceAccountName (Impersonate-User; always on in controller)
  --confine-triggers        a Sensor's Kubernetes triggers act only in its own namespace, never on
                            cluster-scoped objects (always on in controller)
  --allow-trigger-namespaces NS,...     other namespaces triggers may act in (* for any)
  --allow-cluster-scoped-triggers KIND,...  cluster-scoped kinds triggers may act on (* for any)
  --trace-retention DURATION  how long JetStream keeps the correlation index of \`sensorbus trace\`
                            (default 24h; 0: none, the in-memory index only)
  --trace-max-bytes SIZE    bound on that index in JetStream (default 1G)
  --console-port N          web console /ui and its API /api/* (default 7778; 0 turns it off)
  --console-listen ADDRESS  address of the console listener (default 127.0.0.1; another address
                            needs --console-token-file or --console-basic-auth-file)
  --console-token-file PATH bearer token the console requires (a mounted Secret key)
  --console-basic-auth-file PATH
                            user:password the console requires (basic auth, for browsers)
  --console-allowed-hosts H1,H2
                            Host header names the console answers besides loopback names and
                            its listen address (DNS-rebinding defence)
`;

function usage(): string {
  return `sensorbus ${packageVersion()}: Argo Events EventSources and Sensors on NATS JetStream or in memory

${COMMANDS}${NATS_USAGE}
Options for run:
${RUN_OPTIONS_USAGE}`;
}

const SECRETS_USAGE = `  --secrets-dir DIR         Secrets as DIR/<name>/<key> (a mounted Secret volume layout)
  --configmaps-dir DIR      ConfigMaps as DIR/<name>/<key>
  --secrets-layout flat|namespaced
                            namespaced: both directories as DIR/<namespace>/<name>/<key>, each
                            manifest reading its own namespace's (default flat: one namespace)
`;

/** `sensorbus COMMAND --help` (or -h): each command's own usage. */
const COMMAND_USAGE: Record<string, () => string> = {
  run: () => `Usage: sensorbus run [FILE|DIR...] [options]

Runs every EventSource and Sensor in the files and directories given (default: eventsources/
sensors/); changed files are reloaded in place. SIGTERM or SIGINT drains, then exits.

Options:
${RUN_OPTIONS_USAGE}
${NATS_USAGE}`,
  controller: () => `Usage: sensorbus controller [--namespace NS] [run options]

Runs the EventSource and Sensor custom resources of a namespace (default: the kubeconfig's or
the service account's), writing their status back.

Options:
  --namespace NS            namespace to watch
${RUN_OPTIONS_USAGE}
${NATS_USAGE}`,
  validate: () => `Usage: sensorbus validate FILE|DIR... [options]

Checks manifests as run would load them; prints every problem with its file and field, then
a summary. Exits 1 on errors (warnings alone exit 0).

Options:
${SECRETS_USAGE}                            With --secrets-dir/--configmaps-dir, every Secret and
                            ConfigMap key a manifest references must exist there.
`,
  replay: () => `Usage: sensorbus replay --sensor FILE --events FILE.jsonl [options]

Feeds structured-mode CloudEvents (JSON lines) through a Sensor, offline, and prints one JSON
line per decision (fired, rejected, waiting, replaced, duplicate, unmatched, error).

Options:
  --sensor FILE             the Sensor manifest
  --sensor-name NAME        which Sensor, when FILE holds several
  --events FILE.jsonl       the CloudEvents, one per line
  --source URL=FILE         read this url trigger source from FILE (repeatable; never fetched)
${SECRETS_USAGE}`,
  publish: () => `Usage:
  sensorbus publish --event-source NAME --event NAME --data JSON [--id ID] [--type TYPE] [--bus URL]
                                            put a test event on the JetStream bus
  sensorbus publish --pubsub-topic TOPIC --project ID --data TEXT [--attribute k=v ...]
                                            publish a message to a Pub/Sub topic
                                            ($PUBSUB_EMULATOR_HOST; --project defaults to
                                            $PUBSUB_PROJECT_ID or $GOOGLE_CLOUD_PROJECT)

${NATS_USAGE}`,
  explain:
    () => `Usage: sensorbus explain EVENT_ID [--json] [--url URL [--token-file PATH] | --bus nats://...]

Why a recent event did (not) fire, from the journal of a running sensorbus.

Options:
  --json                    the journal entry as JSON
  --url URL                 the console to ask (default http://127.0.0.1:7778; basic auth as
                            http://user:password@host)
  --token-file PATH         bearer token for the console (default $SENSORBUS_CONSOLE_TOKEN)
  --bus nats://...          read the journal JetStream keeps instead

${NATS_USAGE}`,
  trace:
    () => `Usage: sensorbus trace CORRELATION_ID [--format text|json|mermaid] [--json] [--url URL [--token-file PATH] | --bus nats://...]

Everything that happened to one correlation ID, in time order: the events that carried it, every
decision about them, the objects triggers created and the HTTP calls they made, the created
Workflows' phases where a resource EventSource watches them. Exits 1 when nothing is known.

Options:
  --format text|json|mermaid  text (default), the trace as JSON, or a Mermaid sequence diagram
  --json                    the same as --format json
  --url URL                 the console to ask (default http://127.0.0.1:7778; basic auth as
                            http://user:password@host)
  --token-file PATH         bearer token for the console (default $SENSORBUS_CONSOLE_TOKEN)
  --bus nats://...          read the sensorbus-trace stream JetStream keeps instead (every replica)

${NATS_USAGE}`,
  graph: () => `Usage: sensorbus graph [FILE|DIR...] [--format mermaid|dot|json]

Prints EventSources -> dependencies -> triggers, with the cross-workflow links (default:
eventsources/ sensors/, Mermaid).
`,
  version: () => `Usage: sensorbus version (or sensorbus --version)

Prints the version of sensorbus.
`,
};

/** `--help` or `-h` before any `--` ends the options. */
function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

const RUN_OPTIONS = {
  bus: { type: "string" },
  ...NATS_OPTIONS,
  "dry-run": { type: "boolean" },
  kubeconfig: { type: "string" },
  "secrets-dir": { type: "string" },
  "configmaps-dir": { type: "string" },
  "secrets-layout": { type: "string" },
  "log-format": { type: "string" },
  "log-level": { type: "string" },
  "drain-timeout": { type: "string" },
  "metrics-port": { type: "string" },
  listen: { type: "string" },
  "evaluation-budget": { type: "string" },
  "template-env": { type: "string" },
  impersonate: { type: "boolean" },
  "confine-triggers": { type: "boolean" },
  "allow-trigger-namespaces": { type: "string" },
  "allow-cluster-scoped-triggers": { type: "string" },
  "trace-retention": { type: "string" },
  "trace-max-bytes": { type: "string" },
  "console-port": { type: "string" },
  "console-listen": { type: "string" },
  "console-token-file": { type: "string" },
  "console-basic-auth-file": { type: "string" },
  "console-allowed-hosts": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/** Entry point; returns the process exit code. The only place that reads argv or sets exit codes. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    // deadletters prints its own usage (it knows its sub-commands).
    const commandUsage =
      command !== undefined && Object.hasOwn(COMMAND_USAGE, command)
        ? COMMAND_USAGE[command]
        : undefined;
    if (commandUsage && wantsHelp(rest)) {
      process.stdout.write(commandUsage());
      return 0;
    }
    switch (command) {
      case "run":
        return await runCommand(rest);
      case "validate":
        return await validateCommand(rest);
      case "replay":
        return await replayCommand(rest);
      case "publish":
        return await publishCommand(rest);
      case "controller":
        return await controllerCommand(rest);
      case "deadletters":
        return await (await import("./app/deadletters.js")).deadLettersCommand(rest, {
          out: (text) => process.stdout.write(text),
          env: process.env,
        });
      case "explain":
        return await explainCommand(rest);
      case "trace":
        return await traceCommand(rest);
      case "graph":
        return await graphCommand(rest);
      case "version":
      case "--version":
        process.stdout.write(`${packageVersion()}\n`);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(usage());
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`sensorbus: unknown command '${command}'\n\n${usage()}`);
        return 2;
    }
  } catch (err) {
    process.stderr.write(`sensorbus ${command}: ${errorMessage(err)}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}

/** parseArgs with sensorbus's refusal: a ConfigError SB_ERR_CLI_USAGE naming the option at fault. */
export function parse<O extends ParseArgsConfig["options"]>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ConfigError(`${errorMessage(err)} (see 'sensorbus --help')`, [], {
      code: "SB_ERR_CLI_USAGE",
    });
  }
}

async function runCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parse(args, RUN_OPTIONS);
  const [
    { ServeProcess },
    { watchManifestFiles },
    { Runtime },
    { formatProblem, hasErrors, loadManifests },
    { parseValuesLayout },
    { loadKubeClient },
  ] = await Promise.all([
    import("./app/serve-process.js"),
    import("./app/reload.js"),
    import("./app/runtime.js"),
    import("./config/load.js"),
    import("./config/secrets.js"),
    import("./k8s/client.js"),
  ]);
  const proc = await ServeProcess.open("run", opts, process.env);
  const { log, dryRun } = proc;
  const paths = positionals.length > 0 ? positionals : ["eventsources", "sensors"];
  const secretsLayout = parseValuesLayout(opts["secrets-layout"]);
  const loaded = await loadManifests(paths, { secretsLayout });
  for (const p of loaded.problems.filter((x) => x.severity === "warning"))
    log.warn(formatProblem(p));
  if (hasErrors(loaded.problems)) {
    for (const p of loaded.problems.filter((x) => x.severity === "error"))
      process.stderr.write(`${formatProblem(p)}\n`);
    return 2;
  }
  const kube = dryRun
    ? undefined
    : await loadKubeClient(opts.kubeconfig ? { kubeconfigPath: opts.kubeconfig } : {});
  if (dryRun)
    log.info(
      "dry run: argoWorkflow and k8s triggers are rendered to the log, never sent to a cluster",
    );
  else if (!kube)
    log.info(
      "no kubeconfig or in-cluster service account found: argoWorkflow and k8s triggers are rendered to the log",
    );
  else log.info({ kubernetes: kube.source }, "Kubernetes triggers use this cluster");

  const instruments = proc.instrument(process.env.SENSORBUS_NAMESPACE ?? "default");
  const { diagnostics } = instruments;
  const runtime = await Runtime.start({
    loaded,
    busAuth: proc.busAuth,
    busUrl: proc.busUrl,
    kube,
    ...(proc.kubeAccess ? { kubeAccess: proc.kubeAccess } : {}),
    dryRun,
    values: proc.values,
    ...instruments.hostHooks,
  });
  await diagnostics.useBus(runtime.bus);
  let running = loaded;
  // File mode: changed manifests are reloaded in place; an invalid edit keeps the running version.
  let watcher: { close(): Promise<void> } | undefined;
  return await proc.serve(
    {
      bus: runtime.bus,
      stuckTriggers: () => runtime.stuckTriggers(),
      sourceConnections: () => runtime.sourceConnections(),
      sensors: () => runtime.sensors,
      running: () => running,
      abandon: () => runtime.stop(5_000),
      runUntil: async (signal, drainMs) => {
        watcher = watchManifestFiles(
          paths,
          async () => {
            const next = await loadManifests(paths, { secretsLayout });
            if (hasErrors(next.problems)) {
              for (const p of next.problems.filter((x) => x.severity === "error"))
                log.error(formatProblem(p));
              log.error("manifests changed but have errors: keeping the running versions");
              return;
            }
            const outcomes = await runtime.apply(next);
            running = next;
            const applied = outcomes.filter((o) => o.result === "applied").length;
            if (applied > 0) log.info({ applied }, "manifests reloaded");
          },
          { log },
        );
        await new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        await watcher
          .close()
          .then(() => runtime.stop(drainMs))
          .catch((err) => log.error({ err }, "error while stopping"));
      },
    },
    instruments,
    (code) => process.exit(code),
    { announce: true },
  );
}

async function validateCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parse(args, {
    "secrets-dir": { type: "string" },
    "configmaps-dir": { type: "string" },
    "secrets-layout": { type: "string" },
  });
  if (positionals.length === 0) throw new ConfigError("validate needs at least one FILE or DIR");
  const [{ formatProblem, loadManifests }, { dirResolver, parseValuesLayout }] = await Promise.all([
    import("./config/load.js"),
    import("./config/secrets.js"),
  ]);
  const secretsLayout = parseValuesLayout(opts["secrets-layout"]);
  // Progress on a terminal: one line rewritten in place, cleared before the results.
  const tty = process.stderr.isTTY === true;
  const result = await loadManifests(positionals, {
    secretsLayout,
    ...(tty
      ? {
          onFile: (file: string, i: number, n: number) =>
            process.stderr.write(
              `\r\x1b[K[${i}/${n}] ${file}`.slice(0, (process.stderr.columns || 100) + 8),
            ),
        }
      : {}),
  });
  if (tty) process.stderr.write("\r\x1b[K");
  // With the directories run would read, every referenced Secret/ConfigMap key must exist there.
  if (opts["secrets-dir"] !== undefined || opts["configmaps-dir"] !== undefined) {
    const { valueRefProblems } = await import("./config/value-check.js");
    const values = dirResolver({
      secretsDir: opts["secrets-dir"],
      configMapsDir: opts["configmaps-dir"],
      layout: secretsLayout,
    });
    result.problems.push(...(await valueRefProblems(result, values)));
  }
  for (const p of result.problems) process.stdout.write(`${p.severity}: ${formatProblem(p)}\n`);
  const errors = result.problems.filter((p) => p.severity === "error").length;
  const warnings = result.problems.length - errors;
  process.stdout.write(
    `${result.eventSources.length} EventSource(s), ${result.sensors.length} Sensor(s): ${errors} error(s), ${warnings} warning(s)\n`,
  );
  return errors > 0 ? 1 : 0;
}

/** The Sensor `replay` runs: the only one in the file, or the one named by --sensor-name. */
function pickSensor<T extends { manifest: { metadata: { name: string } } }>(
  sensors: readonly T[],
  file: string,
  name: string | undefined,
): T {
  const names = sensors.map((s) => s.manifest.metadata.name);
  if (name !== undefined) {
    const found = sensors.find((s) => s.manifest.metadata.name === name);
    if (!found)
      throw new ConfigError(
        `${file}: no Sensor named '${name}' (found: ${names.join(", ") || "none"})`,
      );
    return found;
  }
  const [only, ...more] = sensors;
  if (!only) throw new ConfigError(`${file}: no Sensor manifest found`);
  if (more.length > 0)
    throw new ConfigError(
      `${file} holds ${sensors.length} Sensors (${names.join(", ")}); choose one with --sensor-name NAME`,
    );
  return only;
}

async function replayCommand(args: string[]): Promise<number> {
  const { values: opts } = parse(args, {
    sensor: { type: "string" },
    "sensor-name": { type: "string" },
    events: { type: "string" },
    "secrets-dir": { type: "string" },
    "configmaps-dir": { type: "string" },
    "secrets-layout": { type: "string" },
    source: { type: "string", multiple: true },
  });
  if (!opts.sensor || !opts.events)
    throw new ConfigError("replay needs --sensor FILE and --events FILE.jsonl");
  const [
    { createReadStream },
    { createInterface },
    { replay },
    { formatProblem, hasErrors, loadManifests },
    { dirResolver, parseValuesLayout },
    { silentLogger },
    { triggerRegistry },
  ] = await Promise.all([
    import("node:fs"),
    import("node:readline"),
    import("./app/replay.js"),
    import("./config/load.js"),
    import("./config/secrets.js"),
    import("./observability/logger.js"),
    import("./triggers/registry.js"),
  ]);
  const urlFiles = replaySourceMap(opts.source ?? []);
  const loaded = await loadManifests([opts.sensor]);
  if (hasErrors(loaded.problems)) {
    for (const p of loaded.problems.filter((x) => x.severity === "error"))
      process.stderr.write(`${formatProblem(p)}\n`);
    return 2;
  }
  const sensor = pickSensor(loaded.sensors, opts.sensor, opts["sensor-name"]);
  const log = silentLogger();
  const kinds = triggerRegistry({
    kube: undefined,
    dryRun: true,
    log,
    // replay is offline: a url source is read from a --source URL=FILE mapping or not at all.
    source: {
      allowUrl: false,
      offlineReason:
        "replay does not fetch url sources (it is offline); map this URL to a local file with --source URL=FILE",
      urlFiles,
    },
  });
  const input = createReadStream(opts.events, "utf8");
  const opened = new Promise<void>((resolve, reject) => {
    input.once("open", () => resolve());
    input.once("error", reject);
  });
  await opened.catch((err) => {
    throw new ConfigError(`--events: cannot read ${opts.events}: ${errorMessage(err)}`);
  });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const out: string[] = [];
  const flush = () => {
    if (out.length > 0) process.stdout.write(`${out.splice(0).join("\n")}\n`);
  };
  for await (const line of replay(lines, {
    sensor: sensor.manifest,
    kinds,
    values: dirResolver({
      secretsDir: opts["secrets-dir"],
      configMapsDir: opts["configmaps-dir"],
      layout: parseValuesLayout(opts["secrets-layout"]),
    }),
    log,
  })) {
    out.push(JSON.stringify(line));
    if (out.length >= 256) flush();
  }
  flush();
  return 0;
}

/** `--source URL=FILE` (repeatable): replay reads that url trigger source from FILE. */
function replaySourceMap(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.lastIndexOf("=");
    if (eq <= 0 || eq === v.length - 1)
      throw new ConfigError(`--source: '${v}' must look like URL=FILE`);
    out.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return out;
}

async function publishCommand(args: string[]): Promise<number> {
  const { values: opts } = parse(args, {
    bus: { type: "string" },
    "event-source": { type: "string" },
    event: { type: "string" },
    data: { type: "string" },
    id: { type: "string" },
    type: { type: "string" },
    "pubsub-topic": { type: "string" },
    project: { type: "string" },
    attribute: { type: "string", multiple: true },
    ...NATS_OPTIONS,
  });
  if (opts.data === undefined) throw new ConfigError("publish needs --data");
  const [{ parseAttributes, publishToBus, publishToPubSub }, { resolveBusUrl }, { createLogger }] =
    await Promise.all([
      import("./app/publish.js"),
      import("./eventbus/index.js"),
      import("./observability/logger.js"),
    ]);
  if (opts["pubsub-topic"]) {
    const projectID =
      opts.project ?? process.env.PUBSUB_PROJECT_ID ?? process.env.GOOGLE_CLOUD_PROJECT;
    if (!projectID)
      throw new ConfigError("publish --pubsub-topic needs --project (or $PUBSUB_PROJECT_ID)");
    const id = await publishToPubSub({
      projectID,
      topic: opts["pubsub-topic"],
      data: opts.data,
      attributes: parseAttributes(opts.attribute),
    });
    process.stdout.write(
      `published message ${id} to projects/${projectID}/topics/${opts["pubsub-topic"]}\n`,
    );
    return 0;
  }
  if (!opts["event-source"] || !opts.event) {
    throw new ConfigError(
      "publish needs --event-source NAME and --event NAME (or --pubsub-topic TOPIC)",
    );
  }
  const result = await publishToBus({
    busUrl: resolveBusUrl(opts.bus, process.env),
    busAuth: await natsAuthFromOptions(opts, process.env),
    eventSource: opts["event-source"],
    eventName: opts.event,
    data: opts.data,
    ...(opts.id ? { id: opts.id } : {}),
    ...(opts.type ? { type: opts.type } : {}),
    log: createLogger({ fd: 2, level: "warn" }),
  });
  process.stdout.write(
    `${result.duplicate ? "duplicate of" : "published"} event ${result.id} (stream sequence ${result.seq})\n`,
  );
  return 0;
}

/** `explain`'s bearer token: --token-file, else $SENSORBUS_CONSOLE_TOKEN, else none. */
async function explainToken(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  if (file === undefined) return env.SENSORBUS_CONSOLE_TOKEN || undefined;
  const { readConsoleAuth } = await import("./app/serve.js");
  const auth = await readConsoleAuth({ tokenFile: file });
  return auth?.bearerToken;
}

/** The options `explain` and `trace` share: where the journal is read from, with credentials. */
const JOURNAL_READ_OPTIONS = {
  json: { type: "boolean" },
  url: { type: "string" },
  bus: { type: "string" },
  ...NATS_OPTIONS,
  "token-file": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/** Where `explain` and `trace` read from: the bus (with NATS credentials) or the console. */
async function journalSource(
  opts: NatsOptionValues & {
    bus?: string | undefined;
    url?: string | undefined;
    "token-file"?: string | undefined;
  },
) {
  const { createLogger } = await import("./observability/logger.js");
  return {
    busUrl: opts.bus,
    busAuth: opts.bus ? await natsAuthFromOptions(opts, process.env) : undefined,
    url: opts.url,
    token: await explainToken(opts["token-file"], process.env),
    log: createLogger({ fd: 2, level: "warn" }),
  };
}

async function explainCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parse(args, JOURNAL_READ_OPTIONS);
  const id = positionals[0];
  if (id === undefined || positionals.length > 1)
    throw new ConfigError(
      "explain needs exactly one EVENT_ID (the X-Event-Id of a webhook answer)",
    );
  const { formatExplanation, loadExplanation } = await import("./app/explain.js");
  const event = await loadExplanation({ id, ...(await journalSource(opts)) });
  if (!event) {
    process.stderr.write(
      `sensorbus explain: event ${id} is not in the journal (unknown id, or older than the journal keeps: the last 10,000 events in memory, one hour on JetStream)\n`,
    );
    return 1;
  }
  process.stdout.write(
    opts.json ? `${JSON.stringify(event, null, 2)}\n` : formatExplanation(event),
  );
  return 0;
}

async function traceCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parse(args, {
    ...JOURNAL_READ_OPTIONS,
    format: { type: "string" },
  });
  const id = positionals[0];
  if (id === undefined || id === "" || positionals.length > 1)
    throw new ConfigError(
      "trace needs exactly one CORRELATION_ID (the X-Correlation-Id / correlationid of an event)",
    );
  const { formatTrace, loadTrace, parseTraceFormat } = await import("./app/trace.js");
  const format = parseTraceFormat(opts.format, opts.json);
  const trace = await loadTrace({ id, ...(await journalSource(opts)) });
  if (!trace) {
    process.stderr.write(
      `sensorbus trace: nothing is known about correlation ID '${id}' (no event carried it, or it is older than the trace keeps: the last 10,000 IDs in memory, 24 h by default on JetStream; on JetStream pass --bus)\n`,
    );
    return 1;
  }
  process.stdout.write(formatTrace(trace, format));
  return 0;
}

async function graphCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parse(args, { format: { type: "string" } });
  const [
    { buildGraph, parseGraphFormat, renderGraph },
    { formatProblem, hasErrors, loadManifests },
  ] = await Promise.all([import("./app/graph.js"), import("./config/load.js")]);
  const format = parseGraphFormat(opts.format);
  const loaded = await loadManifests(
    positionals.length > 0 ? positionals : ["eventsources", "sensors"],
  );
  for (const p of loaded.problems.filter((x) => x.severity === "error"))
    process.stderr.write(`${formatProblem(p)}\n`);
  process.stdout.write(renderGraph(buildGraph(loaded), format));
  return hasErrors(loaded.problems) ? 1 : 0;
}

const CONTROLLER_OPTIONS = {
  ...RUN_OPTIONS,
  namespace: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

async function controllerCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parse(args, CONTROLLER_OPTIONS);
  if (positionals.length > 0) {
    throw new ConfigError(
      "controller takes no FILE or DIR: it reads EventSources and Sensors from the API server",
    );
  }
  const [{ ServeProcess }, { RunnerHost, runController }, { createBus }, { loadKubeClient }] =
    await Promise.all([
      import("./app/serve-process.js"),
      import("./app/controller.js"),
      import("./eventbus/index.js"),
      import("./k8s/client.js"),
    ]);
  const proc = await ServeProcess.open("controller", opts, process.env);
  const { log, dryRun, kubeAccess } = proc;
  const kube = await loadKubeClient(opts.kubeconfig ? { kubeconfigPath: opts.kubeconfig } : {});
  if (!kube) {
    throw new ConfigError(
      "controller: no kubeconfig or in-cluster service account found (--kubeconfig, $KUBECONFIG, ~/.kube/config)",
    );
  }
  const namespace = opts.namespace ?? kube.namespace;
  log.info({ kubernetes: kube.source, namespace, dryRun, kubeAccess }, "controller mode");
  const instruments = proc.instrument(namespace);
  const bus = await createBus(proc.busUrl, {
    log: log.child({ component: "eventbus" }),
    auth: proc.busAuth,
  });
  await instruments.diagnostics.useBus(bus);
  const host = new RunnerHost({
    bus,
    ownsBus: true,
    kube: dryRun ? undefined : kube,
    ...(kubeAccess ? { kubeAccess } : {}),
    dryRun,
    values: proc.values,
    ...instruments.hostHooks,
  });
  return await proc.serve(
    {
      bus,
      stuckTriggers: () => host.stuckTriggers(),
      sourceConnections: () => host.sourceConnections(),
      sensors: () => host.sensors.values(),
      running: () => host.running(),
      abandon: () => host.close(5_000),
      runUntil: (signal, drainMs) =>
        runController({
          kube,
          namespace,
          runtimeFactory: () => host,
          log,
          signal,
          drainTimeoutMs: drainMs,
        }),
      close: () => kube.close(),
    },
    instruments,
    (code) => process.exit(code),
    { announce: false },
  );
}
