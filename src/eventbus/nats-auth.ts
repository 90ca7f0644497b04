import { ConfigError } from "../errors.js";

/**
 * Credentials and TLS settings of a NATS connection. Every value here is secret or names a secret:
 * none may appear in a log line, an error message, /readyz or a metric (see {@link redactUrls}).
 * At most one of user/password, token, nkeySeed and creds is set (the server checks one).
 */
export interface NatsAuth {
  user?: string;
  password?: string;
  token?: string;
  /** An NKey user seed (`SU...`). */
  nkeySeed?: string;
  /** The text of a `.creds` file: the user JWT and its NKey seed (operator/JWT mode). */
  creds?: string;
  /** Refuse a connection that is not TLS (`tls://` URL, `--nats-tls`, or any of ca/cert/key). */
  tls?: boolean;
  /** PEM text: the CA that signed the server certificate (default: the system's CAs). */
  ca?: string;
  /** PEM text: client certificate and key, for servers that verify clients. */
  cert?: string;
  key?: string;
  /** Accept any server certificate (Argo's `tls.insecureSkipVerify`). */
  insecureSkipVerify?: boolean;
  /**
   * Where each setting came from (e.g. `password: "--nats-password-file /run/nats/password"`),
   * for error messages: they name the source, never the value.
   */
  from?: Partial<Record<NatsAuthField, string>>;
}

export type NatsAuthField = Exclude<keyof NatsAuth, "from">;

/** What JetStreamBus.connect hands the NATS client: servers without credentials, and the auth. */
export interface NatsTarget {
  /** `host:port` per server, credentials removed. */
  servers: string[];
  /** The servers as they may be logged: scheme, host and port only. */
  display: string[];
  auth: NatsAuth;
  /** The secret values, to scrub from any message that leaves the process. */
  secrets: string[];
}

const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi;

/** Removes the `user:password@` / `token@` part of every URL in `text` (logs, errors). */
export function redactUrls(text: string): string {
  return text.replace(USERINFO, "$1");
}

/** `text` with URL credentials removed and every secret value replaced by `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = redactUrls(text);
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join("***");
  return out;
}

const NKEY_SEED = /^S[UAON][A-Z2-7]{56}$/;
const CREDS_JWT = /-{3,}[^\n]*BEGIN NATS USER JWT[^\n]*-{3,}\r?\n\s*\S+/;
const CREDS_SEED = /-{3,}[^\n]*BEGIN USER NKEY SEED[^\n]*-{3,}\r?\n\s*SU[A-Z2-7]{56}/;

/**
 * Splits credentials out of the server URLs (`nats://user:password@host` is user/password,
 * `nats://token@host` a token, as in Go's client), merges them with `given`, and checks that one
 * authentication method is chosen. A `tls://` URL requires TLS for every server. Throws
 * ConfigError naming the setting at fault, never its value.
 */
export function resolveNatsTarget(urls: readonly string[], given: NatsAuth = {}): NatsTarget {
  const problems: string[] = [];
  const auth: NatsAuth = { ...given, from: { ...given.from } };
  const from = auth.from as Partial<Record<NatsAuthField, string>>;
  const servers: string[] = [];
  const display: string[] = [];
  let urlCreds: { user?: string; password?: string; token?: string } | undefined;
  let urlCredsConflict = false;
  for (const raw of urls) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `nats://${raw}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      problems.push(`event bus URL '${redactUrls(withScheme)}' is not a NATS URL`);
      continue;
    }
    const hostPort = u.port ? `${u.hostname}:${u.port}` : u.hostname;
    if (u.protocol === "tls:") {
      auth.tls = true;
      from.tls ??= "a tls:// URL";
    }
    servers.push(hostPort);
    display.push(`${u.protocol}//${hostPort}`);
    if (u.username === "" && u.password === "") continue;
    const user = decodeURIComponent(u.username);
    const password = decodeURIComponent(u.password);
    const creds =
      u.password !== "" || withScheme.includes(":@") ? { user, password } : { token: user };
    if (
      urlCreds &&
      (urlCreds.user !== creds.user ||
        urlCreds.password !== creds.password ||
        urlCreds.token !== creds.token)
    )
      urlCredsConflict = true;
    urlCreds ??= creds;
  }
  if (urlCredsConflict)
    problems.push(
      "event bus URLs carry different credentials: give the same ones for every server",
    );
  if (urlCreds) {
    const fromUrl = "the event bus URL";
    for (const field of ["user", "password", "token"] as const) {
      const v = urlCreds[field];
      if (v === undefined) continue;
      if (auth[field] !== undefined && auth[field] !== v) {
        problems.push(
          `NATS ${field} is given both in the event bus URL and by ${from[field] ?? "an option"}: give it once`,
        );
      }
      auth[field] = v;
      from[field] = fromUrl;
    }
  }
  const methods = [
    auth.user !== undefined || auth.password !== undefined ? "user/password" : undefined,
    auth.token !== undefined ? "token" : undefined,
    auth.nkeySeed !== undefined ? "NKey" : undefined,
    auth.creds !== undefined ? "credentials file" : undefined,
  ].filter((m): m is string => m !== undefined);
  if (methods.length > 1)
    problems.push(
      `NATS authentication: choose one of user/password, token, NKey or credentials file (given: ${methods.join(", ")})`,
    );
  if (auth.user !== undefined && auth.password === undefined)
    problems.push(
      `NATS user given by ${from.user ?? "an option"} without a password (--nats-password-file or NATS_PASSWORD)`,
    );
  if (auth.password !== undefined && (auth.user === undefined || auth.user === ""))
    problems.push(
      `NATS password given by ${from.password ?? "an option"} without a user (--nats-user or NATS_USER)`,
    );
  if (auth.nkeySeed !== undefined && !NKEY_SEED.test(auth.nkeySeed))
    problems.push(
      `${from.nkeySeed ?? "NKey seed"}: not an NKey user seed (one line starting 'SU')`,
    );
  if (auth.creds !== undefined && (!CREDS_JWT.test(auth.creds) || !CREDS_SEED.test(auth.creds)))
    problems.push(
      `${from.creds ?? "credentials file"}: not a NATS .creds file (needs a 'BEGIN NATS USER JWT' and a 'BEGIN USER NKEY SEED' block)`,
    );
  if ((auth.cert === undefined) !== (auth.key === undefined))
    problems.push(
      "NATS client certificate and key go together: give both --nats-cert and --nats-key",
    );
  if (auth.ca !== undefined || auth.cert !== undefined) auth.tls = true;
  if (servers.length === 0 && problems.length === 0)
    problems.push('event bus URL is empty (expected nats://host:port or "memory")');
  if (problems.length > 0) throw new ConfigError(problems.join("; "), problems);
  const credsSeed = auth.creds?.match(/SU[A-Z2-7]{56}/)?.[0];
  const secrets = [auth.password, auth.token, auth.nkeySeed, auth.creds, credsSeed, auth.key]
    .filter((s): s is string => s !== undefined && s !== "")
    .flatMap((s) => [s, encodeURIComponent(s)]);
  return { servers, display, auth, secrets };
}
