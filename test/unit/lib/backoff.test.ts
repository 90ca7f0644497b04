import { describe, expect, it } from "vitest";
import type { KubeClient, KubeRef } from "../../../src/k8s/client.js";
import { KubeApiError, waitForLabels } from "../../../src/k8s/client.js";
import { backoffDurationMs, exponentialBackoff, retryPlan } from "../../../src/lib/backoff.js";

const half = () => 0.5;
const waits = (plan: { delayMs(k: number): number }, n: number) =>
  Array.from({ length: n }, (_, i) => plan.delayMs(i + 1));

describe("exponentialBackoff (Argo Convert2WaitBackoff + wait.ExponentialBackoff)", () => {
  it("defaults: 5 steps, 1 s, factor 1, jitter 1", () => {
    const plan = exponentialBackoff({}, half);
    expect(plan.steps).toBe(5);
    expect(waits(plan, 4)).toEqual([1500, 1500, 1500, 1500]);
    expect(
      waits(
        exponentialBackoff(undefined, () => 0),
        2,
      ),
    ).toEqual([1000, 1000]);
  });

  it("multiplies by factor each wait and adds up to jitter times the wait", () => {
    const plan = exponentialBackoff({ steps: 4, duration: "100ms", factor: 2, jitter: 0.2 }, half);
    expect(plan.steps).toBe(4);
    expect(waits(plan, 3)).toEqual([110, 220, 440]);
  });

  it("reads an integer duration as nanoseconds and a string as a Go duration", () => {
    expect(backoffDurationMs(250_000_000)).toBe(250);
    expect(backoffDurationMs("1m30s")).toBe(90_000);
    expect(backoffDurationMs(undefined)).toBe(1000);
  });

  // Where triggers/backoff.ts and k8s/client.ts differed, Argo decides (pkg/shared/util/retry.go,
  // k8s.io/apimachinery wait.Backoff.Step).
  it("steps 0 or negative => 5 (Backoff.Steps > 0 else DefaultBackoff.Steps)", () => {
    expect(exponentialBackoff({ steps: 0 }).steps).toBe(5);
    expect(exponentialBackoff({ steps: -2 }).steps).toBe(5);
    expect(retryPlan({ steps: -2 }).attempts).toBe(5);
    expect(retryPlan({ steps: 1 }).attempts).toBe(1);
  });

  it("jitter 0 or negative adds nothing (Step jitters only when Jitter > 0)", () => {
    expect(waits(exponentialBackoff({ duration: "1s", jitter: 0 }, half), 2)).toEqual([1000, 1000]);
    expect(waits(retryPlan({ duration: "1s", jitter: -1 }, half), 2)).toEqual([1000, 1000]);
  });

  it("factor 0 keeps the wait; a negative factor multiplies, a negative wait is no wait", () => {
    expect(waits(exponentialBackoff({ duration: "1s", factor: 0, jitter: 0 }), 3)).toEqual([
      1000, 1000, 1000,
    ]);
    expect(waits(retryPlan({ duration: "1s", factor: -2, jitter: 0 }), 3)).toEqual([1000, 0, 4000]);
  });

  it("parses a duration string as Go does: no trimming, the empty string is invalid", () => {
    expect(() => backoffDurationMs(" 1s")).toThrow(/time: invalid duration/);
    expect(() => backoffDurationMs("")).toThrow(/time: invalid duration ""/);
    expect(() => retryPlan({ duration: "" })).toThrow(/time: invalid duration ""/);
  });

  it("retryPlan: no retryStrategy is one attempt", () => {
    const plan = retryPlan(undefined);
    expect(plan.attempts).toBe(1);
  });
});

describe("waitForLabels polls with lib/backoff's plan", () => {
  const ref: KubeRef = { apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "cm" };
  const client = (labelsByCall: Array<Record<string, string>>) => {
    let call = 0;
    return {
      get: async () => ({
        metadata: { labels: labelsByCall[Math.min(call++, labelsByCall.length - 1)] },
      }),
    } as unknown as KubeClient;
  };

  it("sleeps the backoff's waits between checks and stops after `steps` checks", async () => {
    const slept: number[] = [];
    const res = await waitForLabels(
      client([{}]),
      ref,
      { ready: "true" },
      {
        backoff: { steps: 4, duration: "100ms", factor: 2, jitter: 0.2 },
        random: half,
        sleep: async (ms) => {
          slept.push(ms);
        },
      },
    );
    expect(res).toEqual({ matched: false, attempts: 4, labels: {} });
    expect(slept).toEqual([110, 220, 440]);
  });

  it("returns as soon as the labels match", async () => {
    const slept: number[] = [];
    const res = await waitForLabels(
      client([{}, { ready: "true" }]),
      ref,
      { ready: "true" },
      {
        sleep: async (ms) => {
          slept.push(ms);
        },
        random: () => 0,
      },
    );
    expect(res.matched).toBe(true);
    expect(res.attempts).toBe(2);
    expect(slept).toEqual([1000]);
  });

  it("a bad duration is a KubeApiError that is not retried", async () => {
    const err = await waitForLabels(
      client([{}]),
      ref,
      { a: "b" },
      {
        backoff: { duration: " 1s" },
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).retryable).toBe(false);
    expect((err as Error).message).toContain("invalid duration ' 1s'");
  });
});
