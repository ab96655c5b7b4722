import { deviceKey, type DeviceRef } from '../protocol';

export interface DeviceSignalLimits {
  /** Signals a device may cause in a burst. */
  burst: number;
  /** Signals a device may cause per second over time. */
  perSecond: number;
}

/**
 * A token bucket per device for the signals its reports cause. Temporal ends a workflow's ability to take
 * signals at 10,000 per run by default, and each signal costs its server a history event and a workflow
 * task, so a device that floods reports must not pass them all on. The defaults allow a burst of 20 and
 * one signal every two seconds: the bridge already sends intermediate progress at most once per interval,
 * and one hour of a device at that rate stays below 2,000 signals.
 */
export class DeviceSignalLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();
  private limitedCount = 0;

  constructor(private readonly limits: DeviceSignalLimits = { burst: 20, perSecond: 0.5 }) {}

  get limited(): number {
    return this.limitedCount;
  }

  /** Takes a token for the device and returns whether it may cause a signal now. */
  allow(ref: DeviceRef, now = Date.now()): boolean {
    const key = deviceKey(ref);
    const bucket = this.buckets.get(key) ?? { tokens: this.limits.burst, updatedAt: now };
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.limits.perSecond);
    bucket.updatedAt = now;
    // Re-inserting keeps the map ordered by last use, so pruning removes the devices idle longest.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > 100_000) this.pruneFull(now);
    if (bucket.tokens < 1) {
      this.limitedCount += 1;
      return false;
    }
    bucket.tokens -= 1;
    return true;
  }

  // A device whose bucket has refilled behaves as a new one, so its entry can go.
  private pruneFull(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (this.buckets.size <= 50_000) return;
      const tokens = bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.limits.perSecond;
      if (tokens >= this.limits.burst) this.buckets.delete(key);
    }
  }
}
