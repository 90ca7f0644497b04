import fc from "fast-check";
import { expect } from "vitest";

// Deterministic by default (the suite must be); FUZZ_SEED=<n> explores other cases locally, and a
// failure report names the seed and path that reproduce it.
fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED ?? "20261123") | 0 });

/**
 * Bound for one evaluation. A hang detector, not a performance assertion: a loop that never ends
 * or backtracks exponentially blows far past it, ordinary slowness on a loaded machine does not.
 */
export const CASE_BOUND_MS = 500;

/** Runs `fn`, fails when it took longer than `bound` ms; returns what it returned or threw. */
export function timed<T>(
  label: string,
  fn: () => T,
  bound = CASE_BOUND_MS,
): { ok: true; value: T } | { ok: false; error: unknown } {
  const started = performance.now();
  let out: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    out = { ok: true, value: fn() };
  } catch (error) {
    out = { ok: false, error };
  }
  const elapsed = performance.now() - started;
  expect(elapsed, `${label} took ${elapsed.toFixed(0)} ms`).toBeLessThan(bound);
  return out;
}

/** Async version of `timed`. */
export async function timedAsync<T>(
  label: string,
  fn: () => Promise<T>,
  bound = CASE_BOUND_MS,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  const started = performance.now();
  let out: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    out = { ok: true, value: await fn() };
  } catch (error) {
    out = { ok: false, error };
  }
  const elapsed = performance.now() - started;
  expect(elapsed, `${label} took ${elapsed.toFixed(0)} ms`).toBeLessThan(bound);
  return out;
}

/** Object keys that the paths and expressions below also use, so lookups often hit. */
export const KEYS = [
  "a",
  "b",
  "name",
  "age",
  "friends",
  "nets",
  "first",
  "last",
  "body",
  "header",
  "0",
  "1",
  "x.y",
  "a-b",
  "",
] as const;

const leaf = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, 1, -1, 1e21, 0.1, 2 ** 53),
  fc.string({ maxLength: 8 }),
  fc.constantFrom("fb", "tw", "Dale", "Murphy", "true", "10", "", "a.b", "*"),
  fc.boolean(),
  fc.constant(null),
);

/** JSON values whose object keys come from KEYS: realistic documents for path/expr fuzzing. */
export const realisticJson: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", maxDepth: 4 },
    leaf,
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie("node"), { maxKeys: 5 }),
  ),
})).node;

/** Random JSON object documents (what payloads look like), as values. */
export const realisticObject: fc.Arbitrary<Record<string, unknown>> = fc.dictionary(
  fc.constantFrom(...KEYS),
  realisticJson,
  { maxKeys: 6 },
);

/** `numRuns` for a property; FUZZ_SCALE=10 (environment) runs ten times as many cases locally. */
export function runs(n: number): number {
  const scale = Number(process.env.FUZZ_SCALE ?? "1");
  return Number.isFinite(scale) && scale > 0 ? Math.ceil(n * scale) : n;
}
