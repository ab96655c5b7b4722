import { BoundedLruMap } from './bounded-lru-map';
import type { RateLimitSettings } from './security-settings';
import { TokenBucket } from './token-bucket';

/** Clients tracked at once; a bucket takes about 100 bytes, so the map stays near 1 MB. */
export const DEFAULT_MAX_TRACKED_CLIENTS = 10_000;

// Sweeping refilled buckets walks the whole map, so it runs at most this often.
const SWEEP_INTERVAL_MS = 1_000;

/** Outcome of one request against its client's bucket. */
export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Per-client token buckets, keyed by principal name or client address. A bucket that has refilled
 * completely is equivalent to no bucket, so such buckets are dropped when the map is full.
 *
 * NOTE: when more than `maxClients` clients have partly drained buckets at once, the least recently
 * seen one is forgotten and gets a full burst again on its next request. That takes thousands of client
 * addresses, which only an API without authentication or clients failing it can see.
 */
export class RateLimiter {
  private readonly buckets: BoundedLruMap<string, TokenBucket>;
  private lastSweepAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly now: () => number = () => performance.now(),
    maxClients = DEFAULT_MAX_TRACKED_CLIENTS,
  ) {
    this.buckets = new BoundedLruMap(maxClients);
  }

  /** Number of clients with a bucket, for tests of the memory bound. */
  get trackedClients(): number {
    return this.buckets.size;
  }

  /** Counts one request of `client`; Retry-After is in whole seconds, so the wait is rounded up. */
  take(client: string): RateLimitDecision {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      if (this.buckets.size >= this.buckets.maxEntries && now - this.lastSweepAt >= SWEEP_INTERVAL_MS) {
        this.lastSweepAt = now;
        this.buckets.deleteWhere((candidate) => candidate.isFull(now));
      }
      bucket = new TokenBucket(this.settings.burst, this.settings.perSecond, now);
      this.buckets.set(client, bucket);
    }
    const waitMs = bucket.take(now);
    return waitMs === 0 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }
}
