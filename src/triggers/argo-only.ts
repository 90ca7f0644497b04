import type { TSchema } from "typebox";
import { err, isObject, join, type Obj, str } from "../config/findings.js";
import type { TemplateCheck } from "../config/kinds.js";
import { Int32, SecretKeySelector } from "../config/schema/common.js";
import { Parameters } from "../config/schema/sensor.js";
import { Type } from "../config/schema/typebox.js";
import type { TriggerKindDescriptor } from "./kind.js";

/*
 * Argo trigger kinds sensorbus accepts but does not execute (every firing fails; `validate` warns).
 * Only the fields Argo's validation reads are typed; the rest of each object is accepted as
 * written, and Argo's own checks of them (pkg/reconciler/sensor/validate.go) are applied.
 * Executing one means giving it a module of its own (docs/architecture.md) in place of this entry.
 */

const Loose = (props: Record<string, TSchema>) =>
  Type.Object(props, { additionalProperties: true });

function argoOnly(
  key: string,
  schema: TSchema,
  validate: (o: Obj, check: TemplateCheck) => void,
  policy?: "status",
): TriggerKindDescriptor<Obj> {
  return { key, schema, runs: false, ...(policy ? { policy } : {}), validate };
}

const need = (o: Obj, field: string, check: TemplateCheck, message: string) => {
  if (str(o[field]) === "") check.report(err(check.at, message));
};
const needPayload = (o: Obj, check: TemplateCheck, message: string) => {
  if (o.payload === undefined) check.report(err(check.at, message));
};

export const awsLambda = argoOnly(
  "awsLambda",
  Loose({
    functionName: Type.Optional(Type.String()),
    region: Type.Optional(Type.String()),
    payload: Parameters,
    parameters: Parameters,
  }),
  (o, check) => {
    need(o, "functionName", check, "function name is not specified");
    need(o, "region", check, "region in not specified");
    needPayload(o, check, "payload parameters are not specified");
    check.parameters(o.parameters, "parameters", "resource parameter");
    check.parameters(o.payload, "payload", "payload");
  },
  "status",
);

export const kafka = argoOnly(
  "kafka",
  Loose({
    url: Type.Optional(Type.String()),
    topic: Type.Optional(Type.String()),
    partition: Type.Optional(Int32()),
    payload: Parameters,
    parameters: Parameters,
  }),
  (o, check) => {
    need(o, "url", check, "broker url must not be empty");
    needPayload(o, check, "payload must not be empty");
    need(o, "topic", check, "topic must not be empty");
    check.parameters(o.payload, "payload", "payload");
  },
);

export const openWhisk = argoOnly(
  "openWhisk",
  Loose({
    host: Type.Optional(Type.String()),
    actionName: Type.Optional(Type.String()),
    authToken: Type.Optional(SecretKeySelector),
    payload: Parameters,
    parameters: Parameters,
  }),
  (o, check) => {
    need(o, "actionName", check, "action name is not specified");
    need(o, "host", check, "host URL is not specified");
    if (isObject(o.authToken) && (str(o.authToken.name) === "" || str(o.authToken.key) === "")) {
      check.report(err(join(check.at, "authToken"), "auth token key and name must be specified"));
    }
    check.parameters(o.parameters, "parameters", "resource parameter");
    needPayload(o, check, "payload parameters are not specified");
    check.parameters(o.payload, "payload", "resource parameter");
  },
);

const payloadOnly = Loose({ payload: Parameters, parameters: Parameters });
export const azureEventHubs = argoOnly("azureEventHubs", payloadOnly, () => {});
export const pulsar = argoOnly("pulsar", payloadOnly, () => {});
export const azureServiceBus = argoOnly("azureServiceBus", payloadOnly, () => {});
