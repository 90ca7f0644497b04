import { afterEach, describe, expect, it } from "vitest";
import { type KubeClient, loadKubeClient } from "../../src/k8s/client.js";
import { FakeKubeApi } from "../support/fake-kube-api.js";

describe("Kubernetes client connections", () => {
  let api: FakeKubeApi | undefined;
  let kube: KubeClient | undefined;
  afterEach(async () => {
    kube?.close?.();
    await api?.stop();
  });

  it("keeps one connection alive across requests (client-node's agent would open one per request)", async () => {
    api = await new FakeKubeApi().start();
    const client = (await loadKubeClient({ kubeconfigYaml: api.kubeconfigYaml() }))!;
    kube = client;
    for (let i = 0; i < 20; i++) {
      await client.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `keepalive-${i}`, namespace: "default" },
        data: { i: String(i) },
      });
    }
    const creates = api.requests.filter((r) => r.method === "POST");
    expect(creates).toHaveLength(20);
    // Every request carried the bearer token although credentials are reused between requests.
    expect(creates.every((r) => r.headers.authorization?.startsWith("Bearer fake-"))).toBe(true);
    expect(api.connections).toBe(1);
  });
});
