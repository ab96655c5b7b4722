/**
 * Token bucket for device starts, in workflow time. Tokens refill at the configured rate, and the
 * bucket holds at most ten seconds' worth (at least one), so a campaign never starts more than that in
 * one burst. Its two numbers travel with the campaign when it continues as new.
 */
export class StartRateLimiter {
  private readonly perMs: number;
  private readonly capacity: number;

  constructor(
    maxStartsPerMinute: number,
    private tokens: number,
    private updatedAt: number,
  ) {
    this.perMs = maxStartsPerMinute / 60_000;
    this.capacity = Math.max(1, Math.ceil(maxStartsPerMinute / 6));
    this.tokens = Math.min(tokens, this.capacity);
  }

  /** A full bucket, for a campaign that has not started anything yet. */
  static full(maxStartsPerMinute: number, now: number): StartRateLimiter {
    return new StartRateLimiter(maxStartsPerMinute, Number.POSITIVE_INFINITY, now);
  }

  /** Whole starts allowed now. */
  available(now: number): number {
    this.refill(now);
    return Math.floor(this.tokens);
  }

  /** Milliseconds until one more start is allowed; 0 when one is allowed now. */
  msUntilNext(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perMs));
  }

  consume(count: number, now: number): void {
    this.refill(now);
    this.tokens -= count;
  }

  /** The numbers to carry into the next run. */
  carry(): { tokens: number; updatedAt: number } {
    return { tokens: this.tokens, updatedAt: this.updatedAt };
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.perMs);
      this.updatedAt = now;
    }
  }
}
