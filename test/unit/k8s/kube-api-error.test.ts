import { describe, expect, it } from "vitest";
import { EventsError, TriggerError } from "../../../src/errors.js";
import { isAlreadyExists, isNotFound, KubeApiError } from "../../../src/k8s/client.js";

describe("KubeApiError", () => {
  it("is an EventsError of the k8s layer, not a TriggerError, keeping its code and retryable", () => {
    const cause = new Error("socket hang up");
    const final = new KubeApiError("create Workflow: 403 Forbidden", 403, "Forbidden", {
      retryable: false,
    });
    const transient = new KubeApiError(
      "create Workflow: connection refused",
      undefined,
      undefined,
      {
        retryable: true,
        cause,
      },
    );
    expect(final).toBeInstanceOf(EventsError);
    expect(final).not.toBeInstanceOf(TriggerError);
    expect(final).toMatchObject({
      name: "KubeApiError",
      code: "SB_ERR_TRIGGER_K8S",
      retryable: false,
      status: 403,
      reason: "Forbidden",
    });
    expect(transient).toMatchObject({ code: "SB_ERR_TRIGGER_K8S", retryable: true });
    expect(transient.cause).toBe(cause);
  });

  it("is still recognised by the API helpers", () => {
    expect(isNotFound(new KubeApiError("get: 404", 404, "NotFound", { retryable: false }))).toBe(
      true,
    );
    expect(
      isAlreadyExists(new KubeApiError("create: 409", 409, "AlreadyExists", { retryable: false })),
    ).toBe(true);
  });
});
