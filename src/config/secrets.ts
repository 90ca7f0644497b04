import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import type { SecretKeySelector } from "./types.js";

/**
 * Reads Secret and ConfigMap values referenced by manifests. Outside Kubernetes they come from
 * directories laid out like mounted volumes: `<dir>/<name>/<key>`.
 */
export interface ValueResolver {
  secret(ref: SecretKeySelector, field: string): Promise<string>;
  configMap(ref: SecretKeySelector, field: string): Promise<string>;
}

export interface DirResolverOptions {
  secretsDir?: string | undefined;
  configMapsDir?: string | undefined;
}

/** Argo removes one trailing newline from secret values. */
export function trimOneNewline(v: string): string {
  return v.endsWith("\n") ? v.slice(0, v.endsWith("\r\n") ? -2 : -1) : v;
}

export function dirResolver(options: DirResolverOptions): ValueResolver {
  const read = async (
    kind: "Secret" | "ConfigMap",
    dir: string | undefined,
    ref: SecretKeySelector,
    field: string,
  ) => {
    const flag = kind === "Secret" ? "--secrets-dir" : "--configmaps-dir";
    if (!dir) {
      throw new ConfigError(
        `${field}: ${kind} '${ref.name}' key '${ref.key}' is referenced but no ${flag} was given`,
        [],
        {
          retryable: false,
        },
      );
    }
    const path = join(dir, ref.name, ref.key);
    try {
      return trimOneNewline(await readFile(path, "utf8"));
    } catch (err) {
      throw new ConfigError(
        `${field}: cannot read ${kind} '${ref.name}' key '${ref.key}' from ${path}`,
        [],
        { cause: err },
      );
    }
  };
  return {
    secret: (ref, field) => read("Secret", options.secretsDir, ref, field),
    configMap: (ref, field) => read("ConfigMap", options.configMapsDir, ref, field),
  };
}
