/**
 * A token bucket: it holds up to `capacity` tokens, gains `refillPerSecond` tokens per second, and each
 * request takes one. Times are milliseconds from a monotonic clock, such as performance.now().
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  /** Takes one token and returns 0, or, when the bucket is empty, returns the milliseconds until it contains one. */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return ((1 - this.tokens) / this.refillPerSecond) * 1000;
  }

  /** Returns whether the bucket has refilled completely, so that forgetting it changes nothing. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }

  private refill(now: number): void {
    // max() keeps a clock that went backwards from draining the bucket.
    const elapsedSeconds = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.capacity, this.tokens + elapsedSeconds * this.refillPerSecond);
    this.updatedAt = now;
  }
}
