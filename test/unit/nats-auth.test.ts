import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { natsAuthFromOptions } from "../../src/app/nats-options.js";
import { ConfigError } from "../../src/errors.js";
import {
  createBus,
  parseNatsServers,
  redactUrls,
  resolveNatsTarget,
  scrubSecrets,
} from "../../src/eventbus/index.js";
import { silentLogger } from "../../src/observability/logger.js";

const SEED = `SU${"A".repeat(56)}`;
const dir = mkdtempSync(join(tmpdir(), "sb-nats-auth-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("no ConfigError thrown");
}

describe("redactUrls / scrubSecrets", () => {
  it("removes user:password@ and token@ from every URL in a text", () => {
    expect(redactUrls("at nats://u:p4ss@h:1,tls://t0k@h2:2 and http://x@y/z")).toBe(
      "at nats://h:1,tls://h2:2 and http://y/z",
    );
    expect(scrubSecrets("pw is hunter22 (hunter22)", ["hunter22"])).toBe("pw is *** (***)");
  });

  it("parseNatsServers does not echo credentials of a bad URL", () => {
    const err = configError(() => parseNatsServers("http://u:hunter22@h:1"));
    expect(err.message).not.toContain("hunter22");
    expect(err.message).toContain("'http://h:1' is not a NATS URL");
  });
});

describe("resolveNatsTarget", () => {
  it("takes user/password and tokens out of the URLs", () => {
    const t = resolveNatsTarget(["nats://alice:p%40ss@h:4222", "nats://alice:p%40ss@h2:4222"]);
    expect(t.servers).toEqual(["h:4222", "h2:4222"]);
    expect(t.display).toEqual(["nats://h:4222", "nats://h2:4222"]);
    expect(t.auth).toMatchObject({ user: "alice", password: "p@ss" });
    expect(t.secrets).toContain("p@ss");
    const tok = resolveNatsTarget(["nats://s3cr3t@h:4222"]);
    expect(tok.auth).toMatchObject({ token: "s3cr3t" });
    expect(tok.auth.user).toBeUndefined();
  });

  it("tls:// and a CA or client certificate require TLS", () => {
    expect(resolveNatsTarget(["tls://h:1"]).auth.tls).toBe(true);
    expect(resolveNatsTarget(["nats://h:1"], { ca: "PEM" }).auth.tls).toBe(true);
    expect(resolveNatsTarget(["nats://h:1"]).auth.tls).toBeUndefined();
  });

  it.each([
    [
      "two methods",
      ["nats://h:1"],
      { token: "t0ken", nkeySeed: SEED },
      /choose one of .*given: token, NKey/,
    ],
    ["user without password", ["nats://h:1"], { user: "u" }, /user given by .* without a password/],
    [
      "password without user",
      ["nats://h:1"],
      { password: "pw1", from: { password: "$NATS_PASSWORD" } },
      /password given by \$NATS_PASSWORD without a user/,
    ],
    [
      "URL and option disagree",
      ["nats://u:pw1@h:1"],
      { user: "v", password: "pw2", from: { user: "--nats-user" } },
      /user is given both in the event bus URL and by --nats-user/,
    ],
    [
      "different URL credentials",
      ["nats://u:pw1@h:1", "nats://u:pw2@h:2"],
      {},
      /different credentials/,
    ],
    [
      "bad seed",
      ["nats://h:1"],
      { nkeySeed: "not-a-seed", from: { nkeySeed: "--nats-nkey-file /x/seed" } },
      /--nats-nkey-file \/x\/seed: not an NKey user seed/,
    ],
    [
      "bad creds",
      ["nats://h:1"],
      { creds: "hello", from: { creds: "--nats-creds /x/u.creds" } },
      /--nats-creds \/x\/u\.creds: not a NATS \.creds file/,
    ],
    ["cert without key", ["nats://h:1"], { cert: "PEM" }, /give both --nats-cert and --nats-key/],
  ])("refuses %s, naming the setting and never the value", (_name, urls, auth, message) => {
    const err = configError(() => resolveNatsTarget(urls, auth));
    expect(err.message).toMatch(message);
    for (const secret of ["pw1", "pw2", "t0ken", "not-a-seed", "hello"])
      expect(err.message).not.toContain(secret);
  });
});

describe("natsAuthFromOptions", () => {
  it("reads secrets from files (dropping the final newline), flags before the environment", async () => {
    const pw = file("pw", "from-file\n");
    const auth = await natsAuthFromOptions(
      { "nats-user": "alice", "nats-password-file": pw },
      { NATS_USER: "bob", NATS_PASSWORD: "from-env" },
    );
    expect(auth).toMatchObject({ user: "alice", password: "from-file" });
    expect(auth.from).toMatchObject({
      user: "--nats-user",
      password: `--nats-password-file ${pw}`,
    });
    const env = await natsAuthFromOptions({}, { NATS_USER: "bob", NATS_PASSWORD: "from-env" });
    expect(env).toMatchObject({ user: "bob", password: "from-env" });
  });

  it("names the flag and path of a missing or empty file", async () => {
    await expect(natsAuthFromOptions({ "nats-creds": join(dir, "nope") }, {})).rejects.toThrow(
      /--nats-creds .*nope: cannot read the file/,
    );
    const empty = file("empty", "\n");
    await expect(natsAuthFromOptions({}, { NATS_TOKEN_FILE: empty })).rejects.toThrow(
      /\$NATS_TOKEN_FILE \(.*empty\): the file is empty/,
    );
  });

  it("TLS from --nats-tls, $NATS_TLS or a CA; a bad $NATS_TLS is an error", async () => {
    expect((await natsAuthFromOptions({ "nats-tls": true }, {})).tls).toBe(true);
    expect((await natsAuthFromOptions({}, { NATS_TLS: "true" })).tls).toBe(true);
    expect((await natsAuthFromOptions({}, { NATS_CA: file("ca", "PEM") })).tls).toBe(true);
    expect((await natsAuthFromOptions({}, {})).tls).toBeUndefined();
    await expect(natsAuthFromOptions({}, { NATS_TLS: "yes" })).rejects.toThrow(
      /\$NATS_TLS: 'yes' is not true or false/,
    );
  });
});

describe("createBus", () => {
  it("refuses conflicting NATS settings before connecting", async () => {
    await expect(
      createBus("nats://127.0.0.1:1", { log: silentLogger(), auth: { token: "a", user: "u" } }),
    ).rejects.toThrow(/choose one of/);
  });
});
