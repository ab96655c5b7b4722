import { deviceKey, type DeviceRef } from '../protocol';
import { ProgressCode } from '../protocol/messages';
import type { Logger } from '../observability/logger';
import type { ProgressSignal } from '../workflows/upgrade-tracker';
import type { SignalResult } from './upgrade-signaller';

/** Progress that starts or ends a download: 0, 100 and the error codes. The workflow must see each. */
export function isDecisiveProgress(progress: number): boolean {
  return progress <= 0 || progress >= ProgressCode.DOWNLOAD_COMPLETE;
}

interface DeviceState {
  ref: DeviceRef;
  lastSentAt: number;
  pending: ProgressSignal | undefined;
  timer: NodeJS.Timeout | undefined;
}

const PENDING_SEND_ATTEMPTS = 3;

/**
 * Forwards a device's intermediate download progress to its upgrade at most once per interval, sending
 * the latest value at the end of the interval. Every signal costs the Temporal server a history event and
 * a workflow task, and the dev server on SQLite handles well under a hundred signals a second, so a
 * device reporting each percent would otherwise flood it. Progress 0 (a download starting), 100 and
 * error codes always go at once, so no outcome waits.
 *
 * NOTE: a held-back value is acknowledged to the broker before it is signalled, so a crash of the
 * bridge loses it. The workflow then sees the device's next report instead.
 */
export class ProgressCoalescer {
  private readonly devices = new Map<string, DeviceState>();
  private coalescedCount = 0;

  constructor(
    private readonly send: (ref: DeviceRef, signal: ProgressSignal) => Promise<SignalResult>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Reports held back so far, each replaced by a later one or sent at the end of its interval. */
  get coalesced(): number {
    return this.coalescedCount;
  }

  /** Devices with state held: those that reported within the last interval. */
  get trackedDevices(): number {
    return this.devices.size;
  }

  /** Sends the report now, or holds it back and returns 'coalesced'. */
  async submit(ref: DeviceRef, signal: ProgressSignal, now = Date.now()): Promise<SignalResult | 'coalesced'> {
    const key = deviceKey(ref);
    let state = this.devices.get(key);
    if (!state) {
      state = { ref, lastSentAt: Number.NEGATIVE_INFINITY, pending: undefined, timer: undefined };
      this.devices.set(key, state);
    }
    if (this.intervalMs <= 0 || isDecisiveProgress(signal.progress) || now - state.lastSentAt >= this.intervalMs) {
      // A value held back is older than this one, which the workflow would ignore after this one anyway.
      this.clearPending(state);
      state.lastSentAt = now;
      // The timer removes the device after one interval without reports, so the map stays bounded.
      state.timer = setTimeout(() => void this.sendPending(key), this.intervalMs).unref();
      return this.send(ref, signal);
    }

    if (state.pending === undefined || signal.messageId > state.pending.messageId) {
      if (state.pending !== undefined) this.coalescedCount += 1;
      state.pending = signal;
    } else {
      this.coalescedCount += 1;
    }
    state.timer ??= setTimeout(() => void this.sendPending(key), Math.max(0, state.lastSentAt + this.intervalMs - now)).unref();
    return 'coalesced';
  }

  /** Sends every held-back value now, for a graceful stop. */
  async flush(): Promise<void> {
    await Promise.all([...this.devices.keys()].map((key) => this.sendPending(key)));
  }

  private clearPending(state: DeviceState): void {
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
    if (state.pending !== undefined) this.coalescedCount += 1;
    state.pending = undefined;
  }

  private async sendPending(key: string): Promise<void> {
    const state = this.devices.get(key);
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
    const signal = state.pending;
    state.pending = undefined;
    if (signal === undefined) {
      // Nothing held back: forget the device so the map holds only devices reporting right now.
      this.devices.delete(key);
      return;
    }
    state.lastSentAt = Date.now();
    for (let attempt = 1; attempt <= PENDING_SEND_ATTEMPTS; attempt += 1) {
      try {
        await this.send(state.ref, signal);
        break;
      } catch (error) {
        this.logger.warn({ err: error, ...state.ref, attempt, progress: signal.progress }, 'failed to signal held-back progress');
        if (attempt < PENDING_SEND_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
    // Keep the state for one more interval, so that the next report is held back as well.
    // Unreferenced, so that a stopped bridge does not wait for this timer to exit.
    state.timer = setTimeout(() => void this.sendPending(key), this.intervalMs).unref();
  }
}
