import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyBitbucketSignature } from "../../../../src/eventsources/bitbucket-shared/signature.js";

const KEY = Buffer.from("It's a Secret to Everybody");
const BODY = Buffer.from('{"eventKey":"repo:refs_changed"}');
const hex = (key: Buffer, body: Buffer) => createHmac("sha256", key).update(body).digest("hex");

describe("verifyBitbucketSignature", () => {
  it("accepts sha256=<HMAC-SHA256 of the raw body> (lower or upper case hex)", () => {
    expect(verifyBitbucketSignature(KEY, BODY, `sha256=${hex(KEY, BODY)}`)).toBeUndefined();
    expect(
      verifyBitbucketSignature(KEY, BODY, `sha256=${hex(KEY, BODY).toUpperCase()}`),
    ).toBeUndefined();
    // An independent vector: HMAC-SHA256 of "Hello, World!" with GitHub's documented key.
    expect(
      verifyBitbucketSignature(
        KEY,
        Buffer.from("Hello, World!"),
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
      ),
    ).toBeUndefined();
  });

  it("refuses missing (401), malformed (401) and mismatching (403) signatures", () => {
    expect(verifyBitbucketSignature(KEY, BODY, undefined)?.status).toBe(401);
    expect(verifyBitbucketSignature(KEY, BODY, "")?.reason).toBe("missing_signature");
    for (const bad of ["abc", "sha256=", `sha1=${hex(KEY, BODY)}`, `sha256=${"g".repeat(64)}`]) {
      const r = verifyBitbucketSignature(KEY, BODY, bad);
      expect(r?.status, bad).toBe(401);
      expect(r?.reason, bad).toBe("malformed_signature");
    }
    const other = Buffer.from("another secret");
    const r = verifyBitbucketSignature(KEY, BODY, `sha256=${hex(other, BODY)}`);
    expect(r).toEqual({
      status: 403,
      reason: "signature_mismatch",
      message: "hmac verification failed",
    });
    expect(JSON.stringify(r)).not.toContain("Everybody");
  });
});
