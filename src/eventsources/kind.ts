import type { EventSourceKindSpec } from "../config/kinds.js";
import type { AdapterRegistryOptions, EventSourceAdapter } from "./types.js";

/** What a kind's runtime module (`<kind>/runtime.ts`) exports for the registry. */
export interface EventSourceRuntime<S> {
  createAdapter(options: AdapterRegistryOptions): EventSourceAdapter<S>;
}

/**
 * One EventSource kind (`spec.<key>`): src/eventsources/<kind>/index.ts exports one, listed in
 * src/eventsources/registry.ts. Schema, validation and graph are here; the runtime (and its vendor
 * SDK) is imported by `load` only when a manifest uses the kind. Kinds Argo has but sensorbus does
 * not run have no `load`.
 */
export interface EventSourceKind<S = never> extends EventSourceKindSpec<S> {
  load?: () => Promise<EventSourceRuntime<S>>;
}
