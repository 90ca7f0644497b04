import { readFile, realpath } from "node:fs/promises";
import { join, sep } from "node:path";
import { ConfigError, errorMessage } from "../errors.js";
import { registerSecret } from "../lib/redact.js";
import type { SecretKeySelector } from "./types.js";
import { checkNamespace, checkObjectKey, checkObjectName } from "./value-refs.js";

/**
 * Reads Secret and ConfigMap values referenced by manifests. Outside Kubernetes they come from
 * directories laid out like mounted volumes (see {@link ValuesLayout}). `namespace` is the
 * namespace of the manifest that reads the value (use {@link inNamespace} to bind it); it is
 * "default" when left out.
 */
export interface ValueResolver {
  secret(ref: SecretKeySelector, field: string, namespace?: string): Promise<string>;
  configMap(ref: SecretKeySelector, field: string, namespace?: string): Promise<string>;
}

/**
 * `flat`: `DIR/<name>/<key>`, one namespace's values (the manifests that read them must all be in
 * one namespace: config/load.ts refuses them otherwise). `namespaced`: `DIR/<namespace>/<name>/<key>`,
 * a manifest reads only its own namespace's directory.
 */
export type ValuesLayout = "flat" | "namespaced";

export const VALUES_LAYOUTS: readonly ValuesLayout[] = ["flat", "namespaced"];

/** Parses `--secrets-layout` (undefined => flat). */
export function parseValuesLayout(text: string | undefined): ValuesLayout {
  if (text === undefined || text === "flat") return "flat";
  if (text === "namespaced") return "namespaced";
  throw new ConfigError(`--secrets-layout: '${text}' is not flat or namespaced`);
}

export interface DirResolverOptions {
  secretsDir?: string | undefined;
  configMapsDir?: string | undefined;
  /** Default flat. */
  layout?: ValuesLayout | undefined;
}

/** Argo removes one trailing newline from secret values. */
export function trimOneNewline(v: string): string {
  return v.endsWith("\n") ? v.slice(0, v.endsWith("\r\n") ? -2 : -1) : v;
}

/** A resolver that reads for `namespace` whatever namespace its callers pass. */
export function inNamespace(values: ValueResolver, namespace: string): ValueResolver {
  return {
    secret: (ref, field) => values.secret(ref, field, namespace),
    configMap: (ref, field) => values.configMap(ref, field, namespace),
  };
}

/**
 * Reads `<dir>[/<namespace>]/<name>/<key>`. The name, key and namespace must be Kubernetes names
 * (the same check `validate` applies: config/value-refs.ts), and the file, with every symlink
 * resolved, must lie inside the directory with its symlinks resolved: a Kubernetes-mounted volume
 * (`key -> ..data/key`, `..data -> ..2024_01_01...`) stays inside and works; a link to anywhere
 * else is refused. The flat layout serves one namespace: config/load.ts refuses manifests of
 * several namespaces that read values (validate, run and every reload alike), and the controller
 * watches one namespace.
 * Every Secret value read is registered for redaction (lib/redact.ts) before it is returned.
 */
export function dirResolver(options: DirResolverOptions): ValueResolver {
  const layout = options.layout ?? "flat";
  const realDirs = new Map<string, Promise<string>>();
  const read = async (
    kind: "Secret" | "ConfigMap",
    dir: string | undefined,
    ref: SecretKeySelector,
    field: string,
    namespace: string,
  ) => {
    const flag = kind === "Secret" ? "--secrets-dir" : "--configmaps-dir";
    const what = `${kind} '${String(ref?.name)}' key '${String(ref?.key)}'`;
    const refuse = (why: string, cause?: unknown) =>
      new ConfigError(`${field}: ${what} in namespace '${namespace}': ${why}`, [], {
        retryable: false,
        ...(cause !== undefined ? { cause } : {}),
        // No file for the key: the referenced Secret or ConfigMap key is missing.
        ...((cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT"
          ? { code: "SB_ERR_CONFIG_SECRET" as const }
          : {}),
      });
    const bad =
      (checkObjectName(ref?.name) && `name: ${checkObjectName(ref?.name)}`) ||
      (checkObjectKey(ref?.key) && `key: ${checkObjectKey(ref?.key)}`) ||
      (checkNamespace(namespace) && `namespace: ${checkNamespace(namespace)}`);
    if (bad) throw refuse(bad);
    if (!dir) throw refuse(`it is referenced but no ${flag} was given`);
    let realDir = realDirs.get(dir);
    if (!realDir) {
      realDir = realpath(dir);
      realDirs.set(dir, realDir);
      realDir.catch(() => realDirs.delete(dir));
    }
    const path =
      layout === "flat" ? join(dir, ref.name, ref.key) : join(dir, namespace, ref.name, ref.key);
    let real: string;
    try {
      const root = await realDir;
      real = await realpath(path);
      if (!real.startsWith(root + sep))
        throw refuse(
          `${path} resolves to a file outside ${flag} (a symlink leaving the directory)`,
        );
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw refuse(`cannot read ${path}: ${errorMessage(err)}`, err);
    }
    let value: string;
    try {
      value = trimOneNewline(await readFile(real, "utf8"));
    } catch (err) {
      throw refuse(`cannot read ${path}: ${errorMessage(err)}`, err);
    }
    if (kind === "Secret") registerSecret(value);
    return value;
  };
  return {
    secret: (ref, field, namespace = "default") =>
      read("Secret", options.secretsDir, ref, field, namespace),
    configMap: (ref, field, namespace = "default") =>
      read("ConfigMap", options.configMapsDir, ref, field, namespace),
  };
}
