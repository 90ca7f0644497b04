import type { Static } from "typebox";
import { EventSourceFilter, StringMap, Struct } from "../../config/schema/common.js";
import { Type } from "../../config/schema/typebox.js";

/** Argo's WatchPathConfig. */
export const WatchPathConfigSchema = Struct(
  {
    directory: Type.Optional(Type.String({ description: "absolute directory to watch" })),
    path: Type.Optional(Type.String({ description: "file name relative to the directory" })),
    pathRegexp: Type.Optional(
      Type.String({ description: "Go regexp over the name relative to the directory" }),
    ),
  },
  "which directory and which names in it",
);

/** Argo's FileEventSource, field for field. */
export const FileEventSchema = Struct(
  {
    eventType: Type.Optional(
      Type.String({ description: "fsnotify operation: CREATE, WRITE, REMOVE, RENAME or CHMOD" }),
    ),
    watchPathConfig: Type.Optional(WatchPathConfigSchema),
    polling: Type.Optional(Type.Boolean({ description: "poll instead of inotify" })),
    metadata: Type.Optional(StringMap()),
    filter: Type.Optional(EventSourceFilter),
  },
  "file system events in one directory",
);

export type FileEventSpec = Static<typeof FileEventSchema>;
export type WatchPathConfig = Static<typeof WatchPathConfigSchema>;
