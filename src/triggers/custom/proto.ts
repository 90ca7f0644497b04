/*
 * The wire contract of Argo's custom trigger: gRPC service `triggers.Trigger` with FetchResource,
 * Execute and ApplyPolicy. Our own description of it (package, service, method and message names
 * and field numbers as Argo's pkg/sensors/triggers/trigger.proto has them, so servers written for
 * Argo answer sensorbus unchanged). It lives in a TypeScript module rather than a .proto file so
 * that it ships inside dist/ with the code (package.json `files`); the docs page
 * (docs/kinds/triggers/custom.md) prints the same text for server authors, and
 * test/unit/triggers/custom/proto.test.ts checks that the text, the descriptor the runtime loads
 * and the page agree.
 */

/** The service as a .proto file (what a custom trigger server implements). */
export const TRIGGER_PROTO = `syntax = "proto3";

// Argo Events custom trigger service, as sensorbus calls it: FetchResource,
// then Execute with the fetched resource (after the trigger's parameters),
// then ApplyPolicy with Execute's response.
package triggers;

service Trigger {
  // The resource to trigger, built from the trigger's spec (YAML bytes).
  rpc FetchResource(FetchResourceRequest) returns (FetchResourceResponse);
  // Executes the resource; payload is the trigger's rendered payload (JSON).
  rpc Execute(ExecuteRequest) returns (ExecuteResponse);
  // Judges the execution's response.
  rpc ApplyPolicy(ApplyPolicyRequest) returns (ApplyPolicyResponse);
}

message FetchResourceRequest {
  bytes resource = 1;
}

message FetchResourceResponse {
  bytes resource = 1;
}

message ExecuteRequest {
  bytes resource = 1;
  bytes payload = 2;
}

message ExecuteResponse {
  bytes response = 1;
}

message ApplyPolicyRequest {
  bytes request = 1;
}

message ApplyPolicyResponse {
  bool success = 1;
  string message = 2;
}
`;

const bytes = (id: number) => ({ type: "bytes", id });

/**
 * TRIGGER_PROTO as a protobufjs JSON descriptor, for `@grpc/proto-loader`'s `fromJSON` (no file
 * to read at run time).
 */
export const TRIGGER_DESCRIPTOR = {
  nested: {
    triggers: {
      nested: {
        Trigger: {
          methods: {
            FetchResource: {
              requestType: "FetchResourceRequest",
              responseType: "FetchResourceResponse",
            },
            Execute: { requestType: "ExecuteRequest", responseType: "ExecuteResponse" },
            ApplyPolicy: { requestType: "ApplyPolicyRequest", responseType: "ApplyPolicyResponse" },
          },
        },
        FetchResourceRequest: { fields: { resource: bytes(1) } },
        FetchResourceResponse: { fields: { resource: bytes(1) } },
        ExecuteRequest: { fields: { resource: bytes(1), payload: bytes(2) } },
        ExecuteResponse: { fields: { response: bytes(1) } },
        ApplyPolicyRequest: { fields: { request: bytes(1) } },
        ApplyPolicyResponse: {
          fields: { success: { type: "bool", id: 1 }, message: { type: "string", id: 2 } },
        },
      },
    },
  },
} as const;
