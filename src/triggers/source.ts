import { readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { setTimeout as delay } from "node:timers/promises";
import { parse as parseYaml } from "yaml";
import { DEFAULTS } from "../config/defaults.js";
import type { ValueResolver } from "../config/secrets.js";
import type { ArtifactLocation } from "../config/types.js";
import { errorMessage, TriggerError } from "../errors.js";
import { Memo } from "../lib/memo.js";

/** Argo reads at most this much of a `url` source. */
export const URL_SOURCE_LIMIT = DEFAULTS.trigger.urlSourceMaxBytes;

export interface SourceContext {
  values: ValueResolver;
  /** false forbids fetching `url` sources (e.g. offline replay). Default true. */
  allowUrl?: boolean;
  /** Why `url` sources are not fetched (the error says it) when `allowUrl` is false. */
  offlineReason?: string;
  /** `url` paths read from local files instead (replay's `--source URL=FILE`). */
  urlFiles?: ReadonlyMap<string, string>;
  /** Field path for messages, e.g. `template.argoWorkflow.source`. */
  field?: string;
  /** `url` attempts (Argo retries a fetch 5 times); default 5. */
  attempts?: number;
  /** Wait between `url` attempts; default 1 s. Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Per-attempt `url` timeout in ms; default 30 s. */
  timeoutMs?: number;
}

function sourceError(message: string, retryable = false, cause?: unknown): TriggerError {
  return new TriggerError("SB_ERR_TRIGGER_SOURCE", message, { retryable, cause });
}

/** The location a trigger source is read from. */
export type SourceLocationKind = "inline" | "file" | "url" | "configmap" | "resource";

/**
 * Which location of a trigger source is read: the first present, in Argo's order (s3, inline,
 * file, url, git, configmap, resource). Throws the TriggerError every firing would fail with for
 * s3 and git (not supported by sensorbus) and for a source that names no location. The one
 * decision shared by `fetchResource` and `validate`.
 */
export function sourceLocation(
  loc: ArtifactLocation | undefined,
  field = "source",
): SourceLocationKind {
  if (!loc || typeof loc !== "object") throw sourceError(`${field}: the trigger source is empty`);
  if (loc.s3 !== undefined && loc.s3 !== null) {
    throw sourceError(
      `${field}.s3: S3 resource sources are not supported by sensorbus; use inline, file, url, configmap or resource`,
    );
  }
  if (typeof loc.inline === "string") return "inline";
  if (loc.file) return "file";
  if (loc.url) return "url";
  if (loc.git !== undefined && loc.git !== null) {
    throw sourceError(
      `${field}.git: git resource sources are not supported by sensorbus; use inline, file, url, configmap or resource`,
    );
  }
  if (loc.configmap) return "configmap";
  if (loc.resource !== undefined && loc.resource !== null) return "resource";
  throw sourceError(
    `${field}: no known source location (want one of inline, file, url, configmap, resource)`,
  );
}

/**
 * The text of a trigger resource source (YAML or JSON), from the location `sourceLocation` picks.
 * `resource` (an object inline in the manifest) is returned as JSON text.
 */
export async function fetchResource(
  loc: ArtifactLocation | undefined,
  ctx: SourceContext,
): Promise<string> {
  const field = ctx.field ?? "source";
  const kind = sourceLocation(loc, field);
  const l = loc as ArtifactLocation;
  switch (kind) {
    case "inline":
      return l.inline as string;
    case "file": {
      const path = l.file?.path;
      if (!path) throw sourceError(`${field}.file.path is empty`);
      return readLocalFile(path, `${field}.file`);
    }
    case "url": {
      const url = l.url!;
      const local = ctx.urlFiles?.get(url.path);
      if (local !== undefined) return readLocalFile(local, `${field}.url`);
      if (ctx.allowUrl === false) {
        throw sourceError(
          `${field}.url: ${ctx.offlineReason ?? "url sources are disabled here"} (not fetched: ${url.path})`,
        );
      }
      return fetchUrl(url.path, url.verifyCert === true, ctx, `${field}.url`);
    }
    case "configmap":
      try {
        return await ctx.values.configMap(l.configmap!, `${field}.configmap`);
      } catch (err) {
        // The resolver names the field itself; add it only when it did not.
        const message = errorMessage(err);
        const where = `${field}.configmap`;
        throw sourceError(message.startsWith(where) ? message : `${where}: ${message}`, false, err);
      }
    case "resource":
      if (typeof l.resource !== "object" || Array.isArray(l.resource)) {
        throw sourceError(`${field}.resource must be an object`);
      }
      return JSON.stringify(l.resource);
  }
}

async function readLocalFile(path: string, field: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw sourceError(`${field}: cannot read ${path}: ${errorMessage(err)}`, false, err);
  }
}

