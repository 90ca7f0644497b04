import { readFile } from "node:fs/promises";
import type { ParseArgsConfig } from "node:util";
import { ConfigError, errorMessage } from "../errors.js";
import type { NatsAuth, NatsAuthField } from "../eventbus/index.js";
import { registerSecret } from "../lib/redact.js";

/**
 * The NATS credential and TLS flags, the same for every command that opens the bus (run,
 * controller, publish, explain --bus, deadletters): spread into each command's parseArgs options
 * and turned into connection settings by {@link natsAuthFromOptions}. Secrets come from files or
 * the environment, never from the command line (where `ps` shows them).
 */
export const NATS_OPTIONS = {
  "nats-user": { type: "string" },
  "nats-password-file": { type: "string" },
  "nats-token-file": { type: "string" },
  "nats-nkey-file": { type: "string" },
  "nats-creds": { type: "string" },
  "nats-tls": { type: "boolean" },
  "nats-ca": { type: "string" },
  "nats-cert": { type: "string" },
  "nats-key": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

export const NATS_USAGE = `NATS credentials and TLS (every command that opens the bus; flags win over the environment):
  --nats-user NAME          user name ($NATS_USER); with the password from
  --nats-password-file PATH   a file ($NATS_PASSWORD_FILE) or $NATS_PASSWORD
  --nats-token-file PATH    token from a file ($NATS_TOKEN_FILE) or $NATS_TOKEN
  --nats-nkey-file PATH     NKey user seed file ($NATS_NKEY_FILE)
  --nats-creds PATH         .creds file: user JWT + seed, operator mode ($NATS_CREDS)
  --nats-tls                refuse a connection without TLS ($NATS_TLS=true; implied by
                            a tls:// URL and by the three below)
  --nats-ca PATH            CA certificate(s) of the server, PEM ($NATS_CA)
  --nats-cert PATH          client certificate, PEM ($NATS_CERT), with
  --nats-key PATH           its private key, PEM ($NATS_KEY)
  Credentials in the URL work too: nats://user:password@host:4222, nats://token@host:4222.
`;

export type NatsOptionValues = { [K in keyof typeof NATS_OPTIONS]?: string | boolean | undefined };

/**
 * Reads the NATS settings named by the flags (else the environment) into a NatsAuth: files are
 * read here, and a missing or empty file is a ConfigError naming the flag and the path.
 * Only set fields are present; everything else is left to the server URL.
 */
export async function natsAuthFromOptions(
  values: NatsOptionValues,
  env: NodeJS.ProcessEnv,
): Promise<NatsAuth> {
  const auth: NatsAuth = {};
  const from: Partial<Record<NatsAuthField, string>> = {};
  const problems: string[] = [];
  const str = (v: string | boolean | undefined) =>
    typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
  const envStr = (name: string) => str(env[name]);

  const fromFile = async (
    field: NatsAuthField,
    flag: keyof typeof NATS_OPTIONS,
    envFile: string,
    envValue?: string,
  ): Promise<void> => {
    const flagPath = str(values[flag]);
    const envPath = envStr(envFile);
    const path = flagPath ?? envPath;
    if (path !== undefined) {
      const source = flagPath !== undefined ? `--${flag} ${path}` : `$${envFile} (${path})`;
      try {
        // A Secret volume file often ends in a newline that is not part of the secret.
        const text = (await readFile(path, "utf8")).replace(/\r?\n$/, "");
        if (text.trim() === "") problems.push(`${source}: the file is empty`);
        else {
          auth[field] = text as never;
          from[field] = source;
        }
      } catch (err) {
        problems.push(`${source}: cannot read the file (${errorMessage(err)})`);
      }
      return;
    }
    if (envValue !== undefined && env[envValue] !== undefined && env[envValue] !== "") {
      auth[field] = env[envValue] as never;
      from[field] = `$${envValue}`;
    }
  };

  const user = str(values["nats-user"]) ?? envStr("NATS_USER");
  if (user !== undefined) {
    auth.user = user;
    from.user = values["nats-user"] !== undefined ? "--nats-user" : "$NATS_USER";
  }
  await fromFile("password", "nats-password-file", "NATS_PASSWORD_FILE", "NATS_PASSWORD");
  await fromFile("token", "nats-token-file", "NATS_TOKEN_FILE", "NATS_TOKEN");
  await fromFile("nkeySeed", "nats-nkey-file", "NATS_NKEY_FILE");
  await fromFile("creds", "nats-creds", "NATS_CREDS");
  await fromFile("ca", "nats-ca", "NATS_CA");
  await fromFile("cert", "nats-cert", "NATS_CERT");
  await fromFile("key", "nats-key", "NATS_KEY");
  if (auth.nkeySeed !== undefined) auth.nkeySeed = auth.nkeySeed.trim();
  // Redacted by value in every output, as values read from --secrets-dir are (lib/redact.ts).
  for (const secret of [auth.password, auth.token, auth.nkeySeed, auth.creds, auth.key])
    if (typeof secret === "string") registerSecret(secret);
  const envTls = envStr("NATS_TLS")?.toLowerCase();
  if (envTls !== undefined && !["true", "1", "false", "0"].includes(envTls))
    problems.push(`$NATS_TLS: '${env.NATS_TLS}' is not true or false`);
  if (values["nats-tls"] === true) {
    auth.tls = true;
    from.tls = "--nats-tls";
  } else if (envTls === "true" || envTls === "1") {
    auth.tls = true;
    from.tls = "$NATS_TLS";
  } else if (auth.ca !== undefined || auth.cert !== undefined) {
    auth.tls = true;
    from.tls = from.ca ?? from.cert ?? "--nats-ca";
  }
  if (problems.length > 0) throw new ConfigError(problems.join("; "), problems);
  if (Object.keys(from).length > 0) auth.from = from;
  return auth;
}
