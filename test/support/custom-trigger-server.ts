import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { TRIGGER_PROTO } from "../../src/triggers/custom/proto.js";
import { makeCa } from "./tls-cert.js";

/**
 * A real Argo custom trigger server (grpc-js, service `triggers.Trigger`) for tests. It loads the
 * service from the .proto text with @grpc/proto-loader's file loader (not from the descriptor the
 * sensorbus runtime uses), so a test also checks that the two agree on the wire.
 */

export interface Call {
  method: "FetchResource" | "Execute" | "ApplyPolicy";
  request: Record<string, Buffer>;
  traceparent?: string;
}

type Handler = (request: Record<string, Buffer>) => Record<string, unknown> | grpc.ServiceError;

export interface Handlers {
  FetchResource?: Handler;
  Execute?: Handler;
  ApplyPolicy?: Handler;
}

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export class CustomTriggerServer {
  readonly calls: Call[] = [];
  handlers: Handlers = {};
  private server: grpc.Server | undefined;
  port = 0;

  /** Listens on 127.0.0.1 on a free port (or `port`), plaintext or with `tls`. */
  async start(tls?: TlsFiles, port = 0): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "sb-custom-proto-"));
    let definition: protoLoader.PackageDefinition;
    try {
      await writeFile(join(dir, "trigger.proto"), TRIGGER_PROTO);
      definition = protoLoader.loadSync(join(dir, "trigger.proto"), { keepCase: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      triggers: { Trigger: { service: grpc.ServiceDefinition } };
    };
    const server = new grpc.Server();
    const unary =
      (method: Call["method"], fallback: Handler): grpc.handleUnaryCall<unknown, unknown> =>
      (call, callback) => {
        const request = call.request as Record<string, Buffer>;
        const tp = call.metadata.get("traceparent")[0];
        this.calls.push({
          method,
          request,
          ...(typeof tp === "string" ? { traceparent: tp } : {}),
        });
        const result = (this.handlers[method] ?? fallback)(request);
        if (result instanceof Error) callback(result);
        else callback(null, result);
      };
    server.addService(pkg.triggers.Trigger.service, {
      FetchResource: unary("FetchResource", (r) => ({ resource: r.resource })),
      Execute: unary("Execute", () => ({ response: Buffer.from("executed") })),
      ApplyPolicy: unary("ApplyPolicy", () => ({ success: true, message: "ok" })),
    });
    const credentials = tls
      ? grpc.ServerCredentials.createSsl(null, [
          { cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) },
        ])
      : grpc.ServerCredentials.createInsecure();
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, credentials, (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.server = server;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) server.forceShutdown();
  }
}

/** A gRPC error status as a handler returns it. */
export function status(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), {
    code,
    details,
    metadata: new grpc.Metadata(),
  });
}

/** A CA and a server certificate it signed for `dnsName`, and another CA that did not sign it. */
export async function makeCertificates(dnsName: string): Promise<TlsFiles & { otherCa: string }> {
  const dir = await mkdtemp(join(tmpdir(), "sb-custom-tls-"));
  try {
    const ca = makeCa(join(dir, "ca"), { cn: "sensorbus test ca CA", key: "rsa:2048" });
    const other = makeCa(join(dir, "other"), { cn: "sensorbus test other CA", key: "rsa:2048" });
    const server = ca.sign("server", dnsName, `subjectAltName=DNS:${dnsName}\n`);
    return { ca: ca.pem, otherCa: other.pem, cert: server.cert, key: server.key };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
