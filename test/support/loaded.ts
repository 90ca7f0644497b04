import type { LoadResult } from "../../src/config/load.js";
import type { EventSourceManifest, SensorManifest } from "../../src/config/types.js";

/** Manifests as `Runtime.start` takes them, as if loaded from one file without problems. */
export function loaded(...manifests: Array<EventSourceManifest | SensorManifest>): LoadResult {
  return {
    eventSources: manifests
      .filter((m): m is EventSourceManifest => m.kind === "EventSource")
      .map((manifest) => ({ manifest, file: "test", doc: 0 })),
    sensors: manifests
      .filter((m): m is SensorManifest => m.kind === "Sensor")
      .map((manifest) => ({ manifest, file: "test", doc: 0 })),
    problems: [],
  };
}
