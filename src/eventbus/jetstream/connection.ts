import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import {
  type Authenticator,
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
  type TlsOptions,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/transport-node";
import { ConfigError, EventBusError, errorMessage } from "../../errors.js";
import { type NatsAuth, type NatsTarget, resolveNatsTarget, scrubSecrets } from "../nats-auth.js";
import { DEFAULTS, type JetStreamBusOptions } from "./options.js";

/** An open NATS connection and what to say about it without leaking a secret. */
export interface OpenConnection {
  nc: NatsConnection;
  target: NatsTarget;
  /** The servers, credentials removed, comma-separated. */
  at: string;
  /** An error's message with every secret of the target scrubbed out. */
  scrub: (err: unknown) => string;
}

/**
 * Connects to NATS with the options' servers and credentials (URL credentials included, never
 * logged). Rejects with EventBusError SB_ERR_BUS_UNAVAILABLE, retryable unless the server refused
 * the credentials or TLS settings.
 */
export async function openConnection(opts: JetStreamBusOptions): Promise<OpenConnection> {
  if (opts.servers.length === 0) {
    throw new ConfigError("no NATS server URL given", ["NATS server list is empty"]);
  }
  const target = resolveNatsTarget(opts.servers, opts.auth);
  const at = target.display.join(",");
  const scrub = (err: unknown) => scrubSecrets(errorMessage(err), target.secrets);
  const reconnect = opts.reconnect ?? true;
  try {
    const nc = await connect({
      servers: target.servers,
      name: opts.name ?? "sensorbus",
      reconnect,
      maxReconnectAttempts: reconnect ? -1 : 0,
      reconnectTimeWait: DEFAULTS.reconnectTimeWaitMs,
      timeout: DEFAULTS.connectTimeoutMs,
      // Each request would otherwise build two Error objects (stack captures) up front just in
      // case it fails: 12 % of sensorbus's CPU at 2,000 events/s. Our errors name the operation.
      noAsyncTraces: true,
      ...connectionAuth(target),
    });
    return { nc, target, at, scrub };
  } catch (err) {
    // The client never saw a secret in a URL (resolveNatsTarget took them out), so its error
    // (kept as the cause) carries none; the message is scrubbed all the same.
    const message = scrub(err);
    const problem = connectProblem(message, target);
    // Refused credentials or a missing TLS do not get better by retrying.
    throw new EventBusError(
      "SB_ERR_BUS_UNAVAILABLE",
      `cannot connect to NATS at ${at}: ${problem}`,
      {
        cause: err,
        retryable: problem === message,
      },
    );
  }
}

/** The authenticator and TLS options for a resolved target (one method; see resolveNatsTarget). */
export function connectionAuth(target: NatsTarget): Partial<ConnectionOptions> {
  const { auth } = target;
  const enc = new TextEncoder();
  let authenticator: Authenticator | undefined;
  if (auth.creds !== undefined) authenticator = credsAuthenticator(enc.encode(auth.creds));
  else if (auth.nkeySeed !== undefined)
    authenticator = nkeyAuthenticator(enc.encode(auth.nkeySeed));
  else if (auth.token !== undefined) authenticator = tokenAuthenticator(auth.token);
  else if (auth.user !== undefined)
    authenticator = usernamePasswordAuthenticator(auth.user, auth.password ?? "");
  const out: Partial<ConnectionOptions> = authenticator ? { authenticator } : {};
  if (auth.tls) {
    // An object (even empty) makes the client refuse a server that does not offer TLS.
    const tls: TlsOptions = {};
    if (auth.ca !== undefined) tls.ca = auth.ca;
    if (auth.cert !== undefined) tls.cert = auth.cert;
    if (auth.key !== undefined) tls.key = auth.key;
    // Node's own option, passed through by the client (merged into tls.connect's options).
    if (auth.insecureSkipVerify) Object.assign(tls, { rejectUnauthorized: false });
    // The client sends no server name for an IP address, so Node checks the certificate against
    // "localhost": check it against the IP addresses configured instead (a certificate with that
    // IP in its subjectAltName). Host names are checked by Node as usual.
    const ips = target.servers
      .map((s) => s.replace(/:\d+$/, "").replace(/^\[|\]$/g, ""))
      .filter((h) => isIP(h) !== 0);
    if (ips.length > 0) {
      Object.assign(tls, {
        checkServerIdentity: (host: string, cert: PeerCertificate) => {
          const direct = checkServerIdentity(host, cert);
          if (direct === undefined) return undefined;
          return ips.some((ip) => checkServerIdentity(ip, cert) === undefined) ? undefined : direct;
        },
      });
    }
    out.tls = tls;
  }
  return out;
}

export function authMethod(auth: NatsAuth): string {
  if (auth.creds !== undefined) return "creds";
  if (auth.nkeySeed !== undefined) return "nkey";
  if (auth.token !== undefined) return "token";
  if (auth.user !== undefined) return "user/password";
  return "none";
}

/** The client's connect error, with what it means for sensorbus's settings. */
function connectProblem(message: string, target: NatsTarget): string {
  if (/server does not support 'tls'|tls.*not available/i.test(message))
    return `TLS was required (${target.auth.from?.tls ?? "--nats-tls"}) but the server offers only plain text; refusing to connect without TLS`;
  if (/timeout/i.test(message) && target.auth.tls && target.auth.cert === undefined)
    return `${message} (if the server requires a client certificate, give --nats-cert and --nats-key)`;
  if (/authorization violation/i.test(message))
    return target.auth.from === undefined || authMethod(target.auth) === "none"
      ? `${message}: the server requires credentials (--nats-user with --nats-password-file, --nats-token-file, --nats-nkey-file or --nats-creds)`
      : `${message}: the server refused the ${authMethod(target.auth)} credentials from ${credentialSource(target.auth)}`;
  return message;
}

function credentialSource(auth: NatsAuth): string {
  const f = auth.from ?? {};
  return (
    (auth.creds !== undefined && f.creds) ||
    (auth.nkeySeed !== undefined && f.nkeySeed) ||
    (auth.token !== undefined && f.token) ||
    (auth.password !== undefined && f.password) ||
    "the options"
  );
}
