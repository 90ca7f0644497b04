import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { createUser } from "@nats-io/nkeys";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsAuthFromOptions } from "../../src/app/nats-options.js";
import type { CloudEvent } from "../../src/cloudevents/event.js";
import { EventBusError } from "../../src/errors.js";
import { createBus, type EventBus, type NatsAuth } from "../../src/eventbus/index.js";
import { operatorSetup } from "../support/nats-jwt.js";
import { type NatsServer, startNatsServer, waitUntil } from "../support/nats-server.js";
import { makeCa } from "../support/tls-cert.js";

/**
 * Every NATS authentication mode against a real nats-server configured for it (user/password,
 * token, NKey, operator/JWT `.creds`, TLS with a generated CA, client certificates), the refusal of
 * plain text when TLS was asked for, and refused credentials. Each case searches what sensorbus
 * logged and threw (or, for the CLI, printed) for the secret values.
 */

const BIN = resolve(import.meta.dirname, "../../bin/sensorbus.js");
const dir = mkdtempSync(join(tmpdir(), "sb-nats-auth-"));
const secret = (what: string) => `${what}-${randomBytes(9).toString("hex")}`;

const USER = "sensorbus";
const PASSWORD = secret("pw");
const TOKEN = secret("tok");
const nkeyUser = createUser();
const NKEY_SEED = new TextDecoder().decode(nkeyUser.getSeed());
const operator = operatorSetup();

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
};
const PASSWORD_FILE = file("password", `${PASSWORD}\n`);
const TOKEN_FILE = file("token", TOKEN);
const NKEY_FILE = file("user.nk", `${NKEY_SEED}\n`);
const CREDS_FILE = file("user.creds", operator.creds);

/** Captures a pino logger's lines (debug and up) as text. */
function capture() {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { log: pino({ level: "debug" }, stream), text: () => text };
}

function expectNoSecret(text: string, ...secrets: string[]): void {
  for (const s of secrets) expect(text).not.toContain(s);
}

async function roundTrip(bus: EventBus): Promise<void> {
  const event: CloudEvent = {
    specversion: "1.0",
    id: randomBytes(8).toString("hex"),
    source: "auth",
    subject: "probe",
    type: "publish",
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: "{}",
  };
  const res = await bus.publish(event);
  expect(res.seq).toBeGreaterThan(0);
}

/** Connects with `auth`, publishes one event, closes; returns what was logged. */
async function connectAndPublish(url: string, auth?: NatsAuth): Promise<string> {
  const { log, text } = capture();
  const bus = await createBus(url, { log, ...(auth ? { auth } : {}) });
  try {
    expect(bus.kind).toBe("jetstream");
    await roundTrip(bus);
  } finally {
    await bus.close();
  }
  expect(text()).toContain("connected to NATS JetStream");
  return text();
}

/** The error createBus rejects with, and what was logged meanwhile. */
async function refusal(url: string, auth?: NatsAuth): Promise<{ err: Error; logged: string }> {
  const { log, text } = capture();
  const err = await createBus(url, { log, ...(auth ? { auth } : {}) }).then(
    async (bus) => {
      await bus.close();
      throw new Error("connected, but it should have been refused");
    },
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(EventBusError);
  const all = `${err.message}\n${String((err as { cause?: unknown }).cause)}\n${JSON.stringify(err)}`;
  return { err, logged: `${all}\n${text()}` };
}

/** Environment without any NATS_* variable of the test process. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("NATS_")) env[k] = v;
  return { ...env, ...extra };
}

/** Runs the CLI to completion; stdout and stderr together. */
async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: cleanEnv(env),
  });
  let out = "";
  proc.stdout.on("data", (b: Buffer) => {
    out += b.toString("utf8");
  });
  proc.stderr.on("data", (b: Buffer) => {
    out += b.toString("utf8");
  });
  const code = await new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
  return { code, out };
}

const publishArgs = (bus: string) => [
  "publish",
  "--bus",
  bus,
  "--event-source",
  "auth",
  "--event",
  "probe",
  "--data",
  "{}",
];

