import type { FastifyInstance } from "fastify";
import { errorMessage } from "../errors.js";
import type { EventFlowGraph } from "./contracts.js";
import type { Journal, TriggerStatus } from "./journal.js";
import { buildTrace, mergeEvents, readTrace } from "./timeline.js";
import { CONSOLE_HTML, CONSOLE_JS } from "./ui/assets.js";

export interface ConsoleOptions {
  journal: Journal;
  /** The event-flow graph of what runs now (called per request: reloads show up). */
  graph: () => EventFlowGraph;
  /** `sensor/trigger` of firings in flight for too long (shown as "stuck"). */
  stuckTriggers?: () => string[];
}

/**
 * The read-only web console and its JSON API, as a plugin for the observability server
 * (`startObservabilityServer({ plugins: [consoleRoutes(...)] })`):
 * - `GET /ui`: the page (event-flow graph, recent events with their outcome, trigger status);
 * - `GET /api/graph`: {@link EventFlowGraph};
 * - `GET /api/events?limit=N`: newest first, summaries with the outcome;
 * - `GET /api/events/<id>`: the journal of one event (what `sensorbus explain` prints), 404 if unknown;
 * - `GET /api/triggers`: per trigger: status, counts, firings per minute, last error;
 * - `GET /ui/traces/<id>`: the timeline page of one correlation ID;
 * - `GET /api/traces/<id>`: its {@link Trace} (what `sensorbus trace` prints): this process's
 *   correlation index merged with the `sensorbus-trace` stream every replica writes (JetStream).
 */
export function consoleRoutes(options: ConsoleOptions): (app: FastifyInstance) => void {
  const { journal } = options;
  return (app) => {
    const page = async (_req: unknown, reply: import("fastify").FastifyReply) =>
      reply
        .type("text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header(
          "content-security-policy",
          "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
        )
        .send(CONSOLE_HTML);
    app.get("/ui", page);
    app.get("/ui/", page);
    app.get("/ui/traces/:id", page);
    app.get("/ui/app.js", async (_req, reply) =>
      reply
        .type("text/javascript; charset=utf-8")
        .header("cache-control", "no-store")
        .send(CONSOLE_JS),
    );
    app.get("/api/graph", async () => options.graph());
    app.get<{ Querystring: { limit?: string } }>("/api/events", async (req, reply) => {
      const raw = req.query.limit ?? "100";
      const limit = Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        return reply.code(400).send({ error: `limit: '${raw}' is not an integer from 1 to 10000` });
      return journal.recent(limit);
    });
    app.get<{ Params: { id: string } }>("/api/events/:id", async (req, reply) => {
      const ev = journal.get(req.params.id);
      if (!ev)
        return reply.code(404).send({
          error: `event ${req.params.id} is not in the journal (unknown, or older than the last ${journal.size} events)`,
        });
      return ev;
    });
    app.get("/api/triggers", async () => triggerTable(options));
    app.get<{ Params: { id: string } }>("/api/traces/:id", async (req, reply) => {
      const id = req.params.id;
      const local = journal.correlated(id);
      let stored: Awaited<ReturnType<typeof readTrace>> = [];
      if (journal.traceLog) {
        try {
          stored = await readTrace(journal.traceLog, id);
        } catch (err) {
          // This process's own records still answer; the stream's absence is said.
          if (local.length === 0)
            return reply
              .code(503)
              .send({ error: `trace stream unavailable: ${errorMessage(err)}` });
        }
      }
      const trace = buildTrace(id, mergeEvents(stored, local));
      if (!trace)
        return reply.code(404).send({
          error: `nothing is known about correlation ID '${id}' (no event carried it, or it is older than the trace keeps)`,
        });
      return trace;
    });
  };
}

/** Every trigger of the graph (idle ones too), with the journal's counts and stuck ones marked. */
function triggerTable(options: ConsoleOptions): Array<TriggerStatus & { stuck: boolean }> {
  const stats = new Map(options.journal.triggers().map((t) => [`${t.sensor}/${t.trigger}`, t]));
  const stuck = new Set(options.stuckTriggers?.() ?? []);
  const out: Array<TriggerStatus & { stuck: boolean }> = [];
  for (const n of options.graph().nodes) {
    if (n.kind !== "trigger") continue;
    const key = `${n.group.name}/${n.label}`;
    const s = stats.get(key) ?? {
      sensor: n.group.name,
      trigger: n.label,
      fired: 0,
      failed: 0,
      rejected: 0,
      perMinute: 0,
      status: "idle" as const,
    };
    stats.delete(key);
    out.push({ ...s, stuck: stuck.has(key) });
  }
  // Triggers the journal saw that the graph does not show (dlqTriggers, removed Sensors).
  for (const [key, s] of stats) out.push({ ...s, stuck: stuck.has(key) });
  return out;
}
