import type { ParseArgsConfig } from "node:util";
import { parseArgs } from "node:util";
import { NATS_OPTIONS, NATS_USAGE, natsAuthFromOptions } from "./app/nats-options.js";
import { ConfigError, errorMessage } from "./errors.js";
import type { Logger } from "./observability/logger.js";

// Each command loads its own modules (dynamic import) so that `validate` and `replay` never load
// what only `run` needs (vendor SDKs, the HTTP servers, the bus clients): start-up stays fast.

const VERSION = "0.1.0";

const USAGE = `sensorbus ${VERSION}: Argo Events EventSources and Sensors on NATS JetStream or in memory

Usage:
  sensorbus run [FILE|DIR...] [options]     run every EventSource and Sensor found
  sensorbus validate FILE|DIR...            check manifests; non-zero exit on errors
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

${NATS_USAGE}
Options for run:
  --bus memory|nats://host:port[,nats://...]  event bus (default: $NATS_URL, else memory)
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
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

/** Entry point; returns the process exit code. The only place that reads argv or sets exit codes. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
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
        process.stdout.write(`${VERSION}\n`);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`sensorbus: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    process.stderr.write(`sensorbus ${command}: ${errorMessage(err)}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}

function parse<O extends ParseArgsConfig["options"]>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ConfigError(`${errorMessage(err)} (see 'sensorbus --help')`);
  }
}

async function runCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parse(args, RUN_OPTIONS);
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [
    { Diagnostics },
    { watchManifestFiles },
    { Runtime },
    { checkConsoleOptions, parseConsolePort, parseMetricsPort, serveConsole, serveObservability },
    { applyEvaluationSettings },
    { formatProblem, hasErrors, loadManifests },
    { dirResolver, parseValuesLayout },
    { resolveBusUrl },
    { loadKubeClient },
    { kubeAccessFromFlags },
    { createLogger },
    { Metrics },
  ] = await Promise.all([
    import("./app/diagnostics.js"),
    import("./app/reload.js"),
    import("./app/runtime.js"),
    import("./app/serve.js"),
    import("./app/evaluation-settings.js"),
    import("./config/load.js"),
    import("./config/secrets.js"),
    import("./eventbus/index.js"),
    import("./k8s/client.js"),
    import("./k8s/scope.js"),
    import("./observability/logger.js"),
    import("./observability/metrics.js"),
  ]);
  const format = opts["log-format"] ?? "json";
  if (format !== "json" && format !== "pretty")
    throw new ConfigError(`--log-format: '${format}' is not json or pretty`);
  const log = createLogger({ format, ...(opts["log-level"] ? { level: opts["log-level"] } : {}) });
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
  const dryRun = opts["dry-run"] === true;
  const kubeAccess = kubeAccessFromFlags("run", opts);
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

  const metricsPort = parseMetricsPort(opts["metrics-port"]);
  const consoleOptions = consoleListenOptions(opts, log, parseConsolePort);
  await checkConsoleOptions(consoleOptions);
  const metrics = new Metrics(process.env.SENSORBUS_NAMESPACE ?? "default");
  const evaluation = applyEvaluationSettings(
    { budget: opts["evaluation-budget"], templateEnv: opts["template-env"] },
    process.env,
    metrics,
  );
  log.info(evaluation, "evaluation budget and template environment");
  const busUrl = resolveBusUrl(opts.bus, process.env);
  const busAuth = await natsAuthFromOptions(opts, process.env);
  // Decisions per event id for `sensorbus explain` and the console; spans when an OTel SDK is loaded.
  const { parseTraceLimits } = await import("./app/trace.js");
  const diagnostics = new Diagnostics(log, {
    traceLimits: parseTraceLimits(opts["trace-retention"], opts["trace-max-bytes"]),
  });
  const runtime = await Runtime.start({
    loaded,
    busAuth,
    busUrl,
    kube,
    ...(kubeAccess ? { kubeAccess } : {}),
    dryRun,
    values: dirResolver({
      secretsDir: opts["secrets-dir"],
      configMapsDir: opts["configmaps-dir"],
      layout: parseValuesLayout(opts["secrets-layout"]),
    }),
    log,
    metrics,
    observer: diagnostics.observer,
    onEmit: diagnostics.onEmit,
    startReceive: diagnostics.startReceive,
    onDrained: () => diagnostics.flush(),
  });
  await diagnostics.useBus(runtime.bus);
  let running = loaded;
  const served = await serveObservability({
    metrics,
    port: metricsPort,
    host: opts.listen ?? "127.0.0.1",
    health: {
      busConnected: () => runtime.bus.connected,
      stuckTriggers: () => runtime.stuckTriggers(),
    },
    sensors: () => runtime.sensors,
  }).catch(async (err) => {
    await runtime.stop(5_000);
    throw err;
  });
  if (served.url)
    log.info({ metrics: `${served.url}/metrics` }, "metrics and health endpoints listening");
  const consoleServed = await serveConsole({
    ...consoleOptions,
    routes: diagnostics.console(
      () => running,
      () => runtime.stuckTriggers(),
    ),
  }).catch(async (err) => {
    await served.close();
    await runtime.stop(5_000);
    throw err;
  });
  if (consoleServed.url) log.info({ console: `${consoleServed.url}/ui` }, "web console listening");
  // File mode: changed manifests are reloaded in place; an invalid edit keeps the running version.
  const watcher = watchManifestFiles(
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
  const drainMs = Number(opts["drain-timeout"] ?? "30") * 1000;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, "second signal: exiting without draining");
        process.exit(130);
      }
      stopping = true;
      log.info({ signal, drainTimeoutMs: drainMs }, "draining");
      watcher
        .close()
        .then(() => runtime.stop(drainMs))
        .then(resolve, (err) => {
          log.error({ err }, "error while stopping");
          resolve();
        });
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
  await served.close();
  await consoleServed.close();
  log.info("stopped");
  log.flush?.();
  return 0;
}

async function validateCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parse(args, { "secrets-layout": { type: "string" } });
  if (positionals.length === 0) throw new ConfigError("validate needs at least one FILE or DIR");
  const [{ formatProblem, loadManifests }, { parseValuesLayout }] = await Promise.all([
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
  for (const p of result.problems) process.stdout.write(`${p.severity}: ${formatProblem(p)}\n`);
  const errors = result.problems.filter((p) => p.severity === "error").length;
  const warnings = result.problems.length - errors;
  process.stdout.write(
    `${result.eventSources.length} EventSource(s), ${result.sensors.length} Sensor(s): ${errors} error(s), ${warnings} warning(s)\n`,
  );
  return errors > 0 ? 1 : 0;
}

async function replayCommand(args: string[]): Promise<number> {
  const { values: opts } = parse(args, {
    sensor: { type: "string" },
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
  const sensor = loaded.sensors[0];
  if (!sensor) throw new ConfigError(`${opts.sensor}: no Sensor manifest found`);
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

/** The console listener's flags of `run` and `controller`. */
function consoleListenOptions(
  opts: {
    "console-port"?: string | undefined;
    "console-listen"?: string | undefined;
    "console-token-file"?: string | undefined;
    "console-basic-auth-file"?: string | undefined;
    "console-allowed-hosts"?: string | undefined;
  },
  log: Logger,
  parseConsolePort: (value: string | undefined) => number,
) {
  return {
    port: parseConsolePort(opts["console-port"]),
    host: opts["console-listen"] ?? "127.0.0.1",
    tokenFile: opts["console-token-file"],
    basicAuthFile: opts["console-basic-auth-file"],
    allowedHosts: opts["console-allowed-hosts"],
    ...(opts["console-port"] === undefined
      ? {
          onDefaultPortBusy: (message: string) =>
            log.warn(
              { err: message },
              "web console off: its default port 7778 is in use (give --console-port)",
            ),
        }
      : {}),
  };
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

async function explainCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parse(args, {
    json: { type: "boolean" },
    url: { type: "string" },
    bus: { type: "string" },
    ...NATS_OPTIONS,
    "token-file": { type: "string" },
  });
  const id = positionals[0];
  if (id === undefined || positionals.length > 1)
    throw new ConfigError(
      "explain needs exactly one EVENT_ID (the X-Event-Id of a webhook answer)",
    );
  const [{ formatExplanation, loadExplanation }, { createLogger }] = await Promise.all([
    import("./app/explain.js"),
    import("./observability/logger.js"),
  ]);
  const event = await loadExplanation({
    id,
    busUrl: opts.bus,
    busAuth: opts.bus ? await natsAuthFromOptions(opts, process.env) : undefined,
    url: opts.url,
    token: await explainToken(opts["token-file"], process.env),
    log: createLogger({ fd: 2, level: "warn" }),
  });
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
    json: { type: "boolean" },
    format: { type: "string" },
    url: { type: "string" },
    bus: { type: "string" },
    ...NATS_OPTIONS,
    "token-file": { type: "string" },
  });
  const id = positionals[0];
  if (id === undefined || id === "" || positionals.length > 1)
    throw new ConfigError(
      "trace needs exactly one CORRELATION_ID (the X-Correlation-Id / correlationid of an event)",
    );
  const [{ formatTrace, loadTrace, parseTraceFormat }, { createLogger }] = await Promise.all([
    import("./app/trace.js"),
    import("./observability/logger.js"),
  ]);
  const format = parseTraceFormat(opts.format, opts.json);
  const trace = await loadTrace({
    id,
    busUrl: opts.bus,
    busAuth: opts.bus ? await natsAuthFromOptions(opts, process.env) : undefined,
    url: opts.url,
    token: await explainToken(opts["token-file"], process.env),
    log: createLogger({ fd: 2, level: "warn" }),
  });
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
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 0) {
    throw new ConfigError(
      "controller takes no FILE or DIR: it reads EventSources and Sensors from the API server",
    );
  }
  const [
    { RunnerHost, runController },
    { Diagnostics },
    { checkConsoleOptions, parseConsolePort, parseMetricsPort, serveConsole, serveObservability },
    { applyEvaluationSettings },
    { dirResolver, parseValuesLayout },
    { createBus, resolveBusUrl },
    { loadKubeClient },
    { kubeAccessFromFlags },
    { createLogger },
    { Metrics },
  ] = await Promise.all([
    import("./app/controller.js"),
    import("./app/diagnostics.js"),
    import("./app/serve.js"),
    import("./app/evaluation-settings.js"),
    import("./config/secrets.js"),
    import("./eventbus/index.js"),
    import("./k8s/client.js"),
    import("./k8s/scope.js"),
    import("./observability/logger.js"),
    import("./observability/metrics.js"),
  ]);
  const format = opts["log-format"] ?? "json";
  if (format !== "json" && format !== "pretty")
    throw new ConfigError(`--log-format: '${format}' is not json or pretty`);
  const log = createLogger({ format, ...(opts["log-level"] ? { level: opts["log-level"] } : {}) });
  const kube = await loadKubeClient(opts.kubeconfig ? { kubeconfigPath: opts.kubeconfig } : {});
  if (!kube) {
    throw new ConfigError(
      "controller: no kubeconfig or in-cluster service account found (--kubeconfig, $KUBECONFIG, ~/.kube/config)",
    );
  }
  const namespace = opts.namespace ?? kube.namespace;
  const dryRun = opts["dry-run"] === true;
  const kubeAccess = kubeAccessFromFlags("controller", opts);
  const metricsPort = parseMetricsPort(opts["metrics-port"]);
  const consoleOptions = consoleListenOptions(opts, log, parseConsolePort);
  await checkConsoleOptions(consoleOptions);
  const drainMs = Number(opts["drain-timeout"] ?? "30") * 1000;
  if (!Number.isFinite(drainMs) || drainMs < 0)
    throw new ConfigError(`--drain-timeout: '${opts["drain-timeout"]}' is not a number of seconds`);
  log.info({ kubernetes: kube.source, namespace, dryRun, kubeAccess }, "controller mode");
  const metrics = new Metrics(namespace);
  const evaluation = applyEvaluationSettings(
    { budget: opts["evaluation-budget"], templateEnv: opts["template-env"] },
    process.env,
    metrics,
  );
  log.info(evaluation, "evaluation budget and template environment");
  const bus = await createBus(resolveBusUrl(opts.bus, process.env), {
    log: log.child({ component: "eventbus" }),
    auth: await natsAuthFromOptions(opts, process.env),
  });
  const { parseTraceLimits } = await import("./app/trace.js");
  const diagnostics = new Diagnostics(log, {
    traceLimits: parseTraceLimits(opts["trace-retention"], opts["trace-max-bytes"]),
  });
  await diagnostics.useBus(bus);
  const host = new RunnerHost({
    bus,
    ownsBus: true,
    kube: dryRun ? undefined : kube,
    ...(kubeAccess ? { kubeAccess } : {}),
    dryRun,
    values: dirResolver({
      secretsDir: opts["secrets-dir"],
      configMapsDir: opts["configmaps-dir"],
      layout: parseValuesLayout(opts["secrets-layout"]),
    }),
    log,
    metrics,
    observer: diagnostics.observer,
    onEmit: diagnostics.onEmit,
    startReceive: diagnostics.startReceive,
    onDrained: () => diagnostics.flush(),
  });
  const served = await serveObservability({
    metrics,
    port: metricsPort,
    host: opts.listen ?? "127.0.0.1",
    health: { busConnected: () => bus.connected, stuckTriggers: () => host.stuckTriggers() },
    sensors: () => host.sensors.values(),
  }).catch(async (err) => {
    await host.close(5_000);
    throw err;
  });
  const consoleServed = await serveConsole({
    ...consoleOptions,
    routes: diagnostics.console(
      () => host.running(),
      () => host.stuckTriggers(),
    ),
  }).catch(async (err) => {
    await served.close();
    await host.close(5_000);
    throw err;
  });
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      log.warn({ signal }, "second signal: exiting without draining");
      process.exit(130);
    }
    log.info({ signal, drainTimeoutMs: drainMs }, "draining");
    abort.abort();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await runController({
      kube,
      namespace,
      runtimeFactory: () => host,
      log,
      signal: abort.signal,
      drainTimeoutMs: drainMs,
    });
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    await served.close();
    await consoleServed.close();
    kube.close();
  }
  log.info("stopped");
  log.flush?.();
  return 0;
}
