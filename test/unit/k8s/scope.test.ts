import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { kubeAccessFromFlags, serviceAccountOf } from "../../../src/k8s/scope.js";

describe("kubeAccessFromFlags", () => {
  it("controller mode: impersonation and confinement always on; the allow flags widen the lane", () => {
    expect(kubeAccessFromFlags("controller", {})).toEqual({
      impersonate: true,
      confine: { allowNamespaces: [], allowClusterScoped: [] },
    });
    expect(
      kubeAccessFromFlags("controller", {
        "allow-trigger-namespaces": "team-b, team-c,",
        "allow-cluster-scoped-triggers": "ClusterRole",
      }),
    ).toEqual({
      impersonate: true,
      confine: { allowNamespaces: ["team-b", "team-c"], allowClusterScoped: ["ClusterRole"] },
    });
  });

  it("run mode keeps one identity and no lane unless asked", () => {
    expect(kubeAccessFromFlags("run", {})).toBeUndefined();
    expect(kubeAccessFromFlags("run", { impersonate: true })).toEqual({ impersonate: true });
    expect(
      kubeAccessFromFlags("run", {
        "confine-triggers": true,
        "allow-trigger-namespaces": "*",
      }),
    ).toEqual({ impersonate: false, confine: { allowNamespaces: ["*"], allowClusterScoped: [] } });
  });

  it("run mode: an allow flag without --confine-triggers is a usage error, not a silent no-op", () => {
    expect(() => kubeAccessFromFlags("run", { "allow-trigger-namespaces": "team-b" })).toThrow(
      ConfigError,
    );
    expect(() =>
      kubeAccessFromFlags("run", { "allow-cluster-scoped-triggers": "Namespace" }),
    ).toThrow(/--allow-cluster-scoped-triggers widens the lane --confine-triggers sets/);
  });
});

describe("serviceAccountOf", () => {
  it("reads spec.template.serviceAccountName, else the namespace's default account", () => {
    expect(serviceAccountOf({ template: { serviceAccountName: "ops" } })).toBe("ops");
    expect(serviceAccountOf({ template: {} })).toBe("default");
    expect(serviceAccountOf({})).toBe("default");
    expect(serviceAccountOf({ template: { serviceAccountName: "" } })).toBe("default");
  });
});
