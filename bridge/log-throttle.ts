/**
 * Limits repeated log lines: at most `limit` lines per key in each window, and the first line after a
 * window with suppressed ones carries their count. A device flooding garbage then costs a few log lines
 * a minute instead of one per message.
 */
export class LogThrottle {
  private readonly windows = new Map<string, { startedAt: number; logged: number; suppressed: number }>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
  ) {}

  /** Returns whether to log this occurrence, and how many were suppressed since the last logged one. */
  take(key: string, now = Date.now()): { log: boolean; suppressed: number } {
    let window = this.windows.get(key);
    if (!window || now - window.startedAt >= this.windowMs) {
      const suppressed = window?.suppressed ?? 0;
      window = { startedAt: now, logged: 0, suppressed: 0 };
      this.windows.set(key, window);
      if (this.windows.size > 1_000) this.forgetOldest();
      window.logged = 1;
      return { log: true, suppressed };
    }
    if (window.logged < this.limit) {
      window.logged += 1;
      return { log: true, suppressed: 0 };
    }
    window.suppressed += 1;
    return { log: false, suppressed: 0 };
  }

  private forgetOldest(): void {
    const oldest = this.windows.keys().next().value;
    if (oldest !== undefined) this.windows.delete(oldest);
  }
}
