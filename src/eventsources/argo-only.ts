import { Opaque } from "../config/schema/common.js";
import type { EventSourceKind } from "./kind.js";

/**
 * Argo EventSource kinds sensorbus accepts but does not run (warned about at load): only their key
 * and Argo's update strategy (pkg/apis/events/v1alpha1/const.go RecreateStrategyEventSources).
 * Running one means giving it a module of its own (docs/architecture.md) and dropping it here.
 */
const ARGO_ONLY: ReadonlyArray<readonly [key: string, recreate: boolean]> = [
  ["minio", true],
  ["kafka", true],
  ["sns", false],
  ["sqs", false],
  ["hdfs", true],
  ["storageGrid", false],
  ["azureEventsHub", true],
  ["emitter", true],
  ["nsq", true],
  ["pulsar", true],
  ["generic", true],
  ["azureServiceBus", true],
  ["azureQueueStorage", false],
  ["sftp", true],
  ["mns", false],
];

export const ARGO_ONLY_EVENTSOURCE_KINDS: readonly EventSourceKind<never>[] = ARGO_ONLY.map(
  ([key, recreate]) => ({
    key,
    schema: Opaque(`${key} entry (not run by sensorbus)`),
    runs: false,
    recreate,
  }),
);
