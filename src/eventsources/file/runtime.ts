import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { type FSWatcher, watch } from "chokidar";
import { EventsError } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import { emitUntilStored, startEntries } from "../entries.js";
import type { AdapterContext, EventSourceAdapter } from "../types.js";
import {
  buildFilePayload,
  fsnotifyName,
  isOpName,
  NameMatcher,
  type OpName,
  watchPathConfigError,
} from "./match.js";
import type { FileEventSpec } from "./schema.js";

/**
 * File EventSource (`spec.file.<eventName>`), on chokidar (the only file that imports it), as
 * Argo's file/start.go: one directory, not recursive; an event whose operation equals `eventType`
 * and whose name (relative to `directory`) equals `path` or matches `pathRegexp` becomes an event
 * with Argo's payload. With inotify (default) the name is the full path, as fsnotify reports it;
 * with `polling` (chokidar's `usePolling`, every 100 ms as Argo's watcher) it is the base name, as
 * Argo's polling watcher (radovskyb/watcher) reports it.
 *
 * chokidar reports add/change/unlink; the fsnotify operations are derived: add -> CREATE, unlink
 * -> REMOVE, change -> WRITE, or CHMOD when only the mode changed. A rename shows as unlink of the
 * old name and add of the new one with the same inode: paired within {@link RENAME_WINDOW_MS}
 * into RENAME of the old name (plus CREATE of the new one, as inotify reports; Argo's polling
 * watcher reports only the RENAME). A REMOVE is therefore reported up to that window late.
 * Events are emitted one at a time in order; one the bus refuses is retried with backoff until
 * stored or the EventSource stops (then logged as lost): never dropped silently.
 */

export const RENAME_WINDOW_MS = 300;
/** After a change, when to look for changes chokidar's 50 ms throttle swallowed. */
export const CHANGE_SETTLE_MS = 60;
/** Argo's polling watcher runs every 100 ms. */
export const POLL_INTERVAL_MS = 100;

interface Known {
  ino: number;
  dev: number;
  mode: number;
  mtimeMs: number;
  /** When chokidar reported it added (0: present at start). */
  addedAt: number;
}

interface Entry {
  eventName: string;
  spec: FileEventSpec;
  log: Logger;
  watcher: FSWatcher;
  chain: Promise<void>;
  stopped: boolean;
  /** Reports held for {@link RENAME_WINDOW_MS} (a REMOVE that may be half of a rename), by key. */
  pending: Map<string, { timer: NodeJS.Timeout; run: () => void }>;
}

function known(st: Stats, addedAt: number): Known {
  return { ino: st.ino, dev: st.dev, mode: st.mode, mtimeMs: st.mtimeMs, addedAt };
}

async function emitFileEvent(
  e: Entry,
  ctx: AdapterContext,
  name: string,
  op: OpName,
): Promise<void> {
  await emitUntilStored(
    ctx,
    e.eventName,
    { data: buildFilePayload(name, op, e.spec.metadata) },
    {
      refused: (err) =>
        e.log.warn({ name, op, err }, "file event not accepted by the bus; retrying with backoff"),
      gaveUp: (err) =>
        e.log.error({ name, op, err }, "file event not stored by the bus before stop; lost"),
      storedAfterRetry: () =>
        e.log.info({ name, op }, "file event stored by the bus after retries"),
    },
  );
}

