import type { FastifyReply, FastifyRequest } from "fastify";
import { ConfigError, errorMessage } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import type { AdapterContext, EventSourceAdapter, RunningAdapter } from "../types.js";
import { providerRoute, recordJsonDelivery, refuseMethod } from "../webhook/delivery.js";
import { hookUrl } from "../webhook/index.js";
import { type Route, serveRoutes } from "../webhook/runtime.js";
import { GerritHooks, type ProjectHook } from "./api.js";
import { type GerritEventSpec, needsHooks } from "./schema.js";

/** Argo's hooks manager runs again every 60 s: a hook deleted on the Gerrit side comes back. */
export const RESYNC_MS = 60_000;

export interface GerritAdapterOptions {
  /** How often the hooks are checked again (default 60 s, as Argo). */
  resyncMs?: number;
}

/**
 * Argo's Gerrit EventSource (pkg/eventsources/sources/gerrit/start.go): the route of `webhook` on
 * the webhook kind's server machinery, every delivery stored as Argo's `{"headers", "body",
 * "metadata"}` (Gerrit signs nothing); with `auth` and `webhook.url`, the hook `hookName` on each
 * of `projects` through the webhooks plugin's REST API, checked again every minute, and deleted
 * on stop when `deleteHookOnFinish` says so.
 */
export function createGerritAdapter(
  options: GerritAdapterOptions = {},
): EventSourceAdapter<GerritEventSpec> {
  return {
    key: "gerrit",
    ceType: "gerrit",
    async start(entries, ctx): Promise<RunningAdapter> {
      const routes: Route[] = [];
      const managers: HookManager[] = [];
      for (const { eventName, spec } of entries) {
        const at = `/spec/gerrit/${eventName}`;
        const webhook = spec.webhook;
        if (!webhook)
          throw new ConfigError(`EventSource ${ctx.eventSourceName}: ${at}/webhook: is required`);
        routes.push(
          await providerRoute(ctx, eventName, webhook, at, (req, reply, raw) =>
            handle(eventName, spec, req, reply, raw, ctx),
          ),
        );
        if (needsHooks(spec) && spec.auth) {
          const { username, password } = spec.auth;
          if (!username || !password)
            throw new ConfigError(
              `EventSource ${ctx.eventSourceName}: ${at}/auth: username and password can't be empty`,
            );
          const api = new GerritHooks(
            spec.gerritBaseURL ?? "",
            await ctx.values.secret(username, `${at}/auth/username`),
            await ctx.values.secret(password, `${at}/auth/password`),
          );
          managers.push(new HookManager(spec, api, ctx.log.child({ eventName })));
        }
      }
      const running = await serveRoutes(
        routes,
        ctx,
        (eventName) => `/spec/gerrit/${eventName}/webhook`,
        "gerrit",
      );
      for (const m of managers) await m.sync();
      const stopped = new AbortController();
      const resyncMs = options.resyncMs ?? RESYNC_MS;
      const loops = managers.map(async (m) => {
        while ((await ctx.clock.sleep(resyncMs, stopped.signal)) && !stopped.signal.aborted)
          await m.sync();
      });
      return {
        async stop() {
          stopped.abort();
          await Promise.allSettled(loops);
          await running.stop();
          for (const m of managers) await m.finish();
        },
      };
    },
  };
}

/** The registry's entry point. */
export function createAdapter(): EventSourceAdapter<GerritEventSpec> {
  return createGerritAdapter();
}

/** The hook of one entry on each of its projects. */
class HookManager {
  private readonly url: string;
  private readonly config: ProjectHook;
  /** Projects where the hook is known to be in place (Argo's projectHooks). */
  private readonly registered = new Set<string>();

  constructor(
    private readonly spec: GerritEventSpec,
    private readonly api: GerritHooks,
    private readonly log: Logger,
  ) {
    this.url = hookUrl(spec.webhook);
    // ProjectHookConfigs: omitempty fields left out as Go leaves them out.
    this.config = {
      url: this.url,
      ...(spec.events && spec.events.length > 0 ? { events: spec.events } : {}),
      ...(spec.maxTries ? { maxTries: spec.maxTries } : {}),
      ...(spec.sslVerify ? { sslVerify: true } : {}),
    };
  }

  private get name(): string {
    return this.spec.hookName ?? "";
  }

  /**
   * Argo's hooks manager pass: per project, a hook `hookName` with this URL is kept; otherwise it
   * is created (PUT, which also replaces a hook of that name pointing elsewhere). An error is
   * logged with the project and Gerrit's reason, and the next project is tried.
   */
  async sync(): Promise<void> {
    for (const project of this.spec.projects ?? []) {
      let hooks: Record<string, ProjectHook>;
      try {
        hooks = await this.api.list(project);
      } catch (err) {
        this.log.error(
          { project },
          `failed to list the webhooks of Gerrit project ${project}: ${errorMessage(err)}; the endpoint keeps serving`,
        );
        continue;
      }
      if (hooks[this.name]?.url === this.url) {
        this.registered.add(project);
        continue;
      }
      try {
        await this.api.put(project, this.name, this.config);
        this.registered.add(project);
        this.log.info({ project, hook: this.name, url: this.url }, "Gerrit hook created");
      } catch (err) {
        this.log.error(
          { project },
          `failed to create the Gerrit webhook ${this.name} for project ${project}: ${errorMessage(err)}; the endpoint keeps serving`,
        );
      }
    }
  }

  /** `deleteHookOnFinish`: the hook is deleted from every project it was put on. */
  async finish(): Promise<void> {
    if (!this.spec.deleteHookOnFinish) return;
    for (const project of this.registered) {
      try {
        await this.api.delete(project, this.name);
        this.log.info({ project, hook: this.name }, "Gerrit hook deleted");
      } catch (err) {
        this.log.error(
          { project },
          `failed to delete the Gerrit webhook ${this.name} for project ${project}: ${errorMessage(err)}`,
        );
      }
    }
  }
}

async function handle(
  eventName: string,
  spec: GerritEventSpec,
  req: FastifyRequest,
  reply: FastifyReply,
  raw: Buffer,
  ctx: AdapterContext,
): Promise<FastifyReply> {
  const wrongMethod = refuseMethod(spec.webhook?.method, req, reply);
  if (wrongMethod) return wrongMethod;
  // Argo marshals the body as a json.RawMessage: Go compacts it and refuses invalid JSON.
  return recordJsonDelivery({
    ctx,
    eventName,
    req,
    reply,
    raw,
    metadata: spec.metadata,
    // Gerrit sends no delivery id and signs nothing: sensorbus mints the event id.
    id: undefined,
    logFields: {},
  });
}
