import { BoundedLruMap } from './bounded-lru-map';
import { TokenBucket } from './token-bucket';

/** Shortest time between two log lines about denials of one client for one reason. */
export const DENIAL_LOG_INTERVAL_MS = 10_000;

// Across all clients: a burst of 20 lines, then one per second, so that many clients failing at once
// (a scan, or every client after a token rotation) cannot flood the log either.
const ALL_CLIENTS_BURST = 20;
const ALL_CLIENTS_LINES_PER_SECOND = 1;
const MAX_TRACKED_KEYS = 1_000;

interface KeyState {
  lastLoggedAt: number;
  suppressed: number;
}

/**
 * Decides which denied requests get a log line: the first of each client and reason, then at most one
 * per DENIAL_LOG_INTERVAL_MS, which also reports how many denials went unlogged since the previous one.
 * Times are milliseconds from a monotonic clock.
 */
export class DenialLog {
  private readonly keys = new BoundedLruMap<string, KeyState>(MAX_TRACKED_KEYS);
  private readonly lines: TokenBucket;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.lines = new TokenBucket(ALL_CLIENTS_BURST, ALL_CLIENTS_LINES_PER_SECOND, now());
  }

  /**
   * Records one denial for `key` (client and reason). Returns the number of earlier denials of the key
   * that were not logged when this one should be logged, or undefined when it should not.
   */
  record(key: string): number | undefined {
    const now = this.now();
    const state = this.keys.get(key) ?? { lastLoggedAt: Number.NEGATIVE_INFINITY, suppressed: 0 };
    const due = now - state.lastLoggedAt >= DENIAL_LOG_INTERVAL_MS;
    if (!due || this.lines.take(now) > 0) {
      state.suppressed += 1;
      this.keys.set(key, state);
      return undefined;
    }
    const suppressed = state.suppressed;
    this.keys.set(key, { lastLoggedAt: now, suppressed: 0 });
    return suppressed;
  }
}
