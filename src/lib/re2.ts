import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import { RE2JS } from "re2js";
import { chargeBudget, exceedBudget, remainingBudgetMs } from "./budget.js";
import { Memo } from "./memo.js";

/**
 * Go's `regexp` package for every pattern a manifest or an event supplies, on re2js (a pure
 * JavaScript port of RE2/J): RE2 syntax exactly as Go parses it (`\pL`, `\p{Greek}`, `\x{61}`,
 * `(?i)`, `(?s)`, `\z`, `[[:alpha:]]`, `(?P<name>…)`), leftmost-first matching, and matching time
 * linear in the input for every pattern: there is no backtracking to blow up. Patterns RE2 refuses
 * (backreferences, lookaround, `\C`, repeat counts over 1000) are refused with Go's error text
 * (`error parsing regexp: invalid escape sequence: \`\1\``).
 *
 * The only module that imports re2js. Positions are JavaScript string (UTF-16) offsets; results that
 * Go gives as strings are the same strings.
 */

/** A pattern RE2 refuses; `message` is Go's `regexp.Compile` error text. */
export class GoRegexpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GoRegexpError";
  }
}

/** Longest pattern compiled (Go has no such limit but RE2's program-size cap refuses huge ones). */
const MAX_PATTERN = 16_384;
/** Compiled patterns kept (the same few patterns are used for every event). */
const CACHE_SIZE = 512;
const cache = new Memo<string, GoRegexp | GoRegexpError>(CACHE_SIZE);
/** Longest string a replace builds, characters (beyond it: an error, never an out-of-memory). */
const MAX_RESULT = 16 * 1024 * 1024;

/** regexp.Compile: the compiled pattern, or throws GoRegexpError. Cached (bounded), failures too. */
export function compileGoRegexp(pattern: string): GoRegexp {
  const result = cache.get(pattern, compile);
  if (result instanceof GoRegexpError) throw result;
  return result;
}

function compile(pattern: string): GoRegexp | GoRegexpError {
  if (pattern.length > MAX_PATTERN) {
    return new GoRegexpError(
      `error parsing regexp: expression too large: \`${pattern.slice(0, 40)}…\``,
    );
  }
  try {
    return new GoRegexp(pattern, RE2JS.compile(pattern));
  } catch (err) {
    return new GoRegexpError(
      err instanceof Error && err.message.startsWith("error parsing regexp:")
        ? err.message
        : `error parsing regexp: ${err instanceof Error ? err.message : String(err)}: \`${pattern}\``,
    );
  }
}

