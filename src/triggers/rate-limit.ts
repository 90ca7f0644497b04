/**
 * Argo's trigger `rateLimit: {unit: Second|Minute|Hour, requestsPerUnit}` as a smooth token bucket:
 * tokens refill continuously at `requestsPerUnit / unit`, the bucket holds at most `burst` tokens
 * (default 1, so firings are evenly spaced), and each firing takes one. Pure: the clock is passed in.
 */

export interface RateLimitSpec {
  unit?: string;
  requestsPerUnit?: number;
}

const UNIT_MS: Record<string, number> = { Second: 1_000, Minute: 60_000, Hour: 3_600_000 };

export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Milliseconds per token. */
  readonly intervalMs: number;

  constructor(
    requestsPerUnit: number,
    unitMs: number,
    private readonly now: () => number,
    readonly burst = 1,
  ) {
    if (!(requestsPerUnit > 0) || !(unitMs > 0) || !(burst >= 1)) {
      throw new RangeError(
        `token bucket needs requestsPerUnit > 0, unit > 0 and burst >= 1 (got ${requestsPerUnit}, ${unitMs} ms, ${burst})`,
      );
    }
    this.intervalMs = unitMs / requestsPerUnit;
    this.tokens = burst;
    this.last = now();
  }

  /**
   * Takes a token and returns how long the caller must wait before acting (0 = now). Reservations
   * queue up: concurrent callers get increasing waits, never the same slot.
   */
  reserve(): number {
    const now = this.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) / this.intervalMs);
      this.last = now;
    }
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : -this.tokens * this.intervalMs;
  }

  /** Gives back a reservation that was not used (the caller stopped waiting). */
  cancel(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }
}

/**
 * The bucket for a trigger's `rateLimit`, or undefined when it does not limit (missing, or
 * requestsPerUnit not a positive number). An unknown or empty unit means Second, as in Argo (the
 * validator warns about it).
 */
export function rateLimiter(
  spec: RateLimitSpec | undefined,
  now: () => number,
  burst = 1,
): TokenBucket | undefined {
  const n = spec?.requestsPerUnit;
  if (spec === undefined || typeof n !== "number" || !(n > 0)) return undefined;
  const unitMs = UNIT_MS[spec.unit ?? "Second"] ?? UNIT_MS.Second!;
  return new TokenBucket(n, unitMs, now, burst);
}
