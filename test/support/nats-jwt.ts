import { createHash } from "node:crypto";
import { createAccount, createOperator, createUser, type KeyPair } from "@nats-io/nkeys";

/**
 * A minimal NATS JWT (v2) encoder for tests: an operator, one account with JetStream enabled and
 * one user, signed with freshly generated NKeys, plus the server configuration for operator mode
 * (`resolver: MEMORY` with the account preloaded) and the user's `.creds` file. The format is the
 * one nats-io/jwt writes: header `{"typ":"JWT","alg":"ed25519-nkey"}`, claims with `jti`, `iat`,
 * `iss`, `sub`, `name` and a `nats` object, signature = the issuer's ed25519 NKey signature of
 * `header.claims`, all base64url without padding.
 */

function b64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64url");
}

function base32(buf: Uint8Array): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

function encodeJwt(
  issuer: KeyPair,
  subject: string,
  name: string,
  nats: Record<string, unknown>,
): string {
  const claims: Record<string, unknown> = {
    jti: "",
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats,
  };
  claims.jti = base32(createHash("sha512-256").update(JSON.stringify(claims)).digest());
  const signing = `${b64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }))}.${b64url(JSON.stringify(claims))}`;
  const sig = issuer.sign(new TextEncoder().encode(signing));
  return `${signing}.${b64url(sig)}`;
}

export interface OperatorSetup {
  /** nats-server configuration text for operator mode. */
  config: string;
  /** The user's `.creds` file text. */
  creds: string;
  /** The user's seed (secret), to search logs for. */
  userSeed: string;
}

export function operatorSetup(): OperatorSetup {
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const user = createUser();
  const operatorJwt = encodeJwt(operator, operator.getPublicKey(), "sb-test-operator", {
    type: "operator",
    version: 2,
  });
  // nats-server needs a system account before it starts JetStream in operator mode.
  const systemJwt = encodeJwt(operator, system.getPublicKey(), "SYS", {
    limits: {
      subs: -1,
      data: -1,
      payload: -1,
      imports: -1,
      exports: -1,
      wildcards: true,
      conn: -1,
      leaf: -1,
    },
    default_permissions: { pub: {}, sub: {} },
    type: "account",
    version: 2,
  });
  const accountJwt = encodeJwt(operator, account.getPublicKey(), "sb-test-account", {
    limits: {
      subs: -1,
      data: -1,
      payload: -1,
      imports: -1,
      exports: -1,
      wildcards: true,
      conn: -1,
      leaf: -1,
      mem_storage: -1,
      disk_storage: -1,
      streams: -1,
      consumer: -1,
    },
    default_permissions: { pub: {}, sub: {} },
    type: "account",
    version: 2,
  });
  const userJwt = encodeJwt(account, user.getPublicKey(), "sb-test-user", {
    pub: {},
    sub: {},
    subs: -1,
    data: -1,
    payload: -1,
    type: "user",
    version: 2,
  });
  const userSeed = new TextDecoder().decode(user.getSeed());
  const config = `operator: ${operatorJwt}
system_account: ${system.getPublicKey()}
resolver: MEMORY
resolver_preload: {
  ${system.getPublicKey()}: ${systemJwt}
  ${account.getPublicKey()}: ${accountJwt}
}
`;
  const creds = `-----BEGIN NATS USER JWT-----
${userJwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
${userSeed}
------END USER NKEY SEED------

*************************************************************
`;
  return { config, creds, userSeed };
}