/** The error text regexp.Compile gives for `pattern`, or undefined when it compiles. */
export function goRegexpError(pattern: string): string | undefined {
  try {
    compileGoRegexp(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** regexp.MatchString(pattern, s): unanchored. Throws GoRegexpError for a bad pattern. */
export function goMatchString(pattern: string, s: string): boolean {
  return compileGoRegexp(pattern).matchString(s);
}

const META = new Set([..."\\.+*?()|[]{}^$"]);

/** regexp.QuoteMeta. */
export function goQuoteMeta(s: string): string {
  let out = "";
  for (const c of s) out += META.has(c) ? `\\${c}` : c;
  return out;
}

/** RE2/J's internal RE2 object (Go's regexp.Regexp methods, on UTF-16 input). */
interface Re2Core {
  findIndex(s: string): number[] | null;
  findSubmatchIndex(s: string): number[] | null;
  findAllIndex(s: string, n: number): number[][] | null;
  findAllSubmatchIndex(s: string, n: number): number[][] | null;
  numberOfCapturingGroups(): number;
  namedGroups: Record<string, number>;
}

/** A compiled Go regexp (the methods sensorbus needs, named as Go names them). */
export class GoRegexp {
  private readonly core: Re2Core;
  private readonly names: Record<string, number>;
  /** RE2 program size: a match costs up to this many steps per input character. */
  private readonly size: number;

  constructor(
    /** The pattern as written (Go's String()). */
    readonly source: string,
    compiled: RE2JS,
  ) {
    this.core = compiled.re2() as unknown as Re2Core;
    this.size = compiled.programSize();
    // A pattern this large will send searches over long inputs to the worker: start it now, so
    // the first such search does not spend its budget waiting for the worker to load.
    if (this.size > PREWARM_SIZE) searchWorker ??= startSearchWorker();
    this.names = this.core.namedGroups ?? {};
  }

  /** NumSubexp. */
  numSubexp(): number {
    return this.core.numberOfCapturingGroups();
  }

  /** SubexpNames: index 0 is "", unnamed groups "". */
  subexpNames(): string[] {
    const out = new Array<string>(this.numSubexp() + 1).fill("");
    for (const [name, i] of Object.entries(this.names)) out[i] = name;
    return out;
  }

  /** MatchString: is there a match anywhere in s (unanchored). */
  matchString(s: string): boolean {
    return this.run("findIndex", s) !== null;
  }

  /** FindString: the leftmost match, "" when none. */
  findString(s: string): string {
    const m = this.run("findIndex", s);
    return m ? s.slice(m[0], m[1]) : "";
  }

  /** FindStringIndex: [start, end] of the leftmost match, or null. */
  findStringIndex(s: string): [number, number] | null {
    const m = this.run("findIndex", s);
    return m ? [m[0]!, m[1]!] : null;
  }

  /** FindStringSubmatch: the match and its groups (unmatched groups ""), or null. */
  findStringSubmatch(s: string): string[] | null {
    const m = this.run("findSubmatchIndex", s);
    return m ? groupsOf(s, m) : null;
  }

  /** FindAllStringSubmatchIndex(s, n): n < 0 = all. Go's rules for empty matches. */
  findAllStringSubmatchIndex(s: string, n: number): number[][] {
    if (n === 0) return [];
    return this.run("findAllSubmatchIndex", s, n) ?? [];
  }

  /** FindAllString(s, n): n < 0 = all matches; [] when none (Go: nil). */
  findAllString(s: string, n: number): string[] {
    if (n === 0) return [];
    return (this.run("findAllIndex", s, n) ?? []).map((m) => s.slice(m[0], m[1]));
  }

  /** FindAllStringSubmatch(s, n). */
  findAllStringSubmatch(s: string, n: number): string[][] {
    return this.findAllStringSubmatchIndex(s, n).map((m) => groupsOf(s, m));
  }

  /** ReplaceAllString: `repl` expanded per match ($1, ${1}, $name, ${name}, $$). */
  replaceAllString(src: string, repl: string): string {
    return this.replaceWith(src, (m) => this.expand(repl, src, m));
  }

  /** ReplaceAllLiteralString: `repl` inserted as is. */
  replaceAllLiteralString(src: string, repl: string): string {
    return this.replaceWith(src, () => repl);
  }

  /** ReplaceAllStringFunc. */
  replaceAllStringFunc(src: string, fn: (match: string) => string): string {
    return this.replaceWith(src, (m) => fn(src.slice(m[0], m[1])));
  }

  /** Split(s, n): n < 0 = all substrings, n > 0 = at most n (the last is the unsplit rest). */
  split(s: string, n: number): string[] {
    if (n === 0) return [];
    if (this.source.length > 0 && s.length === 0) return [""];
    const matches = this.run("findAllIndex", s, n) ?? [];
    const out: string[] = [];
    let beg = 0;
    let end = 0;
    for (const m of matches) {
      if (n > 0 && out.length === n - 1) break;
      end = m[0]!;
      if (m[1] !== 0) out.push(s.slice(beg, end));
      beg = m[1]!;
    }
    if (end !== s.length) out.push(s.slice(beg));
    return out;
  }

  /** Regexp.ExpandString for one match's index list `m` over `src`. */
  expand(template: string, src: string, m: readonly number[]): string {
    let out = "";
    let i = 0;
    while (i < template.length) {
      const dollar = template.indexOf("$", i);
      if (dollar < 0) {
        out += template.slice(i);
        break;
      }
      out += template.slice(i, dollar);
      i = dollar;
      if (template[i + 1] === "$") {
        out += "$";
        i += 2;
        continue;
      }
      const ref = extractRef(template, i);
      if (!ref) {
        out += "$";
        i++;
        continue;
      }
      i = ref.next;
      let group = -1;
      if (ref.num >= 0) group = ref.num;
      else if (Object.hasOwn(this.names, ref.name)) group = this.names[ref.name]!;
      if (group >= 0 && 2 * group + 1 < m.length && m[2 * group]! >= 0) {
        out += src.slice(m[2 * group], m[2 * group + 1]);
      }
    }
    return out;
  }

  /**
   * One RE2 search over `s`. Linear in `s`, but a large program (counted repetition: `(a|aa){1,1000}`
   * is 7,000 instructions) makes the linear factor large, and a search cannot be interrupted. So
   * under an evaluation budget a search whose worst case (program size x input length) could
   * outlast it runs on a worker thread, and the caller waits at most the remaining budget for it.
   */
  private run<O extends SearchOp>(op: O, s: string, n = -1): ReturnType<Re2Core[O]> {
    chargeBudget(s.length);
    const remaining = remainingBudgetMs();
    let out: ReturnType<Re2Core[O]>;
    if (remaining !== Number.POSITIVE_INFINITY && this.size * (s.length + 1) > INLINE_STEPS) {
      out = offloadSearch(this.source, op, s, n, remaining) as ReturnType<Re2Core[O]>;
    } else {
      out = (this.core[op] as (s: string, n: number) => unknown)(s, n) as ReturnType<Re2Core[O]>;
    }
    chargeBudget(s.length);
    return out;
  }

  private replaceWith(src: string, repl: (m: number[]) => string): string {
    const matches = this.run("findAllSubmatchIndex", src, -1) ?? [];
    if (matches.length === 0) return src;
    let out = "";
    let last = 0;
    for (const m of matches) {
      chargeBudget(out.length);
      out += src.slice(last, m[0]) + repl(m);
      if (out.length > MAX_RESULT) throw new GoRegexpError("regexp: replacement result too large");
      last = m[1]!;
    }
    return out + src.slice(last);
  }
}

function groupsOf(s: string, m: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < m.length; i += 2) out.push(m[i]! >= 0 ? s.slice(m[i], m[i + 1]) : "");
  return out;
}

/** Go's regexp extract(): `$name` or `${name}` at `at`; num >= 0 for a group number. */
function extractRef(t: string, at: number): { name: string; num: number; next: number } | null {
  let i = at + 1;
  let brace = false;
  if (t[i] === "{") {
    brace = true;
    i++;
  }
  const start = i;
  while (i < t.length && /[A-Za-z0-9_]/.test(t[i]!)) i++;
  if (i === start) return null;
  const name = t.slice(start, i);
  if (brace) {
    if (t[i] !== "}") return null;
    i++;
  }
  let num = -1;
  if (/^[0-9]+$/.test(name) && name.length <= 9 && !(name[0] === "0" && name.length > 1)) {
    num = Number(name);
  }
  return { name, num, next: i };
}

// ---------------------------------------------------------------------------------------------
// Searches that could outlast the budget: on a worker thread, waited for synchronously.

type SearchOp = "findIndex" | "findSubmatchIndex" | "findAllIndex" | "findAllSubmatchIndex";

/** Program steps (program size x input length) a search may take inline (a few ms at worst). */
const INLINE_STEPS = 500_000;
/** Program size from which compiling a pattern starts the search worker. */
const PREWARM_SIZE = 100;

const SEARCH_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { port, flag } = workerData;
const signal = new Int32Array(flag);
const loaded = import(workerData.url);
// lib/memo.ts's policy (oldest-added first, 64 patterns), written out: this source is evaluated
// as plain JavaScript in the worker and cannot import a project module.
const cache = new Map();
parentPort.on("message", async ({ pattern, op, s, n }) => {
  let reply;
  try {
    const { RE2JS } = await loaded;
    let re = cache.get(pattern);
    if (!re) {
      if (cache.size >= 64) cache.delete(cache.keys().next().value);
      re = RE2JS.compile(pattern).re2();
      cache.set(pattern, re);
    }
    reply = { ok: true, value: re[op](s, n) };
  } catch (err) {
    reply = { ok: false, error: String((err && err.message) || err) };
  }
  port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});
`;

interface SearchWorker {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

let searchWorker: SearchWorker | undefined;

function startSearchWorker(): SearchWorker {
  const channel = new MessageChannel();
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(SEARCH_WORKER, {
    eval: true,
    workerData: { url: import.meta.resolve("re2js"), port: channel.port2, flag },
    transferList: [channel.port2],
  });
  worker.unref();
  channel.port1.unref();
  const self: SearchWorker = { worker, port: channel.port1, signal: new Int32Array(flag) };
  const forget = () => {
    if (searchWorker === self) searchWorker = undefined;
  };
  worker.on("error", forget);
  worker.on("exit", forget);
  return self;
}

/**
 * Runs `op` on the search worker and blocks for its answer at most `waitMs`; past that the worker
 * is stopped (its search with it) and the budget is exceeded.
 */
function offloadSearch(
  pattern: string,
  op: SearchOp,
  s: string,
  n: number,
  waitMs: number,
): unknown {
  if (waitMs <= 0) exceedBudget();
  searchWorker ??= startSearchWorker();
  const w = searchWorker;
  Atomics.store(w.signal, 0, 0);
  w.worker.postMessage({ pattern, op, s, n });
  const waited = Atomics.wait(w.signal, 0, 0, Math.ceil(waitMs));
  const reply = receiveMessageOnPort(w.port)?.message as
    | { ok: true; value: unknown }
    | { ok: false; error: string }
    | undefined;
  if (waited === "timed-out" || reply === undefined) {
    searchWorker = undefined;
    void w.worker.terminate();
    w.port.close();
    exceedBudget();
  }
  if (!reply.ok) throw new GoRegexpError(reply.error);
  return reply.value;
}
