import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../../src/errors.js";
import { labelSelector } from "../../../../src/eventsources/resource/runtime.js";

describe("resource label selectors: typed errors (issue 21)", () => {
  it.each([
    [[{ key: "" }], /labels\[0\]\.key: key can't be empty/],
    [
      [{ key: "a", operation: "exists", value: "x" }],
      /labels\[0\]\.value: values set must be empty/,
    ],
  ])("%j is a ConfigError naming the selector", (selectors, message) => {
    let caught: unknown;
    try {
      labelSelector(selectors as Parameters<typeof labelSelector>[0]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe("SB_ERR_CONFIG_INVALID");
    expect((caught as Error).message).toMatch(message);
  });
});
