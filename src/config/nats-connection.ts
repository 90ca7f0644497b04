import type { Static } from "typebox";
import { ConfigError } from "../errors.js";
import { type NatsAuth, redactUrls } from "../eventbus/nats-auth.js";
import { err, join, warn } from "./findings.js";
import type { EntryCheck } from "./kinds.js";
import { BasicAuth, SecretKeySelector, Struct, type TLSConfig } from "./schema/common.js";
import { Type } from "./schema/typebox.js";
import type { ValueResolver } from "./secrets.js";
import { checkTlsConfig, readTlsMaterial } from "./tls.js";

/**
 * What the NATS EventSource and the NATS trigger share about reaching a NATS server: Argo's
 * `NATSAuth` (one of basic, token, nkey, credential, each from a Secret), `tls` and `url`, checked
 * the same way by both and read into the event bus's NatsAuth.
 */

export const NATSAuth = Struct(
  {
    basic: Type.Optional(BasicAuth),
    token: Type.Optional(SecretKeySelector),
    nkey: Type.Optional(SecretKeySelector),
    credential: Type.Optional(SecretKeySelector),
  },
  "one of basic, token, nkey (a user seed) or credential (a .creds file), each from a Secret",
);

interface ConnectionSpec {
  url?: string | undefined;
  tls?: Static<typeof TLSConfig> | undefined;
  auth?: Static<typeof NATSAuth> | undefined;
}

/** Argo's switch order: the first method set is the one used. */
const METHODS = ["basic", "token", "nkey", "credential"] as const;

/** The servers of `url` as Go's client reads it: comma-separated, each with or without a scheme. */
export function natsServers(url: string): string[] {
  return url
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** The port of the first server of `url` (4222 when it gives none), for graph links. */
export function natsPort(url: unknown): string | undefined {
  const first = typeof url === "string" ? natsServers(url)[0] : undefined;
  if (first === undefined) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(first) ? first : `nats://${first}`;
  try {
    return new URL(withScheme).port || "4222";
  } catch {
    return undefined;
  }
}

/** What is wrong with one server of `url`, or undefined. */
function serverProblem(server: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `nats://${server}`;
  try {
    const u = new URL(withScheme);
    if (!["nats:", "tls:"].includes(u.protocol))
      return `'${u.protocol}//' is not nats:// or tls://`;
    if (u.hostname === "") return "has no host";
    return undefined;
  } catch {
    return "is not a URL";
  }
}

/**
 * sensorbus's checks beyond Argo's (warnings: Argo accepts these and fails at run time), then
 * Argo's TLS check (an error, as Argo's).
 */
export function checkNatsConnection(
  spec: ConnectionSpec,
  check: Pick<EntryCheck, "at" | "report">,
): void {
  const { at, report } = check;
  if (typeof spec.url === "string") {
    for (const s of natsServers(spec.url)) {
      const problem = serverProblem(s);
      if (problem) report(warn(join(at, "url"), `server '${redactUrls(s)}' ${problem}`));
      else if (/\/\/[^/]*@/.test(s))
        report(
          warn(
            join(at, "url"),
            "carries credentials, readable by anyone who reads the manifest: give them in auth (from a Secret)",
          ),
        );
    }
  }
  const auth = spec.auth;
  if (auth) {
    const set = METHODS.filter((m) => auth[m] !== undefined);
    if (set.length > 1)
      report(
        warn(
          join(at, "auth"),
          `sets ${set.join(", ")}: only ${set[0]} is used (Argo takes the first of basic, token, nkey, credential)`,
        ),
      );
    if (set[0] === "basic" && (!auth.basic?.username || !auth.basic?.password))
      report(err(join(at, "auth", "basic"), "needs both username and password (Secret selectors)"));
  }
  checkTlsConfig(spec.tls, check);
}

/**
 * The servers and credentials of `spec`, Secrets read through `values` (which registers them for
 * redaction). `at` names the object in errors (`spec.nats.<name>`); no error holds a value.
 */
export async function readNatsConnection(
  spec: ConnectionSpec,
  at: string,
  values: ValueResolver,
): Promise<{ servers: string[]; auth: NatsAuth }> {
  const servers = natsServers(spec.url ?? "");
  if (servers.length === 0) throw new ConfigError(`${at}.url: url must be specified`);
  for (const s of servers) {
    const problem = serverProblem(s);
    if (problem) throw new ConfigError(`${at}.url: server '${redactUrls(s)}' ${problem}`);
  }
  const out: NatsAuth = {};
  const from: NonNullable<NatsAuth["from"]> = {};
  const a = spec.auth;
  const method = a ? METHODS.find((m) => a[m] !== undefined) : undefined;
  if (a && method === "basic") {
    const b = a.basic ?? {};
    if (!b.username || !b.password)
      throw new ConfigError(`${at}.auth.basic: needs both username and password`);
    from.user = `${at}.auth.basic.username`;
    from.password = `${at}.auth.basic.password`;
    out.user = await values.secret(b.username, from.user);
    out.password = await values.secret(b.password, from.password);
  } else if (a?.token && method === "token") {
    out.token = await values.secret(a.token, `${at}.auth.token`);
    from.token = `${at}.auth.token`;
  } else if (a?.nkey && method === "nkey") {
    // Argo hands the Secret's file to NkeyOptionFromSeed: the value is the user seed.
    out.nkeySeed = (await values.secret(a.nkey, `${at}.auth.nkey`)).trim();
    from.nkeySeed = `${at}.auth.nkey`;
  } else if (a?.credential && method === "credential") {
    out.creds = await values.secret(a.credential, `${at}.auth.credential`);
    from.creds = `${at}.auth.credential`;
  }
  const tls = await readTlsMaterial(spec.tls, at, values);
  if (tls) {
    // Argo's natslib.Secure: a tls block means the connection must be TLS.
    out.tls = true;
    from.tls = `${at}.tls`;
    if (tls.ca !== undefined) out.ca = tls.ca;
    if (tls.cert !== undefined) out.cert = tls.cert;
    if (tls.key !== undefined) out.key = tls.key;
    if (tls.insecureSkipVerify) out.insecureSkipVerify = true;
  }
  out.from = from;
  return { servers, auth: out };
}
