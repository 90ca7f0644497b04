import type { CloudEvent } from "../cloudevents/event.js";
import type { ValueResolver } from "../config/secrets.js";
import { inNamespace } from "../config/secrets.js";
import type { Trigger, TriggerTemplate } from "../config/types.js";
import { EventsError, errorMessage, TriggerError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { applyParameters } from "./params.js";
import { selectKind } from "./select.js";
import type { FiringContext, Rendered, TriggerKind } from "./types.js";

export interface RenderInput {
  sensorName: string;
  namespace: string;
  trigger: Trigger;
  events: ReadonlyMap<string, CloudEvent>;
  kinds: ReadonlyMap<string, TriggerKind<unknown>>;
  values: ValueResolver;
  log: Logger;
  now: () => number;
}

export interface RenderedFiring {
  kind: TriggerKind<unknown>;
  rendered: Rendered;
  /** The template after trigger-level parameters. */
  template: TriggerTemplate;
}

/**
 * Argo's firing pipeline up to execution (§4.2): trigger-level `parameters` applied to the template
 * JSON -> the kind selected by precedence -> the kind renders (fetching its resource source and
 * applying its own parameters). Throws an EventsError: the renderer's own (each with its honest
 * `retryable`, e.g. a resource source URL that could not be fetched), and anything else becomes
 * TriggerError SB_ERR_TRIGGER_RENDER, never retryable: the same events render the same way.
 */
export async function renderFiring(input: RenderInput): Promise<RenderedFiring> {
  try {
    return await renderOnce(input);
  } catch (err) {
    if (err instanceof EventsError) throw err;
    throw new TriggerError(
      "SB_ERR_TRIGGER_RENDER",
      `trigger '${input.trigger.template?.name ?? ""}' could not be rendered: ${errorMessage(err)}`,
      { retryable: false, cause: err },
    );
  }
}

async function renderOnce(input: RenderInput): Promise<RenderedFiring> {
  const { trigger, events } = input;
  const apply = (doc: string, params: Parameters<typeof applyParameters>[1]) =>
    applyParameters(doc, params, events);
  let template = trigger.template ?? ({ name: "" } as TriggerTemplate);
  if (trigger.parameters && trigger.parameters.length > 0) {
    template = JSON.parse(apply(JSON.stringify(template), trigger.parameters)) as TriggerTemplate;
  }
  const selected = selectKind(template);
  if (!selected)
    throw new TriggerError(
      "SB_ERR_TRIGGER_RENDER",
      `trigger '${template.name}' has no trigger kind set`,
    );
  const kind = input.kinds.get(selected.kind);
  if (!kind) {
    throw new TriggerError(
      "SB_ERR_TRIGGER_RENDER",
      `trigger '${template.name}': kind '${selected.kind}' is not supported by sensorbus`,
    );
  }
  const ctx: FiringContext = {
    sensorName: input.sensorName,
    namespace: input.namespace,
    triggerName: template.name,
    events,
    applyParameters: apply,
    // The Sensor reads its own namespace's Secrets only (whatever its parameters render).
    values: inNamespace(input.values, input.namespace),
    log: input.log,
    now: input.now,
    correlationId: correlationOf(events),
  };
  const rendered = await kind.render(selected.spec, ctx);
  return { kind, rendered, template };
}

/** The firing's correlation id: the `correlationid` extension of its events, first one set. */
export function correlationOf(events: ReadonlyMap<string, CloudEvent>): string | undefined {
  for (const ev of events.values()) {
    const c = ev.extensions?.correlationid;
    if (c) return c;
  }
  return undefined;
}

/**
 * The retry decision for one failed attempt: an EventsError by its `retryable`; any other error can
 * only come from executing (renderFiring types every render failure) and is retried, as Argo
 * retries every failed execution.
 */
export function isRetryableFailure(err: unknown): boolean {
  return err instanceof EventsError ? err.retryable : true;
}
