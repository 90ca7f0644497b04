import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * Start-up (issue 21): `validate` and `replay` must not load the vendor SDKs and servers that only
 * `run` needs. The CLI runs in a child process with a module-resolution hook that writes every
 * resolved module URL to a file; the test then looks for the packages that must stay unloaded.
 * (Speed itself is measured by `npm run bench`, never asserted here.)
 */

const run = promisify(execFile);
const BIN = new URL("../../bin/sensorbus.js", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

const HOOKS = `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.SB_IMPORT_LOG, r.url + "\\n");
  return r;
}
`;
const REGISTER = `import { register } from "node:module";
register("./hooks.mjs", import.meta.url);
`;

const HEAVY = [
  "@kubernetes/client-node",
  "@google-cloud/pubsub",
  "@octokit/rest",
  "@octokit/auth-app",
  "@gitbeaker/rest",
  "@nats-io/transport-node",
  "@nats-io/jetstream",
  "@nats-io/kv",
  "undici",
  "nodemailer",
  "@slack/web-api",
  "wasmoon",
  "fastify",
  "prom-client",
  "pino-pretty",
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sb-startup-"));
  await writeFile(join(dir, "hooks.mjs"), HOOKS);
  await writeFile(join(dir, "register.mjs"), REGISTER);
});

function packagesIn(text: string): Map<string, number> {
  const packages = new Map<string, number>();
  for (const url of new Set(text.split("\n"))) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) packages.set(m[1]!, (packages.get(m[1]!) ?? 0) + 1);
  }
  return packages;
}

/** The node_modules packages a CLI invocation loaded (scoped names kept whole), with counts. */
async function packagesLoadedBy(args: string[]): Promise<Map<string, number>> {
  const log = join(dir, `imports-${args[0]}.log`);
  await writeFile(log, "");
  await run(process.execPath, ["--import", join(dir, "register.mjs"), BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, SB_IMPORT_LOG: log },
  });
  return packagesIn(await readFile(log, "utf8"));
}

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * `sensorbus run` of an EventSource (default: the example webhook one, its port replaced) and the
 * example Sensors, stopped once it listens (the `listening` log message).
 */
async function packagesLoadedByWebhookRun(
  source?: (port: number) => string,
  listening_ = "webhook server listening",
): Promise<Map<string, number>> {
  const log = join(dir, "imports-run.log");
  await writeFile(log, "");
  const port = await freePort();
  const es = join(dir, "webhook.yaml");
  const example = await readFile(join(ROOT, "eventsources/webhook.yaml"), "utf8");
  await writeFile(es, source ? source(port) : example.replaceAll('"12000"', `"${port}"`));
  const child = spawn(
    process.execPath,
    [
      "--import",
      join(dir, "register.mjs"),
      BIN,
      "run",
      es,
      "sensors/",
      "--bus",
      "memory",
      "--dry-run",
      "--metrics-port",
      "0",
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        SB_IMPORT_LOG: log,
        SENSORBUS_WEBHOOK_HOST: "127.0.0.1",
        NATS_URL: "",
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = once(child, "exit");
  let listening = false;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.includes(`"msg":"${listening_}"`)) {
      listening = true;
      break;
    }
  }
  child.kill("SIGTERM");
  await exited;
  expect(listening, `sensorbus run logged '${listening_}'`).toBe(true);
  return packagesIn(await readFile(log, "utf8"));
}

