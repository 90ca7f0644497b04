import { Worker } from "node:worker_threads";
import { EventsError } from "../errors.js";

/**
 * jq for Argo's dependency `transform.jq`, run by the real jq compiled to WebAssembly (jq-wasm).
 * Argo uses gojq; the language is the same for the filters users write (gojq differs in a few
 * corners: key order of `keys_unsorted`, arbitrary-precision integers, no `input_filename`).
 *
 * jq runs in worker threads (a small warm pool), never on the event loop: a program that does not
 * end (`repeat(.)`, `[range(1e9)]`) is stopped after `timeoutMs` by terminating its worker. Like
 * Argo, only the first output counts, so the program runs as `first(PROGRAM)` and stops there.
 */

/** The program ran past its time limit and was stopped (its worker terminated). */
export class JqTimeoutError extends Error {
  constructor(readonly limitMs: number) {
    super(`jq program did not finish within ${limitMs}ms`);
    this.name = "JqTimeoutError";
  }
}

export interface JqRunOptions {
  /** Wall-clock limit for one program, ms (default 2000). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 2000;
/** Idle workers kept warm. */
const POOL_SIZE = 2;
/** Workers running at once; further programs wait. */
const MAX_WORKERS = 4;

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const jq = import(workerData.jqUrl);
jq.then(() => parentPort.postMessage({ ready: true }), () => parentPort.postMessage({ ready: false }));
parentPort.on("message", async (job) => {
  try {
    const { raw } = await jq;
    const out = await raw(job.input, job.program, ["-c"]);
    parentPort.postMessage({ ok: true, out });
  } catch (err) {
    const fatal = err instanceof WebAssembly.RuntimeError;
    parentPort.postMessage({ ok: false, fatal, error: String((err && err.message) || err) });
  }
});
`;

interface Reply {
  ok: boolean;
  /** jq-wasm aborted: its module is unusable from now on. */
  fatal?: boolean;
  out?: string;
  error?: string;
}

/**
 * jq-wasm leaks memory inside its module: one instance aborts ("Aborted()", "memory access out of
 * bounds") after a few hundred programs (~300 small ones in a measurement), and stays broken. A
 * worker is therefore retired after this many programs, and a program that hit an abort is
 * retried once on a fresh worker.
 */
const PROGRAMS_PER_WORKER = 100;
const used = new WeakMap<Worker, number>();
/** Resolves when the worker has loaded jq-wasm; the time limit starts only then. */
const ready = new WeakMap<Worker, Promise<void>>();
const START_LIMIT_MS = 30_000;

const idle: Worker[] = [];
let running = 0;
const waiting: Array<() => void> = [];

function spawn(): Worker {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { jqUrl: import.meta.resolve("jq-wasm") },
    resourceLimits: { maxOldGenerationSizeMb: 256 },
  });
  worker.unref();
  // An idle worker that dies must not crash the process (an unhandled 'error' event would).
  const forget = () => {
    const i = idle.indexOf(worker);
    if (i >= 0) idle.splice(i, 1);
  };
  worker.on("error", forget);
  worker.on("exit", forget);
  ready.set(
    worker,
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`jq worker did not start within ${START_LIMIT_MS}ms`));
      }, START_LIMIT_MS);
      worker.once("message", (m: { ready?: boolean }) => {
        clearTimeout(timer);
        if (m.ready) resolve();
        else reject(new Error("jq worker could not load jq-wasm"));
      });
      worker.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`jq worker failed: ${err.message}`));
      });
    }),
  );
  return worker;
}

async function slot(): Promise<void> {
  if (running < MAX_WORKERS) {
    running++;
    return;
  }
  await new Promise<void>((resolve) => waiting.push(resolve));
}

function release(): void {
  const next = waiting.shift();
  if (next) next();
  else running--;
}

function exec(worker: Worker, input: string, program: string, timeoutMs: number): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    const onMessage = (reply: Reply) => {
      done();
      resolve(reply);
    };
    const onError = (err: Error) => {
      done();
      reject(new Error(`jq worker failed: ${err.message}`));
    };
    const onExit = (code: number) => {
      done();
      reject(new Error(`jq worker exited (code ${code})`));
    };
    const timer = setTimeout(() => {
      done();
      void worker.terminate();
      reject(new JqTimeoutError(timeoutMs));
    }, timeoutMs);
    worker.on("message", onMessage);
    worker.once("error", onError);
    worker.once("exit", onExit);
    worker.postMessage({ input, program });
  });
}

/** Returns the program's first output as compact JSON text, or undefined when it produced none. */
export async function runJq(
  inputJson: string,
  program: string,
  options: JqRunOptions = {},
): Promise<string | undefined> {
  await slot();
  let reply: Reply;
  try {
    reply = await once(inputJson, program, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    if (reply.fatal)
      reply = await once(inputJson, program, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  } finally {
    release();
  }
  // The program failed on this input (jq's own message): the same again on a retry.
  if (!reply.ok) throw new EventsError("SB_ERR_TRANSFORM", (reply.error ?? "jq failed").trim());
  return (reply.out ?? "").split("\n").find((line) => line.trim() !== "");
}

async function once(inputJson: string, program: string, timeoutMs: number): Promise<Reply> {
  const worker = idle.pop() ?? spawn();
  await ready.get(worker);
  // The newline keeps a trailing `# comment` from swallowing the parenthesis.
  const reply = await exec(worker, inputJson, `first(${program}\n)`, timeoutMs);
  const count = (used.get(worker) ?? 0) + 1;
  used.set(worker, count);
  if (!reply.fatal && count < PROGRAMS_PER_WORKER && idle.length < POOL_SIZE) idle.push(worker);
  else void worker.terminate();
  return reply;
}

/** Stops the warm workers (tests, shutdown). Running programs finish or time out on their own. */
export async function closeJqPool(): Promise<void> {
  await Promise.all(idle.splice(0).map((w) => w.terminate()));
}