async function startEntry(
  eventName: string,
  spec: FileEventSpec,
  ctx: AdapterContext,
): Promise<Entry> {
  const at = `spec.file.${eventName}`;
  const fail = (message: string, cause?: unknown) =>
    new EventsError("SB_ERR_EVENTSOURCE_START", `${at}${message}`, {
      retryable: false,
      ...(cause ? { cause } : {}),
    });
  if (!spec.eventType) throw fail(": type must be specified");
  const problem = watchPathConfigError(spec.watchPathConfig);
  if (problem) throw fail(`.watchPathConfig: ${problem}`);
  const config = spec.watchPathConfig!;
  const directory = config.directory!;
  // As Argo's watcher.Add: a directory that is missing (or no directory) fails the start.
  let dirStat: Stats;
  try {
    dirStat = await stat(directory);
  } catch (err) {
    throw fail(
      `.watchPathConfig.directory: failed to add directory ${directory} to the watcher: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (err as Error).message}`,
      err,
    );
  }
  if (!dirStat.isDirectory())
    throw fail(`.watchPathConfig.directory: ${directory} is not a directory`);
  const matcher = new NameMatcher(config);
  const polling = spec.polling === true;
  const log = ctx.log.child({ eventName, directory });
  if (!isOpName(spec.eventType))
    log.warn(
      { eventType: spec.eventType },
      "eventType is no fsnotify operation (CREATE, WRITE, REMOVE, RENAME, CHMOD): nothing will match",
    );
  const root = resolve(directory);
  const watcher = watch(root, {
    depth: 0,
    alwaysStat: true,
    ignoreInitial: false,
    usePolling: polling,
    interval: POLL_INTERVAL_MS,
    binaryInterval: POLL_INTERVAL_MS,
    atomic: false,
    persistent: true,
  });
  const e: Entry = {
    eventName,
    spec,
    log,
    watcher,
    chain: Promise.resolve(),
    stopped: false,
    pending: new Map(),
  };
  const files = new Map<string, Known>();
  let ready = false;

  const report = (path: string, op: OpName): void => {
    const base = basename(path);
    const name = polling ? base : fsnotifyName(directory, base);
    if (op !== spec.eventType || !matcher.matches(name)) return;
    log.info({ name, op }, "file event");
    e.chain = e.chain.then(() => emitFileEvent(e, ctx, name, op));
  };
  const later = (key: string, run: () => void, ms = RENAME_WINDOW_MS): void => {
    const timer = setTimeout(() => {
      e.pending.delete(key);
      run();
    }, ms);
    e.pending.set(key, { timer, run });
  };
  /** Cancels a held report (it turned out to be half of a rename). */
  const drop = (key: string): void => {
    const p = e.pending.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    e.pending.delete(key);
  };
  const sameFile = (a: Known, b: Known) => a.ino === b.ino && a.dev === b.dev;
  /** Unlinks seen and not yet paired, by path. */
  const removed = new Map<string, Known>();
  /** Polling: adds held because another name has the inode (maybe the old name of a rename). */
  const held = new Map<string, Known>();

  const onAdd = (path: string, st: Stats | undefined): void => {
    if (path === root) return;
    const k = st ? known(st, ready ? Date.now() : 0) : undefined;
    if (k) files.set(path, k);
    if (!ready) return;
    if (k) {
      for (const [old, o] of removed) {
        if (!sameFile(o, k)) continue;
        removed.delete(old);
        drop(`rm:${old}`);
        report(old, "RENAME");
        if (!polling) report(path, "CREATE");
        return;
      }
      if (polling && [...files].some(([p, o]) => p !== path && sameFile(o, k))) {
        held.set(path, k);
        later(`add:${path}`, () => {
          held.delete(path);
          report(path, "CREATE");
        });
        return;
      }
    }
    report(path, "CREATE");
  };
  const onUnlink = (path: string): void => {
    if (path === root) {
      log.error("the watched directory was removed; no more events until it is created again");
      return;
    }
    const prev = files.get(path);
    files.delete(path);
    if (!prev) {
      report(path, "REMOVE");
      return;
    }
    // The new name was reported first.
    for (const [p, k] of held) {
      if (!sameFile(prev, k)) continue;
      held.delete(p);
      drop(`add:${p}`);
      report(path, "RENAME");
      return;
    }
    if (!polling) {
      const now = Date.now();
      const renamedTo = [...files].find(
        ([p, k]) => p !== path && sameFile(prev, k) && now - k.addedAt <= RENAME_WINDOW_MS,
      );
      if (renamedTo) {
        report(path, "RENAME");
        return;
      }
    }
    removed.set(path, prev);
    later(`rm:${path}`, () => {
      removed.delete(path);
      report(path, "REMOVE");
    });
  };
  const onChange = (path: string, st: Stats | undefined): void => {
    const prev = files.get(path);
    if (st) files.set(path, known(st, prev?.addedAt ?? 0));
    if (!ready) return;
    const chmodOnly =
      prev !== undefined &&
      st !== undefined &&
      prev.mtimeMs === st.mtimeMs &&
      prev.mode !== st.mode;
    report(path, chmodOnly ? "CHMOD" : "WRITE");
    // chokidar drops further changes of a path for 50 ms after one (no trailing event): look again
    // once that window is over and report what changed meanwhile.
    if (!e.pending.has(`chg:${path}`))
      later(`chg:${path}`, () => void recheck(path), CHANGE_SETTLE_MS);
  };
  const recheck = async (path: string): Promise<void> => {
    const seen = files.get(path);
    if (!seen || e.stopped) return;
    let st: Stats;
    try {
      st = await stat(path);
    } catch {
      return; // removed meanwhile: chokidar reports the unlink
    }
    const now = files.get(path);
    if (now !== seen || e.stopped) return; // chokidar reported a newer change itself
    if (st.mtimeMs !== seen.mtimeMs || st.mode !== seen.mode) onChange(path, st);
  };
  watcher.on("add", onAdd);
  watcher.on("addDir", onAdd);
  watcher.on("unlink", onUnlink);
  watcher.on("unlinkDir", onUnlink);
  watcher.on("change", onChange);
  watcher.on("error", (err: unknown) => log.error({ err }, "file watcher error"));
  await new Promise<void>((resolveReady) => watcher.once("ready", () => resolveReady()));
  ready = true;
  log.info({ eventType: spec.eventType, polling }, "watching the directory");
  return e;
}

async function stopEntry(e: Entry): Promise<void> {
  await e.watcher.close();
  // Held reports are made now rather than lost (a change re-check is not: the watch is over).
  for (const [key, { timer, run }] of [...e.pending]) {
    clearTimeout(timer);
    if (!key.startsWith("chg:")) run();
  }
  e.stopped = true;
  e.pending.clear();
  await e.chain;
}

export const fileAdapter: EventSourceAdapter<FileEventSpec> = {
  key: "file",
  ceType: "file",
  start: (entries, ctx) => startEntries(entries, ctx, { start: startEntry, stop: stopEntry }),
};

export function createAdapter(): EventSourceAdapter<FileEventSpec> {
  return fileAdapter;
}