// The CLI runs the compiled dist/ (npm test builds first).
describe("start-up: commands load only what they use", () => {
  it("validate loads no vendor SDK, server or bus client", async () => {
    const loaded = await packagesLoadedBy(["validate", "eventsources/", "sensors/"]);
    expect(loaded.has("yaml")).toBe(true); // the hook saw the packages validate does need
    expect(HEAVY.filter((p) => loaded.has(p))).toEqual([]);
  });

  it("validate loads typebox as the one module the build bundles, not the package's ~680", async () => {
    const loaded = await packagesLoadedBy(["validate", "eventsources/", "sensors/"]);
    expect(loaded.get("typebox") ?? 0).toBe(0);
  });

  it("run with only webhook sources loads fastify and prom-client, but no SDK, bus or HTTP client", async () => {
    const loaded = await packagesLoadedByWebhookRun();
    expect(loaded.has("fastify")).toBe(true);
    expect(loaded.has("prom-client")).toBe(true);
    const notNeeded = HEAVY.filter((p) => !["fastify", "prom-client"].includes(p));
    expect(notNeeded.filter((p) => loaded.has(p))).toEqual([]);
  });

  it("run with github and gitlab sources that register no hook (no webhook.url) loads neither Git host SDK", async () => {
    const other = await freePort();
    const loaded = await packagesLoadedByWebhookRun(
      (port) => `apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: githost
spec:
  github:
    push:
      repositories: [{ owner: octo, names: [hello] }]
      webhook: { port: "${port}", endpoint: /github, method: POST }
      events: [push]
  gitlab:
    mr:
      projects: ["1"]
      webhook: { port: "${other}", endpoint: /gitlab, method: POST }
      events: [PushEvents]
      gitlabBaseURL: https://gitlab.example.com
      accessToken: { name: gitlab-access, key: token }
`,
      "sensorbus running",
    );
    expect(loaded.has("fastify")).toBe(true);
    expect(
      ["@octokit/rest", "@octokit/auth-app", "@gitbeaker/rest"].filter((p) => loaded.has(p)),
    ).toEqual([]);
  });

  it("replay loads no vendor SDK, server or bus client", async () => {
    const loaded = await packagesLoadedBy([
      "replay",
      "--sensor",
      "sensors/cross-workflow.yaml",
      "--events",
      "test/fixtures/replay/cross-workflow.jsonl",
    ]);
    expect(loaded.has("yaml")).toBe(true);
    expect(HEAVY.filter((p) => loaded.has(p))).toEqual([]);
  });

  it("replay of email and slack triggers renders them without loading nodemailer or the Slack SDK", async () => {
    const at = join(dir, "notify");
    await mkdir(join(at, "secrets", "smtp"), { recursive: true });
    await mkdir(join(at, "secrets", "slack"), { recursive: true });
    await writeFile(join(at, "secrets", "smtp", "password"), "pw");
    await writeFile(join(at, "secrets", "slack", "token"), "xoxb");
    await writeFile(
      join(at, "sensor.yaml"),
      [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Sensor",
        "metadata: { name: notify }",
        "spec:",
        "  dependencies: [{ name: d, eventSourceName: webhook, eventName: example }]",
        "  triggers:",
        "    - template:",
        "        name: mail",
        "        email: { host: smtp.example.com, username: u, smtpPassword: { name: smtp, key: password }, to: [a@example.com], subject: s, body: b }",
        "    - template:",
        "        name: post",
        "        slack: { slackToken: { name: slack, key: token }, channel: general, message: m }",
        "",
      ].join("\n"),
    );
    await writeFile(
      join(at, "events.jsonl"),
      `${JSON.stringify({ specversion: "1.0", id: "1", source: "webhook", subject: "example", type: "webhook", datacontenttype: "application/json", data: { body: {} } })}\n`,
    );
    const args = [
      "replay",
      "--sensor",
      join(at, "sensor.yaml"),
      "--events",
      join(at, "events.jsonl"),
      "--secrets-dir",
      join(at, "secrets"),
    ];
    // Both triggers are rendered (fired) by the replay...
    const { stdout } = await run(process.execPath, [BIN, ...args], { cwd: ROOT });
    expect(stdout.split("\n").filter((l) => l.includes('"kind":"fired"'))).toHaveLength(2);
    // ...and neither SDK is loaded for it.
    const loaded = await packagesLoadedBy(args);
    expect(loaded.has("yaml")).toBe(true);
    expect(HEAVY.filter((p) => loaded.has(p))).toEqual([]);
  });
});
