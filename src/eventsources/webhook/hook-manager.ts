import type { AdapterContext, RunningAdapter } from "../types.js";
import { type Route, serveRoutes } from "./runtime.js";

/** What one registration pass did to a target's hook. */
export type HookAction = "created" | "updated" | "unchanged";

/** A repository, organization, project or group whose hook a Git host source manages. */
export interface HookTarget {
  /** How logs name it: `repository octo/hello`, `organization octo`, `project 42`, ... */
  readonly label: string;
}

/** The provider side of hook management (github/hooks.ts, gitlab/hooks.ts): one SDK each. */
export interface ProviderHooks<T extends HookTarget> {
  /**
   * Creates the hook on `target`, or updates the one whose URL is the entry's URL (all pages of
   * the target's hooks are read). `refresh`: update an existing hook even when what the provider
   * shows of it matches (the first pass, which also sets the secret the provider never shows).
   */
  ensure(target: T, refresh: boolean): Promise<{ id: number; action: HookAction }>;
  remove(target: T, id: number): Promise<void>;
  /** A failure in one line: HTTP status and the provider's message; never a credential. */
  describe(err: unknown): string;
}

/** Argo re-runs its registration every 60 s, so a hook removed by hand comes back. */
export const HOOK_RESYNC_MS = 60_000;

/** One entry's hook registration, its credentials already read: what `manageHooks` runs. */
export interface HookPlan<T extends HookTarget> {
  provider: string;
  eventName: string;
  /** `webhook.url` + `webhook.endpoint`: the URL the provider delivers to. */
  url: string;
  targets: readonly T[];
  /** Loads the provider's SDK (github/hooks.ts, gitlab/hooks.ts) and builds its client. */
  hooks: () => Promise<ProviderHooks<T>>;
  deleteOnFinish: boolean;
}

export interface ManagedHooks {
  /** Waits for the running pass, then deletes the registered hooks when asked to. */
  stop(): Promise<void>;
}

/**
 * Registers an entry's hook on each target now and again every `resyncMs` until the source stops
 * (ctx.signal, or `stop`). A failure (401, 404, 422, 5xx, network) is logged with the target and the reason,
 * once per change of state, and the next pass tries again; the webhook route keeps serving
 * whatever happens here. `deleteOnFinish`: on stop, each hook registered is deleted.
 */
export function manageHooks<T extends HookTarget>(
  options: HookPlan<T> & { ctx: AdapterContext; resyncMs?: number },
): ManagedHooks {
  const { provider, targets, ctx, url } = options;
  const log = ctx.log.child({ eventName: options.eventName, hookUrl: url });
  const ids = new Map<T, number>();
  const failures = new Map<T, string>();
  let api: ProviderHooks<T> | undefined;
  // The source's stop, or this manager's (an adapter stopped without its context aborted).
  const stopping = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stopping.signal]);

  async function pass(): Promise<void> {
    api ??= await options.hooks();
    for (const target of targets) {
      if (signal.aborted) return;
      try {
        const { id, action } = await api.ensure(target, !ids.has(target));
        const known = ids.get(target);
        ids.set(target, id);
        const was = failures.get(target);
        failures.delete(target);
        if (action !== "unchanged" || known !== id || was !== undefined)
          log.info(
            { target: target.label, hookId: id, action },
            `${provider} hook ${action === "unchanged" ? "registered" : action} on ${target.label}${was !== undefined ? " (it failed before)" : ""}`,
          );
      } catch (err) {
        const reason = api.describe(err);
        if (failures.get(target) !== reason)
          log.error(
            { target: target.label, reason },
            `${provider} hook not registered on ${target.label}: ${reason}; the webhook keeps serving, retried in ${Math.round((options.resyncMs ?? HOOK_RESYNC_MS) / 1000)}s`,
          );
        failures.set(target, reason);
      }
    }
  }

  const loop = (async () => {
    try {
      await pass();
      while (await ctx.clock.sleep(options.resyncMs ?? HOOK_RESYNC_MS, signal)) await pass();
    } catch (err) {
      // Building the client failed (a bad private key, ...): nothing can be registered.
      log.error(
        { reason: api?.describe(err) ?? String((err as Error)?.message ?? err) },
        `${provider} hooks not registered: ${api?.describe(err) ?? (err as Error)?.message}`,
      );
    }
  })();

  return {
    async stop() {
      stopping.abort();
      await loop;
      if (!options.deleteOnFinish || !api) return;
      for (const target of targets) {
        const id = ids.get(target);
        if (id === undefined) {
          log.warn(
            { target: target.label },
            `${provider} hook on ${target.label} not deleted: it was never registered`,
          );
          continue;
        }
        try {
          await api.remove(target, id);
          log.info(
            { target: target.label, hookId: id },
            `${provider} hook deleted on ${target.label}`,
          );
        } catch (err) {
          const reason = api.describe(err);
          log.error(
            { target: target.label, hookId: id, reason },
            `${provider} hook on ${target.label} not deleted: ${reason}`,
          );
        }
      }
    },
  };
}

/**
 * A Git host kind's routes served (`/spec/<kind>/<eventName>/webhook`), then each entry's hooks
 * registered; stopping deletes the hooks asked for (`deleteHookOnFinish`) before the servers close.
 */
export async function serveWithHooks(
  kind: string,
  routes: readonly Route[],
  plans: ReadonlyArray<HookPlan<HookTarget>>,
  ctx: AdapterContext,
): Promise<RunningAdapter> {
  const running = await serveRoutes(routes, ctx, (e) => `/spec/${kind}/${e}/webhook`, kind);
  if (plans.length === 0) return running;
  const managed = plans.map((plan) => manageHooks({ ...plan, ctx }));
  return {
    ...(running.disconnected ? { disconnected: () => running.disconnected?.() ?? [] } : {}),
    async stop() {
      await Promise.allSettled(managed.map((m) => m.stop()));
      await running.stop();
    },
  };
}
