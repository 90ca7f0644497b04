import { err, str } from "../../config/findings.js";
import type { TemplateCheck } from "../../config/kinds.js";
import type { TriggerKindDescriptor } from "../kind.js";
import { type CustomTrigger, CustomTriggerSchema } from "./schema.js";

export { type CustomTrigger, CustomTriggerSchema } from "./schema.js";

/**
 * Argo's validateCustomTrigger, with its messages. Argo does not check `payload`; sensorbus checks
 * it with warnings only.
 */
function validate(spec: CustomTrigger, check: TemplateCheck): void {
  if (str(spec.serverURL) === "" && !check.touches("custom.serverURL")) {
    check.report(err(check.at, "custom trigger gRPC server url is not defined"));
  }
  if (spec.spec === undefined && !check.touches("custom.spec")) {
    check.report(err(check.at, "trigger body can't be empty"));
  }
  if (spec.secure === true && spec.certSecret === undefined) {
    check.report(
      err(check.at, "certSecret can't be nil when the trigger server connection is secure"),
    );
  }
  check.parameters(spec.parameters, "parameters", "resource parameter");
  check.parameters(spec.payload, "payload", "payload", { emptyDest: true, argoChecks: false });
}

export const custom: TriggerKindDescriptor<CustomTrigger> = {
  key: "custom",
  schema: CustomTriggerSchema,
  runs: true,
  validate,
  graph: {
    detail: (s) => `gRPC ${str(s.serverURL) || "?"}${s.secure === true ? " (TLS)" : ""}`,
  },
  load: () => import("./runtime.js"),
};
