import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

/**
 * Starts real `nats-server -js` processes for integration tests: loopback only, an ephemeral client
 * port read back from the server's ports file (never a fixed port), a temporary store directory.
 * The pattern is nats.js's `nst` launcher.
 */

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

export interface NatsServerOptions {
  /** Only `false` is accepted here; use startNatsCluster for clusters. */
  cluster?: false;
  /** JetStream store directory; a temporary one (removed by stop) when omitted. */
  storeDir?: string;
  /** Extra command-line arguments. */
  args?: string[];
  /**
   * A nats-server configuration file's text (authorization, tls, operator, ...), written to a
   * temporary file and passed with `-c`. The command line still sets the loopback address, the
   * ephemeral port, JetStream and the store directory (flags win over the file).
   */
  config?: string;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Current process id (changes on restart). */
  readonly pid: number;
  /** Graceful shutdown; removes the temporary directories this launcher created. */
  stop(): Promise<void>;
  /** Sends a signal and waits for the process to exit (the store directory is kept). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the process if running (SIGTERM) and starts it again on the same port and store dir. */
  restart(): Promise<void>;
}

interface NodeSpec {
  storeDir: string;
  portsDir: string;
  /** Arguments besides the client port. */
  args: (self: NodeState) => string[];
}

interface NodeState {
  port: number;
}

interface PortsFile {
  nats?: string[];
}

class ServerProcess implements NatsServer {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private stderrTail = "";
  private readonly state: NodeState = { port: -1 };

  constructor(
    private readonly spec: NodeSpec,
    private readonly ownedDirs: string[],
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.state.port}`;
  }
  get port(): number {
    return this.state.port;
  }
  get storeDir(): string {
    return this.spec.storeDir;
  }
  get pid(): number {
    return this.child?.pid ?? -1;
  }

  async start(): Promise<void> {
    const args = [
      "-js",
      "-a",
      "127.0.0.1",
      "-p",
      String(this.state.port),
      "--ports_file_dir",
      this.spec.portsDir,
      "-sd",
      this.spec.storeDir,
      ...this.spec.args(this.state),
    ];
    this.stderrTail = "";
    const child = spawn(NATS_SERVER, args, { stdio: ["ignore", "ignore", "pipe"] });
    this.child = child;
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    let exitCode: number | null | undefined;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        exitCode = code ?? (signal ? -1 : 0);
        resolve(undefined);
      });
      child.once("error", (err) => {
        this.stderrTail += String(err);
        exitCode = -1;
        resolve(undefined);
      });
    });
    const pid = child.pid;
    if (pid === undefined) {
      await this.exited;
      throw new Error(`cannot start ${NATS_SERVER}: ${this.stderrTail}`);
    }
    const portsFile = join(this.spec.portsDir, `nats-server_${pid}.ports`);
    const deadline = Date.now() + START_TIMEOUT_MS;
    let ports: PortsFile | undefined;
    while (!ports) {
      if (exitCode !== undefined) {
        throw new Error(`nats-server exited during start (code ${exitCode}): ${this.stderrTail}`);
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`nats-server did not write ${portsFile} in time: ${this.stderrTail}`);
      }
      ports = await readPortsFile(this.spec.portsDir, pid);
      if (!ports) await delay(20);
    }
    const client = ports.nats?.[0];
    if (!client) throw new Error(`ports file of nats-server ${pid} lists no client port`);
    this.state.port = Number(new URL(client).port);
    await waitForInfo(this.state.port, deadline);
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.kill("SIGTERM");
    await this.start();
  }

  async stop(): Promise<void> {
    await this.kill("SIGTERM");
    await Promise.all(this.ownedDirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

async function readPortsFile(dir: string, pid: number): Promise<PortsFile | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const name = names.find((n) => n.endsWith(`_${pid}.ports`));
  if (!name) return undefined;
  const text = await readFile(join(dir, name), "utf8").catch(() => "");
  try {
    return JSON.parse(text) as PortsFile;
  } catch {
    return undefined; // partially written; read again
  }
}

/** The client port answers with an INFO line once the server accepts connections. */
async function waitForInfo(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = tcpConnect({ host: "127.0.0.1", port });
      const done = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(2000, () => done(false));
      sock.once("data", (d) => done(d.toString("utf8").startsWith("INFO")));
      sock.once("error", () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server on port ${port} does not answer`);
    await delay(20);
  }
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const owned: string[] = [];
  const portsDir = await mkdtemp(join(tmpdir(), "sb-nats-ports-"));
  owned.push(portsDir);
  let storeDir = options.storeDir;
  if (!storeDir) {
    storeDir = await mkdtemp(join(tmpdir(), "sb-nats-store-"));
    owned.push(storeDir);
  }
  const extra = [...(options.args ?? [])];
  if (options.config !== undefined) {
    const confDir = await mkdtemp(join(tmpdir(), "sb-nats-conf-"));
    owned.push(confDir);
    const confFile = join(confDir, "nats-server.conf");
    await writeFile(confFile, options.config, { mode: 0o600 });
    extra.push("-c", confFile);
  }
  const server = new ServerProcess({ storeDir, portsDir, args: () => extra }, owned);
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

export interface NatsCluster {
  readonly nodes: readonly NatsServer[];
  /** Every node's client URL. */
  readonly servers: string[];
  stop(): Promise<void>;
}

/**
 * An `n`-node JetStream cluster on loopback. Client ports come from the ports files; the route ports
 * are ephemeral ports the OS hands out up front (JetStream clustering needs every node to have
 * configured routes), and every node routes to all of them (a route to itself is ignored).
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  // A released ephemeral port can be taken by another process (an outgoing connection) before
  // nats-server binds it: try again with fresh ports when that happens.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(size);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test(String(err))) throw err;
    }
  }
}

async function startNatsClusterOnce(size: number): Promise<NatsCluster> {
  const clusterName = `sb-test-${process.pid}-${Date.now().toString(36)}`;
  const routePorts = await freePorts(size);
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(",");
  const nodes: ServerProcess[] = [];
  for (let i = 0; i < size; i++) {
    const storeDir = await mkdtemp(join(tmpdir(), "sb-nats-store-"));
    const portsDir = await mkdtemp(join(tmpdir(), "sb-nats-ports-"));
    const args = [
      "--server_name",
      `n${i + 1}`,
      "--cluster_name",
      clusterName,
      "--cluster",
      `nats://127.0.0.1:${routePorts[i]}`,
      "--routes",
      routes,
    ];
    nodes.push(new ServerProcess({ storeDir, portsDir, args: () => args }, [storeDir, portsDir]));
  }
  const started = await Promise.allSettled(nodes.map((n) => n.start()));
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw failed.reason;
  }
  return {
    nodes,
    servers: nodes.map((n) => n.url),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** Ports the OS reports free right now (listen on port 0, then close). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const srv = createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => resolve());
      });
      return srv;
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * SIGSTOPs a process and resolves once every one of its threads is stopped (state `T` in
 * /proc/<pid>/task/<tid>/stat). The signal alone is not enough: a Go thread already running on
 * the other core can still read a socket and answer before it stops.
 */
export async function freeze(pid: number): Promise<void> {
  process.kill(pid, "SIGSTOP");
  const stopped = async (): Promise<boolean> => {
    const tasks = await readdir(`/proc/${pid}/task`);
    for (const tid of tasks) {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => "");
      // The state is the first field after the parenthesised command name.
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "" && state !== "T" && state !== "t") return false;
    }
    return true;
  };
  await waitUntil(stopped, `process ${pid} to stop`);
}

/** Resolves when `cond()` holds, polling; rejects after `timeoutMs` naming `what`. */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}
