import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
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
