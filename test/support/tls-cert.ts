import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Whether `openssl` is on PATH (the TLS tests skip, loudly, without it). */
export function hasOpenssl(): boolean {
  try {
    execFileSync("which", ["openssl"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * A self-signed certificate valid for one day, made by `openssl req -x509`, written to
 * `<dir>/tls.key` and `<dir>/tls.crt` (as a Kubernetes TLS Secret's keys) and returned as PEM.
 * Default: CN=localhost, subjectAltName IP:127.0.0.1, an EC P-256 key.
 */
export function selfSignedCert(
  dir: string,
  opts: { cn?: string; altNames?: string; key?: "ec" | "rsa:2048" } = {},
): { key: string; cert: string } {
  mkdirSync(dir, { recursive: true });
  const key = opts.key ?? "ec";
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      key,
      ...(key === "ec" ? ["-pkeyopt", "ec_paramgen_curve:prime256v1"] : []),
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${opts.cn ?? "localhost"}`,
      "-addext",
      `subjectAltName=${opts.altNames ?? "IP:127.0.0.1"}`,
      "-keyout",
      join(dir, "tls.key"),
      "-out",
      join(dir, "tls.crt"),
    ],
    { stdio: "ignore" },
  );
  return {
    key: readFileSync(join(dir, "tls.key"), "utf8"),
    cert: readFileSync(join(dir, "tls.crt"), "utf8"),
  };
}

/** A test certificate authority in `dir` (`ca.pem`, `ca.key`) that signs leaf certificates. */
export interface TestCa {
  /** The CA certificate, PEM. */
  readonly pem: string;
  /**
   * A certificate for `cn` signed by this CA, written to `<dir>/<name>.pem` and `<name>.key`;
   * `ext` is the openssl extension text (subjectAltName, extendedKeyUsage). Returned as PEM.
   */
  sign(name: string, cn: string, ext: string): { key: string; cert: string };
}

/** Makes a CA valid for one day with `openssl req -x509` (an EC P-256 key unless `key` says). */
export function makeCa(
  dir: string,
  opts: { cn: string; key?: "ec" | "rsa:2048" } = { cn: "sensorbus test CA" },
): TestCa {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const key = opts.key ?? "ec";
  const newKey = [
    "-newkey",
    key,
    ...(key === "ec" ? ["-pkeyopt", "ec_paramgen_curve:prime256v1"] : []),
    "-nodes",
  ];
  openssl(
    "req",
    "-x509",
    ...newKey,
    "-days",
    "1",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
    "-subj",
    `/CN=${opts.cn}`,
  );
  return {
    pem: readFileSync(p("ca.pem"), "utf8"),
    sign(name, cn, ext) {
      openssl(
        "req",
        ...newKey,
        "-keyout",
        p(`${name}.key`),
        "-out",
        p(`${name}.csr`),
        "-subj",
        `/CN=${cn}`,
      );
      writeFileSync(p(`${name}.ext`), ext);
      openssl(
        "x509",
        "-req",
        "-in",
        p(`${name}.csr`),
        "-CA",
        p("ca.pem"),
        "-CAkey",
        p("ca.key"),
        "-CAcreateserial",
        "-days",
        "1",
        "-out",
        p(`${name}.pem`),
        "-extfile",
        p(`${name}.ext`),
      );
      return {
        key: readFileSync(p(`${name}.key`), "utf8"),
        cert: readFileSync(p(`${name}.pem`), "utf8"),
      };
    },
  };
}
