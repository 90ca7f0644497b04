import type { FSWatcher } from "node:fs";
import { statSync, watch } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError, errorMessage } from "../errors.js";
import type { Logger } from "../observability/logger.js";

export interface WatchManifestOptions {
  /** Quiet time after the last change before `onChange` runs, ms (default 250). */
  debounceMs?: number;
  log?: Logger;
}

export interface ManifestWatcher {
  /** Stops watching; a pending debounced call is dropped. Resolves when a running call ended. */
  close(): Promise<void>;
}

/**
 * Calls `onChange` (debounced) when a manifest file given in `paths`, or any entry of a directory
 * given there, is created, changed, renamed or deleted. `onChange` receives the paths that
 * changed (for a directory: entries of it, or the directory itself when the event names no
 * file) and never runs twice at once: changes made while it runs lead to one more call after it.
 *
 * Files are watched through their directory, so editors that save by rename and Kubernetes
 * ConfigMap volumes (which swap a `..data` symlink) are seen. Directories are watched one level
 * deep. Throws ConfigError when a path and its parent directory do not exist.
 */
export function watchManifestFiles(
  paths: readonly string[],
  onChange: (changed: string[]) => void | Promise<void>,
  options: WatchManifestOptions = {},
): ManifestWatcher {
  const debounceMs = options.debounceMs ?? 250;
  const log = options.log;
  const pending = new Set<string>();
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const run = () => {
    timer = undefined;
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    const changed = [...pending].sort();
    pending.clear();
    running = (async () => {
      try {
        await onChange(changed);
      } catch (err) {
        log?.error({ err, changed }, "manifest reload failed");
      }
    })().finally(() => {
      running = undefined;
      if (again && !closed) {
        again = false;
        schedule();
      }
    });
  };
  const schedule = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
  };

  // Directory -> the file names wanted in it (undefined: every entry).
  const targets = new Map<string, Set<string> | undefined>();
  for (const p of paths) {
    const abs = resolve(p);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      // Not there (yet): watch its directory for it to appear.
    }
    if (isDir) {
      targets.set(abs, undefined);
      continue;
    }
    const dir = dirname(abs);
    try {
      if (!statSync(dir).isDirectory()) throw new ConfigError(`${dir} is not a directory`);
    } catch (err) {
      throw new ConfigError(`cannot watch ${p}: neither it nor ${dir} exists`, [], { cause: err });
    }
    if (targets.has(dir) && targets.get(dir) === undefined) continue;
    const names = targets.get(dir) ?? new Set<string>();
    names.add(basename(abs));
    targets.set(dir, names);
  }

  for (const [dir, names] of targets) {
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false }, (_event, filename) => {
        const name = filename === null ? undefined : String(filename);
        if (names && name?.startsWith("..")) {
          // A ConfigMap volume swapped its `..data` link: every file in it may have changed.
          for (const n of names) pending.add(join(dir, n));
        } else if (names && (name === undefined || !names.has(name))) {
          return;
        } else {
          pending.add(name === undefined ? dir : join(dir, name));
        }
        schedule();
      });
    } catch (err) {
      for (const other of watchers) other.close();
      throw new ConfigError(`cannot watch ${dir}: ${errorMessage(err)}`, [], { cause: err });
    }
    w.on("error", (err) => {
      log?.warn({ dir, err }, "manifest directory watch failed; no reloads");
      w.close();
    });
    watchers.push(w);
  }
  log?.info({ paths: [...targets.keys()], debounceMs }, "watching manifests for changes");

  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
      await running;
    },
  };
}
