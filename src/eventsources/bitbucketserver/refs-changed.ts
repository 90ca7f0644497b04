import { goQuote } from "../../lib/gojson.js";

/**
 * Argo's `refsChangedWebhookEvent` (pkg/eventsources/sources/bitbucketserver/types.go): the Go
 * struct a `repo:refs_changed` body is decoded into, and, with `oneEventPerChange`, re-encoded from
 * (one event per change). So the re-encoded body is what Go writes: these fields only, in this
 * order, absent ones as their zero value (`""`, `0`, `false`, a missing list as `null`).
 */
type Shape =
  | "string"
  | "int"
  | "bool"
  | { fields: ReadonlyArray<readonly [string, Shape]> }
  | { list: Shape };

const SELF_LINKS: Shape = { fields: [["self", { list: { fields: [["href", "string"]] } }]] };

const CHANGE: Shape = {
  fields: [
    [
      "ref",
      {
        fields: [
          ["id", "string"],
          ["displayId", "string"],
          ["type", "string"],
        ],
      },
    ],
    ["refId", "string"],
    ["fromHash", "string"],
    ["toHash", "string"],
    ["type", "string"],
  ],
};

const REFS_CHANGED: Shape = {
  fields: [
    ["eventKey", "string"],
    ["date", "string"],
    [
      "actor",
      {
        fields: [
          ["name", "string"],
          ["emailAddress", "string"],
          ["id", "int"],
          ["displayName", "string"],
          ["active", "bool"],
          ["slug", "string"],
          ["type", "string"],
          ["links", SELF_LINKS],
        ],
      },
    ],
    [
      "repository",
      {
        fields: [
          ["slug", "string"],
          ["id", "int"],
          ["name", "string"],
          ["hierarchyId", "string"],
          ["scmId", "string"],
          ["state", "string"],
          ["statusMessage", "string"],
          ["forkable", "bool"],
          [
            "project",
            {
              fields: [
                ["key", "string"],
                ["id", "int"],
                ["name", "string"],
                ["public", "bool"],
                ["type", "string"],
                ["links", SELF_LINKS],
              ],
            },
          ],
          ["public", "bool"],
          [
            "links",
            {
              fields: [
                [
                  "clone",
                  {
                    list: {
                      fields: [
                        ["href", "string"],
                        ["name", "string"],
                      ],
                    },
                  },
                ],
                ["self", { list: { fields: [["href", "string"]] } }],
              ],
            },
          ],
        ],
      },
    ],
    ["changes", { list: CHANGE }],
  ],
};

/** A decoded value: objects keep only the struct's fields; absent ones stay absent (zero). */
type Decoded = string | number | boolean | null | Decoded[] | { [k: string]: Decoded };

export interface RefsChange {
  ref: { id: string; displayId: string; type: string };
  refId: string;
  fromHash: string;
  toHash: string;
  type: string;
}

/** A decoded `repo:refs_changed` body, with typed access to what Argo reads. */
export interface RefsChanged {
  projectKey: string;
  repositorySlug: string;
  changes: RefsChange[];
  /** The body as Go re-encodes it with only the changes at these indexes. */
  encodeWith(indexes: readonly number[]): string;
}

export class RefsChangedDecodeError extends Error {
  override name = "RefsChangedDecodeError";
}

const GO_TYPE: Record<"string" | "int" | "bool", string> = {
  string: "string",
  int: "int",
  bool: "bool",
};

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "object") return "object";
  return typeof v === "number" ? `number ${v}` : typeof v;
}

/** Go's json.Unmarshal into the struct: unknown fields ignored, names matched case-insensitively. */
function decode(value: unknown, shape: Shape, path: string): Decoded | undefined {
  if (value === null) return undefined;
  const fail = (type: string) =>
    new RefsChangedDecodeError(
      `json: cannot unmarshal ${jsonType(value).replace(/^number .*/, "number")} into Go struct field refsChangedWebhookEvent${path} of type ${type}`,
    );
  if (shape === "string" || shape === "int" || shape === "bool") {
    if (shape === "string" && typeof value === "string") return value;
    if (shape === "bool" && typeof value === "boolean") return value;
    if (shape === "int" && typeof value === "number" && Number.isSafeInteger(value)) return value;
    throw fail(GO_TYPE[shape]);
  }
  if ("list" in shape) {
    if (!Array.isArray(value)) throw fail("[]struct");
    return value.map((v) => decode(v, shape.list, path) ?? zeroOf(shape.list));
  }
  if (typeof value !== "object" || Array.isArray(value)) throw fail("struct");
  const out: Record<string, Decoded> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field =
      shape.fields.find(([name]) => name === key) ??
      shape.fields.find(([name]) => name.toLowerCase() === key.toLowerCase());
    if (!field) continue;
    const decoded = decode(v, field[1], `${path}.${field[0]}`);
    // Go: null sets a slice to nil and leaves any other field as it was.
    if (decoded !== undefined) out[field[0]] = decoded;
    else if (typeof field[1] === "object" && "list" in field[1]) delete out[field[0]];
  }
  return out;
}

/** A null list element decodes to the element's zero value. */
function zeroOf(shape: Shape): Decoded {
  if (shape === "string") return "";
  if (shape === "int") return 0;
  if (shape === "bool") return false;
  return "list" in shape ? [] : {};
}

/** Go's json.Marshal of the struct: declared order, zero values for what is absent. */
function encode(value: Decoded | undefined, shape: Shape): string {
  if (shape === "string") return goQuote(typeof value === "string" ? value : "");
  if (shape === "int") return String(typeof value === "number" ? value : 0);
  if (shape === "bool") return value === true ? "true" : "false";
  if ("list" in shape) {
    if (!Array.isArray(value)) return "null";
    return `[${value.map((v) => encode(v, shape.list)).join(",")}]`;
  }
  const obj = value && typeof value === "object" && !Array.isArray(value) ? value : {};
  return `{${shape.fields.map(([name, s]) => `${goQuote(name)}:${encode(obj[name], s)}`).join(",")}}`;
}

const text = (v: Decoded | undefined): string => (typeof v === "string" ? v : "");
const record = (v: Decoded | undefined): Record<string, Decoded> =>
  v && typeof v === "object" && !Array.isArray(v) ? v : {};

/** Decodes a `repo:refs_changed` body as Argo does; throws RefsChangedDecodeError as Go would. */
export function decodeRefsChanged(body: unknown): RefsChanged {
  const decoded = record(decode(body, REFS_CHANGED, ""));
  const repository = record(decoded.repository);
  const list = Array.isArray(decoded.changes) ? decoded.changes : [];
  const changes = list.map((c) => {
    const change = record(c);
    const ref = record(change.ref);
    return {
      ref: { id: text(ref.id), displayId: text(ref.displayId), type: text(ref.type) },
      refId: text(change.refId),
      fromHash: text(change.fromHash),
      toHash: text(change.toHash),
      type: text(change.type),
    };
  });
  return {
    projectKey: text(record(repository.project).key),
    repositorySlug: text(repository.slug),
    changes,
    encodeWith: (indexes) =>
      encode({ ...decoded, changes: indexes.map((i) => list[i]!) }, REFS_CHANGED),
  };
}
