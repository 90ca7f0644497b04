import { afterEach, describe, expect, it } from "vitest";
import { EventsError } from "../../../src/errors.js";
import { clearSecrets, registerSecret } from "../../../src/lib/redact.js";
import { createLogger } from "../../../src/observability/logger.js";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const log = createLogger({
    stream: {
      write(line: string) {
        raw.push(line);
        for (const l of line.split("\n")) if (l) lines.push(JSON.parse(l));
      },
    },
  });
  return { log, lines, raw };
}

describe("errors in log lines", () => {
  afterEach(() => clearSecrets());

  it("keep the stack, the code and the cause when logged under err", () => {
    const { log, lines } = capture();
    const inner = new Error("ECONNREFUSED 127.0.0.1:4222");
    log.warn(
      { err: new EventsError("SB_ERR_BUS_UNAVAILABLE", "publish failed", { cause: inner }) },
      "event not stored: answering 503",
    );
    const err = lines[0]!.err as Record<string, unknown>;
    expect(lines[0]!.msg).toBe("event not stored: answering 503");
    expect(err.message).toContain("publish failed");
    expect(err.code).toBe("SB_ERR_BUS_UNAVAILABLE");
    expect(String(err.stack)).toMatch(/^EventsError: publish failed\n\s+at /);
    expect(JSON.stringify(err)).toContain("ECONNREFUSED 127.0.0.1:4222");
  });

  it("redact a secret inside an error's message, stack and cause", () => {
    const secret = "s3cr3t-Value-for-errors-test";
    registerSecret(secret);
    const { log, raw, lines } = capture();
    log.error(
      {
        err: new Error(`login refused for ${secret}`, {
          cause: new Error(`upstream said: bad token ${secret}`),
        }),
      },
      "controller task failed",
    );
    expect(raw.join("")).not.toContain(secret);
    const err = lines[0]!.err as Record<string, unknown>;
    expect(String(err.stack)).toContain("login refused for");
    expect(String(err.stack)).not.toContain(secret);
    expect(JSON.stringify(err)).toContain("upstream said: bad token");
  });
});
