import { ConfigError } from "../../errors.js";
import type { KubeClient, KubeObject } from "../../k8s/client.js";
import { isAlreadyExists } from "../../k8s/client.js";
import type { TickStore } from "../types.js";

/**
 * Argo's calendar persistence in Kubernetes: the last event of each entry is kept in the
 * ConfigMap named by `persistence.configMap.name`, under the key `<eventSource>.<event>` (the
 * calendar's keys are `<namespace>.<eventSource>.<event>`; the namespace is the ConfigMap's).
 * Writes use the ConfigMap's resourceVersion, retried on a conflict.
 */
export class ConfigMapTickStore implements TickStore {
  constructor(
    private readonly kube: KubeClient,
    private readonly ref: { name: string; namespace: string; createIfNotExist: boolean },
  ) {}

  private dataKey(key: string): string {
    const prefix = `${this.ref.namespace}.`;
    return key.startsWith(prefix) ? key.slice(prefix.length) : key;
  }

  private async read(): Promise<KubeObject | undefined> {
    return this.kube.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: this.ref.namespace,
      name: this.ref.name,
    });
  }

  async get(key: string): Promise<string | undefined> {
    const cm = await this.read();
    const data = (cm as { data?: Record<string, string> } | undefined)?.data;
    return data?.[this.dataKey(key)];
  }

  async put(key: string, value: string): Promise<void> {
    const k = this.dataKey(key);
    for (let attempt = 1; ; attempt++) {
      const cm = (await this.read()) as
        | (KubeObject & { data?: Record<string, string> })
        | undefined;
      try {
        if (!cm) {
          if (!this.ref.createIfNotExist) {
            throw new ConfigError(
              `calendar persistence: ConfigMap ${this.ref.namespace}/${this.ref.name} does not exist and createIfNotExist is false`,
            );
          }
          await this.kube.create({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: this.ref.name, namespace: this.ref.namespace },
            data: { [k]: value },
          } as KubeObject);
          return;
        }
        await this.kube.replace({ ...cm, data: { ...(cm.data ?? {}), [k]: value } });
        return;
      } catch (err) {
        const conflict = isAlreadyExists(err) || (err as { status?: number }).status === 409;
        if (!conflict || attempt >= 5) throw err;
      }
    }
  }
}
