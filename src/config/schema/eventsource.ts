import { eventSourceKinds } from "../kinds.js";
import { Int32, Manifest, Opaque, Struct } from "./common.js";
import { Type } from "./typebox.js";

/** `spec` of an EventSource: the generic fields, then one record of entries per registered kind. */
export function eventSourceSpec() {
  return Struct({
    eventBusName: Type.Optional(Type.String()),
    template: Type.Optional(Opaque("pod template (ignored by sensorbus)")),
    service: Type.Optional(Opaque("Kubernetes Service (ignored by sensorbus)")),
    replicas: Type.Optional(Int32()),
    ...Object.fromEntries(
      eventSourceKinds().map((k) => [k.key, Type.Optional(Type.Record(Type.String(), k.schema))]),
    ),
  });
}

export function eventSourceManifestSchema() {
  return Manifest("EventSource", eventSourceSpec());
}
