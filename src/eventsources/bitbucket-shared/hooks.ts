import { errorMessage } from "../../errors.js";
import type { AdapterContext, RunningAdapter } from "../types.js";
import { type Route, serveRoutes } from "../webhook/runtime.js";
import type { ApiClient } from "./api.js";

/** One repository a hook is registered on; `key` identifies it (Argo: "owner,slug"). */
export interface HookRepo {
  key: string;
  /** For logs: `owner/slug` or `PROJECT/slug`. */
  label: string;
}

/** What a provider does for hook management; every call is bounded and throws with the reason. */
export interface HookProvider<R extends HookRepo> {
  /** The provider's name for log lines ("Bitbucket", "Bitbucket Server"). */
  name: string;
  /** The repositories to register on now (a project's repositories are listed each time). */
  repositories(signal: AbortSignal): Promise<R[]>;
  /** Creates the hook, or updates the one with the same URL (when it differs). */
  apply(repo: R, signal: AbortSignal): Promise<AppliedHook>;
  /** Deletes the hook with this id (an already deleted one is no error). */
  remove(repo: R, id: string, signal: AbortSignal): Promise<void>;
}

export interface AppliedHook {
  id: string;
  action: "created" | "updated" | "unchanged";
}

export interface HookManager {
  /** Resolves when the first registration round finished (tests wait for it). */
  readonly firstRound: Promise<void>;
  /** Stops re-applying, then deletes the hooks registered when `deleteHookOnFinish`. */
  stop(): Promise<void>;
}

/**
 * Argo's hook management for the Bitbucket kinds, in the background of a serving route: one round
 * at start (every repository; a failing one is logged, naming the repository and the provider's
 * answer, and the others go on), then, with `intervalMs`, a round every interval (Bitbucket
 * Server's `checkInterval`); on stop, with `deleteOnFinish`, each hook registered is deleted.
 * A registration failure never stops the webhook from serving.
 */
export function manageHooks<R extends HookRepo>(
  provider: HookProvider<R>,
  opts: {
    ctx: AdapterContext;
    eventName: string;
    deleteOnFinish: boolean;
    intervalMs?: number;
  },
): HookManager {
  const { ctx, eventName } = opts;
  const log = ctx.log.child({ eventName });
  const ids = new Map<string, { repo: R; id: string }>();
  const stopping = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stopping.signal]);

  let first = true;
  const round = async (): Promise<void> => {
    let repos: R[];
    try {
      repos = await provider.repositories(signal);
    } catch (err) {
      if (!signal.aborted)
        log.error(
          { err },
          `${provider.name} hooks not registered: listing the repositories failed: ${errorMessage(err)}`,
        );
      return;
    }
    let failed = 0;
    for (const repo of repos) {
      if (signal.aborted) return;
      try {
        const { id, action } = await provider.apply(repo, signal);
        ids.set(repo.key, { repo, id });
        if (action !== "unchanged")
          log.info({ repository: repo.label, hookId: id }, `${provider.name} hook ${action}`);
      } catch (err) {
        if (signal.aborted) return;
        failed++;
        log.error(
          { err, repository: repo.label },
          `${provider.name} hook for ${repo.label} not registered: ${errorMessage(err)}`,
        );
      }
    }
    log[first ? "info" : "debug"](
      { registered: repos.length - failed, failed },
      `${provider.name} hooks checked on ${repos.length} repositories, ${failed} failed`,
    );
    first = false;
  };

  const firstRound = round();
  const loop = (async () => {
    await firstRound;
    const every = opts.intervalMs;
    if (every === undefined || every <= 0) return;
    while (await ctx.clock.sleep(every, signal)) await round();
  })();

  return {
    firstRound,
    async stop() {
      stopping.abort();
      await loop;
      if (!opts.deleteOnFinish) return;
      // The EventSource's signal is aborted by now: deletion gets its own bound per call.
      const own = new AbortController().signal;
      for (const { repo, id } of ids.values()) {
        try {
          await provider.remove(repo, id, own);
          log.info({ repository: repo.label, hookId: id }, `${provider.name} hook deleted`);
        } catch (err) {
          log.error(
            { err, repository: repo.label, hookId: id },
            `${provider.name} hook for ${repo.label} not deleted: ${errorMessage(err)}`,
          );
        }
      }
      ids.clear();
    },
  };
}

/** What a Bitbucket kind's start gathered: its routes, its hook managers to start, its clients. */
export interface HookedRoutes {
  routes: Route[];
  hooks: Array<() => HookManager>;
  clients: ApiClient[];
}

/**
 * Serves the routes on the webhook kind's server machinery, then starts hook management (so the
 * endpoint listens before any hook exists). Stop: the server first (in-flight deliveries finish),
 * then the hook managers (deleting hooks with `deleteHookOnFinish`), then the API clients.
 */
export async function serveWithHooks(
  kind: string,
  gathered: HookedRoutes,
  ctx: AdapterContext,
): Promise<RunningAdapter> {
  const { routes, hooks, clients } = gathered;
  let served: RunningAdapter;
  try {
    served = await serveRoutes(
      routes,
      ctx,
      (eventName) => `/spec/${kind}/${eventName}/webhook`,
      kind,
    );
  } catch (err) {
    await closeClients(clients);
    throw err;
  }
  const managers = hooks.map((start) => start());
  return {
    async stop() {
      await served.stop();
      await Promise.all(managers.map((m) => m.stop()));
      await closeClients(clients);
    },
  };
}

export async function closeClients(clients: readonly ApiClient[]): Promise<void> {
  await Promise.allSettled(clients.map((c) => c.close()));
}
