import type { Static } from "typebox";
import { NonEmptyString, StringMap, Struct } from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";

export const Selector = Struct({
  key: NonEmptyString(),
  operation: Type.Optional(Type.String()),
  value: Type.Optional(Type.String()),
});

export const ResourceEventSchema = Struct(
  {
    namespace: Type.Optional(Type.String()),
    group: Type.Optional(Type.String()),
    version: NonEmptyString(),
    resource: NonEmptyString(),
    eventTypes: Type.Optional(Type.Array(Type.String(), { description: "ADD, UPDATE, DELETE" })),
    filter: Type.Optional(
      Struct({
        prefix: Type.Optional(Type.String()),
        labels: Type.Optional(Type.Array(Selector)),
        fields: Type.Optional(Type.Array(Selector)),
        createdBy: Type.Optional(Type.String({ description: "RFC 3339 time" })),
        afterStart: Type.Optional(Type.Boolean()),
      }),
    ),
    metadata: Type.Optional(StringMap()),
  },
  "A Kubernetes resource watch",
);

export type ResourceEventSpec = Static<typeof ResourceEventSchema>;