const servers: NatsServer[] = [];
async function server(config?: string): Promise<NatsServer> {
  const s = await startNatsServer(config === undefined ? {} : { config });
  servers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe("user/password", () => {
  let nats: NatsServer;
  let hostPort: string;
  beforeAll(async () => {
    nats = await server(
      `authorization { users: [ { user: "${USER}", password: "${PASSWORD}" } ] }\n`,
    );
    hostPort = `127.0.0.1:${nats.port}`;
  });

  it("connects with nats://user:password@host and never logs the password", async () => {
    const logged = await connectAndPublish(`nats://${USER}:${PASSWORD}@${hostPort}`);
    expectNoSecret(logged, PASSWORD);
    expect(logged).toContain(`nats://${hostPort}`);
  });

  it("connects with --nats-user and --nats-password-file (publish) and with $NATS_USER/$NATS_PASSWORD (deadletters)", async () => {
    const flags = await cli([
      ...publishArgs(`nats://${hostPort}`),
      "--nats-user",
      USER,
      "--nats-password-file",
      PASSWORD_FILE,
    ]);
    expect(flags.out).toMatch(/^published event/);
    expect(flags.code).toBe(0);
    const env = await cli(["deadletters", "list", "--bus", `nats://${hostPort}`], {
      NATS_USER: USER,
      NATS_PASSWORD: PASSWORD,
    });
    expect(env.code).toBe(0);
    expectNoSecret(flags.out + env.out, PASSWORD);
  });

  it("run: the 'connected to NATS JetStream' line names the server without the password", async () => {
    const manifests = mkdtempSync(join(dir, "manifests-"));
    writeFileSync(
      join(manifests, "sensor.yaml"),
      `apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: auth-probe
spec:
  dependencies:
    - name: dep
      eventSourceName: auth
      eventName: probe
  triggers:
    - template:
        name: log
        log: {}
`,
    );
    const proc = spawn(
      process.execPath,
      [
        BIN,
        "run",
        manifests,
        "--bus",
        `nats://${USER}:${PASSWORD}@${hostPort}`,
        "--metrics-port",
        "0",
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: cleanEnv() },
    );
    let out = "";
    proc.stdout.on("data", (b: Buffer) => {
      out += b.toString("utf8");
    });
    proc.stderr.on("data", (b: Buffer) => {
      out += b.toString("utf8");
    });
    const exited = new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
    try {
      await waitUntil(
        () => out.includes("sensorbus running") || proc.exitCode !== null,
        "sensorbus run to start",
        30_000,
      );
    } finally {
      proc.kill("SIGTERM");
      await exited;
    }
    expect(out).toContain("connected to NATS JetStream");
    expect(out).toContain("sensorbus running");
    expectNoSecret(out, PASSWORD);
  });

  it("refuses a wrong password with a clear error that does not contain it", async () => {
    const wrong = secret("wrong");
    const { err, logged } = await refusal(`nats://${USER}:${wrong}@${hostPort}`);
    expect(err.message).toMatch(
      /cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: Authorization Violation: the server refused the user\/password credentials/,
    );
    expectNoSecret(logged, wrong, PASSWORD);
    const viaCli = await cli(publishArgs(`nats://${USER}:${wrong}@${hostPort}`));
    expect(viaCli.code).toBe(1);
    expect(viaCli.out).toMatch(/Authorization Violation/);
    expectNoSecret(viaCli.out, wrong);
  });

  it("without credentials says the server requires them", async () => {
    const { err } = await refusal(`nats://${hostPort}`);
    expect(err.message).toMatch(/Authorization Violation: the server requires credentials/);
  });
});

describe("token", () => {
  let hostPort: string;
  beforeAll(async () => {
    const nats = await server(`authorization { token: "${TOKEN}" }\n`);
    hostPort = `127.0.0.1:${nats.port}`;
  });

  it("connects with nats://token@host and never logs the token", async () => {
    expectNoSecret(await connectAndPublish(`nats://${TOKEN}@${hostPort}`), TOKEN);
  });

  it("connects with --nats-token-file (explain --bus) and $NATS_TOKEN (publish)", async () => {
    const explained = await cli([
      "explain",
      "no-such-event",
      "--bus",
      `nats://${hostPort}`,
      "--nats-token-file",
      TOKEN_FILE,
    ]);
    // Connected and read the journal: the id is simply not there.
    expect(explained.out).toMatch(/event no-such-event is not in the journal/);
    const env = await cli(publishArgs(`nats://${hostPort}`), { NATS_TOKEN: TOKEN });
    expect(env.code).toBe(0);
    expectNoSecret(explained.out + env.out, TOKEN);
  });

  it("refuses a wrong token without printing it", async () => {
    const wrong = secret("badtok");
    const { err, logged } = await refusal(`nats://${hostPort}`, {
      token: wrong,
      from: { token: "$NATS_TOKEN" },
    });
    expect(err.message).toMatch(
      /Authorization Violation: the server refused the token credentials from \$NATS_TOKEN/,
    );
    expectNoSecret(logged, wrong, TOKEN);
  });
});

describe("NKey", () => {
  let hostPort: string;
  beforeAll(async () => {
    const nats = await server(
      `authorization { users: [ { nkey: "${nkeyUser.getPublicKey()}" } ] }\n`,
    );
    hostPort = `127.0.0.1:${nats.port}`;
  });

  it("connects with --nats-nkey-file (in process and through the CLI) and never logs the seed", async () => {
    const auth = await natsAuthFromOptions({ "nats-nkey-file": NKEY_FILE }, {});
    expectNoSecret(await connectAndPublish(`nats://${hostPort}`, auth), NKEY_SEED);
    const viaCli = await cli([...publishArgs(`nats://${hostPort}`), "--nats-nkey-file", NKEY_FILE]);
    expect(viaCli.code).toBe(0);
    expectNoSecret(viaCli.out, NKEY_SEED);
  });

  it("refuses another user's seed", async () => {
    const other = new TextDecoder().decode(createUser().getSeed());
    const { err, logged } = await refusal(`nats://${hostPort}`, { nkeySeed: other });
    expect(err.message).toMatch(/Authorization Violation: the server refused the nkey credentials/);
    expectNoSecret(logged, other);
  });
});

describe("operator mode: .creds file", () => {
  let hostPort: string;
  beforeAll(async () => {
    const nats = await server(operator.config);
    hostPort = `127.0.0.1:${nats.port}`;
  });

  it("connects with --nats-creds / $NATS_CREDS and never logs the seed", async () => {
    const auth = await natsAuthFromOptions({}, { NATS_CREDS: CREDS_FILE });
    expectNoSecret(await connectAndPublish(`nats://${hostPort}`, auth), operator.userSeed);
    const viaCli = await cli([...publishArgs(`nats://${hostPort}`), "--nats-creds", CREDS_FILE]);
    expect(viaCli.out).toMatch(/^published event/);
    expect(viaCli.code).toBe(0);
    expectNoSecret(viaCli.out, operator.userSeed);
  });

  it("is refused without credentials", async () => {
    const { err } = await refusal(`nats://${hostPort}`);
    expect(err.message).toMatch(/Authorization Violation: the server requires credentials/);
  });
});

describe("TLS", () => {
  const tlsDir = mkdtempSync(join(dir, "tls-"));
  const p = (name: string) => join(tlsDir, name);
  let CA: string;
  let CLIENT_KEY: string;

  beforeAll(() => {
    const ca = makeCa(tlsDir, { cn: "sb-test-ca" });
    ca.sign("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    CLIENT_KEY = ca.sign("client", "sensorbus", "extendedKeyUsage=clientAuth\n").key;
    CA = ca.pem;
  });
  const tlsBlock = (verify: boolean) =>
    `tls {\n  cert_file: "${p("server.pem")}"\n  key_file: "${p("server.key")}"\n  ca_file: "${p("ca.pem")}"\n  verify: ${verify}\n  timeout: 5\n}\n`;

  describe("server certificate from a generated CA", () => {
    let hostPort: string;
    beforeAll(async () => {
      const nats = await server(
        `${tlsBlock(false)}authorization { users: [ { user: "${USER}", password: "${PASSWORD}" } ] }\n`,
      );
      hostPort = `127.0.0.1:${nats.port}`;
    });

    it("connects over tls:// with --nats-ca and user/password, and says so", async () => {
      const auth = await natsAuthFromOptions(
        { "nats-ca": p("ca.pem"), "nats-user": USER, "nats-password-file": PASSWORD_FILE },
        {},
      );
      const logged = await connectAndPublish(`tls://${hostPort}`, auth);
      expect(logged).toMatch(/"tls":true/);
      expectNoSecret(logged, PASSWORD);
      const viaCli = await cli([...publishArgs(`tls://${hostPort}`), "--nats-ca", p("ca.pem")], {
        NATS_USER: USER,
        NATS_PASSWORD_FILE: PASSWORD_FILE,
      });
      expect(viaCli.out).toMatch(/^published event/);
      expect(viaCli.code).toBe(0);
    });

    it("refuses a server certificate that no trusted CA signed", async () => {
      const { err } = await refusal(`tls://${USER}:${PASSWORD}@${hostPort}`);
      expect(err.message).toMatch(
        /cannot connect to NATS at tls:\/\/127\.0\.0\.1:\d+: .*certificate/i,
      );
      expectNoSecret(err.message, PASSWORD);
    });
  });

  describe("client certificate required", () => {
    let hostPort: string;
    beforeAll(async () => {
      const nats = await server(tlsBlock(true));
      hostPort = `127.0.0.1:${nats.port}`;
    });

    it("connects with --nats-cert/--nats-key and never logs the key", async () => {
      const auth = await natsAuthFromOptions(
        { "nats-ca": p("ca.pem"), "nats-cert": p("client.pem"), "nats-key": p("client.key") },
        {},
      );
      const logged = await connectAndPublish(`nats://${hostPort}`, auth);
      expectNoSecret(logged, CLIENT_KEY.split("\n")[1] ?? CLIENT_KEY);
      const viaCli = await cli([...publishArgs(`nats://${hostPort}`)], {
        NATS_CA: p("ca.pem"),
        NATS_CERT: p("client.pem"),
        NATS_KEY: p("client.key"),
      });
      expect(viaCli.out).toMatch(/^published event/);
      expect(viaCli.code).toBe(0);
    });

    it("is refused without a client certificate", async () => {
      const { err } = await refusal(`nats://${hostPort}`, { tls: true, ca: CA });
      // TLS 1.3: the server refuses the handshake after the client has finished its part, and the
      // client only sees its connect time out.
      expect(err.message).toMatch(
        /cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: .*if the server requires a client certificate, give --nats-cert and --nats-key/,
      );
    });
  });

  describe("TLS asked for, server plain text", () => {
    let hostPort: string;
    beforeAll(async () => {
      const nats = await server();
      hostPort = `127.0.0.1:${nats.port}`;
    });

    it("tls:// is refused with a clear error, not 'connected'", async () => {
      const { err, logged } = await refusal(`tls://${USER}:${PASSWORD}@${hostPort}`);
      expect(err.message).toMatch(
        /cannot connect to NATS at tls:\/\/127\.0\.0\.1:\d+: TLS was required \(a tls:\/\/ URL\) but the server offers only plain text/,
      );
      expect(logged).not.toContain("connected to NATS JetStream");
      expectNoSecret(logged, PASSWORD);
    });

    it("--nats-tls (publish, run, controller), $NATS_TLS (deadletters) and --nats-ca are refused the same way", async () => {
      const flag = await cli([...publishArgs(`nats://${hostPort}`), "--nats-tls"]);
      expect(flag.code).toBe(1);
      expect(flag.out).toMatch(
        /TLS was required \(--nats-tls\) but the server offers only plain text/,
      );
      const env = await cli(["deadletters", "list", "--bus", `nats://${hostPort}`], {
        NATS_TLS: "true",
      });
      expect(env.code).toBe(1);
      expect(env.out).toMatch(/TLS was required \(\$NATS_TLS\)/);
      const ca = await cli([...publishArgs(`nats://${hostPort}`), "--nats-ca", p("ca.pem")]);
      expect(ca.code).toBe(1);
      expect(ca.out).toMatch(/TLS was required \(--nats-ca .*ca\.pem\)/);
      // run and controller take the same flags (controller: the bus is opened before any API call).
      const kubeconfig = file(
        "kubeconfig",
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]\ncurrent-context: x\n",
      );
      for (const args of [
        ["run", mkdtempSync(join(dir, "empty-")), "--metrics-port", "0"],
        ["controller", "--kubeconfig", kubeconfig, "--metrics-port", "0"],
      ]) {
        const res = await cli([...args, "--bus", `nats://${hostPort}`, "--nats-tls"]);
        expect(res.code, res.out).toBe(1);
        expect(res.out).toMatch(
          /TLS was required \(--nats-tls\) but the server offers only plain text/,
        );
        expect(res.out).not.toContain("connected to NATS JetStream");
      }
    });
  });
});