/** Parsed sources as JSON text, by source text: a YAML parse per firing cost more than the rest. */
const parsedSources = new Memo<string, string>(256);

/** Parses source text as YAML (JSON is YAML) into one object (a fresh one on every call). */
export function parseResource(text: string, field = "source"): Record<string, unknown> {
  // Triggers send the resource as JSON: cached or not, it is what JSON makes of the YAML.
  const json = parsedSources.get(text, () => JSON.stringify(parseYamlObject(text, field)));
  return JSON.parse(json) as Record<string, unknown>;
}

function parseYamlObject(text: string, field: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseYaml(text);
  } catch (err) {
    throw sourceError(
      `${field}: cannot parse the resource as YAML: ${errorMessage(err)}`,
      false,
      err,
    );
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) {
    throw sourceError(
      `${field}: the resource must be a YAML/JSON object, got ${v === null ? "nothing" : Array.isArray(v) ? "a list" : typeof v}`,
    );
  }
  return v as Record<string, unknown>;
}

/** fetchResource + parseResource. */
export async function loadResource(
  loc: ArtifactLocation | undefined,
  ctx: SourceContext,
): Promise<Record<string, unknown>> {
  return parseResource(await fetchResource(loc, ctx), ctx.field ?? "source");
}

async function fetchUrl(
  url: string,
  verifyCert: boolean,
  ctx: SourceContext,
  field: string,
): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw sourceError(`${field}.path: '${url}' is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw sourceError(
      `${field}.path: only http and https URLs are supported, got '${parsed.protocol}'`,
    );
  }
  const attempts = Math.max(1, ctx.attempts ?? DEFAULTS.trigger.sourceFetchAttempts);
  const sleep = ctx.sleep ?? ((ms: number) => delay(ms));
  let last: TriggerError | undefined;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(1000);
    try {
      return await getOnce(parsed, verifyCert, ctx.timeoutMs ?? 30_000, field);
    } catch (err) {
      last =
        err instanceof TriggerError
          ? err
          : sourceError(`${field}: ${errorMessage(err)}`, true, err);
      if (!last.retryable) throw last;
    }
  }
  throw last!;
}

function getOnce(url: URL, verifyCert: boolean, timeoutMs: number, field: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === "https:" ? https : http;
    const req = mod.get(url, { rejectUnauthorized: verifyCert, timeout: timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        const status = res.statusCode ?? 0;
        reject(
          sourceError(
            `${field}: GET ${url.href} returned ${status} (want 200)`,
            status === 429 || status >= 500,
          ),
        );
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > URL_SOURCE_LIMIT) {
          req.destroy();
          reject(
            sourceError(
              `${field}: GET ${url.href} returned more than ${URL_SOURCE_LIMIT} bytes (the limit for url sources)`,
            ),
          );
          return;
        }
        chunks.push(c);
      });
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      res.on("error", (err) =>
        reject(sourceError(`${field}: GET ${url.href}: ${err.message}`, true, err)),
      );
    });
    req.on("timeout", () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on("error", (err) =>
      reject(sourceError(`${field}: GET ${url.href}: ${err.message}`, true, err)),
    );
  });
}
